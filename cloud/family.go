package cloud

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// Family is one family's state folded from its events by the same rules a
// hub follows: upserts are last-writer-wins by HLC (ties on id), removals
// are tombstones, and a logged fact counts unless a later entry superseded
// it or it was retracted. Apply is idempotent and order-independent, so
// events loaded from the warehouse and the same events again from Kafka
// fold to one state.
type Family struct {
	ID      uuid.UUID
	Name    string
	HomeTZ  string
	family  *syncproto.Header
	Members map[uuid.UUID]*MemberState
	Trips   map[uuid.UUID]*TripState
	facts   map[uuid.UUID]*fact
	// undone are facts superseded or retracted, whether or not the fact
	// itself has arrived yet.
	undone map[uuid.UUID]bool
	// Recs are the recommendation events per member, in HLC order.
	Recs   map[uuid.UUID][]Rec
	seen   map[uuid.UUID]bool
	Newest syncproto.HLC
	// LastActive is the Start of the newest logged fact or plan change,
	// used to pick the members worth re-planning every minute.
	LastActive time.Time
}

// MemberState is one member's winning upsert or tombstone.
type MemberState struct {
	ID      uuid.UUID
	header  syncproto.Header
	Data    *syncproto.MemberUpserted // nil when removed
	Removed bool
}

// TripState is one trip's winning upsert or tombstone and its flight news.
type TripState struct {
	ID      uuid.UUID
	header  syncproto.Header
	Data    *syncproto.TripUpserted // nil when removed
	Removed bool
	Updates []FlightUpdate
}

// FlightUpdate is one flight.updated event of a trip.
type FlightUpdate struct {
	Header syncproto.Header
	Data   *syncproto.FlightUpdated
}

// Rec is one recommendation.updated event.
type Rec struct {
	Header syncproto.Header
	Data   *syncproto.RecommendationUpdated
}

type fact struct {
	member uuid.UUID
	header syncproto.Header
	log    circadian.Log
}

// NewFamily returns the empty state of family id.
func NewFamily(id uuid.UUID) *Family {
	return &Family{
		ID: id, Members: map[uuid.UUID]*MemberState{}, Trips: map[uuid.UUID]*TripState{},
		facts: map[uuid.UUID]*fact{}, undone: map[uuid.UUID]bool{}, Recs: map[uuid.UUID][]Rec{},
		seen: map[uuid.UUID]bool{},
	}
}

// Change says what one applied event changed.
type Change struct {
	// New is false for an event already applied.
	New bool
	// Members are the members whose plans it affects; Trip the trip it
	// changed, if any (every traveller of the trip is affected).
	Members []uuid.UUID
	Trip    uuid.UUID
	// Critical is set for events that call for a re-plan at once: a sleep
	// or nap logged, a retracted log, a flight update, a trip or member
	// changed.
	Critical bool
}

// Apply folds one valid event of the family into the state.
func (f *Family) Apply(e syncproto.Envelope) Change {
	if f.seen[e.ID] || e.FamilyID != f.ID {
		return Change{}
	}
	f.seen[e.ID] = true
	if e.HLC.Compare(f.Newest) > 0 {
		f.Newest = e.HLC
	}
	c := Change{New: true}
	switch d := e.Data.(type) {
	case *syncproto.FamilyUpserted:
		if f.family == nil || e.Wins(*f.family) {
			h := e.Header
			f.family, f.Name, f.HomeTZ = &h, d.Name, d.HomeTZ
		}
	case *syncproto.MemberUpserted, *syncproto.MemberRemoved:
		m := f.Members[e.MemberID]
		if m == nil || e.Wins(m.header) {
			m = &MemberState{ID: e.MemberID, header: e.Header}
			if up, ok := d.(*syncproto.MemberUpserted); ok {
				m.Data = up
			} else {
				m.Removed = true
			}
			f.Members[e.MemberID] = m
			c.Members, c.Critical = []uuid.UUID{e.MemberID}, true
		}
	case *syncproto.TripUpserted:
		c.Trip, c.Critical = d.TripID, f.tripWins(d.TripID, e.Header, d)
	case *syncproto.TripRemoved:
		c.Trip, c.Critical = d.TripID, f.tripWins(d.TripID, e.Header, nil)
	case *syncproto.FlightUpdated:
		t := f.trip(d.TripID)
		t.Updates = append(t.Updates, FlightUpdate{Header: e.Header, Data: d})
		slices.SortFunc(t.Updates, func(a, b FlightUpdate) int { return a.Header.HLC.Compare(b.Header.HLC) })
		c.Trip, c.Critical = d.TripID, true
	case *syncproto.Sleep, *syncproto.Meal, *syncproto.LightExposure:
		l, _ := circadian.LogFromEvent(e)
		f.facts[e.ID] = &fact{member: e.MemberID, header: e.Header, log: l}
		if sup := supersededBy(e.Data); sup != uuid.Nil {
			f.undone[sup] = true
		}
		c.Members = []uuid.UUID{e.MemberID}
		_, c.Critical = e.Data.(*syncproto.Sleep)
		f.active(e.Start)
	case *syncproto.LogRetracted:
		f.undone[d.EventID] = true
		c.Members, c.Critical = []uuid.UUID{e.MemberID}, true
	case *syncproto.RecommendationUpdated:
		recs := append(f.Recs[e.MemberID], Rec{Header: e.Header, Data: d})
		slices.SortFunc(recs, func(a, b Rec) int { return a.Header.HLC.Compare(b.Header.HLC) })
		f.Recs[e.MemberID] = recs
	}
	return c
}

func (f *Family) active(t time.Time) {
	if t.After(f.LastActive) {
		f.LastActive = t
	}
}

func supersededBy(p syncproto.Payload) uuid.UUID {
	switch d := p.(type) {
	case *syncproto.Sleep:
		return d.Supersedes
	case *syncproto.Meal:
		return d.Supersedes
	case *syncproto.LightExposure:
		return d.Supersedes
	}
	return uuid.Nil
}

func (f *Family) trip(id uuid.UUID) *TripState {
	t := f.Trips[id]
	if t == nil {
		t = &TripState{ID: id}
		f.Trips[id] = t
	}
	return t
}

// tripWins applies a trip upsert (d) or removal (nil) if it wins.
func (f *Family) tripWins(id uuid.UUID, h syncproto.Header, d *syncproto.TripUpserted) bool {
	t := f.trip(id)
	if t.header.ID != uuid.Nil && !h.Wins(t.header) {
		return false
	}
	t.header, t.Data, t.Removed = h, d, d == nil
	return true
}

// Live reports whether member id exists and is not removed.
func (f *Family) Live(id uuid.UUID) bool {
	m := f.Members[id]
	return m != nil && !m.Removed && m.Data != nil
}

// Logs returns a member's facts that count, in time order.
func (f *Family) Logs(member uuid.UUID) []circadian.Log {
	var out []circadian.Log
	for id, x := range f.facts {
		if x.member == member && !f.undone[id] {
			out = append(out, x.log)
		}
	}
	slices.SortFunc(out, func(a, b circadian.Log) int { return a.Start.Compare(b.Start) })
	return out
}

// Facts returns a member's facts that count with their headers, in time
// order.
func (f *Family) Facts(member uuid.UUID) []Fact {
	var out []Fact
	for id, x := range f.facts {
		if x.member == member && !f.undone[id] {
			out = append(out, Fact{Header: x.header, Log: x.log})
		}
	}
	slices.SortFunc(out, func(a, b Fact) int { return a.Log.Start.Compare(b.Log.Start) })
	return out
}

// Fact is a logged fact that counts.
type Fact struct {
	Header syncproto.Header
	Log    circadian.Log
}

// LiveTrips returns the trips that exist and are not removed, by first
// departure.
func (f *Family) LiveTrips() []*TripState {
	var out []*TripState
	for _, t := range f.Trips {
		if !t.Removed && t.Data != nil && len(t.Data.Legs) > 0 {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *TripState) int {
		if c := a.Data.Legs[0].Depart.Compare(b.Data.Legs[0].Depart); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out
}

// TripsOf returns the live trips member id travels on.
func (f *Family) TripsOf(id uuid.UUID) []*TripState {
	var out []*TripState
	for _, t := range f.LiveTrips() {
		if slices.Contains(t.Data.Travellers, id) {
			out = append(out, t)
		}
	}
	return out
}

// CurrentTrip is the trip whose advice matters to member id at now: the
// trip under way (from a week before its first flight to two weeks after
// its last landing), else the next one, else nil.
func (f *Family) CurrentTrip(id uuid.UUID, now time.Time) *TripState {
	var next *TripState
	for _, t := range f.TripsOf(id) {
		legs := t.Data.Legs
		from := legs[0].Depart.Add(-7 * 24 * time.Hour)
		to := legs[len(legs)-1].Arrive.Add(14 * 24 * time.Hour)
		if !now.Before(from) && now.Before(to) {
			return t
		}
		if now.Before(from) && next == nil {
			next = t
		}
	}
	return next
}

// Request builds the planner's request for trip t at now: the trip with
// its flight news applied, every live member, and the travellers' logs.
func (f *Family) Request(t *TripState, now time.Time) (circadian.Request, error) {
	trip, err := circadian.TripFromEvent(t.Data)
	if err != nil {
		return circadian.Request{}, err
	}
	for _, u := range t.Updates {
		// An update that no longer fits the trip (its leg is gone) is
		// skipped, as a hub skips it.
		_ = trip.ApplyFlightUpdate(u.Data)
	}
	req := circadian.Request{Trip: trip, Now: now, Logs: map[uuid.UUID][]circadian.Log{}}
	for id := range f.Members {
		if !f.Live(id) {
			continue
		}
		p, err := circadian.PersonFromMember(id, f.Members[id].Data)
		if err != nil {
			continue // a member the planner cannot plan is left out, as on a hub
		}
		req.People = append(req.People, p)
	}
	slices.SortFunc(req.People, func(a, b circadian.Person) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	for _, id := range trip.Travellers {
		req.Logs[id] = f.Logs(id)
	}
	return req, nil
}
