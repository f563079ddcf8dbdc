package syncproto

import (
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Each payload reads its own fields from JSON (decode) and checks its own
// rules, including how its envelope must look (validate). Paths in
// problems are full JSON paths from the envelope's root.

// Duration limits on interval events and flights.
const (
	maxSleep    = 24 * time.Hour
	maxNap      = 6 * time.Hour
	maxMeal     = 3 * time.Hour
	maxLight    = 24 * time.Hour
	maxFlight   = 24 * time.Hour
	minNight    = 3 * 60  // minutes
	maxNight    = 20 * 60 // minutes
	minNapMin   = 10
	maxNapMin   = 240
	maxAgeYears = 125
)

var (
	minBirthDate = Date{1900, time.January, 1}
	ageBands     = []AgeBand{AgeUnder6Months, Age6To12Months, AgeToddler, AgeChild, AgeTeen, AgeAdult}
)

func (f *FamilyUpserted) decode(o *object) {
	f.Name = o.str("name")
	f.HomeTZ = o.zone("home_tz")
}

func (f *FamilyUpserted) validate(p *problems, h *Header) {
	noMember(p, h)
	noEnd(p, h)
	text(p, "data.name", f.Name, true)
	zone(p, "data.home_tz", f.HomeTZ, true)
}

func (m *MemberUpserted) decode(o *object) {
	m.DisplayName = o.str("display_name")
	m.BirthDate = o.date("birth_date")
	m.AgeBand = AgeBand(o.str("age_band"))
	m.HomeTZ = o.zone("home_tz")
	m.SleepTime = o.clock("sleep_time")
	m.WakeTime = o.clock("wake_time")
	naps := o.objects("naps")
	if len(naps) > 0 {
		m.Naps = make([]Nap, 0, len(naps))
	}
	for _, n := range naps {
		var nap Nap
		if n != nil {
			nap.Start = n.clock("start")
			nap.DurationMin = n.integer("duration_min")
			n.done()
		}
		m.Naps = append(m.Naps, nap)
	}
	m.Chronotype = Chronotype(o.str("chronotype"))
	m.TypicalLight = TypicalLight(o.str("typical_light"))
	m.MelatoninAdvice = o.boolean("melatonin_advice")
	m.CaffeineAdvice = o.boolean("caffeine_advice")
}

func (m *MemberUpserted) validate(p *problems, h *Header) {
	needMember(p, h)
	noEnd(p, h)
	text(p, "data.display_name", m.DisplayName, true)

	band := m.ageBand(p, h)
	zone(p, "data.home_tz", m.HomeTZ, true)
	sleepOK := clockTime(p, "data.sleep_time", m.SleepTime)
	wakeOK := clockTime(p, "data.wake_time", m.WakeTime)
	if sleepOK && wakeOK {
		night := mod(m.WakeTime.Minutes()-m.SleepTime.Minutes(), 24*60)
		if night < minNight || night > maxNight {
			p.invalid("data.wake_time", "the night from sleep_time %s to wake_time %s lasts %s; it must last 3 to 20 h",
				m.SleepTime, m.WakeTime, hours(time.Duration(night)*time.Minute))
		}
	}
	m.validateNaps(p, sleepOK && wakeOK)
	oneOf(p, "data.chronotype", m.Chronotype, false, ChronotypeEarly, ChronotypeIntermediate, ChronotypeLate)
	oneOf(p, "data.typical_light", m.TypicalLight, false, LightMostlyIndoors, LightSomeOutdoors, LightMostlyOutdoors)
	if band != "" && band != AgeAdult {
		if m.MelatoninAdvice {
			p.invalid("data.melatonin_advice", "only adults can opt in to melatonin advice")
		}
		if m.CaffeineAdvice {
			p.invalid("data.caffeine_advice", "only adults can opt in to caffeine advice")
		}
	}
}

// ageBand checks birth_date and age_band and returns the member's age band
// on the day of start, or "" when that cannot be known.
func (m *MemberUpserted) ageBand(p *problems, h *Header) AgeBand {
	today := DateOf(h.Start)
	switch {
	case m.BirthDate.IsZero() && m.AgeBand == "":
		p.invalid("data.birth_date", "required, or else age_band")
	case !m.BirthDate.IsZero() && m.AgeBand != "":
		p.invalid("data.age_band", "give birth_date or age_band, not both")
	case m.AgeBand != "":
		oneOf(p, "data.age_band", m.AgeBand, true, ageBands...)
		if slices.Contains(ageBands, m.AgeBand) {
			return m.AgeBand
		}
	case !m.BirthDate.valid():
		p.invalid("data.birth_date", "%s is not a real date", m.BirthDate)
	case m.BirthDate.Before(minBirthDate):
		p.invalid("data.birth_date", "must be %s or later", minBirthDate)
	case !inRange(h.Start):
		// The age cannot be known; start's own problem is reported.
	case today.Before(m.BirthDate):
		p.invalid("data.birth_date", "must not be after the day of start")
	case m.BirthDate.Year < today.Year-maxAgeYears:
		p.invalid("data.birth_date", "must be within %d years of start", maxAgeYears)
	default:
		return AgeBandAt(m.BirthDate, today)
	}
	return ""
}

// validateNaps checks each nap and, when the night is known, that naps fall
// in the waking day and do not overlap.
func (m *MemberUpserted) validateNaps(p *problems, nightKnown bool) {
	if len(m.Naps) > MaxNaps {
		p.invalid("data.naps", "at most %d naps", MaxNaps)
		return
	}
	type span struct{ i, from, to int } // minutes after wake_time
	var spans []span
	awake := mod(m.SleepTime.Minutes()-m.WakeTime.Minutes(), 24*60)
	for i, n := range m.Naps {
		startOK := clockTime(p, napPaths.of(i, ".start"), n.Start)
		switch {
		case n.DurationMin == 0:
			p.invalid(napPaths.of(i, ".duration_min"), "required: %d to %d minutes", minNapMin, maxNapMin)
			continue
		case n.DurationMin < minNapMin || n.DurationMin > maxNapMin:
			p.invalid(napPaths.of(i, ".duration_min"), "must be %d to %d minutes", minNapMin, maxNapMin)
			continue
		}
		if !startOK || !nightKnown {
			continue
		}
		from := mod(n.Start.Minutes()-m.WakeTime.Minutes(), 24*60)
		if from+n.DurationMin > awake {
			p.invalid(napPaths.of(i, ""), "must fall between wake_time %s and sleep_time %s", m.WakeTime, m.SleepTime)
			continue
		}
		spans = append(spans, span{i, from, from + n.DurationMin})
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	for k := 1; k < len(spans); k++ {
		if spans[k].from < spans[k-1].to {
			p.invalid(index("data.naps", spans[k].i), "overlaps data.naps[%d]", spans[k-1].i)
		}
	}
}

func clockTime(p *problems, path string, c ClockTime) bool {
	switch {
	case c.IsZero():
		p.invalid(path, "required: a time of day like 21:30")
	case !c.valid():
		p.invalid(path, "must be a time of day between 00:00 and 23:59")
	default:
		return true
	}
	return false
}

func mod(a, n int) int { return ((a % n) + n) % n }

func (*MemberRemoved) decode(*object) {}

func (*MemberRemoved) validate(p *problems, h *Header) {
	needMember(p, h)
	noEnd(p, h)
}

func (t *TripUpserted) decode(o *object) {
	t.TripID = o.uuid("trip_id")
	t.Name = o.str("name")
	legs := o.objects("legs")
	if len(legs) > 0 {
		t.Legs = make([]Leg, 0, len(legs))
	}
	for _, l := range legs {
		var leg Leg
		if l != nil {
			leg.Flight = l.str("flight")
			leg.From = l.str("from")
			leg.To = l.str("to")
			leg.FromTZ = l.zone("from_tz")
			leg.ToTZ = l.zone("to_tz")
			leg.Depart = l.time("depart")
			leg.Arrive = l.time("arrive")
			l.done()
		}
		t.Legs = append(t.Legs, leg)
	}
	t.Travellers = o.uuids("travellers")
	t.Intensity = Intensity(o.str("intensity"))
}

func (t *TripUpserted) validate(p *problems, h *Header) {
	noMember(p, h)
	noEnd(p, h)
	if t.TripID == uuid.Nil {
		p.invalid("data.trip_id", "required")
	}
	text(p, "data.name", t.Name, false)
	switch {
	case len(t.Legs) == 0:
		p.invalid("data.legs", "required: at least one flight")
	case len(t.Legs) > MaxLegs:
		p.invalid("data.legs", "at most %d legs; this trip has %d", MaxLegs, len(t.Legs))
	}
	for i, l := range t.Legs {
		if i >= MaxLegs {
			break
		}
		flightNumber(p, legPaths.of(i, ".flight"), l.Flight)
		airport(p, legPaths.of(i, ".from"), l.From)
		airport(p, legPaths.of(i, ".to"), l.To)
		zone(p, legPaths.of(i, ".from_tz"), l.FromTZ, true)
		zone(p, legPaths.of(i, ".to_tz"), l.ToTZ, true)
		depOK := instant(p, legPaths.of(i, ".depart"), l.Depart, true)
		arrOK := instant(p, legPaths.of(i, ".arrive"), l.Arrive, true)
		if depOK && arrOK {
			flightTimes(p, legPaths.of(i, ""), l.Depart, l.Arrive)
		}
		if i > 0 && depOK && !t.Legs[i-1].Arrive.IsZero() && l.Depart.Before(t.Legs[i-1].Arrive) {
			p.invalid(legPaths.of(i, ".depart"), "must not be before data.legs[%d].arrive: legs are in the order flown", i-1)
		}
	}
	switch {
	case len(t.Travellers) == 0:
		p.invalid("data.travellers", "required: at least one member")
	case len(t.Travellers) > MaxTravellers:
		p.invalid("data.travellers", "at most %d travellers", MaxTravellers)
	}
	for i, id := range t.Travellers {
		if i >= MaxTravellers {
			break
		}
		if id == uuid.Nil {
			p.invalid(index("data.travellers", i), "must not be the nil UUID")
		} else if j := slices.Index(t.Travellers[:i], id); j >= 0 {
			p.invalid(index("data.travellers", i), "same member as data.travellers[%d]", j)
		}
	}
	oneOf(p, "data.intensity", t.Intensity, false, IntensityGentle, IntensityBalanced, IntensityAggressive)
}

// flightTimes checks that a flight arrives after it departs, within a day.
func flightTimes(p *problems, path string, depart, arrive time.Time) {
	switch d := arrive.Sub(depart); {
	case d <= 0:
		p.invalid(join(path, "arrive"), "must be after %s", join(path, "depart"))
	case d > maxFlight:
		p.invalid(join(path, "arrive"), "a flight lasts at most %s; this one lasts %s", hours(maxFlight), hours(d))
	}
}

func (t *TripRemoved) decode(o *object) {
	t.TripID = o.uuid("trip_id")
}

func (t *TripRemoved) validate(p *problems, h *Header) {
	noMember(p, h)
	noEnd(p, h)
	if t.TripID == uuid.Nil {
		p.invalid("data.trip_id", "required")
	}
}

func (s *Sleep) decode(o *object) {
	s.Nap = o.boolean("nap")
	s.Supersedes = o.uuid("supersedes")
}

func (s *Sleep) validate(p *problems, h *Header) {
	needMember(p, h)
	if s.Nap {
		span(p, h, false, maxNap, "a nap")
	} else {
		span(p, h, false, maxSleep, "a sleep")
	}
	supersedes(p, h, s.Supersedes)
}

func (m *Meal) decode(o *object) {
	m.Kind = MealKind(o.str("kind"))
	m.Supersedes = o.uuid("supersedes")
}

func (m *Meal) validate(p *problems, h *Header) {
	needMember(p, h)
	span(p, h, false, maxMeal, "a meal")
	oneOf(p, "data.kind", m.Kind, true, MealBreakfast, MealLunch, MealDinner, MealSnack, MealFeed)
	supersedes(p, h, m.Supersedes)
}

func (l *LightExposure) decode(o *object) {
	l.Level = LightLevel(o.str("level"))
	l.Lux = o.number("lux")
	l.Supersedes = o.uuid("supersedes")
}

func (l *LightExposure) validate(p *problems, h *Header) {
	needMember(p, h)
	span(p, h, true, maxLight, "a light exposure")
	switch {
	case l.Level == "" && l.Lux == nil:
		p.invalid("data.level", "required, or else lux")
	case l.Level != "" && l.Lux != nil:
		p.invalid("data.lux", "give level or lux, not both")
	case l.Lux != nil:
		if x := *l.Lux; math.IsNaN(x) || x < 0 || x > MaxLux {
			p.invalid("data.lux", "must be between 0 and %d", MaxLux)
		}
	default:
		oneOf(p, "data.level", l.Level, true,
			LevelOutdoorDaylight, LevelBrightIndoor, LevelIndoor, LevelDim, LevelDark)
	}
	supersedes(p, h, l.Supersedes)
}

func (f *FlightUpdated) decode(o *object) {
	f.TripID = o.uuid("trip_id")
	f.Leg = o.integer("leg")
	f.Flight = o.str("flight")
	f.Status = FlightStatus(o.str("status"))
	f.Depart = o.time("depart")
	f.Arrive = o.time("arrive")
	f.DivertedTo = o.str("diverted_to")
	f.DivertedToTZ = o.zone("diverted_to_tz")
}

func (f *FlightUpdated) validate(p *problems, h *Header) {
	noMember(p, h)
	noEnd(p, h)
	if f.TripID == uuid.Nil {
		p.invalid("data.trip_id", "required")
	}
	switch {
	case f.Leg == 0:
		p.invalid("data.leg", "required: the leg's position in the trip, counting from 1")
	case f.Leg < 1 || f.Leg > MaxLegs:
		p.invalid("data.leg", "must be 1 to %d", MaxLegs)
	}
	flightNumber(p, "data.flight", f.Flight)
	oneOf(p, "data.status", f.Status, true, FlightDelayed, FlightDeparted, FlightCancelled, FlightDiverted, FlightLanded)
	depOK := instant(p, "data.depart", f.Depart, false)
	arrOK := instant(p, "data.arrive", f.Arrive, false)
	if depOK && arrOK {
		flightTimes(p, "data", f.Depart, f.Arrive)
	}
	airport(p, "data.diverted_to", f.DivertedTo)
	zone(p, "data.diverted_to_tz", f.DivertedToTZ, f.Status == FlightDiverted)
	if f.Status != FlightDiverted {
		if f.DivertedTo != "" {
			p.invalid("data.diverted_to", "only for a diverted flight")
		}
		if f.DivertedToTZ != "" {
			p.invalid("data.diverted_to_tz", "only for a diverted flight")
		}
	}
	switch f.Status {
	case FlightDelayed:
		if f.Depart.IsZero() && f.Arrive.IsZero() {
			p.invalid("data.depart", "a delayed flight needs the new depart time, the new arrive time or both")
		}
	case FlightDeparted:
		if f.Depart.IsZero() {
			p.invalid("data.depart", "required: when the flight took off")
		}
	case FlightLanded:
		if f.Arrive.IsZero() {
			p.invalid("data.arrive", "required: when the flight landed")
		}
	case FlightCancelled:
		if !f.Depart.IsZero() {
			p.invalid("data.depart", "not allowed for a cancelled flight")
		}
		if !f.Arrive.IsZero() {
			p.invalid("data.arrive", "not allowed for a cancelled flight")
		}
	}
}

func (r *LogRetracted) decode(o *object) {
	r.EventID = o.uuid("event_id")
}

func (r *LogRetracted) validate(p *problems, h *Header) {
	needMember(p, h)
	noEnd(p, h)
	switch {
	case r.EventID == uuid.Nil:
		p.invalid("data.event_id", "required: the id of the sleep, meal or light exposure to undo")
	case r.EventID == h.ID:
		p.invalid("data.event_id", "must be an earlier event, not this one")
	}
}

func (r *RecommendationUpdated) decode(o *object) {
	r.TripID = o.uuid("trip_id")
	r.BasedOn = o.hlc("based_on")
	r.Misalignment = o.number("misalignment_h")
	if _, ok := o.get("adapt_days"); ok {
		n := o.integer("adapt_days")
		r.AdaptDays = &n
	}
	items := o.objects("items")
	r.Items = make([]Advice, 0, len(items))
	for _, it := range items {
		var a Advice
		if it != nil {
			a.Kind = AdviceKind(it.str("kind"))
			a.Start = it.time("start")
			a.End = it.time("end")
			it.done()
		}
		r.Items = append(r.Items, a)
	}
}

func (r *RecommendationUpdated) validate(p *problems, h *Header) {
	needMember(p, h)
	noEnd(p, h)
	if r.BasedOn.IsZero() {
		p.invalid("data.based_on", "required: the HLC of the newest event the advice was computed from")
	}
	if m := r.Misalignment; m != nil && (math.IsNaN(*m) || *m < -24 || *m > 24) {
		p.invalid("data.misalignment_h", "must be between -24 and 24 hours")
	}
	if d := r.AdaptDays; d != nil && (*d < 0 || *d > 60) {
		p.invalid("data.adapt_days", "must be between 0 and 60")
	}
	if r.Items == nil {
		p.invalid("data.items", "required: the planned items, or [] for none")
	}
	if len(r.Items) > MaxAdvice {
		p.invalid("data.items", "at most %d items; this has %d", MaxAdvice, len(r.Items))
		return
	}
	for i, a := range r.Items {
		oneOf(p, itemPaths.of(i, ".kind"), a.Kind, true, AdviceSleep, AdviceNap, AdviceLightSeek, AdviceLightAvoid,
			AdviceMeal, AdviceMelatonin, AdviceCaffeineOK, AdviceCaffeineCutoff)
		startOK := instant(p, itemPaths.of(i, ".start"), a.Start, true)
		endOK := instant(p, itemPaths.of(i, ".end"), a.End, true)
		if startOK && endOK && a.End.Before(a.Start) {
			p.invalid(itemPaths.of(i, ".end"), "must not be before start")
		}
	}
}
