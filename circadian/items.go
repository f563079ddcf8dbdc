package circadian

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// hhmm is t as a clock time, "09:00".
func hhmm(t time.Time) string { return t.Format("15:04") }

// item makes an item in the local time of where the person is at start.
func (r *run) item(kind ItemKind, start, end time.Time, text, reason string) Item {
	loc := r.where(start)
	_, air := r.inAir(start.Add(time.Second))
	return Item{Kind: kind, Start: start.In(loc), End: end.In(loc), TZ: loc.String(), InFlight: air, Text: text, Reason: reason}
}

// placeOf names the clock the plan aims for at t: "London time".
func (r *run) placeOf(t time.Time) string {
	f := r.tp.frames[r.frameAt(t)]
	a := r.tp.aimAt(t)
	switch {
	case f.preShift > 0 && t.Before(r.tp.legs[r.tp.journeys[f.journey].first].Depart):
		return "today's shifted schedule"
	case a.b != nil:
		return "a clock halfway to " + placeName("", a.b) + " time"
	}
	return placeName("", a.a) + " time"
}

// local is how a time reads where the person is, with the zone's city in
// flight: "06:00 London time".
func (r *run) local(t time.Time, air bool) string {
	loc := r.where(t)
	if air {
		return hhmm(t.In(loc)) + " " + placeName("", loc) + " time"
	}
	return hhmm(t.In(loc))
}

func (r *run) between(a, b time.Time, air bool) string {
	loc := r.where(a)
	s := hhmm(a.In(loc)) + "–" + hhmm(b.In(loc))
	if air {
		s += " " + placeName("", loc) + " time"
	}
	return s
}

// items writes the advice of frame fi.
func (r *run) items(fi int, need float64, seek window, avoid []window) {
	f := r.tp.frames[fi]
	d := &Day{Date: f.date, TZ: f.zone.String(), Kind: f.kind, Label: f.label, Start: f.start.In(f.zone), End: f.end.In(f.zone), Items: []Item{}}
	for _, s := range r.sleeps {
		if !s.start.Before(f.start) && s.start.Before(f.end) {
			d.Items = append(d.Items, r.sleepItem(f, s))
		}
	}
	// The light window, in runs outdoors in daylight and indoors under
	// bright lamps.
	for i := seek.a; i < seek.b; {
		_, out := r.seekLux(r.tp.at(i))
		j, sum := i, 0.0
		for ; j < seek.b; j++ {
			lux, o := r.seekLux(r.tp.at(j))
			if o != out {
				break
			}
			sum += lux
		}
		a, b := later(r.tp.at(i), f.start), earlier(r.tp.at(j), f.end)
		lux := math.Round(sum/float64(j-i)/100) * 100
		text := fmt.Sprintf("Go outside in daylight, %s (about %s lux)", r.between(a, b, false), groupThousands(lux))
		if !out {
			text = fmt.Sprintf("Sit in bright light, %s: all lamps on near a window, or a light box at arm's length if you have one", r.between(a, b, false))
		}
		if b.Sub(a) >= 15*time.Minute {
			it := r.item(ItemLightSeek, a, b, text, r.lightReason(need, a, true))
			it.Effect, it.Outdoors, it.Lux = effectOf(need), out, lux
			d.Items = append(d.Items, it)
		}
		i = j
	}
	for _, w := range avoid {
		for _, p := range r.splitAtFlights(later(r.tp.at(w.a), f.start), earlier(r.tp.at(w.b), f.end)) {
			a, b := p[0], p[1]
			text := "Avoid bright light " + r.between(a, b, false) + ": sunglasses outside, lamps low inside"
			if r.inAirAt(a) {
				text = "Keep the window shade down and screens dim, " + r.between(a, b, true)
			}
			it := r.item(ItemLightAvoid, a, b, text, r.lightReason(need, a, false))
			it.Effect = effectOf(need)
			d.Items = append(d.Items, it)
		}
	}
	slices.SortStableFunc(d.Items, func(a, b Item) int { return a.Start.Compare(b.Start) })
	r.need[fi] = need
	if !f.hidden {
		r.dayOf[fi] = d
	}
}

// finishFrame adds to frame fi the advice that moves no clock in the
// model and hangs on the sleep around the day: meals, melatonin and
// caffeine. It runs when every day is planned, so that it sees the nights
// as they finally are and the body clock as predicted.
func (r *run) finishFrame(fi int, dlmos []time.Time) {
	d := r.dayOf[fi]
	if d == nil {
		return
	}
	f := r.tp.frames[fi]
	wake := r.wakeIn(f)
	bed := r.bedIn(f, wake)
	if why := r.napDropped[fi]; why != "" {
		for i := range d.Items {
			if d.Items[i].Kind == ItemNap || d.Items[i].Kind == ItemSleep {
				d.Items[i].Reason += " " + why
				break
			}
		}
	}
	d.Items = append(d.Items, r.meals(f, wake, bed)...)
	if r.age.Adult() {
		d.Items = append(d.Items, r.melatonin(f, r.need[fi], wake, bed, dlmos)...)
		d.Items = append(d.Items, r.caffeine(f, r.need[fi], wake)...)
	}
	slices.SortStableFunc(d.Items, func(a, b Item) int { return a.Start.Compare(b.Start) })
}

// groupThousands writes lux as "12,000".
func groupThousands(v float64) string {
	n := int(v)
	if n < 1000 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d,%03d", n/1000, n%1000)
}

// effectOf is the way a plan that needs need hours moves the clock.
func effectOf(need float64) Effect {
	if need < 0 {
		return EffectDelay
	}
	return EffectAdvance
}

func (r *run) lightReason(need float64, t time.Time, seek bool) string {
	where := r.placeOf(t)
	h := math.Abs(need)
	switch {
	case need > 0 && seek:
		return fmt.Sprintf("Your body clock is about %.1f h behind %s; light now moves it earlier.", h, where)
	case need < 0 && seek:
		return fmt.Sprintf("Your body clock is about %.1f h ahead of %s; light now moves it later.", h, where)
	case need > 0:
		return fmt.Sprintf("Your body clock is about %.1f h behind %s; bright light now would push it later still.", h, where)
	}
	return fmt.Sprintf("Your body clock is about %.1f h ahead of %s; bright light now would push it earlier still.", h, where)
}

func (r *run) sleepItem(f frame, s span) Item {
	if s.kind == ItemNap {
		text := "Nap " + r.between(s.start, s.end, s.inFlight)
		why := s.why
		if why == "" {
			why = "Naps on local time help the new rhythm."
			if w, _ := r.age.WakeWindow(); w > 0 {
				why = fmt.Sprintf("At %d months, naps follow wake windows of about %s.", r.age.Months, fmtDuration(w))
			}
		}
		if r.age.Infant() {
			text = fmt.Sprintf("Nap around %s (about %s), or when tired", r.local(s.start, s.inFlight), fmtDuration(s.end.Sub(s.start)))
		}
		return r.item(ItemNap, s.start, s.end, text, why)
	}
	text := "Sleep " + r.between(s.start, s.end, false)
	why := "Sleeping at night by local time anchors the body clock to " + r.placeOf(s.start) + "."
	switch {
	case s.inFlight:
		text = "Sleep on the plane, " + r.between(s.start, s.end, true)
		why = "It is night by " + r.placeOf(s.start) + "; sleeping now starts the new rhythm."
		if !r.nightOnSleepClock(s.start) {
			why = "This is your night on the shifted schedule you kept before leaving; sleep now and arrive rested for a day on local time."
		}
	case r.age.Infant():
		text = "Night sleep, about " + r.between(s.start, s.end, false) + ", with feeds on demand"
		why = "Under six months sleep follows feeds and wake windows more than the clock; keep the night dark and quiet on local time."
	case r.shifting(s.start):
		sf := r.shiftFrame(s.start)
		j := r.tp.journeys[sf.journey]
		// How far bed moved from the usual bedtime on the local clock.
		o := r.tp.aimAt(s.start).offset(s.start)
		local := s.start.Add(time.Duration(o * float64(time.Hour))).UTC()
		usual := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC).Add(time.Duration(r.p.Sleep.Minutes()) * time.Minute)
		moved := wrap12(usual.Sub(local).Hours())
		dir := "earlier"
		if moved < 0 {
			dir = "later"
		}
		why = fmt.Sprintf("Shifting day %d of %d: bed %s %s than usual moves your clock towards %s.", sf.preShift, j.preDays, fmtDuration(time.Duration(math.Abs(moved)*float64(time.Hour))), dir, r.placeOf(r.tp.legs[j.last].Arrive))
		if math.Abs(moved) < 0.1 {
			why = fmt.Sprintf("Shifting day %d of %d: bed at the usual time tonight, for the journey; the rest of the day keeps to the shifted schedule.", sf.preShift, j.preDays)
		}
	case s.clipped && r.cutByDeparture(s.end):
		why = "Up in time to leave for the flight."
	case r.tp.keepHome:
		why = "A short trip: stay on home time."
	}
	if s.why != "" {
		why += " " + s.why
	}
	return r.item(ItemSleep, s.start, s.end, text, why)
}

// fmtDuration is "45 min", "2 h" or "1 h 30 min".
func fmtDuration(d time.Duration) string {
	m := int(d.Round(time.Minute).Minutes())
	switch {
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m%60 == 0:
		return fmt.Sprintf("%d h", m/60)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

// meals puts meals at the sleep clock's times: breakfast half an hour after
// getting up, lunch 40 % into the day, dinner 3 h before bed (children 90
// minutes); on board, at the destination's meal times. Eating at the new
// times helps the body's other clocks follow.
func (r *run) meals(f frame, wake, bed time.Time) []Item {
	if r.age.Infant() {
		return nil // fed on demand: a note of the plan, not an item
	}
	if f.kind == DayArrival {
		// The day started elsewhere: meals at the local clock's usual times.
		w := civil(f.date, float64(r.p.Wake.Minutes())/60, r.soOffset(f.end.Add(-time.Hour)))
		if w.Before(wake) {
			wake = w
		}
	}
	if !bed.After(wake.Add(4 * time.Hour)) {
		return nil
	}
	dinnerBefore := 3 * time.Hour
	if !r.age.Grown() {
		dinnerBefore = 90 * time.Minute
	}
	type meal struct {
		name string
		at   time.Time
	}
	awake := bed.Sub(wake)
	meals := []meal{
		{"Breakfast", wake.Add(30 * time.Minute)},
		{"Lunch", wake.Add(awake * 4 / 10).Round(15 * time.Minute)},
		{"Dinner", bed.Add(-dinnerBefore).Round(15 * time.Minute)},
	}
	extra := ""
	if r.age.Months < 12 {
		extra = " (and milk feeds as usual)"
	}
	var out []Item
	for _, m := range meals {
		at, ok := r.clearOfSleep(m.at, 30*time.Minute)
		if !ok {
			continue
		}
		m.at = at
		if m.at.Before(f.start) || !m.at.Before(f.end) || r.inBusy(m.at) && !r.inAirAt(m.at) {
			continue
		}
		if slices.ContainsFunc(out, func(it Item) bool { return it.End.After(m.at) && it.Start.Before(m.at.Add(30*time.Minute)) }) {
			continue // moved onto another meal by a nap
		}
		if leg, air := r.inAir(m.at); air {
			out = append(out, r.item(ItemMeal, m.at, earlier(m.at.Add(30*time.Minute), r.tp.legs[leg].Arrive),
				fmt.Sprintf("%s on board around %s", m.name, r.local(m.at, true)),
				"Eating at your destination's meal times helps the body follow the new clock; skip or keep light the meals served at other times."))
			continue
		}
		out = append(out, r.item(ItemMeal, m.at, m.at.Add(30*time.Minute), m.name+" at "+r.local(m.at, false)+extra,
			"Meals at the new times help the body's other clocks follow."))
	}
	return out
}

// clearOfSleep moves a meal of length d at t out of any sleep or nap it
// would overlap: to just after it if that is within 3 h and clear, else to
// just before it. ok is false when neither fits.
func (r *run) clearOfSleep(t time.Time, d time.Duration) (time.Time, bool) {
	overlapping := func(t time.Time) (span, bool) {
		for _, s := range r.sleeps {
			if t.Before(s.end) && t.Add(d).After(s.start) {
				return s, true
			}
		}
		return span{}, false
	}
	s, hit := overlapping(t)
	if !hit {
		return t, true
	}
	if after := s.end; after.Sub(t) <= 3*time.Hour {
		if _, again := overlapping(after); !again {
			return after, true
		}
	}
	if before := s.start.Add(-d); t.Sub(before) <= 3*time.Hour {
		if _, again := overlapping(before); !again {
			return before, true
		}
	}
	return t, false
}

// splitAtFlights cuts [a, b) at every take-off and landing inside it, so
// that each piece is wholly on the ground or wholly in the air. Pieces
// shorter than 15 minutes are dropped.
func (r *run) splitAtFlights(a, b time.Time) [][2]time.Time {
	cuts := []time.Time{a}
	for _, l := range r.tp.legs {
		for _, c := range []time.Time{l.Depart, l.Arrive} {
			if c.After(a) && c.Before(b) {
				cuts = append(cuts, c)
			}
		}
	}
	cuts = append(cuts, b)
	slices.SortFunc(cuts, func(x, y time.Time) int { return x.Compare(y) })
	var out [][2]time.Time
	for i := 1; i < len(cuts); i++ {
		if cuts[i].Sub(cuts[i-1]) >= 15*time.Minute {
			out = append(out, [2]time.Time{cuts[i-1], cuts[i]})
		}
	}
	return out
}

// shiftFrame is the day whose shift holds at t: the one holding t − 12 h
// (see soOffset).
func (r *run) shiftFrame(t time.Time) frame {
	day := t.Add(-12 * time.Hour)
	if day.Before(r.tp.start) {
		return frame{}
	}
	return r.tp.frames[r.frameAt(day)]
}

// shifting reports whether t falls under a shifting day before its
// journey leaves.
func (r *run) shifting(t time.Time) bool {
	sf := r.shiftFrame(t)
	return sf.preShift > 0 && t.Before(r.tp.legs[r.tp.journeys[sf.journey].first].Depart)
}

// nightOnSleepClock reports whether t falls in the habitual night on the
// clock the plan aims for.
func (r *run) nightOnSleepClock(t time.Time) bool {
	d := math.Mod(r.soClock(t)-float64(r.p.Sleep.Minutes())/60+48, 24)
	return d < r.nightH
}

func (r *run) inAirAt(t time.Time) bool { _, air := r.inAir(t); return air }

func (r *run) asleepAt(t time.Time) bool {
	for _, s := range r.sleeps {
		if !t.Before(s.start) && t.Before(s.end) {
			return true
		}
	}
	return false
}

// melatonin is the advice for an adult who opted in and must advance: 0.5
// mg three hours before the model's predicted DLMO, in the 2–4 h before it
// where Burgess et al. (2010) found the largest advance for that dose; when
// that falls too early in the day or too late for bed, at the latest time
// before bed that is still at least 30 minutes before DLMO. Never in the
// morning, when it delays, never at night or in sleep, and never after
// DLMO.
func (r *run) melatonin(f frame, need float64, wake, bed time.Time, dlmos []time.Time) []Item {
	if !r.p.Melatonin || need < 1 || f.kind == DayTravel || r.tp.journeys[max(f.journey, 0)].shift <= 0 {
		return nil
	}
	i := slices.IndexFunc(dlmos, func(d time.Time) bool { return d.After(wake) })
	if i < 0 {
		return nil
	}
	dlmo := dlmos[i]
	at := dlmo.Add(-3 * time.Hour).Round(15 * time.Minute)
	lastCall := earlier(bed.Add(-30*time.Minute), dlmo.Add(-30*time.Minute)).Truncate(15 * time.Minute)
	if at.After(lastCall) {
		at = lastCall
	}
	if at.Before(wake.Add(6*time.Hour)) || at.Before(dlmo.Add(-melatoninWindow)) || r.inBusy(at) || r.asleepAt(at) {
		return nil
	}
	if !at.Before(f.end) || at.Before(f.start) || at.In(r.where(at)).Hour() < 5 {
		return nil
	}
	it := r.item(ItemMelatonin, at, at, "Take 0.5 mg melatonin at "+r.local(at, false),
		fmt.Sprintf("Taken before your body's predicted melatonin onset (about %s) it moves the clock earlier (Burgess 2010). Adults only; ask a doctor if you take other medicines.", r.local(dlmo, false)))
	it.Effect = EffectAdvance
	return []Item{it}
}

// caffeine is the advice for an adult who opted in, on travel days and
// while adapting: coffee early in the day, none in the 6 h before the next
// sleep, on the ground or on board (Burke 2015: a double espresso 3 h
// before bed delays the clock ~40 min). A cut-off that would fall in the
// first 3 h after waking is no advice, and no window runs across a take-off
// or landing.
func (r *run) caffeine(f frame, need float64, wake time.Time) []Item {
	if !r.p.Caffeine || f.kind == DayPreTrip || (math.Abs(need) < 1 && f.kind == DayStay) {
		return nil
	}
	next, ok := r.nextSleepAfter(wake.Add(time.Minute))
	if !ok {
		return nil
	}
	cut := next.Add(-caffeineCutoff).Truncate(15 * time.Minute)
	// Up from the last main sleep before the cut-off, not just the day's
	// first waking.
	for _, s := range r.sleeps {
		if s.kind == ItemSleep && !s.end.After(cut) && s.end.After(wake) {
			wake = s.end
		}
	}
	if cut.Before(wake.Add(caffeineFirst)) {
		return nil
	}
	var out []Item
	for _, p := range r.splitAtFlights(wake, cut) {
		if p[0].Before(f.start) || !p[0].Before(f.end) {
			continue
		}
		air := r.inAirAt(p[0])
		out = append(out, r.item(ItemCaffeineOK, p[0], p[1], "Coffee or tea is fine "+r.between(p[0], p[1], air),
			"Caffeine early in the day helps you stay alert while your clock catches up."))
	}
	if !cut.Before(f.start) && cut.Before(f.end) {
		out = append(out, r.item(ItemCaffeineCutoff, cut, cut, "No coffee, tea or cola after "+r.local(cut, r.inAirAt(cut)),
			fmt.Sprintf("Your next sleep starts at %s; caffeine in the 6 h before sleep delays the body clock (about 40 min for a double espresso 3 h before bed, Burke 2015) and spoils sleep.", r.local(next, r.inAirAt(next)))))
	}
	return out
}

// nextSleepAfter is the start of the first main sleep, on the ground or on
// board, at or after t.
func (r *run) nextSleepAfter(t time.Time) (time.Time, bool) {
	for _, s := range r.sleeps {
		if s.kind == ItemSleep && !s.start.Before(t) {
			return s.start, true
		}
	}
	return time.Time{}, false
}
