package circadian

import (
	"fmt"
	"math"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// actualLux is the light the person really had up to step now: the plan's,
// except that a day with logged sleep counts only the logged sleep, and
// logged light replaces the plan's for its span. Days with nothing logged
// count as planned.
func (r *run) actualLux(logs []Log, now int) []float64 {
	out := append([]float64(nil), r.lux[:now]...)
	for _, f := range r.tp.frames {
		lo, hi := r.tp.step(f.start), min(r.tp.step(f.end), now)
		if lo >= now {
			break
		}
		logged := false
		for _, l := range logs {
			if (l.Kind == LogSleep || l.Kind == LogNap) && l.Start.Before(f.end) && (l.End.IsZero() || l.End.After(f.start)) {
				logged = true
				break
			}
		}
		if !logged {
			continue
		}
		for i := max(lo, 0); i < hi; i++ {
			if r.asleep[i] {
				out[i] = LuxIndoor
				if r.inAirAt(r.tp.at(i)) {
					out[i] = LuxCabin
				}
			}
		}
	}
	set := func(a, b time.Time, lux float64) {
		i0, i1 := max(r.tp.step(a), 0), min(r.tp.step(b), now)
		if b.IsZero() {
			i1 = now
		}
		for i := i0; i < i1; i++ {
			out[i] = lux
		}
	}
	for _, l := range logs {
		if l.Kind == LogLight {
			set(l.Start, l.End, l.Lux)
		}
	}
	for _, l := range logs {
		if l.Kind == LogSleep || l.Kind == LogNap {
			set(l.Start, l.End, 0)
		}
	}
	return out
}

// result gathers the plan: the days, the body clock on each, and how long
// adaptation takes at each stop.
func (r *run) result() *MemberPlan {
	mp := &MemberPlan{
		MemberID: r.p.ID, Name: r.p.Name, AgeBand: r.age.Band, Modelled: !r.age.Infant(),
		Notes: append([]string(nil), r.tp.notes...), Adaptation: []Adaptation{}, Days: []Day{},
	}
	if mp.Modelled {
		mp.HabitualCBTMin = clockString(r.base.CBTmin)
		if r.p.Clock.Confident() {
			c := *r.p.Clock
			mp.PersonalClock = &c
		}
	}
	mp.Notes = append(mp.Notes, r.personNotes()...)
	mis := make([]*float64, len(r.tp.frames))
	cbt := make([]*time.Time, len(r.tp.frames))
	dlmo := make([]*time.Time, len(r.tp.frames))
	if mp.Modelled {
		// The model's low points fall between its steps, to the
		// nanosecond: the plan gives them, and the melatonin onsets, to
		// the second.
		mins := r.cbtMins()
		for _, m := range mins {
			if !m.Before(r.tp.frames[0].start) {
				mp.CBTMins = append(mp.CBTMins, m.Round(time.Second).In(r.where(m)))
			}
		}
		for _, m := range mins {
			fi := r.frameAt(m)
			if m.Before(r.tp.frames[fi].start) || cbt[fi] != nil {
				continue // a long day of travel shows its first
			}
			loc := r.where(m)
			local := m.In(loc)
			h := float64(local.Hour()) + float64(local.Minute())/60 + float64(local.Second())/3600
			v := math.Round(wrap12(h-r.base.CBTmin)*10) / 10
			local = local.Round(time.Second)
			mis[fi], cbt[fi] = &v, &local
		}
		for fi, f := range r.tp.frames {
			wake := r.wakeIn(f)
			for _, m := range mins {
				if d := m.Add(-DLMOBeforeCBTmin); d.After(wake) {
					local := d.Round(time.Second).In(r.where(d))
					dlmo[fi] = &local
					break
				}
			}
		}
	}
	var hiddenFrom, hiddenTo *frame
	for fi := range r.tp.frames {
		f := &r.tp.frames[fi]
		d := r.dayOf[fi]
		if f.hidden {
			if hiddenFrom == nil {
				hiddenFrom = f
			}
			hiddenTo = f
			continue
		}
		if d == nil {
			continue
		}
		d.CBTMin, d.Misalignment, d.DLMO = cbt[fi], mis[fi], dlmo[fi]
		mp.Days = append(mp.Days, *d)
	}
	if hiddenFrom != nil {
		mp.Notes = append(mp.Notes, fmt.Sprintf("From %s to %s nothing special: live on local time.",
			hiddenFrom.start.Format("Mon 2 Jan"), hiddenTo.start.Format("Mon 2 Jan")))
	}
	for _, s := range r.tp.stops {
		if !s.full {
			continue
		}
		a := Adaptation{TZ: s.zone.String(), Arrive: s.arrive.In(s.zone), Days: -1}
		if mp.Modelled {
			day := 0
			for fi, f := range r.tp.frames {
				if f.start.Before(s.arrive) || (!s.depart.IsZero() && !f.start.Before(s.depart)) || f.kind == DayTravel {
					continue
				}
				if f.kind == DayStay {
					day++
				}
				if mis[fi] != nil && math.Abs(*mis[fi]) <= 1 {
					a.Days = day
					break
				}
			}
			a.DaysMin, a.DaysMax = r.adaptRange(s, a.Days)
		}
		mp.Adaptation = append(mp.Adaptation, a)
	}
	return mp
}

// clockString is hours after midnight as "04:35".
func clockString(h float64) string {
	m := int(math.Round(h*60)) % (24 * 60)
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// personNotes are what a plan says once about a person.
func (r *run) personNotes() []string {
	var notes []string
	if r.age.Infant() {
		notes = append(notes, "Under six months, sleep follows feeds and wake windows more than the body clock: this plan gives rhythms (daylight and activity by day, dark and quiet at night, on local time) and nap times from wake windows, not predictions.",
			"Feed on demand, day and night: keep daytime feeds bright and social, night feeds dim and quiet. On a flight, a feed at take-off and landing eases the ears.")
	}
	if !r.age.Adult() {
		big := false
		for _, j := range r.tp.journeys {
			big = big || math.Abs(j.shift) >= 5
		}
		if big && r.age.Months >= 24 {
			notes = append(notes, "Melatonin is not advised for children without medical advice: ask your pediatrician before using it.")
		}
	}
	lo, hi := r.age.SleepNeed()
	if h := r.p.nightHours(); math.Abs(h-r.nightH) > 0.01 {
		notes = append(notes, fmt.Sprintf("A usual night of %.1f h is outside the %g–%g h a day recommended at this age, naps included; the plan allows %.1f h.", h, lo, hi, r.nightH))
	}
	if r.age.Band != syncproto.AgeAdult && (r.p.Melatonin || r.p.Caffeine) {
		notes = append(notes, "Melatonin and caffeine advice is for adults only.")
	}
	return notes
}

// cbtMins are the predicted CBTmins of the whole plan: the instants when
// the model's phase passes the phase of the person's habitual CBTmin.
// Phase, unlike the raw minimum of the model's marker, is not pulled about
// by the light of the moment, so consecutive minima show how fast the
// clock really moves.
func (r *run) cbtMins() []time.Time {
	return phaseCrossings(r.m, r.states, r.tp.start, r.base.PhaseAt(r.base.CBTmin))
}

// phaseCrossings are the instants at which the phase of the path states,
// starting at start one Step apart, passes target going forward,
// interpolated between steps and at least 13 h apart.
func phaseCrossings(m Model, states [][3]float64, start time.Time, target float64) []time.Time {
	var out []time.Time
	prev := wrapPi(m.Phase(states[0]) - target)
	for i := 1; i < len(states); i++ {
		cur := wrapPi(m.Phase(states[i]) - target)
		if prev < 0 && cur >= 0 && cur-prev < math.Pi {
			at := start.Add(time.Duration((float64(i-1) + -prev/(cur-prev)) * float64(Step)))
			if n := len(out); n == 0 || at.Sub(out[n-1]) >= minSeparation {
				out = append(out, at)
			}
		}
		prev = cur
	}
	return out
}

// adaptRange bounds days, the predicted days to adapt to stop s, by the
// model's error in the rate of re-entrainment: the misalignment left on
// arrival, less the hour that counts as adapted, over the predicted rate
// plus and minus the error.
func (r *run) adaptRange(s stop, days int) (lo, hi int) {
	if days < 0 {
		return 0, 0
	}
	var left float64
	for _, f := range r.tp.frames {
		if !f.start.Before(s.arrive) {
			left = math.Abs(r.misalignment(r.states[min(r.tp.step(f.start), r.tp.steps)], f.start))
			break
		}
	}
	if left <= 1 || days == 0 {
		return days, days
	}
	rate := (left - 1) / float64(max(days, 1))
	e := r.rateError
	lo = int(math.Ceil((left - 1) / (rate + e)))
	hi = int(math.Ceil((left - 1) / math.Max(rate-e, 0.25)))
	return min(lo, days), max(hi, days)
}
