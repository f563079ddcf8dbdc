package circadian

import (
	"math"
	"slices"
	"time"
)

// travelSleep fits the nights to the flights the way a traveller would:
// a night cut short by an early departure starts earlier, by up to the
// person's step; and on board, the whole of the night, by the clock left
// behind or the clock of the destination, is time to sleep, up to a usual
// night, so that an overnight flight is not a night without sleep.
func (r *run) travelSleep() {
	for i, s := range r.sleeps {
		if s.kind != ItemSleep || s.inFlight || !s.clipped {
			continue
		}
		want := time.Duration(math.Min(r.nightH, 6) * float64(time.Hour))
		if short := want - s.end.Sub(s.start); short > 0 && r.cutByDeparture(s.end) {
			r.bedEarlier(i, short, "Bed earlier tonight, for the early start tomorrow.")
		}
	}
	r.sleepBeforeNightFlights()
	sleepH := float64(r.p.Sleep.Minutes()) / 60
	for _, l := range r.tp.legs {
		a, b := l.Depart.Add(boardSettle), l.Arrive.Add(-boardLanding)
		if b.Sub(a) < time.Hour {
			continue
		}
		before := r.soOffset(l.Depart.Add(-time.Minute))
		night := func(t time.Time) bool {
			old := math.Mod(float64(t.Unix()%86400)/3600+before-sleepH+48, 24) < r.nightH
			return old || r.nightOnSleepClock(t)
		}
		var best, cur [2]time.Time
		for t := a; t.Before(b); t = t.Add(Step) {
			if !night(t.Add(Step / 2)) {
				cur = [2]time.Time{}
				continue
			}
			if cur[0].IsZero() {
				cur[0] = t
			}
			cur[1] = earlier(t.Add(Step), b)
			if cur[1].Sub(cur[0]) > best[1].Sub(best[0]) {
				best = cur
			}
		}
		if limit := time.Duration(r.nightH * float64(time.Hour)); best[1].Sub(best[0]) > limit {
			best[1] = best[0].Add(limit)
		}
		var have time.Duration
		for _, s := range r.sleeps {
			if s.inFlight && s.start.Before(l.Arrive) && s.end.After(l.Depart) {
				have += s.end.Sub(s.start)
			}
		}
		if best[1].Sub(best[0]) < time.Hour || best[1].Sub(best[0]) <= have {
			continue
		}
		r.sleeps = slices.DeleteFunc(r.sleeps, func(s span) bool {
			return s.inFlight && s.start.Before(l.Arrive) && s.end.After(l.Depart)
		})
		r.sleeps = append(r.sleeps, span{start: best[0], end: best[1], kind: ItemSleep, inFlight: true, clipped: true})
	}
	slices.SortFunc(r.sleeps, func(a, b span) int { return a.start.Compare(b.start) })
	if r.age.Adult() {
		r.enoughSleep()
	}
}

// enoughSleep makes sure an adult has MinAdultSleep of sleep opportunity
// in every 24 h: where a day of travel leaves less, the sleep on board
// grows, first into the destination's morning, then back towards
// take-off; failing that the next night on the ground starts earlier, or
// the last one ends later.
func (r *run) enoughSleep() {
	// A change for one window can shorten another: a few passes.
	for range 8 {
		if !r.enoughSleepPass() {
			return
		}
	}
}

// enoughSleepPass is one pass of enoughSleep; it reports whether it found
// a window short of sleep.
func (r *run) enoughSleepPass() bool {
	found := false
	end := r.tp.at(r.tp.steps)
	var ends []time.Time
	for _, s := range r.sleeps {
		ends = append(ends, s.end)
	}
	// which finds the sleep that ends at t, as the list changes.
	which := func(t time.Time) int {
		return slices.IndexFunc(r.sleeps, func(s span) bool { return s.end.Equal(t) })
	}
	for _, w0 := range ends {
		latest := w0.Add(time.Hour) // sleeping in, at most an hour
		for range 6 {
			i := which(w0)
			w1 := w0.Add(24 * time.Hour)
			if i < 0 || w1.After(end) || w0.Before(r.tp.start) {
				break
			}
			short := MinAdultSleep - r.sleepBetween(w0, w1)
			if short <= 0 {
				break
			}
			found = true
			short = r.sleepOnBoard(w0, w1, short)
			// The next night on the ground starts earlier.
			for j := range r.sleeps {
				if s := r.sleeps[j]; short > 0 && s.kind == ItemSleep && !s.inFlight && s.start.After(w0) && s.start.Before(w1) {
					short -= r.bedEarlier(j, short, "Bed a little earlier, to get enough sleep around the journey.")
				}
			}
			// A nap where one fits.
			if short > 0 {
				short = r.napIn(w0, w1, short)
			}
			// This night on the ground ends later; the window moves with it.
			if i = which(w0); i >= 0 && short > 0 && r.sleeps[i].kind == ItemSleep && !r.sleeps[i].inFlight {
				c := r.sleeps[i]
				c.end = earlier(latest, c.end.Add((short+15*time.Minute-1)/(15*time.Minute)*(15*time.Minute)))
				if c.end.After(w0) && r.fits(c, i) {
					c.why = "Sleep in a little, to get enough sleep around the journey."
					r.sleeps[i] = c
					w0 = c.end
					continue
				}
			}
			if short > 0 {
				break // nothing more to be done for this window
			}
		}
	}
	return found
}

// napIn plans a nap of what is missing (20 minutes to 2 hours) inside
// [w0, w1): on board if a flight leaves room for it, else on the ground,
// as near the middle of the waking hours as it fits. It returns the sleep
// still missing.
func (r *run) napIn(w0, w1 time.Time, short time.Duration) time.Duration {
	// A nap already in the window grows first, up to 2 h.
	for i, s := range r.sleeps {
		if s.kind != ItemNap || !s.start.After(w0) || !s.end.Before(w1) {
			continue
		}
		c := s
		c.end = earlier(earlier(s.end.Add(short), s.start.Add(2*time.Hour)), w1)
		if c.end.After(s.end) && r.fits(c, i) {
			r.sleeps[i] = c
			short -= c.end.Sub(s.end)
			if short <= 0 {
				return short
			}
		}
	}
	d := min(max(short, 20*time.Minute), 2*time.Hour).Round(5 * time.Minute)
	var best span
	bestCost := time.Duration(math.MaxInt64)
	for t := w0.Add(2 * time.Hour).Truncate(15 * time.Minute); !t.Add(d).After(w1); t = t.Add(15 * time.Minute) {
		nap := span{start: t, end: t.Add(d), kind: ItemNap}
		if leg, air := r.inAir(t); air && !t.Add(d).After(r.tp.legs[leg].Arrive.Add(-boardLanding)) && !t.Before(r.tp.legs[leg].Depart.Add(boardSettle)) {
			nap.inFlight = true
		}
		if !r.fits(nap, -1) {
			continue
		}
		// The best nap is on board, else in the middle of the day.
		cost := (t.Sub(w0) - 8*time.Hour).Abs()
		if !nap.inFlight {
			cost += 24 * time.Hour
		}
		if cost < bestCost {
			best, bestCost = nap, cost
		}
	}
	if best.start.IsZero() {
		return short
	}
	best.why = "A nap makes up for the short night of the journey."
	r.sleeps = append(r.sleeps, best)
	slices.SortFunc(r.sleeps, func(x, y span) int { return x.start.Compare(y.start) })
	return short - d
}

// sleepOnBoard grows the sleep on the flights inside [w0, w1) by up to
// short, and returns what is still missing.
func (r *run) sleepOnBoard(w0, w1 time.Time, short time.Duration) time.Duration {
	for _, l := range r.tp.legs {
		if short <= 0 {
			break
		}
		a, b := later(l.Depart.Add(boardSettle), w0), earlier(l.Arrive.Add(-boardLanding), w1)
		if b.Sub(a) < time.Hour {
			continue
		}
		onLeg := func(s span) bool { return s.inFlight && s.start.Before(l.Arrive) && s.end.After(l.Depart) }
		// One sleep on board: two nights that meet in the air become one.
		var merged span
		for _, s := range r.sleeps {
			if onLeg(s) {
				if merged.start.IsZero() {
					merged = s
				}
				merged.start, merged.end = earlier(merged.start, s.start), later(merged.end, s.end)
				if s.kind == ItemSleep {
					merged.kind, merged.why = ItemSleep, s.why
				}
			}
		}
		if !merged.start.IsZero() {
			r.sleeps = slices.DeleteFunc(r.sleeps, onLeg)
			r.sleeps = append(r.sleeps, merged)
			slices.SortFunc(r.sleeps, func(x, y span) int { return x.start.Compare(y.start) })
		}
		k := slices.IndexFunc(r.sleeps, onLeg)
		if k >= 0 && !r.sleeps[k].end.After(w0) {
			continue // it starts the window: growing it only moves the window
		}
		if k < 0 {
			r.sleeps = slices.DeleteFunc(r.sleeps, onLeg)
			start := a
			for t := a; t.Before(b); t = t.Add(Step) {
				if r.nightOnSleepClock(t) {
					start = t
					break
				}
			}
			r.sleeps = append(r.sleeps, span{start: start, end: start, kind: ItemSleep, inFlight: true, clipped: true})
			slices.SortFunc(r.sleeps, func(x, y span) int { return x.start.Compare(y.start) })
			k = slices.IndexFunc(r.sleeps, func(s span) bool { return onLeg(s) && s.kind == ItemSleep })
		}
		s := &r.sleeps[k]
		if grow := min(short, b.Sub(later(s.end, a))); grow > 0 {
			s.end = later(s.end, a).Add(grow)
			short -= grow
		}
		if grow := min(short, earlier(s.start, b).Sub(a)); grow > 0 {
			s.start = earlier(s.start, b).Add(-grow)
			short -= grow
		}
		switch d := s.end.Sub(s.start); {
		case d < 20*time.Minute:
			short += d
			r.sleeps = slices.Delete(r.sleeps, k, k+1)
		case d < 2*time.Hour && s.kind == ItemSleep:
			s.kind, s.why = ItemNap, "A nap on board makes up for the short nights of the journey."
		case d >= 2*time.Hour && s.kind == ItemNap:
			s.kind, s.why = ItemSleep, ""
		}
	}
	return short
}

// bedEarlier moves the start of ground night i earlier by up to by, in
// quarter hours, as far as the person's step from the nights around it
// allows, and reports how much it moved.
func (r *run) bedEarlier(i int, by time.Duration, why string) time.Duration {
	s := r.sleeps[i]
	for d := (by + 15*time.Minute - 1) / (15 * time.Minute) * (15 * time.Minute); d > 0; d -= 15 * time.Minute {
		c := s
		c.start = s.start.Add(-d)
		if r.fits(c, i) && r.withinStep(i, c.start) {
			c.why = why
			r.sleeps[i] = c
			return d
		}
	}
	return 0
}

// fits reports whether c can take the place of sleep self (-1 for a new
// one): wholly on the ground outside the spans around flights, or wholly
// inside one flight, and at least 2 h from every other sleep.
func (r *run) fits(c span, self int) bool {
	if c.inFlight {
		leg, ok := r.inAir(c.start)
		if !ok || c.end.After(r.tp.legs[leg].Arrive) {
			return false
		}
	} else {
		for _, b := range r.busy {
			if c.start.Before(b[1]) && c.end.After(b[0]) {
				return false
			}
		}
	}
	for j, s := range r.sleeps {
		if j != self && c.start.Before(s.end.Add(2*time.Hour)) && c.end.Add(2*time.Hour).After(s.start) {
			return false
		}
	}
	return true
}

// shortestDay is the least sleep, over the 24 h from the end of each
// sleep that ends in [a, b), that the plan gives; a full day when no
// window lies wholly inside the plan.
func (r *run) shortestDay(a, b time.Time) time.Duration {
	least := 24 * time.Hour
	end := r.tp.at(r.tp.steps)
	for _, s := range r.sleeps {
		if s.end.Before(a) || !s.end.Before(b) || s.end.Add(24*time.Hour).After(end) || s.end.Before(r.tp.start) {
			continue
		}
		least = min(least, r.sleepBetween(s.end, s.end.Add(24*time.Hour)))
	}
	return least
}

// sleepBetween is the planned sleep in [a, b).
func (r *run) sleepBetween(a, b time.Time) time.Duration {
	var d time.Duration
	for _, s := range r.sleeps {
		if lo, hi := later(s.start, a), earlier(s.end, b); hi.After(lo) {
			d += hi.Sub(lo)
		}
	}
	return d
}

// sleepBeforeNightFlights plans a sleep of up to 3 h before leaving for a
// flight that leaves in the night, when the night itself cannot start
// before one must leave: the first part of the night, taken early.
func (r *run) sleepBeforeNightFlights() {
	for _, b := range r.busy {
		leave := b[0]
		if !r.nightOnSleepClock(leave) && !r.nightOnSleepClock(leave.Add(time.Hour)) {
			continue
		}
		var last time.Time // the end of the last sleep before leaving
		for _, s := range r.sleeps {
			if !s.start.After(leave) {
				last = later(last, s.end)
			}
		}
		if !last.IsZero() && leave.Sub(last) < 10*time.Hour {
			continue // a night, or most of it, is already there
		}
		start := leave.Add(-3 * time.Hour)
		if !last.IsZero() {
			start = later(start, last.Add(8*time.Hour))
		}
		start = start.Truncate(15 * time.Minute)
		nap := span{start: start, end: leave, kind: ItemNap,
			why: "The flight leaves in the night: sleep before leaving for the airport."}
		if leave.Sub(start) >= time.Hour && r.fits(nap, -1) {
			r.sleeps = append(r.sleeps, nap)
			slices.SortFunc(r.sleeps, func(x, y span) int { return x.start.Compare(y.start) })
		}
	}
}

// cutByDeparture reports whether a sleep ending at t was cut short to
// leave for a flight.
func (r *run) cutByDeparture(t time.Time) bool {
	for _, b := range r.busy {
		if t.Equal(b[0]) {
			return true
		}
	}
	return false
}
