package circadian

// Personal calibration of the body clock: a particle filter over the
// model's state and the person's intrinsic period, driven by the light of
// their logs and weighed by the times they logged falling asleep and
// waking. Draft (branch draft-calib); not yet used by the planner.

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// CalibrationInput is what a person's clock is calibrated from.
type CalibrationInput struct {
	Person Person
	// Model names the body-clock model; "" is the default.
	Model string
	// Start and End bound the logs relived. Start is taken back to the
	// midnight at home that begins its day.
	Start, End time.Time
	Logs       []Log
	// Particles is the number of particles (default 300); Seed makes
	// the run repeatable.
	Particles int
	Seed      uint64
}

// Calibration is the estimate of a person's clock from their logs.
type Calibration struct {
	// Tau and TauSD are the posterior mean and standard deviation of the
	// intrinsic period, hours.
	Tau, TauSD float64
	// CBTmin and CBTminSD are the next body-temperature minimum after End,
	// as a time and its standard deviation in hours.
	CBTmin   time.Time
	CBTminSD float64
	// Nights is the number of logged nights (onset and wake) used.
	Nights int
	// Resamples counts how often the filter resampled.
	Resamples int

	in    CalibrationInput
	spec  ModelSpec
	frame *clockFrame
	ps    []particle
}

// Calibration constants. ObsSigma is the spread of a logged sleep onset or
// wake time about the time the body clock says: about 30 min of behaviour
// and 45 min of logging (the cohort test draws logging noise of 30–60 min).
const (
	calibObsSigma  = 0.9  // hours
	calibTauSD     = 0.2  // population spread of the intrinsic period, hours (Czeisler 1999)
	calibTauJitter = 0.01 // hours, added to tau at each resample
	calibPhaseSD   = 0.75 // hours, spread of the starting phase about the habitual estimate
	calibPhaseJit  = 0.1  // hours, added to the phase at each resample
	// calibDailyPhaseSD is the process noise, hours of phase a day: the
	// day's real light differs from the light assumed.
	calibDailyPhaseSD = 0.15
	calibTauLo        = 23.3
	calibTauHi        = 25.1
	calibGridStep     = 0.1
	calibMinAwake     = 10.0 // hours before a clock-gated sleep can start again
	calibMinAsleep    = 3.0
	calibPredictN     = 48 // particles used to predict sleep onsets
	// calibClockWeight is how far people follow their body clock rather
	// than the clock on the wall when they go to bed and get up.
	calibClockWeight = 0.5
	defaultParticle  = 300
)

type particle struct {
	tau float64
	m   Model
	s   [3]float64
	lw  float64 // log weight
}

// clockFrame reads a model state as the clock time at which a person with
// the population period, living their habitual day, has that phase: the
// "body clock time". Sleep starts when the body clock reads the habitual
// bedtime and ends when it reads the habitual wake time (plus noise): the
// relation between sleep and phase the planner already assumes when it
// entrains a person from their habits (Person.Entrain).
type clockFrame struct {
	unwrapped [stepsPerDay + 1]float64 // phase relative to phase0, increasing
	phase0    float64
	sleep     float64 // habitual bedtime, clock hours
	wake      float64
	cbtmin    float64 // habitual CBTmin, clock hours
}

func newClockFrame(b Baseline, p Person) *clockFrame {
	f := &clockFrame{phase0: b.phase[0], cbtmin: b.CBTmin,
		sleep: float64(p.Sleep.Minutes()) / 60, wake: float64(p.Wake.Minutes()) / 60}
	acc := 0.0
	for k := 1; k <= stepsPerDay; k++ {
		d := wrapPi(b.phase[k%stepsPerDay] - b.phase[k-1])
		if k == stepsPerDay {
			d = 2*math.Pi - acc // close the cycle exactly
		}
		acc += d
		f.unwrapped[k] = acc
	}
	return f
}

// residual is how far a sleep onset or wake at home clock time h, when
// the body clock read bc, is from the compromise between the habitual
// time and the body clock's time: people go to bed (and get up) at
// habitual + w × (when their body clock says − habitual), w =
// calibClockWeight: partly by the clock on the wall, partly by their body.
func (f *clockFrame) residual(h, bc, habitual float64) float64 {
	own := h + wrap12(habitual-bc) // when the body clock says, clock time
	want := habitual + calibClockWeight*wrap12(own-habitual)
	return wrap12(h - want)
}

// clock is the body-clock time, hours in [0, 24), of phase φ.
func (f *clockFrame) clock(phi float64) float64 {
	u := math.Mod(phi-f.phase0, 2*math.Pi)
	if u < 0 {
		u += 2 * math.Pi
	}
	k := sort.SearchFloat64s(f.unwrapped[:], u)
	if k == 0 {
		return 0
	}
	lo, hi := f.unwrapped[k-1], f.unwrapped[k]
	frac := 0.0
	if hi > lo {
		frac = (u - lo) / (hi - lo)
	}
	return (float64(k-1) + frac) * stepHours
}

// clockHours is the home clock time of t, hours.
func clockHours(t time.Time, loc *time.Location) float64 {
	t = t.In(loc)
	return float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
}

// Calibrate runs the particle filter over in's logs.
func Calibrate(in CalibrationInput) (*Calibration, error) {
	p := in.Person
	if p.Home == nil || p.Sleep.IsZero() || p.Wake.IsZero() {
		return nil, errors.New("calibrate: the person needs a home zone and habitual sleep and wake times")
	}
	if !in.End.After(in.Start) {
		return nil, errors.New("calibrate: End must be after Start")
	}
	spec, err := ModelByName(in.Model)
	if err != nil {
		return nil, err
	}
	n := in.Particles
	if n <= 0 {
		n = defaultParticle
	}
	y, mo, d := in.Start.In(p.Home).Date()
	start := time.Date(y, mo, d, 0, 0, 0, 0, p.Home)
	age := p.AgeOn(syncproto.DateOf(start))
	prior := spec.Period + p.PeriodDelta()
	frame := newClockFrame(p.Entrain(spec.New(prior), age), p)
	rng := rand.New(rand.NewPCG(in.Seed, 0x9e3779b97f4a7c15))

	// Entrained starting states on a grid of periods, at midnight.
	hab := p.habitualLux(age)
	grid := map[int][3]float64{}
	gridState := func(tau float64) [3]float64 {
		g := int(math.Round((tau - calibTauLo) / calibGridStep))
		if s, ok := grid[g]; ok {
			return s
		}
		m := spec.New(calibTauLo + float64(g)*calibGridStep)
		s := m.Entrained()
		for range EntrainDays {
			s = Advance(m, s, hab[:])
		}
		grid[g] = s
		return s
	}
	ps := make([]particle, n)
	for i := range ps {
		tau := math.Max(calibTauLo, math.Min(calibTauHi, prior+calibTauSD*rng.NormFloat64()))
		m := spec.New(tau)
		ps[i] = particle{tau: tau, m: m, s: m.Shift(gridState(tau), calibPhaseSD*rng.NormFloat64())}
	}

	steps := int(math.Ceil(in.End.Sub(start).Hours() / stepHours))
	lux := calibrationLux(p, hab, start, steps, in.Logs)

	type obs struct {
		at     time.Time
		target float64 // body-clock time expected at this instant
	}
	var events []obs
	nights := 0
	for _, l := range in.Logs {
		if l.Kind != LogSleep || l.End.IsZero() || l.Start.Before(start) || l.End.After(in.End) {
			continue
		}
		nights++
		events = append(events, obs{l.Start, frame.sleep}, obs{l.End, frame.wake})
	}
	slices.SortFunc(events, func(a, b obs) int { return a.at.Compare(b.at) })

	c := &Calibration{in: in, spec: spec, frame: frame, Nights: nights}
	ev := 0
	for i := 0; i <= steps; i++ {
		t := start.Add(time.Duration(i) * Step)
		updated := false
		for ev < len(events) && !events[ev].at.After(t) {
			h := clockHours(events[ev].at, p.Home)
			for j := range ps {
				r := frame.residual(h, frame.clock(ps[j].m.Phase(ps[j].s)), events[ev].target)
				ps[j].lw += -0.5 * r * r / (calibObsSigma * calibObsSigma)
			}
			ev++
			updated = true
		}
		if updated && normalise(ps) < float64(n)/2 {
			ps = resample(ps, n, rng)
			for j := range ps {
				ps[j].tau = math.Max(calibTauLo, math.Min(calibTauHi, ps[j].tau+calibTauJitter*rng.NormFloat64()))
				ps[j].m = spec.New(ps[j].tau)
				ps[j].s = ps[j].m.Shift(ps[j].s, calibPhaseJit*rng.NormFloat64())
			}
			c.Resamples++
		}
		if i == steps {
			break
		}
		if i > 0 && i%stepsPerDay == 0 {
			// Process noise: a day's light is never quite the assumed.
			for j := range ps {
				ps[j].s = ps[j].m.Shift(ps[j].s, calibDailyPhaseSD*rng.NormFloat64())
			}
		}
		for j := range ps {
			ps[j].s = rk4(ps[j].m, ps[j].s, lux[i], stepHours)
		}
	}
	normalise(ps)
	end := start.Add(time.Duration(steps) * Step)

	// Moments of tau and of the time to the next CBTmin.
	var mt, mt2, mc, mc2 float64
	for _, q := range ps {
		w := math.Exp(q.lw)
		mt += w * q.tau
		mt2 += w * q.tau * q.tau
	}
	// Time to the next CBTmin is in [0, 24); its spread is taken about
	// the mean on the circle.
	var sinS, cosS float64
	for _, q := range ps {
		w := math.Exp(q.lw)
		a := (frame.cbtmin - frame.clock(q.m.Phase(q.s))) * math.Pi / 12
		sinS += w * math.Sin(a)
		cosS += w * math.Cos(a)
	}
	meanOff := math.Mod(math.Atan2(sinS, cosS)*12/math.Pi+24, 24)
	mc = 0
	for _, q := range ps {
		w := math.Exp(q.lw)
		r := wrap12(frame.cbtmin - frame.clock(q.m.Phase(q.s)) - meanOff)
		mc += w * r
		mc2 += w * r * r
	}
	c.Tau = mt
	c.TauSD = math.Sqrt(math.Max(0, mt2-mt*mt))
	c.CBTmin = end.Add(time.Duration((meanOff + mc) * float64(time.Hour)))
	c.CBTminSD = math.Sqrt(math.Max(0, mc2-mc*mc))
	c.ps = ps
	return c, nil
}

// normalise makes the weights sum to one and returns the effective sample
// size.
func normalise(ps []particle) float64 {
	mx := math.Inf(-1)
	for _, q := range ps {
		mx = math.Max(mx, q.lw)
	}
	var sum float64
	for _, q := range ps {
		sum += math.Exp(q.lw - mx)
	}
	var sq float64
	for i := range ps {
		ps[i].lw = ps[i].lw - mx - math.Log(sum)
		w := math.Exp(ps[i].lw)
		sq += w * w
	}
	return 1 / sq
}

// resample draws n equally weighted particles by systematic resampling.
func resample(ps []particle, n int, rng *rand.Rand) []particle {
	out := make([]particle, n)
	u := rng.Float64() / float64(n)
	cum, j := math.Exp(ps[0].lw), 0
	for i := range out {
		for u > cum && j < len(ps)-1 {
			j++
			cum += math.Exp(ps[j].lw)
		}
		out[i] = ps[j]
		out[i].lw = -math.Log(float64(n))
		u += 1 / float64(n)
	}
	return out
}

// calibrationLux is the light relived from start, one entry per Step:
// logged sleep is dark and the two hours before it evening lamps; logged
// light counts as logged; otherwise the habitual day (Person.habitualLux),
// whose night is dark only when no sleep was logged near it.
func calibrationLux(p Person, hab [stepsPerDay]float64, start time.Time, steps int, logs []Log) []float64 {
	lux := make([]float64, steps)
	nearSleep := make([]bool, steps)
	idx := func(t time.Time) int {
		return int(math.Floor(t.Sub(start).Hours() / stepHours))
	}
	span := func(a, b time.Time, f func(i int)) {
		for i := max(idx(a), 0); i < min(idx(b), steps); i++ {
			f(i)
		}
	}
	for i := range lux {
		t := start.Add(time.Duration(i)*Step + Step/2)
		k := int(clockHours(t, p.Home)/stepHours) % stepsPerDay
		lux[i] = hab[k]
	}
	for _, l := range logs {
		if l.Kind == LogSleep && !l.End.IsZero() {
			span(l.Start.Add(-8*time.Hour), l.End.Add(8*time.Hour), func(i int) { nearSleep[i] = true })
		}
	}
	for i := range lux {
		if lux[i] == 0 && nearSleep[i] {
			lux[i] = LuxIndoor
		}
	}
	for _, l := range logs {
		if l.Kind == LogLight && !l.End.IsZero() {
			span(l.Start, l.End, func(i int) { lux[i] = l.Lux })
		}
	}
	for _, l := range logs {
		if (l.Kind == LogSleep || l.Kind == LogNap) && !l.End.IsZero() {
			if l.Kind == LogSleep {
				span(l.Start.Add(-2*time.Hour), l.Start, func(i int) { lux[i] = math.Min(lux[i], LuxEvening) })
			}
		}
	}
	for _, l := range logs {
		if (l.Kind == LogSleep || l.Kind == LogNap) && !l.End.IsZero() {
			span(l.Start, l.End, func(i int) { lux[i] = 0 })
		}
	}
	return lux
}

// clockGated describes someone who sleeps by their body clock: to bed when
// it reads their habitual bedtime plus OnsetJitter, up when it reads their
// habitual wake time plus WakeJitter. Light gives the lux while awake.
type clockGated struct {
	Light func(t time.Time, bodyClock float64) float64
	// OnsetJitter and WakeJitter draw the next night's offsets, hours;
	// nil is none.
	OnsetJitter, WakeJitter func() float64
}

// live simulates m from s at start for steps under g, with the
// sleep-phase relation of the calibration frame f. It returns the final
// state and the sleep onsets and wakes, in order.
func (g clockGated) live(m Model, s [3]float64, f *clockFrame, loc *time.Location, start time.Time, steps int) ([3]float64, []time.Time, []time.Time) {
	jit := func(fn func() float64) float64 {
		if fn == nil {
			return 0
		}
		return fn()
	}
	bc := f.clock(m.Phase(s))
	h0 := clockHours(start, loc)
	asleep := f.residual(h0, bc, f.sleep) >= 0 && f.residual(h0, bc, f.wake) < 0
	on, off := jit(g.OnsetJitter), jit(g.WakeJitter)
	since := 12.0
	var onsets, wakes []time.Time
	for i := range steps {
		t := start.Add(time.Duration(i) * Step)
		bc = f.clock(m.Phase(s))
		h := clockHours(t, loc)
		since += stepHours
		switch {
		case !asleep && since >= calibMinAwake && r06(f.residual(h, bc, f.sleep)-on):
			asleep, since = true, 0
			onsets = append(onsets, t)
			on = jit(g.OnsetJitter)
		case asleep && since >= calibMinAsleep && r06(f.residual(h, bc, f.wake)-off):
			asleep, since = false, 0
			wakes = append(wakes, t)
			off = jit(g.WakeJitter)
		}
		lux := 0.0
		if !asleep {
			lux = g.Light(t, bc)
		}
		s = rk4(m, s, lux, stepHours)
	}
	return s, onsets, wakes
}

func r06(h float64) bool { return h >= 0 && h < 6 }

// defaultLight is the habitual day's waking light by clock time at home:
// outdoor daylight centred on the middle of the habitual waking day, room
// light otherwise, and evening lamps in the two hours before the body clock
// reaches bedtime.
func (c *Calibration) defaultLight() func(time.Time, float64) float64 {
	p, f := c.in.Person, c.frame
	age := p.AgeOn(syncproto.DateOf(c.in.Start))
	awake := p.awakeHours(age)
	mid := math.Mod(f.wake+awake/2, 24)
	out := outdoorHours(p.Light)
	return func(t time.Time, bc float64) float64 {
		if d := wrap12(bc - f.sleep); d >= -2 && d < 0 {
			return LuxEvening
		}
		if math.Abs(wrap12(clockHours(t, p.Home)-mid)) < out/2 {
			return LuxOutdoor
		}
		return LuxIndoor
	}
}

// PredictOnsets predicts the sleep onsets of the days after End for
// someone who sleeps by their body clock under the habitual light: the
// mean over particles of each night's onset.
func (c *Calibration) PredictOnsets(days int) []time.Time {
	rng := rand.New(rand.NewPCG(c.in.Seed, 7))
	sub := resample(c.ps, calibPredictN, rng)
	start := c.in.End
	g := clockGated{Light: c.defaultLight()}
	steps := days * stepsPerDay
	var ref []time.Time // onsets of the first particle
	offs := make([][]float64, 0)
	for _, q := range sub {
		_, on, _ := g.live(q.m, q.s, c.frame, c.in.Person.Home, start, steps)
		if ref == nil {
			ref = on
			offs = make([][]float64, len(on))
		}
		for k, r := range ref {
			// The onset of this particle nearest the reference one.
			best := math.Inf(1)
			for _, o := range on {
				if d := o.Sub(r).Hours(); math.Abs(d) < math.Abs(best) {
					best = d
				}
			}
			if math.Abs(best) < 12 {
				offs[k] = append(offs[k], best)
			}
		}
	}
	out := make([]time.Time, len(ref))
	for k, r := range ref {
		var sum float64
		for _, d := range offs[k] {
			sum += d
		}
		out[k] = r.Add(time.Duration(sum / float64(max(len(offs[k]), 1)) * float64(time.Hour)))
	}
	return out
}
