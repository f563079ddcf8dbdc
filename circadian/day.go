package circadian

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// window is a run of steps [a, b).
type window struct{ a, b int }

// planFrame plans one day for one person: tonight's sleep, naps, light,
// then simulates the day and writes its items.
func (r *run) planFrame(fi, from int) {
	f := r.tp.frames[fi]
	lo, hi := max(r.tp.step(f.start), from), r.tp.step(f.end)
	if hi <= lo {
		return
	}
	t0 := r.tp.at(lo)
	need := r.misalignment(r.states[lo], t0)
	modelled := !r.age.Infant()

	r.planNaps(fi)
	r.adjustTonight(fi, lo)
	if modelled && f.kind != DayTravel && math.Abs(need) >= 0.5 {
		r.chooseBedtime(fi, lo, need)
	}

	lux, asleep := r.lux[lo:hi], r.asleep[lo:hi]
	r.fillBaseline(lux, asleep, lo, hi)
	base := Simulate(r.m, r.states[lo], t0, lux)
	var seek window
	var avoid []window
	if modelled && math.Abs(need) >= 0.25 {
		if !r.hadSeek(fi) {
			seek = r.chooseSeek(base, lo, hi, need)
		}
		if math.Abs(need) >= 0.5 {
			avoid = r.chooseAvoid(base, lo, hi, need, seek)
		}
	}
	baseline := append([]float64(nil), lux...)
	for {
		copy(lux, baseline)
		for i := seek.a; i < seek.b; i++ {
			lux[i-lo] = r.keptLux(i, seek.a, lux[i-lo])
		}
		for _, w := range avoid {
			for i := w.a; i < w.b; i++ {
				if kept(i - w.a) {
					lux[i-lo] = math.Min(lux[i-lo], LuxAvoid)
				}
			}
		}
		s := r.states[lo]
		for i := lo; i < hi; i++ {
			s = rk4(r.m, s, r.lux[i], stepHours)
			r.states[i+1] = s
		}
		// The clock may not move faster than people's clocks are known
		// to: a shorter light window until it does not.
		if seek.b <= seek.a || !r.tooFast(lo, hi, seek) {
			break
		}
		seek.b -= cycleSteps
		if seek.b-seek.a < 2*cycleSteps {
			seek = window{}
		}
	}
	r.items(fi, need, seek, avoid)
}

// rateMargin keeps the planned clock a little inside the published limits,
// since the next days' light adds its own small shifts.
const rateMargin = 0.15

// tooFast reports whether, with the day planned from step lo to hi, the
// body clock moves between the low point before the light window and the
// next one faster than MaxAdvancePerDay or MaxDelayPerDay allow. The next
// low point is found by living on past hi under the plan's ordinary light.
func (r *run) tooFast(lo, hi int, seek window) bool {
	target := r.base.PhaseAt(r.base.CBTmin)
	from := max(lo-stepsPerDay, 0)
	mins := phaseCrossings(r.m, r.states[from:hi+1], r.tp.at(from), target)
	// Live on past hi, step by step, until the next low point.
	ahead := min(hi+36*10, r.tp.steps) - hi
	if ahead > 0 && (len(mins) == 0 || !mins[len(mins)-1].After(r.tp.at(seek.a))) {
		lux := make([]float64, ahead)
		asleep := make([]bool, ahead)
		r.fillBaseline(lux, asleep, hi, hi+ahead)
		s := r.states[hi]
		prev := wrapPi(r.m.Phase(s) - target)
		for i, l := range lux {
			s = rk4(r.m, s, l, stepHours)
			cur := wrapPi(r.m.Phase(s) - target)
			if prev < 0 && cur >= 0 && cur-prev < math.Pi {
				m := r.tp.at(hi + i).Add(time.Duration(-prev / (cur - prev) * float64(Step)))
				if n := len(mins); n == 0 || m.Sub(mins[n-1]) >= minSeparation {
					mins = append(mins, m)
					break
				}
			}
			prev = cur
		}
	}
	start := r.tp.at(seek.a)
	for i := 1; i < len(mins); i++ {
		if mins[i].Before(start) {
			continue
		}
		gap := mins[i].Sub(mins[i-1]).Hours()
		days := math.Round(gap / 24)
		if days < 1 {
			return false
		}
		move := (days*24 - gap) / days
		return move > MaxAdvancePerDay-rateMargin || -move > MaxDelayPerDay-rateMargin
	}
	return false
}

// Light as a family really gets it. Laboratory protocols deliver their
// light to the minute; on a trip, people keep to part of a light window
// (Dawnward assumes about 70 %; field studies of jet-lag light advice found
// it hard to follow, Thompson et al. 2013, Miller et al. 2021). The model
// therefore assumes that of every half hour of a window to seek or avoid
// light, 18 minutes are kept and the rest is ordinary room light.
const (
	keptSteps  = 3 // of every cycleSteps steps of a light window
	cycleSteps = 5
)

// kept reports whether step k of a light window is one the person keeps.
func kept(k int) bool { return k%cycleSteps < keptSteps }

// keptLux is the light the model assumes at step i of a window to seek
// light that starts at step a, where base is the light without it.
func (r *run) keptLux(i, a int, base float64) float64 {
	if !kept(i - a) {
		return base
	}
	lux, _ := r.seekLux(r.tp.at(i))
	return max(lux, base)
}

// LuxUnknownDaylight is the outdoor light assumed where the place is not
// known, between 07:00 and 19:00: an overcast day (about 1,000–10,000 lux).
const LuxUnknownDaylight = 5000.0

// seekLux is the light a person can get on purpose at t, and whether it is
// outdoors: daylight when the sun is up where they are and gives more than
// bright lamps (the sun's elevation through OutdoorLux, an average cloudy
// sky); otherwise bright lamps near a window (no one should stare at a
// 10,000-lux lamp at night). Without coordinates daylight is taken to be
// 07:00–19:00 local time at LuxUnknownDaylight.
func (r *run) seekLux(t time.Time) (float64, bool) {
	i := r.tp.step(t)
	if i >= 0 && i < len(r.seekCache) && r.tp.at(i).Equal(t) {
		if c := r.seekCache[i]; c.set {
			return c.lux, c.outdoors
		}
		lux, out := r.seekLuxAt(t)
		r.seekCache[i] = seekCached{lux: lux, outdoors: out, set: true}
		return lux, out
	}
	return r.seekLuxAt(t)
}

// seekCached is seekLux remembered for one step: the sun's place takes
// some computing, and the light windows ask for each step many times.
type seekCached struct {
	lux           float64
	outdoors, set bool
}

// seekLuxAt computes seekLux.
func (r *run) seekLuxAt(t time.Time) (float64, bool) {
	mid := t.Add(Step / 2)
	if p := r.placeAt(mid); p.Known() {
		if lux := p.Lux(mid); lux >= LuxBrightIndoor {
			return lux, true
		}
		return LuxBrightIndoor, false
	}
	if h := mid.In(r.where(mid)).Hour(); h >= 7 && h < 19 {
		return LuxUnknownDaylight, true
	}
	return LuxBrightIndoor, false
}

// placeAt is where the person is at t: on board, the destination.
func (r *run) placeAt(t time.Time) Place {
	p := r.tp.legs[0].FromAt
	for _, l := range r.tp.legs {
		if t.Before(l.Depart) {
			break
		}
		p = l.ToAt
	}
	return p
}

// canSeek reports whether step i is a time to go and find light: awake, on
// the ground, not on the way to or from a flight, 06:00–22:00 local.
func (r *run) canSeek(i int) bool {
	if r.asleep[i] {
		return false
	}
	t := r.tp.at(i).Add(Step / 2)
	if r.inBusy(t) {
		return false
	}
	h := t.In(r.where(t)).Hour()
	return h >= 6 && h < 22
}

// seekHours is the length of a light window by intensity; children get at
// most two hours of outdoor play.
func (r *run) seekHours() float64 {
	h := 2.0
	switch r.tp.trip.Intensity {
	case syncproto.IntensityGentle:
		h = 1
	case syncproto.IntensityAggressive:
		h = 3
	}
	if !r.age.Grown() {
		h = math.Min(h, 2)
	}
	return h
}

// shiftOf is the phase change, in hours (positive: an advance), that light
// at lux over steps [a, b) brings compared with the baseline path.
func (r *run) shiftOf(base *Trajectory, lo, a, b int, lux func(i int) float64) float64 {
	s := base.States[a-lo]
	for i := a; i < b; i++ {
		s = rk4(r.m, s, lux(i), stepHours)
	}
	return wrapPi(r.m.Phase(s)-r.m.Phase(base.States[b-lo])) * 12 / math.Pi
}

// chooseSeek simulates a light window at every half hour the person can
// seek light and keeps the one that moves the clock most the way it must
// go, or, near the goal, the one that comes closest to it.
func (r *run) chooseSeek(base *Trajectory, lo, hi int, need float64) window {
	length := int(r.seekHours() / stepHours)
	mins := r.cbtMinsAround(lo, base)
	var best window
	bestScore := math.Inf(-1)
	for a := lo; a < hi; a += 5 {
		if !r.canSeek(a) {
			continue
		}
		b := a
		for b < hi && b-a < length && r.canSeek(b) {
			b++
		}
		if b-a < 10 && b-a < length {
			continue
		}
		if !r.lightFits(mins, a, b, need) {
			continue
		}
		d := r.shiftOf(base, lo, a, b, func(i int) float64 { return r.keptLux(i, a, r.lux[i]) })
		score := math.Copysign(1, need) * d
		if score > math.Abs(need) {
			score = math.Abs(need) - (score - math.Abs(need))
		}
		if score > bestScore {
			best, bestScore = window{a, b}, score
		}
	}
	if bestScore < 0.05 {
		return window{}
	}
	return best
}

// cbtMinsAround are the predicted CBTmins around a day planned from step
// lo along base: those before lo as planned, those on base, and one a day
// later than the last, in order.
func (r *run) cbtMinsAround(lo int, base *Trajectory) []time.Time {
	target := r.base.PhaseAt(r.base.CBTmin)
	from := max(lo-2*stepsPerDay, 0)
	mins := phaseCrossings(r.m, r.states[from:lo+1], r.tp.at(from), target)
	for _, m := range phaseCrossings(r.m, base.States, base.Start, target) {
		if n := len(mins); n == 0 || m.Sub(mins[n-1]) >= minSeparation {
			mins = append(mins, m)
		}
	}
	if n := len(mins); n > 0 {
		mins = append(mins, mins[n-1].Add(24*time.Hour))
	}
	return mins
}

// lightReach is how far from the low point a light window may reach: the
// phase response turns over about 12 h away, and a prediction is not
// exact to the hour.
const lightReach = 10*time.Hour + 30*time.Minute

// lightFits reports whether light over steps [a, b) is timed as the plan
// promises: to advance, after the body clock's low point (CBTmin) and
// nearer to it than to the next; to delay, before the next low point and
// in the 7 h before the next sleep, ending by bedtime.
func (r *run) lightFits(mins []time.Time, a, b int, need float64) bool {
	ta, tb := r.tp.at(a), r.tp.at(b)
	if need > 0 {
		for i := len(mins) - 1; i >= 0; i-- {
			if !mins[i].After(ta) {
				next := mins[i].Add(24 * time.Hour)
				if i+1 < len(mins) {
					next = mins[i+1]
				}
				return tb.Sub(mins[i]) < next.Sub(tb) && tb.Sub(mins[i]) <= lightReach
			}
		}
		return false
	}
	bed, ok := r.nextSleepAfter(ta)
	if !ok || tb.After(bed) || ta.Before(bed.Add(-delayLightBeforeBed)) {
		return false
	}
	for i, m := range mins {
		if !m.Before(tb) {
			prev := m.Add(-24 * time.Hour)
			if i > 0 {
				prev = mins[i-1]
			}
			return m.Sub(ta) < ta.Sub(prev) && m.Sub(ta) <= lightReach
		}
	}
	return false
}

// chooseAvoid finds the half hours when bright light would move the clock
// the wrong way, awake, anywhere (on board too), and merges them.
func (r *run) chooseAvoid(base *Trajectory, lo, hi int, need float64, seek window) []window {
	var out []window
	for a := lo; a+5 <= hi; a += 5 {
		if slices.Contains(r.asleep[a:a+5], true) || (a < seek.b && a+5 > seek.a) {
			continue
		}
		t := r.tp.at(a)
		lux := LuxBrightIndoor
		if _, air := r.inAir(t); !air && !r.inBusy(t) {
			lux, _ = r.seekLux(t)
		}
		if math.Copysign(1, need)*r.shiftOf(base, lo, a, a+5, func(int) float64 { return lux }) > -0.02 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].b == a && r.inAirAt(r.tp.at(a)) == r.inAirAt(r.tp.at(a-5)) {
			out[n-1].b = a + 5
		} else {
			out = append(out, window{a, a + 5})
		}
	}
	return slices.DeleteFunc(out, func(w window) bool { return w.b-w.a < 10 })
}

// tonight is the index in r.sleeps of the main ground sleep starting in
// frame fi, or -1.
func (r *run) tonight(fi int) int {
	f := r.tp.frames[fi]
	for i, s := range r.sleeps {
		if s.kind == ItemSleep && !s.inFlight && !s.start.Before(f.start) && s.start.Before(f.end) {
			return i
		}
	}
	return -1
}

// chooseBedtime simulates tonight's sleep half an hour (children a quarter)
// earlier and later and keeps the one that leaves the body clock closest
// to the plan by tomorrow morning, counting each hour moved as half an
// hour of misalignment: the social cost of a bedtime off the local one.
func (r *run) chooseBedtime(fi, lo int, need float64) {
	k := r.tonight(fi)
	if k < 0 || r.sleeps[k].clipped || r.sleeps[k].why != "" || r.tp.step(r.sleeps[k].start) < lo+5 {
		return // no night, or one that has begun or is about to
	}
	step := 30 * time.Minute
	if !r.age.Grown() {
		step = 15 * time.Minute
	}
	orig := r.sleeps[k]
	// An adult's moved night must leave every 24 h around it the sleep it
	// had, or MinAdultSleep.
	around := func() time.Duration { return r.shortestDay(orig.start.Add(-36*time.Hour), orig.end.Add(36*time.Hour)) }
	floor := min(around(), MinAdultSleep)
	bestCost, bestD := math.Inf(1), time.Duration(0)
	for _, d := range []time.Duration{-step, 0, step} {
		c := orig
		c.start, c.end = c.start.Add(d), c.end.Add(d)
		if !r.fits(c, k) || (d != 0 && !r.withinStep(k, c.start)) {
			continue
		}
		r.sleeps[k] = c
		if d != 0 && r.age.Adult() && around() < floor {
			continue
		}
		if d != 0 && !r.age.Adult() && !r.childDaysWithin(c.start) {
			continue
		}
		hi := min(r.tp.step(c.end)+10, r.tp.steps)
		if hi <= lo {
			continue
		}
		lux := make([]float64, hi-lo)
		asleep := make([]bool, hi-lo)
		r.fillBaseline(lux, asleep, lo, hi)
		s := Advance(r.m, r.states[lo], lux)
		cost := math.Abs(r.misalignment(s, r.tp.at(hi))) + 0.5*math.Abs(d.Hours())
		if cost < bestCost-1e-9 {
			bestCost, bestD = cost, d
		}
	}
	r.sleeps[k] = orig
	if bestD != 0 {
		r.sleeps[k].start = orig.start.Add(bestD)
		r.sleeps[k].end = orig.end.Add(bestD)
		dir := "earlier"
		if bestD > 0 {
			dir = "later"
		}
		r.sleeps[k].why = fmt.Sprintf("The model finds bed %d min %s than the plain schedule brings your body clock closer to local time by tomorrow.", int(bestD.Abs().Minutes()), dir)
	}
}

// childDaysWithin reports whether a child's sleep over the calendar day
// holding t, and the one after it, lies in the recommended range.
func (r *run) childDaysWithin(t time.Time) bool {
	lo, hi := r.age.SleepNeed()
	fi := r.frameAt(t)
	for _, f := range r.tp.frames[fi:min(fi+2, len(r.tp.frames))] {
		if f.kind == DayTravel || f.end.Sub(f.start) < 22*time.Hour {
			continue
		}
		got := r.sleepBetween(f.start, f.start.Add(24*time.Hour)).Hours()
		if got < lo || got > hi {
			return false
		}
	}
	return true
}

// withinStep reports whether night k may start at onset: on the local
// clock at most the person's step from the ground night before it in the
// same zone, and from the one after it.
func (r *run) withinStep(k int, onset time.Time) bool {
	step := time.Duration(r.stepH*float64(time.Hour)) + time.Minute
	loc := r.where(onset)
	moved := func(a, b time.Time) time.Duration {
		gap := b.Sub(a)
		days := gap.Round(24 * time.Hour)
		_, o1 := a.In(loc).Zone()
		_, o2 := b.In(loc).Zone()
		return (gap - days + time.Duration(o2-o1)*time.Second).Abs()
	}
	for _, i := range []int{k - 1, k + 1} {
		for i >= 0 && i < len(r.sleeps) && (r.sleeps[i].kind != ItemSleep || r.sleeps[i].inFlight) {
			if i < k {
				i--
			} else {
				i++
			}
		}
		if i < 0 || i >= len(r.sleeps) || r.where(r.sleeps[i].start) != loc {
			continue
		}
		if gap := r.sleeps[i].start.Sub(onset).Abs(); gap > 36*time.Hour {
			continue
		}
		a, b := r.sleeps[i].start, onset
		if i > k {
			a, b = b, a
		}
		if moved(a, b) > step {
			return false
		}
	}
	return true
}

// adjustTonight makes up for what the logs say went wrong today: a child
// who missed a nap or slept short last night goes to bed earlier.
func (r *run) adjustTonight(fi, lo int) {
	if r.now.IsZero() || r.age.Grown() {
		return
	}
	k := r.tonight(fi)
	if k < 0 || r.sleeps[k].start.Before(r.now) {
		return
	}
	f := r.tp.frames[fi]
	var why string
	if missed := r.missedNap(f); missed {
		why = "The nap was missed today, so bedtime comes earlier to make up for it."
	} else if slept, planned := r.lastNight(f); planned > 0 && slept < 0.8*planned {
		why = fmt.Sprintf("Last night was short (%.1f h of %.1f h), so bedtime comes earlier.", slept, planned)
	}
	if why == "" {
		return
	}
	earlier := 30 * time.Minute
	if r.age.Months < 36 {
		earlier = 20 * time.Minute
	}
	// As much of it as the step from the nights around allows.
	for ; earlier > 0; earlier -= 5 * time.Minute {
		c := r.sleeps[k]
		c.start = c.start.Add(-earlier)
		if r.fits(c, k) && r.withinStep(k, c.start) {
			c.why = why
			r.sleeps[k] = c
			return
		}
	}
}

// missedNap reports whether a nap planned in frame f before now has no
// logged sleep over it though the person logged sleep that day.
func (r *run) missedNap(f frame) bool {
	logged := false
	for _, l := range r.logs {
		if (l.Kind == LogSleep || l.Kind == LogNap) && l.Start.Before(f.end) && (l.End.IsZero() || l.End.After(f.start.Add(-missedNapLookback))) {
			logged = true
		}
	}
	if !logged {
		return false
	}
	for _, s := range r.sleeps {
		if s.kind != ItemNap || s.start.Before(f.start) || !s.end.Before(r.now) || !s.end.Before(f.end) {
			continue
		}
		covered := false
		for _, l := range r.logs {
			if (l.Kind == LogSleep || l.Kind == LogNap) && l.Start.Before(s.end) && (l.End.IsZero() || l.End.After(s.start)) {
				covered = true
			}
		}
		if !covered {
			return true
		}
	}
	return false
}

// lastNight is the logged and the planned sleep of the night that ended in
// frame f, in hours; planned is 0 when nothing was logged for it.
func (r *run) lastNight(f frame) (slept, planned float64) {
	for _, s := range r.sleeps {
		if s.kind == ItemSleep && s.end.After(f.start) && s.end.Before(f.end) && s.start.Before(f.start.Add(6*time.Hour)) {
			planned += s.end.Sub(s.start).Hours()
			lo, hi := s.start.Add(-lastNightSlack), s.end.Add(lastNightSlack)
			for _, l := range r.logs {
				if l.Kind == LogSleep && !l.End.IsZero() && l.Start.Before(hi) && l.End.After(lo) {
					slept += l.End.Sub(l.Start).Hours()
				}
			}
			if slept == 0 {
				return 0, 0
			}
			return slept, planned
		}
	}
	return 0, 0
}

// hadSeek reports whether, re-planning in the middle of frame fi, the plan
// already had a light window there before now: one window a day is the
// plan, and a re-plan does not stack a second on top.
func (r *run) hadSeek(fi int) bool {
	if r.prev == nil || r.prev[fi] == nil {
		return false
	}
	for _, it := range r.prev[fi].Items {
		if it.Kind == ItemLightSeek && it.Start.Before(r.now) {
			return true
		}
	}
	return false
}
