package circadian

import (
	"fmt"
	"slices"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// wakeIn is when the person gets up in frame f: the end of the main sleep
// ending early in the day, or an hour after landing.
func (r *run) wakeIn(f frame) time.Time {
	wake := time.Time{}
	for _, s := range r.sleeps {
		if s.kind == ItemSleep && !s.end.Before(f.start) && s.end.Before(f.start.Add(wakeWithin)) && s.end.Before(f.end) {
			wake = s.end
			break
		}
	}
	if f.kind == DayArrival {
		return later(wake, f.start.Add(afterLanding))
	}
	if wake.IsZero() {
		return f.start.Add(7 * time.Hour)
	}
	return wake
}

// bedIn is when the first main sleep after the day's waking begins, on
// the ground or on board: in frame f, or after it for someone who goes to
// bed after midnight; with none within a day, a usual day's length
// after waking.
func (r *run) bedIn(f frame, wake time.Time) time.Time {
	for _, s := range r.sleeps {
		if s.kind == ItemSleep && s.start.After(wake) && s.start.Before(later(f.end, wake).Add(8*time.Hour)) && s.start.Before(wake.Add(24*time.Hour)) {
			return s.start
		}
	}
	// No night planned: the plan ends first. A usual day's length.
	if !wake.IsZero() && wake.Before(f.end) {
		return wake.Add(time.Duration((24 - r.nightH) * float64(time.Hour)))
	}
	return f.end
}

// sleptBefore is the sleep in the 24 h before t, in hours: logged where
// the logs cover that time, planned otherwise.
func (r *run) sleptBefore(t time.Time) float64 {
	lo := t.Add(-sleptLookback)
	var logged, planned float64
	for _, l := range r.logs {
		if (l.Kind == LogSleep || l.Kind == LogNap) && !l.End.IsZero() {
			logged += overlap(l.Start, l.End, lo, t)
		}
	}
	if logged > 0 {
		return logged
	}
	for _, s := range r.sleeps {
		planned += overlap(s.start, s.end, lo, t)
	}
	return planned
}

// overlap is the hours [a, b) and [c, d) share.
func overlap(a, b, c, d time.Time) float64 {
	h := earlier(b, d).Sub(later(a, c)).Hours()
	return max(h, 0)
}

// planNaps adds frame fi's naps to the sleeps. Babies and toddlers nap by
// wake windows from when they got up; older children at their habitual nap
// times on the sleep clock; adults and teens take a 20-minute nap only
// after a short night, 30–50 % into the waking day and ending at least 4 h
// before bed. On a travel day children's naps are kept to
// 30 minutes so that they sleep at night at the other end.
func (r *run) planNaps(fi int) {
	f := r.tp.frames[fi]
	wake := r.wakeIn(f)
	bed := r.bedIn(f, wake)
	if !bed.After(wake) {
		return
	}
	var naps []span
	entered := false // the parents' naps, placed by the sleep clock's day
	switch window, _ := r.age.WakeWindow(); {
	case r.age.Grown() && f.kind == DayTravel:
		naps = r.flightNaps(f)
	case r.age.Grown():
		if r.sleptBefore(wake) >= 0.75*r.nightH || r.hasNap(f) {
			break
		}
		awake := bed.Sub(wake)
		start := wake.Add(awake * 4 / 10)
		if latest := bed.Add(-4*time.Hour - 20*time.Minute); start.After(latest) {
			start = latest
		}
		if start.After(wake.Add(time.Hour)) {
			naps = append(naps, span{start: start, end: start.Add(20 * time.Minute), kind: ItemNap,
				why: "After a short night a 20-minute nap restores alertness without spoiling tonight's sleep."})
		}
	case len(r.p.Naps) > 0 && (f.kind == DayStay || f.kind == DayPreTrip):
		// The naps the parents entered, at their times on the day's
		// clock: the starting point on every ordinary day.
		entered = true
		// The day on the sleep clock that this day's noon falls in.
		noon := f.start.Add(12 * time.Hour)
		o := r.soOffset(noon)
		day := syncproto.DateOf(noon.UTC().Add(time.Duration(o * float64(time.Hour))))
		for _, n := range r.p.Naps {
			h := float64(n.Start.Minutes()) / 60
			s := civil(day, h, o)
			naps = append(naps, span{start: s, end: s.Add(time.Duration(n.DurationMin) * time.Minute), kind: ItemNap,
				why: "Your usual nap, on " + r.placeOf(s) + "."})
		}
	case window > 0:
		why := ""
		if len(r.p.Naps) > 0 {
			why = fmt.Sprintf("On a day of travel, naps follow wake windows of about %s instead of the usual nap times.", fmtDuration(window))
		}
		for _, n := range wakeWindowNaps(r.age, 0, bed.Sub(wake).Hours()) {
			// Wake windows are fractions of an hour: whole minutes, so
			// that a nap starts at 11:25, not 11:24:59.999999999.
			s := wake.Add(time.Duration(n.start * float64(time.Hour)).Round(time.Minute))
			naps = append(naps, span{start: s, end: s.Add(time.Duration(n.hours * float64(time.Hour)).Round(time.Minute)), kind: ItemNap, why: why})
		}
	}
	busy := r.busy
	for _, n := range naps {
		if f.kind == DayTravel && !r.age.Infant() && n.end.Sub(n.start) > 30*time.Minute {
			n.end = n.start.Add(30 * time.Minute)
			n.why = "Travel-day naps stay short so that night sleep comes at the new bedtime."
		}
		if !entered && (n.start.Before(f.start) || !n.start.Before(f.end)) {
			continue // the next day plans its own
		}
		if n.start.Before(wake) || n.end.After(bed) {
			if len(r.p.Naps) > 0 && !r.age.Grown() {
				r.napDropped[fi] = fmt.Sprintf("The usual nap at %s is left out today: it would fall outside the waking day (up %s, bed %s) instead of inside it.",
					r.local(n.start, false), r.local(wake, false), r.local(bed, false))
			}
			continue
		}
		for _, piece := range r.fit(n, busy) {
			piece.why = n.why
			if r.sleepsOverlap(piece.start.Add(-30*time.Minute), piece.end.Add(30*time.Minute)) {
				continue // too close to another sleep to be a nap
			}
			r.sleeps = append(r.sleeps, piece)
		}
	}
	slices.SortFunc(r.sleeps, func(a, b span) int { return a.start.Compare(b.start) })
}

// sleepsOverlap reports whether a planned sleep or nap overlaps [a, b).
func (r *run) sleepsOverlap(a, b time.Time) bool {
	for _, s := range r.sleeps {
		if s.start.Before(b) && s.end.After(a) {
			return true
		}
	}
	return false
}

// flightNaps gives a long flight with no night in it a nap halfway: 45
// minutes to get through a day that lasts far longer than usual.
func (r *run) flightNaps(f frame) []span {
	var out []span
	for _, l := range r.tp.legs {
		if l.Arrive.Sub(l.Depart) < 10*time.Hour || l.Depart.Before(f.start) || !l.Depart.Before(f.end) {
			continue
		}
		slept := false
		for _, s := range r.sleeps {
			slept = slept || (s.inFlight && s.start.Before(l.Arrive) && s.end.After(l.Depart))
		}
		if slept {
			continue
		}
		mid := l.Depart.Add(l.Arrive.Sub(l.Depart) / 2).Round(15 * time.Minute)
		out = append(out, span{start: mid, end: mid.Add(45 * time.Minute), kind: ItemNap,
			why: "A long flight with no night in it: a short nap halfway keeps you going without stealing tonight's sleep."})
	}
	return out
}

// hasNap reports whether a nap is already planned in frame f.
func (r *run) hasNap(f frame) bool {
	for _, s := range r.sleeps {
		if s.kind == ItemNap && !s.start.Before(f.start) && s.start.Before(f.end) {
			return true
		}
	}
	return false
}
