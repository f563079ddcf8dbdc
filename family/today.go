package family

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// LoggedFact is a logged sleep, meal or light exposure that counts, as the
// family fold decided: its event, and for a correction the event it
// replaced (so that a screen can show what undoing the correction brings
// back). Seq orders the facts in the store that lists them (a hub's log
// sequence; the cloud numbers its history of the family).
type LoggedFact struct {
	Seq      uint64          `json:"seq"`
	Event    json.RawMessage `json:"event"`
	Replaces json.RawMessage `json:"replaces,omitempty"`
}

// StoredPlan is one traveller's plan for one trip as last computed.
type StoredPlan struct {
	TripID     uuid.UUID `json:"trip_id"`
	MemberID   uuid.UUID `json:"member_id"`
	ComputedAt time.Time `json:"computed_at"`
	// Seq is the sequence of the newest event the plan reflects (on a
	// hub, its log's; in the cloud, how many events of the family it
	// folded).
	Seq uint64 `json:"seq"`
	// Plan is the circadian.MemberPlan as JSON; empty when Error is set.
	Plan json.RawMessage `json:"plan,omitempty"`
	// Error says why no plan could be made, in words for the family.
	Error string `json:"error,omitempty"`
}

// Person is who Today answers for: a member's id, display name and home
// zone (the last two empty for a member without data yet).
type Person struct {
	ID     uuid.UUID
	Name   string
	HomeTZ string
}

// MemberNow is what one person should do now and next.
type MemberNow struct {
	MemberID uuid.UUID `json:"member_id"`
	Name     string    `json:"name"`
	// TripID is the trip whose plan the advice comes from; nil when no
	// plan covers the moment.
	TripID *uuid.UUID `json:"trip_id,omitempty"`
	// TZ is the zone the person is in by the plan (home otherwise), and
	// Day the plan's day then.
	TZ   string           `json:"tz"`
	Day  *circadian.Day   `json:"day,omitempty"`
	Now  []circadian.Item `json:"now"`
	Next []circadian.Item `json:"next"`
	// Note explains an empty answer ("No trip in progress; the next one
	// starts …").
	Note string `json:"note,omitempty"`
	// Cloud is what the reader knows of the cloud's latest advice for the
	// person, nil when none came down.
	Cloud *CloudAdvice `json:"cloud,omitempty"`
	// State is what the log says the person is doing at the moment, nil
	// when nothing logged tells (see StateAt).
	State *Doing `json:"state,omitempty"`
}

// StateKind is what a person is doing by their log.
type StateKind string

// The states a log can tell.
const (
	StateAsleep  StateKind = "asleep"
	StateNapping StateKind = "napping"
	StateAwake   StateKind = "awake"
)

// Doing is what the log says a person is doing: asleep, napping or awake,
// since when.
type Doing struct {
	Kind  StateKind `json:"kind"`
	Since time.Time `json:"since"`
	// Event is the sleep or nap going on, for asleep and napping: the
	// entry an "Awake" or "Nap ended" closes.
	Event *uuid.UUID `json:"event_id,omitempty"`
}

// StateLookback is how far before the moment StateAt reads the log: a
// logged sleep lasts a day at most, and someone awake since the end of a
// sleep more than this ago has a log with gaps, which tells nothing.
const StateLookback = 36 * time.Hour

// Open sleeps and naps older than these are taken as left open by
// mistake: the longest a logged sleep or nap may last.
const (
	openSleepMax = 24 * time.Hour
	openNapMax   = 6 * time.Hour
)

// StateAt is what a member's log says they are doing at the instant at,
// from their logged facts that count (as a store lists them, oldest or newest first; other
// events, and anything logged after at, are skipped): the sleep or nap
// that began last before at, if it is still going on then (open, or
// ending after at), makes them asleep or napping since its start;
// otherwise they are awake since the latest end of a sleep or nap. An
// open sleep that began more than a day before at (a nap, 6 h) counts for
// nothing. nil when no sleep or nap in StateLookback before at tells.
func StateAt(facts []LoggedFact, at time.Time) *Doing {
	var last *circadian.Log
	var lastID uuid.UUID
	var woke time.Time
	for _, f := range facts {
		e, err := syncproto.Unmarshal(f.Event)
		if err != nil {
			continue
		}
		l, ok := circadian.LogFromEvent(e)
		if !ok || (l.Kind != circadian.LogSleep && l.Kind != circadian.LogNap) || l.Start.After(at) || at.Sub(l.Start) > StateLookback {
			continue
		}
		if l.End.IsZero() {
			longest := openSleepMax
			if l.Kind == circadian.LogNap {
				longest = openNapMax
			}
			if at.Sub(l.Start) > longest {
				continue
			}
		} else if !l.End.After(at) && l.End.After(woke) {
			woke = l.End
		}
		if last == nil || l.Start.After(last.Start) {
			last, lastID = &l, e.ID
		}
	}
	switch {
	case last != nil && (last.End.IsZero() || last.End.After(at)):
		kind := StateAsleep
		if last.Kind == circadian.LogNap {
			kind = StateNapping
		}
		return &Doing{Kind: kind, Since: last.Start.Truncate(time.Second), Event: &lastID}
	case !woke.IsZero():
		return &Doing{Kind: StateAwake, Since: woke.Truncate(time.Second)}
	}
	return nil
}

// CloudAdvice describes the cloud's latest advice for a person beside the
// hub's own plan.
type CloudAdvice struct {
	// BasedOn is the stamp of the newest event the cloud planned from; At
	// is when it planned.
	BasedOn string    `json:"based_on"`
	At      time.Time `json:"at"`
	// Ahead is set when the cloud planned from news this hub has not
	// applied yet (a flight update, another device's logs, still on their
	// way here): Now and Next then come from the cloud's advice. When it
	// is false the hub's own plan already takes in everything the cloud
	// knew.
	Ahead bool `json:"ahead"`
}

// adviceBack and adviceAhead bound the time the cloud's advice covers
// around the moment it was made.
const (
	adviceBack  = 12 * time.Hour
	adviceAhead = 48 * time.Hour
)

// NextItems is how many upcoming items Today lists per person.
const NextItems = 3

// Today picks, for a member, the items of their plans that are under way
// at the instant at, and the next few after it. Plans are tried in order;
// the first whose days cover at wins. cloud is the member's newest advice
// from the cloud (nil for none) and news the newest stamp of what the hub
// has applied: advice based on later news than that, and covering at,
// takes the place of the plans until the news arrives. The hub and the
// cloud both answer with it.
func Today(m Person, plans []StoredPlan, cloud *Advice, news syncproto.HLC, at time.Time) MemberNow {
	out := fromPlans(m, plans, at)
	if cloud == nil || cloud.Data == nil {
		return out
	}
	out.Cloud = &CloudAdvice{BasedOn: cloud.Data.BasedOn.String(), At: cloud.Start}
	if cloud.Data.BasedOn.Compare(news) <= 0 || at.Before(cloud.Start.Add(-adviceBack)) || !at.Before(cloud.Start.Add(adviceAhead)) {
		return out
	}
	out.Cloud.Ahead = true
	tz := out.TZ
	if tz == "" {
		tz = cloud.TZ
	}
	out.Now, out.Next, out.Note = []circadian.Item{}, []circadian.Item{}, ""
	id := cloud.Data.TripID
	if id != uuid.Nil {
		out.TripID = &id
	}
	for _, a := range cloud.Data.Items {
		it := circadian.Item{Kind: circadian.ItemKind(a.Kind), Start: a.Start, End: a.End, TZ: tz,
			Text: adviceText[a.Kind], Reason: "From the cloud's plan, made with news that has not reached this hub yet."}
		switch {
		case !at.Before(it.Start) && at.Before(it.End):
			out.Now = append(out.Now, it)
		case it.Start.After(at) && len(out.Next) < NextItems:
			out.Next = append(out.Next, it)
		}
	}
	return out
}

// adviceText names the cloud's advice kinds, which carry no words.
var adviceText = map[syncproto.AdviceKind]string{
	syncproto.AdviceSleep: "Sleep", syncproto.AdviceNap: "Nap", syncproto.AdviceLightSeek: "Seek light",
	syncproto.AdviceLightAvoid: "Avoid bright light", syncproto.AdviceMeal: "Meal", syncproto.AdviceMelatonin: "Melatonin",
	syncproto.AdviceCaffeineOK: "Coffee or tea is fine", syncproto.AdviceCaffeineCutoff: "No caffeine",
}

// fromPlans is Today from the hub's own plans.
func fromPlans(m Person, plans []StoredPlan, at time.Time) MemberNow {
	out := MemberNow{MemberID: m.ID, Now: []circadian.Item{}, Next: []circadian.Item{}}
	out.Name, out.TZ = m.Name, m.HomeTZ
	var soonest *time.Time
	for _, sp := range plans {
		if len(sp.Plan) == 0 {
			continue
		}
		var mp circadian.MemberPlan
		if err := json.Unmarshal(sp.Plan, &mp); err != nil || len(mp.Days) == 0 {
			continue
		}
		first, last := mp.Days[0].Start, mp.Days[len(mp.Days)-1].End
		if at.Before(first) {
			if soonest == nil || first.Before(*soonest) {
				soonest = &first
			}
			continue
		}
		if !at.Before(last) {
			continue
		}
		trip := sp.TripID
		out.TripID = &trip
		for i := range mp.Days {
			d := mp.Days[i]
			if !at.Before(d.Start) && at.Before(d.End) {
				day := d
				day.Items = []circadian.Item{} // the items are in Now and Next
				out.Day, out.TZ = &day, d.TZ
			}
			for _, it := range d.Items {
				switch {
				case !at.Before(it.Start) && at.Before(it.End):
					out.Now = append(out.Now, it)
				case it.Start.After(at) && len(out.Next) < NextItems:
					out.Next = append(out.Next, it)
				}
			}
		}
		return out
	}
	if soonest != nil {
		out.Note = "No trip in progress; the plan starts " + soonest.Format(time.RFC3339) + "."
	} else {
		out.Note = "No trip in progress and none planned."
	}
	return out
}
