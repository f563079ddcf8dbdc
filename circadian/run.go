package circadian

import (
	"math"
	"slices"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// span is a planned sleep or nap.
type span struct {
	start, end time.Time
	kind       ItemKind // ItemSleep or ItemNap
	inFlight   bool
	clipped    bool   // cut short by a flight
	why        string // extra reason, like an earlier bedtime after a missed nap
}

// run plans one person through a trip.
type run struct {
	tp        *tripPlan
	p         Person
	m         Model
	age       Age
	base      Baseline
	habitual  [stepsPerDay]float64
	nightH    float64
	stepH     float64 // pre-shift step, hours a day
	lux       []float64
	asleep    []bool
	states    [][3]float64
	sleeps    []span
	dayOf     []*Day       // by frame; nil for hidden frames
	need      []float64    // by frame: the misalignment the day starts with
	seekCache []seekCached // by step
	// rateError is the model's error in rates of re-entrainment, h/day.
	rateError float64
	// napDropped says, by frame, why a usual nap was left out.
	napDropped []string
	logs       []Log
	now        time.Time
	busy       [][2]time.Time
	// prev is the plan as made before now, by frame, when re-planning.
	prev []*Day
}

// newRun prepares a run; base is the person's entrained clock, or nil to
// estimate it now.
func newRun(tp *tripPlan, p Person, m Model, base *Baseline) *run {
	age := p.AgeOn(syncproto.DateOf(tp.legs[0].Depart.In(tp.origin)))
	r := &run{tp: tp, p: p, m: m, age: age}
	if base != nil {
		r.base = *base
	} else {
		r.base = p.baseline(m, age)
	}
	r.habitual = p.habitualLux(age)
	r.nightH = p.nightFor(age)
	r.stepH = preShiftStep(age, tp.trip.Intensity)
	r.lux = make([]float64, tp.steps)
	r.asleep = make([]bool, tp.steps)
	r.states = make([][3]float64, tp.steps+1)
	r.dayOf = make([]*Day, len(tp.frames))
	r.need = make([]float64, len(tp.frames))
	r.seekCache = make([]seekCached, tp.steps)
	r.napDropped = make([]string, len(tp.frames))
	r.busy = r.makeBusy()
	r.nights()
	r.travelSleep()
	return r
}

// preShiftStep is how far a person's sleep moves on each shifting day:
// 30–90 min for adults by intensity, less for children (parenting guidance:
// 30–60 min a day for children, 15–30 for toddlers), none for babies under
// six months, who follow feeds.
func preShiftStep(a Age, in syncproto.Intensity) float64 {
	type steps struct{ gentle, balanced, aggressive float64 }
	var s steps
	switch {
	case a.Band == syncproto.AgeAdult:
		s = steps{0.5, 1, 1.5}
	case a.Band == syncproto.AgeTeen:
		s = steps{0.5, 0.75, 1}
	case a.Band == syncproto.AgeChild:
		s = steps{0.25, 0.5, 0.75}
	case a.Infant():
		return 0
	default:
		s = steps{0.25, 0.25, 0.5}
	}
	switch in {
	case syncproto.IntensityGentle:
		return s.gentle
	case syncproto.IntensityAggressive:
		return s.aggressive
	}
	return s.balanced
}

// startState is the person's state at the plan's start, from their
// entrained state at home midnight.
func (r *run) startState() [3]float64 {
	home := midnight(r.tp.start, r.p.Home)
	n := int(r.tp.start.Sub(home) / Step)
	return Advance(r.m, r.base.State, r.habitual[:n%stepsPerDay])
}

// frameAt is the index of the frame holding t.
func (r *run) frameAt(t time.Time) int { return r.tp.frameAt(t) }

// soOffset is the UTC offset, in hours, of the clock the person's sleep
// and meals follow at t: where the plan aims, moved on shifting days.
func (r *run) soOffset(t time.Time) float64 {
	if r.age.Infant() {
		// A baby's rhythm is not modelled: days and nights on the local
		// clock wherever they are.
		return offsetHours(r.where(t), t)
	}
	o := r.tp.aimAt(t).offset(t)
	// A day's shift holds from its noon to the next noon, so that a night
	// keeps one clock from bedtime to waking even when bedtime is after
	// midnight.
	day := t.Add(-12 * time.Hour)
	if day.Before(r.tp.start) {
		return o
	}
	f := r.tp.frames[r.frameAt(day)]
	if f.preShift > 0 {
		j := r.tp.journeys[f.journey]
		if t.Before(r.tp.legs[j.first].Depart) {
			o += math.Copysign(math.Min(float64(f.preShift)*r.stepH, math.Abs(j.shift)), j.shift)
		}
	}
	return o
}

// soClock is t as hours after midnight on the sleep clock.
func (r *run) soClock(t time.Time) float64 {
	h := float64(t.Unix()%86400)/3600 + r.soOffset(t)
	return math.Mod(h+48, 24)
}

// civil is the instant of clock hours on date d of a clock at offset o.
func civil(d syncproto.Date, hours, o float64) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Add(time.Duration((hours - o) * float64(time.Hour)))
}

// makeBusy lists the spans around flights when nobody sleeps on the
// ground: from leaving for the airport to an hour after landing.
func (r *run) makeBusy() [][2]time.Time {
	var out [][2]time.Time
	for i, l := range r.tp.legs {
		before := beforeDeparture
		if i > 0 && l.Depart.Sub(r.tp.legs[i-1].Arrive) < connectionBelow {
			before = beforeConnection
		}
		out = append(out, [2]time.Time{l.Depart.Add(-before), l.Arrive.Add(afterLanding)})
	}
	return out
}

// nights lays out the main sleeps of the whole plan: walking through
// time, a night begins when the sleep clock reaches the habitual bedtime,
// or at once when the clock jumps into the night (boarding a flight to a
// zone where it is already late) with at least an hour of it left; it
// ends at the habitual night's end on that clock. Then each night is
// fitted to the flights: nothing on the ground while one should be leaving
// for the airport or is still in it, sleep on board where the night falls
// in a flight.
func (r *run) nights() {
	sleepH := float64(r.p.Sleep.Minutes()) / 60
	// A night does not start sooner than this after the last one ended,
	// so that a clock jumping forward does not plan two nights in one.
	const minAwake = 4 * time.Hour
	const probe = 30 * time.Minute
	end := r.tp.at(r.tp.steps)
	busy := r.busy
	prevWake := r.tp.start.Add(-36 * time.Hour)
	awake := minAwake
	for t := r.tp.start.Add(-24 * time.Hour); t.Before(end); t = t.Add(probe) {
		if t.Before(prevWake.Add(awake)) {
			continue
		}
		d := math.Mod(r.soClock(t)-sleepH+48, 24)
		if d > r.nightH-1 {
			continue
		}
		onset := t.Add(-time.Duration(d * float64(time.Hour)))
		onset = later(onset, later(t.Add(-probe), prevWake.Add(awake)))
		wake := t.Add(time.Duration((r.nightH - d) * float64(time.Hour)))
		// Across a change of clocks, the night ends at the usual time on
		// the new clock.
		if a := r.tp.aimAt(onset); a == r.tp.aimAt(wake) {
			wake = wake.Add(time.Duration((a.offset(onset) - a.offset(wake)) * float64(time.Hour)))
		}
		prevWake = wake
		// After a night cut short on board, the first night on the ground
		// may come at its usual time sooner.
		awake = minAwake
		if wake.After(r.tp.start) {
			parts := r.fit(span{start: onset, end: wake, kind: ItemSleep}, busy)
			r.sleeps = append(r.sleeps, parts...)
			if n := len(parts); n > 0 && parts[n-1].inFlight {
				prevWake, awake = parts[n-1].end, 2*time.Hour
			}
		}
		t = wake.Add(-probe)
	}
}

// fit cuts a sleep around the flights: ground parts outside busy spans of
// at least 2 h, parts on board of at least 1 h.
func (r *run) fit(s span, busy [][2]time.Time) []span {
	ground := []span{s}
	for _, b := range busy {
		var next []span
		for _, g := range ground {
			if !g.start.Before(b[1]) || !g.end.After(b[0]) {
				next = append(next, g)
				continue
			}
			if g.start.Before(b[0]) {
				next = append(next, span{start: g.start, end: b[0], kind: g.kind, clipped: true})
			}
			if g.end.After(b[1]) {
				next = append(next, span{start: b[1], end: g.end, kind: g.kind, clipped: true})
			}
		}
		ground = next
	}
	var out []span
	for _, g := range ground {
		if g.end.Sub(g.start) >= 2*time.Hour || (!g.clipped && g.kind == ItemNap) {
			out = append(out, g)
		}
	}
	for _, l := range r.tp.legs {
		a, b := later(s.start, l.Depart.Add(boardSettle)), earlier(s.end, l.Arrive.Add(-boardLanding))
		if b.Sub(a) >= time.Hour || (s.kind == ItemNap && b.Sub(a) >= 15*time.Minute) {
			out = append(out, span{start: a, end: b, kind: s.kind, inFlight: true, clipped: a != s.start || b != s.end})
		}
	}
	slices.SortFunc(out, func(a, b span) int { return a.start.Compare(b.start) })
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// inAir reports whether t is during a flight, and which leg.
func (r *run) inAir(t time.Time) (int, bool) {
	for i, l := range r.tp.legs {
		if !t.Before(l.Depart) && t.Before(l.Arrive) {
			return i, true
		}
	}
	return -1, false
}

// inBusy reports whether t is between leaving for a flight and an hour
// after its landing.
func (r *run) inBusy(t time.Time) bool {
	for _, b := range r.busy {
		if !t.Before(b[0]) && t.Before(b[1]) {
			return true
		}
	}
	return false
}

// where is the zone a person is in at t: in flight, the destination's.
func (r *run) where(t time.Time) *time.Location {
	loc := r.tp.origin
	for _, l := range r.tp.legs {
		if t.Before(l.Depart) {
			break
		}
		loc = l.ToTZ
	}
	return loc
}

// fillBaseline sets the light of steps [lo, hi) from the planned sleeps:
// dark asleep, cabin light in flight, room light on the ground with
// evening lamps in the two hours before a night's sleep.
func (r *run) fillBaseline(lux []float64, asleep []bool, lo, hi int) {
	for i := lo; i < hi; i++ {
		t := r.tp.at(i).Add(Step / 2)
		l := LuxIndoor
		if _, air := r.inAir(t); air {
			l = LuxCabin
		}
		lux[i-lo], asleep[i-lo] = l, false
	}
	for _, s := range r.sleeps {
		a, b := r.tp.step(s.start), r.tp.step(s.end.Add(Step-time.Nanosecond))
		if b < lo || a >= hi {
			continue
		}
		if s.kind == ItemSleep && !s.inFlight {
			for i := max(a-20, lo); i < min(a, hi); i++ {
				lux[i-lo] = math.Min(lux[i-lo], LuxEvening)
			}
		}
		for i := max(a, lo); i < min(b, hi); i++ {
			lux[i-lo], asleep[i-lo] = 0, true
		}
	}
}

// misalignment is how far, in hours, the body clock in state s at t lies
// behind the sleep clock (positive: it needs advancing), the way round
// the journey governing t goes.
func (r *run) misalignment(s [3]float64, t time.Time) float64 {
	e := wrapPi(r.base.PhaseAt(r.soClock(t))-r.m.Phase(s)) * 12 / math.Pi
	f := r.tp.frames[r.frameAt(t)]
	if f.journey >= 0 && f.journey < len(r.tp.journeys) {
		if dir := r.tp.journeys[f.journey].shift; dir*e < 0 && math.Abs(e) > 6 {
			e -= math.Copysign(24, e)
		}
	}
	return e
}

// planFrom plans every frame from step from on, starting in state s.
func (r *run) planFrom(from int, s [3]float64) {
	r.states[from] = s
	for fi, f := range r.tp.frames {
		if r.tp.step(f.end) <= from {
			continue
		}
		r.planFrame(fi, from)
	}
	var dlmos []time.Time
	if !r.age.Infant() {
		for _, m := range r.cbtMins() {
			dlmos = append(dlmos, m.Add(-DLMOBeforeCBTmin))
		}
	}
	for fi, f := range r.tp.frames {
		if r.tp.step(f.end) > from {
			r.finishFrame(fi, dlmos)
		}
	}
}
