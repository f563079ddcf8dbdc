package circadian

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The reference vectors in testdata/reference come from the Arcascope
// open-source circadian library, version 1.0.3, through
// internal/refgen/gen.py. They hold the library's parameters, derivatives at
// fixed states and lux, and ten-day RK4 trajectories (every tenth state)
// with the CBTmin and DLMO times the library finds.
//
// The library integrates the step from t[i-1] to t[i] with the light given
// for t[i]; this package holds lux[i] over the step from i to i+1. The
// generator shifts its light input by one step, so both sides compute the
// same RK4 steps with the same light and the states agree to rounding.
//
// The library's CBTmin is the sample with the lowest marker (no refinement
// between samples), plus 0.8 h for Jewett99; CBTMins refines the minimum
// with a parabola. The two may so differ by up to half a step (3 minutes)
// and a little more where the minimum is flat.

type refFile struct {
	Library     string             `json:"library"`
	Model       string             `json:"model"`
	Params      map[string]float64 `json:"params"`
	Initial     [3]float64         `json:"initial"`
	Derivatives []struct {
		State [3]float64 `json:"state"`
		Lux   float64    `json:"lux"`
		Deriv [3]float64 `json:"deriv"`
	} `json:"derivatives"`
	Trajectories []struct {
		Schedule    string       `json:"schedule"`
		Light       [][2]float64 `json:"light"` // [steps, lux] runs
		SampleEvery int          `json:"sample_every"`
		Samples     [][3]float64 `json:"samples"`
		Final       [3]float64   `json:"final"`
		CBTMins     []float64    `json:"cbtmins"` // hours from the start
		DLMOs       []float64    `json:"dlmos"`
	} `json:"trajectories"`
}

func loadReference(t *testing.T, name string) *refFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "reference", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f refFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Model != name || len(f.Derivatives) == 0 || len(f.Trajectories) == 0 {
		t.Fatalf("%s: reference file is for %q with %d derivatives, %d trajectories", name, f.Model, len(f.Derivatives), len(f.Trajectories))
	}
	return &f
}

// refParams maps each model's parameters to the library's names.
func refParams(m Model) map[string]float64 {
	switch m := m.(type) {
	case *Forger99:
		return map[string]float64{"taux": m.Taux, "mu": m.Mu, "G": m.G, "alpha_0": m.A0, "beta": m.Beta,
			"p": m.P, "I0": m.I0, "k": m.K, "cbt_to_dlmo": DLMOBeforeCBTmin.Hours()}
	case *Jewett99:
		return map[string]float64{"taux": m.Taux, "mu": m.Mu, "G": m.G, "alpha_0": m.A0, "beta": m.Beta,
			"p": m.P, "I0": m.I0, "k": m.K, "q": m.Q, "phi_ref": m.PhiRef, "cbt_to_dlmo": DLMOBeforeCBTmin.Hours()}
	case *Hannay19:
		return map[string]float64{"tau": m.Tau, "K": m.K, "gamma": m.Gamma, "Beta1": m.Beta1, "A1": m.A1, "A2": m.A2,
			"BetaL1": m.BetaL1, "BetaL2": m.BetaL2, "sigma": m.Sigma, "G": m.G, "alpha_0": m.A0, "delta": m.Delta,
			"p": m.P, "I0": m.I0, "cbt_to_dlmo": DLMOBeforeCBTmin.Hours()}
	}
	return nil
}

// refModels are the models with reference vectors, as built by default.
var refModels = []Model{NewForger99(), NewJewett99(), NewHannay19()}

func TestReferenceParameters(t *testing.T) {
	for _, m := range refModels {
		f := loadReference(t, m.Name())
		ours := refParams(m)
		if len(ours) != len(f.Params) {
			t.Errorf("%s: %d parameters, the library has %d", m.Name(), len(ours), len(f.Params))
		}
		for k, v := range f.Params {
			if got, ok := ours[k]; !ok || math.Abs(got-v) > 1e-12*math.Abs(v) {
				t.Errorf("%s: %s = %v, the library has %v", m.Name(), k, got, v)
			}
		}
		// Entrained is the library's default initial condition (Forger99's
		// rounded to three places).
		for i, v := range m.Entrained() {
			if math.Abs(v-f.Initial[i]) > 1e-3 {
				t.Errorf("%s: Entrained()[%d] = %v, the library has %v", m.Name(), i, v, f.Initial[i])
			}
		}
	}
}

// TestReferenceDerivatives compares the right-hand sides. The tolerance is
// 1e-6 absolute for derivatives below 1 in size and 1e-6 relative above.
func TestReferenceDerivatives(t *testing.T) {
	for _, m := range refModels {
		f := loadReference(t, m.Name())
		worst := 0.0
		for _, d := range f.Derivatives {
			got := m.Derivative(d.State, d.Lux)
			for i := range got {
				e := math.Abs(got[i]-d.Deriv[i]) / math.Max(1, math.Abs(d.Deriv[i]))
				worst = math.Max(worst, e)
				if !(e <= 1e-6) {
					t.Errorf("%s: derivative at %v, %v lux: component %d = %v, the library has %v", m.Name(), d.State, d.Lux, i, got[i], d.Deriv[i])
				}
			}
		}
		t.Logf("%s: %d derivatives, largest error %.2g", m.Name(), len(f.Derivatives), worst)
	}
}

func TestReferenceTrajectories(t *testing.T) {
	for _, m := range refModels {
		f := loadReference(t, m.Name())
		worstState, worstCBT := 0.0, time.Duration(0)
		for _, rt := range f.Trajectories {
			var lux []float64
			for _, run := range rt.Light {
				for range int(run[0]) {
					lux = append(lux, run[1])
				}
			}
			tr := Simulate(m, f.Initial, epoch, lux)
			if want := (len(rt.Samples) - 1) * rt.SampleEvery; len(lux) != want {
				t.Fatalf("%s %s: %d steps of light, samples cover %d", m.Name(), rt.Schedule, len(lux), want)
			}
			for j, want := range append(rt.Samples, rt.Final) {
				k := j * rt.SampleEvery
				if j == len(rt.Samples) {
					k = len(tr.States) - 1
				}
				for i, v := range tr.States[k] {
					e := math.Abs(v-want[i]) / math.Max(1, math.Abs(want[i]))
					worstState = math.Max(worstState, e)
					if !(e <= 1e-9) {
						t.Errorf("%s %s: state %d[%d] = %v, the library has %v", m.Name(), rt.Schedule, k, i, v, want[i])
					}
				}
			}
			compareTimes := func(what string, got []time.Time, want []float64) {
				if len(got) != len(want) {
					t.Errorf("%s %s: %d %s, the library finds %d: %v vs %v", m.Name(), rt.Schedule, len(got), what, len(want), got, want)
					return
				}
				for i, h := range want {
					d := got[i].Sub(epoch.Add(time.Duration(h * float64(time.Hour)))).Abs()
					worstCBT = max(worstCBT, d)
					if d > 4*time.Minute {
						t.Errorf("%s %s: %s %d at %.3f h, the library has %.3f h", m.Name(), rt.Schedule, what, i, got[i].Sub(epoch).Hours(), h)
					}
				}
			}
			compareTimes("CBTmins", tr.CBTMins(), rt.CBTMins)
			compareTimes("DLMOs", tr.DLMOs(), rt.DLMOs)
		}
		t.Logf("%s: %d trajectories, largest state error %.2g, largest CBTmin/DLMO difference %v", m.Name(), len(f.Trajectories), worstState, worstCBT)
	}
}
