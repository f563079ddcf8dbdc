package circadian

// Personal calibration of the body clock: a particle filter over the
// model's state and the person's intrinsic period, driven by the light of
// their logs and weighed by the times they logged falling asleep and
// waking. The planner uses the result (a PersonalClock on the Person) in
// place of the population's clock once it is confident.

import (
	"errors"
	"fmt"
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
	// Where is the zone the person was in at a time (their trips); nil
	// is home throughout. Sleep is read against the local clock, and the
	// habitual day's light follows it.
	Where func(time.Time) *time.Location
	// Particles is the number of particles (default 300); Seed makes
	// the run repeatable.
	Particles int
	Seed      uint64
	// Prior is the population's intrinsic period for people like this
	// one; nil is the model's period with the chronotype's delta, sd
	// 0.2 h.
	Prior *ClockPrior
}

// ClockPrior is what is believed of the intrinsic period of people of an
// age band and chronotype before their own logs say otherwise.
type ClockPrior struct {
	Tau, TauSD float64 // hours
	// People is how many people it was learned from; 0 for the built-in
	// prior.
	People int
}

// DefaultClockPrior is the built-in prior for p under the named model:
// the model's period with the chronotype's delta, sd 0.2 h (Czeisler et al.
// 1999 found 24.18 ± 0.13 h in adults; the spread here also holds the
// chronotype's uncertainty).
func DefaultClockPrior(model string, p Person) (ClockPrior, error) {
	spec, err := ModelByName(model)
	if err != nil {
		return ClockPrior{}, err
	}
	return ClockPrior{Tau: spec.Period + p.PeriodDelta(), TauSD: calibTauSD}, nil
}

// PersonalClock is what calibration learned of one person's clock, in the
// terms the planner uses.
type PersonalClock struct {
	// Tau and TauSD are the estimated intrinsic period, hours.
	Tau   float64 `json:"tau_hours"`
	TauSD float64 `json:"tau_sd_hours"`
	// PlanTau is the period the planner uses: Tau once KnowsPeriod, the
	// population's prior until then.
	PlanTau float64 `json:"plan_tau_hours"`
	// Shift is how many hours later (negative: earlier) the person's body
	// clock sits than the habitual-day estimate at PlanTau puts it;
	// ShiftSD is its spread, hours.
	Shift   float64 `json:"shift_hours"`
	ShiftSD float64 `json:"shift_sd_hours"`
	// Nights is the number of logged nights it was learned from, and
	// Through the end of the logs it used.
	Nights  int       `json:"nights"`
	Through time.Time `json:"through"`
}

// Confidence thresholds. The phase is known once a few nights place it
// within an hour; the period once its sd is 0.15 h (the population's
// spread, 0.2 h, narrowed by a quarter) from at least five nights.
const (
	ConfidentShiftSD = 1.0 // hours
	ConfidentNights  = 2
	ConfidentTauSD   = 0.15 // hours
	PeriodNights     = 5
)

// Confident reports whether the planner should start from c (its phase,
// and its period when KnowsPeriod) rather than the population's clock.
func (c *PersonalClock) Confident() bool {
	return c != nil && c.Nights >= ConfidentNights && c.ShiftSD <= ConfidentShiftSD &&
		c.PlanTau >= calibTauLo && c.PlanTau <= calibTauHi && math.Abs(c.Shift) <= 12
}

// KnowsPeriod reports whether c's period is the person's own rather than
// the population's.
func (c *PersonalClock) KnowsPeriod() bool {
	return c.Confident() && c.Nights >= PeriodNights && c.TauSD > 0 && c.TauSD <= ConfidentTauSD
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
	prior float64 // the prior's period
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
	calibTauJitter = 0.05 // hours, added to tau at each resample
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
	prior, priorSD := spec.Period+p.PeriodDelta(), calibTauSD
	if in.Prior != nil && in.Prior.TauSD > 0 && in.Prior.Tau >= calibTauLo && in.Prior.Tau <= calibTauHi {
		prior, priorSD = in.Prior.Tau, in.Prior.TauSD
	}
	// Sleep is read against the habitual day of someone with the
	// population's period: the chronotype is a belief about the period,
	// not about how sleep follows the clock.
	frame := newClockFrame(p.Entrain(spec.New(spec.Period), age), p)
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
		tau := math.Max(calibTauLo, math.Min(calibTauHi, prior+priorSD*rng.NormFloat64()))
		m := spec.New(tau)
		ps[i] = particle{tau: tau, m: m, s: m.Shift(gridState(tau), calibPhaseSD*rng.NormFloat64())}
	}

	where := in.Where
	if where == nil {
		where = func(time.Time) *time.Location { return p.Home }
	}
	steps := int(math.Ceil(in.End.Sub(start).Hours() / stepHours))
	lux := calibrationLux(hab, where, start, steps, in.Logs)

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

	c := &Calibration{in: in, spec: spec, frame: frame, Nights: nights, prior: prior}
	ev := 0
	for i := 0; i <= steps; i++ {
		t := start.Add(time.Duration(i) * Step)
		updated := false
		for ev < len(events) && !events[ev].at.After(t) {
			// The local clock: away, people go to bed by the clock
			// where they are and by their body clock, whose reading
			// says how long until it wants sleep wherever they are.
			h := clockHours(events[ev].at, where(events[ev].at))
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

// Personal is the calibration in the planner's terms: the period to plan
// with (the estimate once it is narrow enough, the prior's until then), and
// how far the estimated phase at the end of the logs sits from the
// habitual-day estimate at that period (read at home).
func (c *Calibration) Personal() PersonalClock {
	p := c.in.Person
	pc := PersonalClock{Tau: c.Tau, TauSD: c.TauSD, PlanTau: c.prior, ShiftSD: c.CBTminSD, Nights: c.Nights, Through: c.in.End}
	if pc.Nights >= PeriodNights && pc.TauSD > 0 && pc.TauSD <= ConfidentTauSD {
		pc.PlanTau = c.Tau
	}
	b := p.Entrain(c.spec.New(pc.PlanTau), p.AgeOn(syncproto.DateOf(c.in.End.In(p.Home))))
	pc.Shift = wrap12(clockHours(c.CBTmin, p.Home) - b.CBTmin)
	return pc
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
func calibrationLux(hab [stepsPerDay]float64, where func(time.Time) *time.Location, start time.Time, steps int, logs []Log) []float64 {
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
		k := int(clockHours(t, where(t))/stepHours) % stepsPerDay
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
func (g clockGated) live(m Model, s [3]float64, f *clockFrame, where func(time.Time) *time.Location, start time.Time, steps int) ([3]float64, []time.Time, []time.Time) {
	jit := func(fn func() float64) float64 {
		if fn == nil {
			return 0
		}
		return fn()
	}
	h0 := clockHours(start, where(start))
	bc := f.clock(m.Phase(s))
	asleep := f.residual(h0, bc, f.sleep) >= 0 && f.residual(h0, bc, f.wake) < 0
	on, off := jit(g.OnsetJitter), jit(g.WakeJitter)
	since := 12.0
	var onsets, wakes []time.Time
	for i := range steps {
		t := start.Add(time.Duration(i) * Step)
		h := clockHours(t, where(t))
		bc = f.clock(m.Phase(s))
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

// atHome places p at home at every time.
func atHome(p Person) func(time.Time) *time.Location {
	return func(time.Time) *time.Location { return p.Home }
}

func r06(h float64) bool { return h >= 0 && h < 6 }

// habitualLight is p's waking light on an ordinary day by clock time at
// home: outdoor daylight centred on the middle of the habitual waking day,
// room light otherwise, and evening lamps in the two hours before the body
// clock (read in frame f) reaches bedtime.
func habitualLight(p Person, f *clockFrame, age Age) func(time.Time, float64) float64 {
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
	p := c.in.Person
	g := clockGated{Light: habitualLight(p, c.frame, p.AgeOn(syncproto.DateOf(c.in.Start)))}
	steps := days * stepsPerDay
	var ref []time.Time // onsets of the first particle
	offs := make([][]float64, 0)
	for _, q := range sub {
		_, on, _ := g.live(q.m, q.s, c.frame, atHome(c.in.Person), start, steps)
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

// PredictOnsets predicts p's sleep onsets at home in the days after from,
// for someone who lives their habitual day and goes to bed by the rule
// calibration reads sleep with, on the clock the planner would use for
// them: their own when p.Clock is confident, the population's otherwise.
func PredictOnsets(model string, p Person, from time.Time, days int) ([]time.Time, error) {
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("predict onsets: %w", err)
	}
	spec, err := ModelByName(model)
	if err != nil {
		return nil, err
	}
	m, _, err := (&Planner{Model: model}).model(p)
	if err != nil {
		return nil, err
	}
	age := p.AgeOn(syncproto.DateOf(from.In(p.Home)))
	frame := newClockFrame(p.Entrain(spec.New(spec.Period), age), p)
	base := p.baseline(m, age)
	hab := p.habitualLux(age)
	n := int(from.Sub(midnight(from, p.Home)) / Step)
	s := Advance(m, base.State, hab[:n%stepsPerDay])
	_, on, _ := clockGated{Light: habitualLight(p, frame, age)}.live(m, s, frame, atHome(p), from, days*stepsPerDay)
	return on, nil
}

// Whereabouts is where someone whose home is home was at each time, given
// the trips they were on: the arrival zone of the last leg flown, home
// before any. Cancelled legs are not flown.
func Whereabouts(home *time.Location, trips []Trip) func(time.Time) *time.Location {
	var legs []Leg
	for _, t := range trips {
		for _, l := range t.Legs {
			if l.Cancelled {
				break
			}
			legs = append(legs, l)
		}
	}
	slices.SortFunc(legs, func(a, b Leg) int { return a.Depart.Compare(b.Depart) })
	return func(t time.Time) *time.Location {
		i := sort.Search(len(legs), func(i int) bool { return legs[i].Depart.After(t) })
		if i == 0 {
			return home
		}
		return legs[i-1].ToTZ
	}
}
