package circadian

import (
	"math"
	"time"
)

// Model is a body-clock model driven by light. Its state is three numbers;
// what they mean is the model's business. The planner uses nothing but
// this interface, so a second model (Jewett99, Hannay19) can stand beside
// Forger99 without changes elsewhere.
type Model interface {
	// Name identifies the model in plans, like "forger99".
	Name() string
	// Derivative is the rate of change of the state under lux, per hour.
	Derivative(s [3]float64, lux float64) [3]float64
	// Phase is the state's angle on the limit cycle, in radians, growing
	// with time.
	Phase(s [3]float64) float64
	// Amplitude is the state's distance from the origin of the oscillator.
	Amplitude(s [3]float64) float64
	// Marker is the observable whose daily minimum marks the core body
	// temperature minimum (CBTmin): at it, or a fixed time after it for a
	// model that is a CBTminOffsetter.
	Marker(s [3]float64) float64
	// Entrained is a state of someone entrained to 16 h of light and 8 h
	// of dark, at midnight: a starting point for entrainment.
	Entrained() [3]float64
	// Shift moves s along the cycle by hours of phase (positive: an
	// advance) without changing its amplitude: a non-photic phase shift,
	// such as melatonin's, applied at once.
	Shift(s [3]float64, hours float64) [3]float64
}

// Step is the fixed integration step: 0.1 h, which the
// published implementations find plenty for these smooth models.
const Step = 6 * time.Minute

// stepHours is Step in hours.
const stepHours = 0.1

// stepsPerDay is the number of steps in 24 hours.
const stepsPerDay = 240

// DLMOBeforeCBTmin is how long before CBTmin melatonin onset in dim light
// comes (Forger99's usual marker convention).
const DLMOBeforeCBTmin = 7 * time.Hour

// rk4 advances s by dt hours with light held at lux over the step.
func rk4(m Model, s [3]float64, lux, dt float64) [3]float64 {
	k1 := m.Derivative(s, lux)
	k2 := m.Derivative(add(s, k1, dt/2), lux)
	k3 := m.Derivative(add(s, k2, dt/2), lux)
	k4 := m.Derivative(add(s, k3, dt), lux)
	var out [3]float64
	for i := range out {
		out[i] = s[i] + dt/6*(k1[i]+2*k2[i]+2*k3[i]+k4[i])
	}
	return out
}

func add(s, d [3]float64, h float64) [3]float64 {
	return [3]float64{s[0] + h*d[0], s[1] + h*d[1], s[2] + h*d[2]}
}

// Advance integrates s over lux, one Step per entry, and returns the final
// state without keeping the path.
func Advance(m Model, s [3]float64, lux []float64) [3]float64 {
	for _, l := range lux {
		s = rk4(m, s, l, stepHours)
	}
	return s
}

// Trajectory is a simulated path: States[i] is the state at
// Start + i×Step.
type Trajectory struct {
	Model  Model
	Start  time.Time
	States [][3]float64
}

// Simulate integrates m from s0 at start over lux, held constant for one
// Step per entry, with fixed-step RK4.
func Simulate(m Model, s0 [3]float64, start time.Time, lux []float64) *Trajectory {
	states := make([][3]float64, len(lux)+1)
	states[0] = s0
	for i, l := range lux {
		states[i+1] = rk4(m, states[i], l, stepHours)
	}
	return &Trajectory{Model: m, Start: start, States: states}
}

// Time is the instant of state i.
func (tr *Trajectory) Time(i int) time.Time {
	return tr.Start.Add(time.Duration(i) * Step)
}

// End is the last state.
func (tr *Trajectory) End() [3]float64 { return tr.States[len(tr.States)-1] }

// Phase is the model's phase at state i.
func (tr *Trajectory) Phase(i int) float64 { return tr.Model.Phase(tr.States[i]) }

// Amplitude is the model's amplitude at state i.
func (tr *Trajectory) Amplitude(i int) float64 { return tr.Model.Amplitude(tr.States[i]) }

// CBTminOffsetter is implemented by a model whose CBTmin comes a fixed time
// after the minimum of its Marker rather than at it, as Jewett99's does.
// Trajectory.CBTMins, and so DLMOs, add the offset.
type CBTminOffsetter interface {
	CBTminOffset() time.Duration
}

// minSeparation is how far apart two CBTmins must be (at least
// 13 h), so that a wiggle from a short bright blip is not a second minimum.
const minSeparation = 13 * time.Hour

// CBTMins returns the times of the core body temperature minimum: local
// minima of the model's marker, refined between steps by a parabola,
// keeping the lowest of any minima closer than 13 h, each moved by the
// model's CBTminOffset if it has one. Minima at the very ends of the path
// are not counted: the true minimum may lie outside it.
func (tr *Trajectory) CBTMins() []time.Time {
	n := len(tr.States)
	if n < 3 {
		return nil
	}
	mk := make([]float64, n)
	for i, s := range tr.States {
		mk[i] = tr.Model.Marker(s)
	}
	type minimum struct {
		at    float64 // in steps, fractional
		value float64
	}
	var mins []minimum
	sep := float64(minSeparation / Step)
	for i := 1; i < n-1; i++ {
		if !(mk[i] < mk[i-1] && mk[i] <= mk[i+1]) {
			continue
		}
		// Vertex of the parabola through the three samples.
		den := mk[i-1] - 2*mk[i] + mk[i+1]
		off, val := 0.0, mk[i]
		if den > 0 {
			off = 0.5 * (mk[i-1] - mk[i+1]) / den
			val = mk[i] - 0.25*(mk[i-1]-mk[i+1])*off
		}
		m := minimum{at: float64(i) + off, value: val}
		if k := len(mins) - 1; k >= 0 && m.at-mins[k].at < sep {
			if m.value < mins[k].value {
				mins[k] = m
			}
			continue
		}
		mins = append(mins, m)
	}
	out := make([]time.Time, len(mins))
	for i, m := range mins {
		out[i] = tr.Start.Add(time.Duration(m.at * float64(Step)))
	}
	if o, ok := tr.Model.(CBTminOffsetter); ok {
		d := o.CBTminOffset()
		for i := range out {
			out[i] = out[i].Add(d)
		}
	}
	return out
}

// DLMOs returns the dim-light melatonin onsets: each CBTmin less 7 h.
func (tr *Trajectory) DLMOs() []time.Time {
	mins := tr.CBTMins()
	for i := range mins {
		mins[i] = mins[i].Add(-DLMOBeforeCBTmin)
	}
	return mins
}

// wrapPi maps an angle to (-π, π].
func wrapPi(a float64) float64 {
	a = math.Mod(a, 2*math.Pi)
	if a > math.Pi {
		a -= 2 * math.Pi
	} else if a <= -math.Pi {
		a += 2 * math.Pi
	}
	return a
}

// WrapHours maps a difference of clock times, in hours, to (-12, 12].
func WrapHours(h float64) float64 { return wrap12(h) }

// wrap12 maps hours to (-12, 12].
func wrap12(h float64) float64 {
	h = math.Mod(h, 24)
	if h > 12 {
		h -= 24
	} else if h <= -12 {
		h += 24
	}
	return h
}
