package validation

import (
	"math"
	"time"

	"github.com/zoner-family/zoner/circadian"
)

// stepHours is the model's integration step in hours: every protocol is a
// light level per 0.1 h step.
const stepHours = 0.1

// Light levels of the protocols, in lux at the eye.
const (
	// luxRoom is ordinary dim room light between bright-light pulses and
	// during the morning treatment of the dim-light groups: Eastman et al.
	// (2005) and Burgess et al. (2003) give "< 60 lux"; 50 lux is assumed.
	luxRoom = 50.0
	// luxAssess is the dim light of a phase assessment or constant
	// routine: "< 10 lux" (Burgess et al. 2003), "< 5 lux" (Burgess et al.
	// 2008), "~2–7 lx" (Khalsa et al. 2003); 5 lux is used unless a study
	// states its own.
	luxAssess = 5.0
	// luxBright is a light box: "~5000 lux" in Eastman et al. (2005) and
	// Crowley & Eastman (2015).
	luxBright = 5000.0
	// luxCabin is an aircraft cabin with its lights on (the planner's
	// assumption, circadian.LuxCabin).
	luxCabin = circadian.LuxCabin
)

// Habitual schedule of the simulated subject: lights out at 23:00, up at
// 07:00. Every protocol is placed relative to it, as the studies placed
// theirs relative to each subject's own habitual sleep.
const (
	habitualBed  = 23.0
	habitualWake = 7.0
	// outdoorHours is the daylight of an ordinary day (the planner's
	// default, "some outdoors"), centred on the middle of the waking day.
	outdoorHours = 2.0
)

// entrainDays is how long each model lives the habitual day before a
// protocol starts: from the model's 16:8 state, runs converge within three
// weeks (the planner's own check), and 30 days leaves margin.
const entrainDays = 30

// schedule is a protocol: one light level per Step from hour 0, which is
// midnight of the protocol's first day, and melatonin doses.
type schedule struct {
	lux []float64
	// doses are the times (hours from 0) of 0.5 mg melatonin pills.
	doses []float64
}

// newSchedule returns a schedule of the given length in hours, dark
// throughout.
func newSchedule(hours float64) *schedule {
	return &schedule{lux: make([]float64, int(math.Round(hours/stepHours)))}
}

// hours is the schedule's length.
func (s *schedule) hours() float64 { return float64(len(s.lux)) * stepHours }

// set puts lux over [from, to), in hours. A step the span covers in part
// gets the time-weighted mean of its old level and lux: the model holds
// light constant over a step, so a 15-minute pulse on the 6-minute grid
// is two whole steps and half of a third.
func (s *schedule) set(from, to, lux float64) {
	if to <= from {
		return
	}
	i0 := int(math.Floor(from/stepHours + 1e-9))
	i1 := int(math.Ceil(to/stepHours - 1e-9))
	for i := max(i0, 0); i < i1 && i < len(s.lux); i++ {
		a := math.Max(from, float64(i)*stepHours)
		b := math.Min(to, float64(i+1)*stepHours)
		f := (b - a) / stepHours
		if f <= 0 {
			continue
		}
		s.lux[i] = (1-f)*s.lux[i] + f*lux
	}
}

// awake lays out one ordinary waking day from wake to bed (absolute
// hours), the light assumption the planner states for a person's habitual
// day (docs/planner.md): indoor light (200 lux), outdoor daylight (10,000
// lux) for outdoorHours centred on the middle of the day, evening lamps
// (50 lux) for the last two hours. Sleep is left dark.
func (s *schedule) awake(wake, bed float64) {
	s.set(wake, bed, circadian.LuxIndoor)
	mid := (wake + bed) / 2
	s.set(mid-outdoorHours/2, mid+outdoorHours/2, circadian.LuxOutdoor)
	s.set(bed-2, bed, circadian.LuxEvening)
}

// habitual lays out ordinary days at home from day from to day to
// (exclusive): asleep 23:00–07:00 in the dark, the waking day as awake
// gives it.
func (s *schedule) habitual(from, to int) {
	for d := from; d < to; d++ {
		base := 24 * float64(d)
		s.set(base, base+habitualWake, 0)
		s.awake(base+habitualWake, base+habitualBed)
		s.set(base+habitualBed, base+24, 0)
	}
}

// clone copies s.
func (s *schedule) clone() *schedule {
	return &schedule{lux: append([]float64(nil), s.lux...), doses: append([]float64(nil), s.doses...)}
}

// subject is one model with a clock entrained to the habitual day: the
// state at midnight.
type subject struct {
	m circadian.Model
	s [3]float64
}

// entrain lives the habitual day entrainDays times from the model's 16:8
// state.
func entrain(m circadian.Model) subject {
	day := newSchedule(24)
	day.habitual(0, 1)
	s := m.Entrained()
	for range entrainDays {
		s = circadian.Advance(m, s, day.lux)
	}
	return subject{m: m, s: s}
}

// epoch is the instant of hour 0 for the trajectories' times; only
// differences matter.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// hoursOf converts a trajectory time back to hours from 0.
func hoursOf(t time.Time) float64 { return t.Sub(epoch).Hours() }

// run integrates sub over sched from hour 0, applying each melatonin dose
// as the shift MelatoninShift gives for the dose's time relative to the
// model's DLMO then. It returns the CBTmin times (hours from 0) found from
// keepFrom on; the path before keepFrom is integrated without being kept.
func (sub subject) run(sched *schedule, keepFrom float64) []float64 {
	keep := int(math.Round(keepFrom / stepHours))
	states := sub.integrate(sub.s, 0, sched.lux, sched.doses, keep)
	tr := &circadian.Trajectory{Model: sub.m, Start: epoch.Add(time.Duration(keepFrom * float64(time.Hour))), States: states}
	var out []float64
	for _, t := range tr.CBTMins() {
		out = append(out, hoursOf(t))
	}
	return out
}

// integrate runs the model from state s at hour t0 over lux, one Step an
// entry, shifting the state by MelatoninShift at each dose (hours from
// 0, in order). It returns the states from step keep on (the state at
// t0 + keep×Step first).
func (sub subject) integrate(s [3]float64, t0 float64, lux []float64, doses []float64, keep int) [][3]float64 {
	m := sub.m
	var states [][3]float64
	i := 0
	for k := 0; k <= len(doses); k++ {
		j := len(lux)
		if k < len(doses) {
			j = min(max(int(math.Round((doses[k]-t0)/stepHours)), i), len(lux))
		}
		// Steps [i, j) without a dose.
		if j > keep && i < j {
			lo := max(i, keep)
			s = circadian.Advance(m, s, lux[i:lo])
			tr := circadian.Simulate(m, s, epoch, lux[lo:j])
			if len(states) > 0 {
				tr.States = tr.States[1:] // the state at lo is already kept
			}
			states = append(states, tr.States...)
			s = tr.End()
		} else {
			s = circadian.Advance(m, s, lux[i:j])
		}
		i = j
		if k < len(doses) {
			s = m.Shift(s, MelatoninShift(sub.hoursAfterDLMO(s, doses[k])))
			if len(states) > 0 {
				states[len(states)-1] = s
			}
		}
	}
	if len(states) == 0 {
		states = append(states, s)
	}
	return states
}

// hoursAfterDLMO is how long after the model's DLMO hour t is, wrapped to
// (−12, 12]: negative before it. The DLMO is read the way a phase
// assessment reads it, in dim light: the state is run on for 36 h at
// luxAssess, and the first CBTmin less 7 h (circadian.DLMOBeforeCBTmin)
// is the DLMO.
func (sub subject) hoursAfterDLMO(s [3]float64, t float64) float64 {
	dim := make([]float64, int(36/stepHours))
	for i := range dim {
		dim[i] = luxAssess
	}
	mins := circadian.Simulate(sub.m, s, epoch, dim).CBTMins()
	if len(mins) == 0 {
		return math.NaN()
	}
	dlmo := hoursOf(mins[0]) - circadian.DLMOBeforeCBTmin.Hours()
	return wrap12(-dlmo)
}

// wrap12 maps hours to (−12, 12].
func wrap12(h float64) float64 { return circadian.WrapHours(h) }

// nearest is the element of xs nearest to x, and whether there is one
// within 12 h.
func nearest(xs []float64, x float64) (float64, bool) {
	best, ok := math.NaN(), false
	for _, v := range xs {
		if math.Abs(v-x) < 12 && (!ok || math.Abs(v-x) < math.Abs(best-x)) {
			best, ok = v, true
		}
	}
	return best, ok
}

// firstAfter is the first element of xs at or after from.
func firstAfter(xs []float64, from float64) (float64, bool) {
	for _, x := range xs {
		if x >= from {
			return x, true
		}
	}
	return math.NaN(), false
}

// advanceOf measures how far a protocol moved the clock against a control
// run of the same length: both end in the same dim phase assessment,
// starting at assess, and the protocol's last CBTmin there is compared
// with the control's nearest one. Positive is an advance. Minima in the
// first 12 h of the assessment are not used, so that the reading is the
// clock's, not the last light's.
func (sub subject) advanceOf(protocol, control *schedule, assess float64) float64 {
	p := sub.run(protocol, assess)
	c := sub.run(control, assess)
	tp, ok := firstAfter(p, assess+12)
	if !ok {
		return math.NaN()
	}
	tc, ok := nearest(c, tp)
	if !ok {
		return math.NaN()
	}
	return tc - tp
}

// assessment appends a dim constant routine (awake, luxAssess) from hour
// from to the end of s.
func (s *schedule) assessment(from float64) {
	s.set(from, s.hours(), luxAssess)
}
