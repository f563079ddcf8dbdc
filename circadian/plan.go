package circadian

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// ItemKind is what an item of a plan asks a person to do.
type ItemKind string

// The item kinds.
const (
	ItemSleep          ItemKind = "sleep"
	ItemNap            ItemKind = "nap"
	ItemLightSeek      ItemKind = "light_seek"
	ItemLightAvoid     ItemKind = "light_avoid"
	ItemMeal           ItemKind = "meal"
	ItemMelatonin      ItemKind = "melatonin"
	ItemCaffeineOK     ItemKind = "caffeine_ok"
	ItemCaffeineCutoff ItemKind = "caffeine_cutoff"
)

// Item is one piece of advice. Start and End are in the local time of
// where the person is then; in flight, the time of the destination, which
// is what a traveller sets their watch to on boarding.
type Item struct {
	Kind     ItemKind  `json:"kind"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	TZ       string    `json:"tz"`
	InFlight bool      `json:"in_flight,omitempty"`
	// Text is the advice as a short plain sentence; Reason says why.
	Text   string `json:"text"`
	Reason string `json:"reason"`
	// Effect says which way a light item moves the body clock.
	Effect Effect `json:"effect,omitempty"`
	// Outdoors is set on a light item that sends the person outside, in
	// daylight; otherwise seeking light means a bright lamp or light box.
	Outdoors bool `json:"outdoors,omitempty"`
	// Lux is the light a light item is expected to deliver at the eye.
	Lux float64 `json:"lux,omitempty"`
}

// Effect is the way advice moves the body clock.
type Effect string

// The effects.
const (
	EffectAdvance Effect = "advance" // earlier
	EffectDelay   Effect = "delay"   // later
)

// DayKind says which part of a trip a day is.
type DayKind string

// The day kinds.
const (
	DayPreTrip DayKind = "pre_trip" // at the origin before leaving
	DayTravel  DayKind = "travel"   // the day of departure through landing
	DayArrival DayKind = "arrival"  // from landing to the first midnight
	DayStay    DayKind = "stay"     // a full day on the ground after arriving
)

// Day is one day of a person's plan: a calendar date where they are.
type Day struct {
	Date  syncproto.Date `json:"date"`
	TZ    string         `json:"tz"`
	Kind  DayKind        `json:"kind"`
	Label string         `json:"label"`
	// Start and End bound the day: midnight to midnight on the ground, or
	// from a landing.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Items []Item    `json:"items"`
	// CBTMin is the predicted core body temperature minimum in this day,
	// in its local time; Misalignment is how many hours it lies later
	// (positive: the body clock is behind local time) or earlier than
	// where it would lie for someone living here. Both are absent for
	// babies under six months and for days too short to hold a minimum.
	CBTMin       *time.Time `json:"cbt_min,omitempty"`
	Misalignment *float64   `json:"misalignment_h,omitempty"`
	// DLMO is the predicted dim-light melatonin onset that comes next
	// after the day's waking, in the day's local time.
	DLMO *time.Time `json:"dlmo,omitempty"`
	// Past is set on days that ended before the plan's Now: their items
	// are the plan as it was, not advice.
	Past bool `json:"past,omitempty"`
}

// Adaptation is how long a person is expected to take to adapt to one stop.
type Adaptation struct {
	TZ     string    `json:"tz"`
	Arrive time.Time `json:"arrive"`
	// Days is the number of days after the arrival day until the body
	// clock is within an hour of local time; -1 when the plan ends first.
	Days int `json:"days"`
	// DaysMin and DaysMax bound Days by the model's error in the rate of
	// re-entrainment over the validation suite (ModelSpec.RateError): the
	// honest range of the prediction. Absent when Days is -1.
	DaysMin int `json:"days_min,omitempty"`
	DaysMax int `json:"days_max,omitempty"`
}

// MemberPlan is one traveller's plan.
type MemberPlan struct {
	MemberID uuid.UUID         `json:"member_id"`
	Name     string            `json:"name"`
	AgeBand  syncproto.AgeBand `json:"age_band"`
	// Modelled is false for babies under six months, whose sleep follows
	// feeds and wake windows: their plan gives rhythms, not predictions.
	Modelled bool `json:"modelled"`
	// HabitualCBTMin is the clock time at home of the body temperature
	// minimum on an ordinary day, "04:30".
	HabitualCBTMin string   `json:"habitual_cbt_min,omitempty"`
	Notes          []string `json:"notes,omitempty"`
	// CBTMins are all the predicted low points of the body clock over
	// the plan, read from the model's phase: the days show the first of
	// each day, and a day of travel may hold two.
	CBTMins []time.Time `json:"cbt_mins,omitempty"`
	// PersonalClock, when set, is the person's own clock the plan was
	// made with, learned from their logs; otherwise the plan assumes the
	// population's clock for their age and chronotype.
	PersonalClock *PersonalClock `json:"personal_clock,omitempty"`
	Adaptation    []Adaptation   `json:"adaptation"`
	Days          []Day          `json:"days"`
}

// Plan is the plan of one trip for all its travellers.
type Plan struct {
	TripID  uuid.UUID    `json:"trip_id"`
	Model   string       `json:"model"`
	Now     time.Time    `json:"now,omitzero"`
	Members []MemberPlan `json:"members"`
}

// LogKind is the kind of a logged fact.
type LogKind string

// The log kinds.
const (
	LogSleep LogKind = "sleep"
	LogNap   LogKind = "nap"
	LogLight LogKind = "light"
	LogMeal  LogKind = "meal"
)

// Log is something a person did, as the planner needs it. The caller
// resolves corrections and retractions first: every Log counts.
type Log struct {
	Kind       LogKind
	Start, End time.Time // End is zero for a sleep still going on
	Lux        float64   // for LogLight
}

// LogFromEvent turns a sleep, meal or light_exposure event into a Log; ok
// is false for other types.
func LogFromEvent(e syncproto.Envelope) (l Log, ok bool) {
	switch d := e.Data.(type) {
	case *syncproto.Sleep:
		kind := LogSleep
		if d.Nap {
			kind = LogNap
		}
		return Log{Kind: kind, Start: e.Start, End: e.End}, true
	case *syncproto.Meal:
		return Log{Kind: LogMeal, Start: e.Start, End: e.End}, true
	case *syncproto.LightExposure:
		lux := LuxOf(d.Level)
		if d.Lux != nil {
			lux = *d.Lux
		}
		return Log{Kind: LogLight, Start: e.Start, End: e.End, Lux: lux}, true
	}
	return Log{}, false
}

// Request is what a plan is made from.
type Request struct {
	Trip Trip
	// People are the family; the trip's travellers are planned, in the
	// order of Trip.Travellers.
	People []Person
	// Now is the moment to plan from: days before it are kept as planned
	// and the clock is re-estimated from what was logged. Zero plans the
	// whole trip ahead.
	Now time.Time
	// Logs are each person's logged facts, by member id.
	Logs map[uuid.UUID][]Log
}

// Planner makes plans. The zero value uses DefaultModel.
type Planner struct {
	// Model names the body-clock model, one of Models; "" is DefaultModel.
	Model string
}

// ErrNoTravellers is returned for a trip nobody in the family is on.
var ErrNoTravellers = errors.New("trip has no travellers in the family")

// Plan plans req.Trip for its travellers.
func (pl *Planner) Plan(req Request) (*Plan, error) {
	tp, err := newTripPlan(req.Trip)
	if err != nil {
		return nil, fmt.Errorf("plan trip %s: %w", req.Trip.ID, err)
	}
	byID := make(map[uuid.UUID]Person, len(req.People))
	for _, p := range req.People {
		byID[p.ID] = p
	}
	out := &Plan{TripID: req.Trip.ID, Now: req.Now}
	for _, id := range req.Trip.Travellers {
		p, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("plan trip %s: traveller %s is not in the family", req.Trip.ID, id)
		}
		mp, model, err := pl.planMember(tp, p, req.Now, req.Logs[id])
		if err != nil {
			return nil, fmt.Errorf("plan trip %s: %w", req.Trip.ID, err)
		}
		out.Model = model
		out.Members = append(out.Members, *mp)
	}
	if len(out.Members) == 0 {
		return nil, ErrNoTravellers
	}
	return out, nil
}

// PlanMember plans req.Trip for one traveller only: what a re-plan after
// one person's event needs.
func (pl *Planner) PlanMember(req Request, id uuid.UUID) (*MemberPlan, error) {
	tp, err := newTripPlan(req.Trip)
	if err != nil {
		return nil, fmt.Errorf("plan trip %s: %w", req.Trip.ID, err)
	}
	for _, p := range req.People {
		if p.ID == id {
			mp, _, err := pl.planMember(tp, p, req.Now, req.Logs[id])
			return mp, err
		}
	}
	return nil, fmt.Errorf("plan trip %s: member %s is not in the family", req.Trip.ID, id)
}

// model builds the planner's model for p.
func (pl *Planner) model(p Person) (Model, float64, error) {
	spec, err := ModelByName(pl.Model)
	if err != nil {
		return nil, 0, err
	}
	if p.Clock.Confident() {
		return spec.New(p.Clock.PlanTau), spec.RateError, nil
	}
	return spec.New(spec.Period + p.PeriodDelta()), spec.RateError, nil
}

// planMember plans the trip for p: first as if everything goes to plan,
// then, when there is a Now inside the plan, again from Now with the clock
// re-estimated from what really happened.
func (pl *Planner) planMember(tp *tripPlan, p Person, now time.Time, logs []Log) (*MemberPlan, string, error) {
	if err := p.check(); err != nil {
		return nil, "", err
	}
	m, rateErr, err := pl.model(p)
	if err != nil {
		return nil, "", err
	}
	run := newRun(tp, p, m, nil)
	run.rateError = rateErr
	start := run.startState()
	run.planFrom(0, start)
	if now.IsZero() || !now.After(tp.start) {
		return run.result(), run.m.Name(), nil
	}
	// Re-plan from now: relive the past as logged, then plan the rest.
	nowStep := min(tp.step(now), tp.steps)
	actual := run.actualLux(logs, nowStep)
	past := Simulate(run.m, start, tp.start, actual)
	re := newRun(tp, p, run.m, &run.base)
	re.rateError = rateErr
	copy(re.lux, actual)
	copy(re.states, past.States)
	re.logs, re.now, re.prev = logs, now, run.dayOf
	if nowStep < tp.steps {
		re.planFrom(nowStep, past.End())
	}
	// Days that ended before now stay as they were planned; today keeps
	// what was planned before now and takes the new plan from now on.
	for fi, f := range tp.frames {
		switch old, cur := run.dayOf[fi], re.dayOf[fi]; {
		case !f.end.After(now):
			re.dayOf[fi] = old
		case f.start.Before(now) && old != nil && cur != nil:
			items := []Item{}
			for _, it := range old.Items {
				if it.Start.Before(now) {
					items = append(items, it)
				}
			}
			for _, it := range cur.Items {
				if !it.Start.Before(now) {
					items = append(items, it)
				}
			}
			cur.Items = items
		}
	}
	out := re.result()
	markPast(out, now)
	return out, run.m.Name(), nil
}

func markPast(mp *MemberPlan, now time.Time) {
	for i := range mp.Days {
		mp.Days[i].Past = !mp.Days[i].End.After(now)
	}
}
