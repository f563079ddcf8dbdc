package circadian

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// Property tests that every registered model must pass.

func TestModelsRegistry(t *testing.T) {
	specs := Models()
	if specs[0].Name != DefaultModel {
		t.Errorf("first model %q, want the default %q", specs[0].Name, DefaultModel)
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.Name] {
			t.Errorf("model %q listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Citation == "" || s.Period < 23.5 || s.Period > 25 {
			t.Errorf("%s: citation %q, period %v", s.Name, s.Citation, s.Period)
		}
		if got := s.New(s.Period).Name(); got != s.Name {
			t.Errorf("%s builds a model named %q", s.Name, got)
		}
		if got, err := ModelByName(s.Name); err != nil || got.Name != s.Name {
			t.Errorf("ModelByName(%q) = %q, %v", s.Name, got.Name, err)
		}
	}
	for _, name := range []string{"forger99", "jewett99", "hannay19"} {
		if !seen[name] {
			t.Errorf("no model %q", name)
		}
	}
}

func TestHannay19Period(t *testing.T) {
	def := NewHannay19()
	if p := def.DarkPeriod(); math.Abs(p-24.18) > 0.01 {
		t.Errorf("free-running period of the published model %.4f h, want about 24.18", p)
	}
	if got := NewHannay19Period(def.DarkPeriod()).Tau; math.Abs(got-def.Tau) > 1e-12 {
		t.Errorf("the published period gives tau %v, want %v", got, def.Tau)
	}
	for _, p := range []float64{23.9, 24.5} {
		if got := NewHannay19Period(p).DarkPeriod(); math.Abs(got-p) > 1e-12 {
			t.Errorf("NewHannay19Period(%v) runs with %v h", p, got)
		}
	}
}

func TestModelsPeriodInConstantDarkness(t *testing.T) {
	for _, spec := range Models() {
		for _, d := range []float64{0, -0.3, 0.3} {
			taux := spec.Period + d
			m := spec.New(taux)
			tr := Simulate(m, m.Entrained(), epoch, make([]float64, 30*stepsPerDay))
			mins := tr.CBTMins()
			if len(mins) < 25 {
				t.Fatalf("%s, period %v: %d minima in 30 days", spec.Name, taux, len(mins))
			}
			// Skip the first days: the model is leaving its entrained orbit.
			first, last := mins[5], mins[len(mins)-1]
			period := last.Sub(first).Hours() / float64(len(mins)-1-5)
			if d == 0 {
				t.Logf("%s: free-running period %.3f h (intrinsic %.3f h)", spec.Name, period, taux)
			}
			if math.Abs(period-taux) > 0.05 {
				t.Errorf("%s, intrinsic period %.3f h: free-running period %.3f h", spec.Name, taux, period)
			}
		}
	}
}

// randomState is a state somewhere near m's limit cycle, for convergence.
func randomState(m Model, rng *rand.Rand) [3]float64 {
	a := 2 * math.Pi * rng.Float64()
	if _, ok := m.(*Hannay19); ok {
		return [3]float64{0.1 + 1.1*rng.Float64(), a, rng.Float64()}
	}
	r := 0.3 + 1.2*rng.Float64()
	return [3]float64{r * math.Cos(a), r * math.Sin(a), rng.Float64()}
}

func TestModelsConvergeFromManyStates(t *testing.T) {
	day := regularDay(500)
	light := repeat(day, 21)
	for _, spec := range Models() {
		m := spec.New(spec.Period)
		rng := rand.New(rand.NewPCG(1, 2))
		var clocks []float64
		for range 100 {
			s := Advance(m, randomState(m, rng), light)
			mins := Simulate(m, s, epoch, repeat(day, 2)).CBTMins()
			if len(mins) == 0 {
				t.Fatalf("%s: no CBTmin after entrainment from %v", spec.Name, s)
			}
			clocks = append(clocks, math.Mod(mins[0].Sub(epoch).Hours(), 24))
		}
		lo, hi := clocks[0], clocks[0]
		for _, c := range clocks {
			lo, hi = math.Min(lo, c), math.Max(hi, c)
		}
		t.Logf("%s: after 3 weeks CBTmin spreads over %.3f h (%.2f to %.2f)", spec.Name, hi-lo, lo, hi)
		if hi-lo > 0.25 {
			t.Errorf("%s: after 3 weeks CBTmin spreads over %.2f h (%.2f to %.2f)", spec.Name, hi-lo, lo, hi)
		}
	}
}

// TestModelsEarlyMorningCBTminForRegularSleeper asks for a habitual CBTmin
// in the early morning, 02:00 to 06:00 for someone waking at 07:00: 1 to 5
// h before wake. (Forger99's own test asks for 1 to 4 h.)
func TestModelsEarlyMorningCBTminForRegularSleeper(t *testing.T) {
	for _, spec := range Models() {
		for _, tc := range []struct {
			sleep, wake syncproto.ClockTime
			light       syncproto.TypicalLight
		}{
			{syncproto.ClockAt(23, 0), syncproto.ClockAt(7, 0), syncproto.LightSomeOutdoors},
			{syncproto.ClockAt(23, 0), syncproto.ClockAt(7, 0), syncproto.LightMostlyIndoors},
			{syncproto.ClockAt(23, 0), syncproto.ClockAt(7, 0), syncproto.LightMostlyOutdoors},
			{syncproto.ClockAt(22, 30), syncproto.ClockAt(6, 30), syncproto.LightMostlyIndoors},
		} {
			p := Person{AgeBand: syncproto.AgeAdult, Home: time.UTC, Sleep: tc.sleep, Wake: tc.wake, Light: tc.light}
			b := p.Entrain(spec.New(spec.Period+p.PeriodDelta()), p.AgeOn(syncproto.Date{Year: 2026, Month: 1, Day: 1}))
			wake := float64(tc.wake.Minutes()) / 60
			before := wake - b.CBTmin
			t.Logf("%s: sleep %s–%s, %s: CBTmin %s, DLMO %s", spec.Name, tc.sleep, tc.wake, tc.light, clockString(b.CBTmin), clockString(b.DLMO))
			if before < 1 || before > 5 {
				t.Errorf("%s: sleep %s–%s, %s: CBTmin %.2f h, %.2f h before wake; want 1–5 h", spec.Name, tc.sleep, tc.wake, tc.light, b.CBTmin, before)
			}
			if got := math.Mod(b.CBTmin-b.DLMO+24, 24); math.Abs(got-7) > 1e-9 {
				t.Errorf("%s: DLMO %.2f is %.2f h before CBTmin", spec.Name, b.DLMO, got)
			}
		}
	}
}

func TestModelsPhaseAndShift(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, spec := range Models() {
		m := spec.New(spec.Period)
		// Phase grows with time in the dark and in the light.
		for _, lux := range []float64{0, 300, 10000} {
			tr := Simulate(m, m.Entrained(), epoch, repeatLux(lux, 10))
			if d := wrapPi(tr.Phase(10) - tr.Phase(0)); d <= 0 {
				t.Errorf("%s: phase moved %v in an hour of %v lux", spec.Name, d, lux)
			}
		}
		for range 20 {
			s := randomState(m, rng)
			h := 24*rng.Float64() - 12
			s2 := m.Shift(s, h)
			d := wrapPi(m.Phase(s2)-m.Phase(s)) * 12 / math.Pi
			if math.Abs(wrap12(d-h)) > 1e-9 || math.Abs(m.Amplitude(s2)-m.Amplitude(s)) > 1e-12 || s2[2] != s[2] {
				t.Errorf("%s: Shift(%v, %.2f) = %v: phase moved %.4f h", spec.Name, s, h, s2, d)
			}
		}
		// An hour's shift moves the next CBTmin an hour earlier.
		s := Advance(m, m.Entrained(), repeat(regularDay(300), 14))
		base := Simulate(m, s, epoch, make([]float64, stepsPerDay)).CBTMins()
		moved := Simulate(m, m.Shift(s, 1), epoch, make([]float64, stepsPerDay)).CBTMins()
		if len(base) != 1 || len(moved) != 1 || math.Abs(base[0].Sub(moved[0]).Hours()-1) > 0.1 {
			t.Errorf("%s: a 1-h advance moved CBTmin from %v to %v", spec.Name, base, moved)
		}
	}
}

func repeatLux(lux float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lux
	}
	return out
}

// TestModelsLightShiftsTheRightWay: Khalsa 2003 found that light before
// CBTmin delays the clock and light after it advances it. The pulse lands
// on an ordinary 300-lux day, so the shifts are small; Hannay19's, whose
// light drive at room light is already about twice Forger99's, are the
// smallest (about 0.1 h each way), hence a threshold of 0.1 h rather than
// Forger99's 0.15 h.
func TestModelsLightShiftsTheRightWay(t *testing.T) {
	day := regularDay(300)
	for _, spec := range Models() {
		m := spec.New(spec.Period)
		s := Advance(m, m.Entrained(), repeat(day, 28))
		base := Simulate(m, s, epoch, repeat(day, 4)).CBTMins()
		// The second day's CBTmin, so that the light starts after midnight
		// of day 0 for every model.
		cbt := base[1].Sub(epoch).Hours()
		shift := func(at float64) float64 {
			light := repeat(day, 4)
			for k := range 30 { // 3 h of 10,000 lux
				light[int(at/stepHours)+k] = 10000
			}
			got := Simulate(m, s, epoch, light).CBTMins()
			return got[len(got)-1].Sub(base[len(got)-1]).Hours()
		}
		late, early := shift(cbt-4.5), shift(cbt+1)
		t.Logf("%s: 3 h of 10,000 lux ending 1.5 h before CBTmin moves it %+.2f h, from 1 h after %+.2f h", spec.Name, late, early)
		if late <= 0.1 {
			t.Errorf("%s: light ending 1.5 h before CBTmin moved the clock %.2f h, want a delay", spec.Name, late)
		}
		if early >= -0.1 {
			t.Errorf("%s: light from 1 h after CBTmin moved the clock %.2f h, want an advance", spec.Name, early)
		}
	}
}

func TestModelsCBTminRobustToBrightBlips(t *testing.T) {
	day := regularDay(300)
	for _, spec := range Models() {
		m := spec.New(spec.Period)
		s := Advance(m, m.Entrained(), repeat(day, 28))
		clean := Simulate(m, s, epoch, repeat(day, 5)).CBTMins()
		for _, at := range []float64{2, 4, 5, 6, 7.5, 9, 21} {
			light := repeat(day, 5)
			for d := range 5 {
				for k := range 2 { // 12 minutes of 10,000 lux
					light[d*stepsPerDay+int(at/stepHours)+k] = 10000
				}
			}
			got := Simulate(m, s, epoch, light).CBTMins()
			if len(got) != len(clean) {
				t.Errorf("%s: blips at %v h: %d minima, want %d", spec.Name, at, len(got), len(clean))
				continue
			}
			for i := range got {
				if d := got[i].Sub(clean[i]); d.Abs() > 90*time.Minute {
					t.Errorf("%s: blips at %v h: minimum %d moved %v", spec.Name, at, i, d)
				}
			}
		}
	}
}

// TestModelsPlanATrip plans an eastward and a westward trip with each model:
// the planner must work with any of them, and each must bring the clock to
// within an hour of local time by the end of the plan.
func TestModelsPlanATrip(t *testing.T) {
	for _, spec := range Models() {
		for _, dest := range []string{"Europe/Paris", "America/Los_Angeles"} {
			pl := Planner{Model: spec.Name}
			p, err := pl.Plan(oneWay(t, "America/New_York", dest, idAda, idEmeka))
			if err != nil {
				t.Fatalf("%s: %v", spec.Name, err)
			}
			if p.Model != spec.Name {
				t.Errorf("%s: plan made with %q", spec.Name, p.Model)
			}
			for _, m := range p.Members {
				last := m.Days[len(m.Days)-1]
				if last.Misalignment == nil || math.Abs(*last.Misalignment) > 1 {
					t.Errorf("%s → %s, %s: last day misaligned by %v", spec.Name, dest, m.Name, last.Misalignment)
				}
				t.Logf("%s → %s, %s: habitual CBTmin %s, adapted on day %d", spec.Name, dest, m.Name, m.HabitualCBTMin, m.Adaptation[0].Days)
			}
		}
	}
}
