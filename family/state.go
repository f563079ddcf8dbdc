package family

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// State is a family's state in memory: the fold's Store for the cloud and
// for tests. It keeps every advice event, not only each member's newest.
type State struct {
	// ID is the family; events of another family are ignored.
	ID uuid.UUID
	// Home is the family's own record, nil before its family.upserted.
	Home    *Household
	Members map[uuid.UUID]*Member
	Trips   map[uuid.UUID]*Trip
	// Newest is the greatest HLC of any applied event other than advice:
	// what advice computed from this state is based on.
	Newest syncproto.HLC
	// Horizon is where plausible stamps end (see Stamp.Replaces); the zero
	// time makes every stamp plausible.
	Horizon time.Time

	updates     map[uuid.UUID][]FlightUpdate // by trip
	facts       map[uuid.UUID]*Fact
	corrections map[uuid.UUID][]uuid.UUID // target → facts naming it
	retractions map[uuid.UUID][]Retraction
	advice      map[uuid.UUID][]Advice // by member, oldest first
	seen        map[uuid.UUID]bool
}

// New returns the empty state of family id.
func New(id uuid.UUID) *State {
	return &State{
		ID: id, Members: map[uuid.UUID]*Member{}, Trips: map[uuid.UUID]*Trip{},
		updates: map[uuid.UUID][]FlightUpdate{}, facts: map[uuid.UUID]*Fact{},
		corrections: map[uuid.UUID][]uuid.UUID{}, retractions: map[uuid.UUID][]Retraction{},
		advice: map[uuid.UUID][]Advice{}, seen: map[uuid.UUID]bool{},
	}
}

// Apply folds one valid event. It reports New false for an event it has
// applied before (by id) or that belongs to another family, and otherwise
// what the event changed.
func (s *State) Apply(e syncproto.Envelope) (c Change, isNew bool) {
	if s.seen[e.ID] || e.FamilyID != s.ID {
		return Change{}, false
	}
	s.seen[e.ID] = true
	if e.Type != syncproto.TypeRecommendationUpdated && e.HLC.Compare(s.Newest) > 0 {
		s.Newest = e.HLC
	}
	c, _ = ApplyAt(s, e, s.Horizon) // State's methods never fail
	return c, true
}

// Household implements Store.
func (s *State) Household() (*Household, error) {
	if s.Home == nil {
		return &Household{ID: s.ID}, nil // the family is known from the start
	}
	return s.Home, nil
}

// PutHousehold implements Store.
func (s *State) PutHousehold(h Household) error { s.Home = &h; return nil }

// Member implements Store.
func (s *State) Member(id uuid.UUID) (*Member, error) { return s.Members[id], nil }

// PutMember implements Store.
func (s *State) PutMember(m Member) error { s.Members[m.ID] = &m; return nil }

// Trip implements Store.
func (s *State) Trip(id uuid.UUID) (*Trip, error) { return s.Trips[id], nil }

// PutTrip implements Store.
func (s *State) PutTrip(t Trip) error { s.Trips[t.ID] = &t; return nil }

// AddFlightUpdate implements Store.
func (s *State) AddFlightUpdate(u FlightUpdate) error {
	s.updates[u.Trip] = append(s.updates[u.Trip], u)
	return nil
}

// Fact implements Store.
func (s *State) Fact(id uuid.UUID) (*Fact, error) {
	f := s.facts[id]
	if f == nil {
		return nil, nil
	}
	c := *f
	return &c, nil
}

// PutFact implements Store.
func (s *State) PutFact(f Fact) error {
	if _, known := s.facts[f.ID]; !known && f.Supersedes != uuid.Nil {
		s.corrections[f.Supersedes] = append(s.corrections[f.Supersedes], f.ID)
	}
	s.facts[f.ID] = &f
	return nil
}

// Corrections implements Store.
func (s *State) Corrections(target uuid.UUID) ([]Fact, error) {
	var out []Fact
	for _, id := range s.corrections[target] {
		out = append(out, *s.facts[id])
	}
	return out, nil
}

// AddRetraction implements Store.
func (s *State) AddRetraction(r Retraction) error {
	s.retractions[r.Target] = append(s.retractions[r.Target], r)
	return nil
}

// Retractions implements Store.
func (s *State) Retractions(target uuid.UUID) ([]Retraction, error) {
	return s.retractions[target], nil
}

// AddAdvice implements Store.
func (s *State) AddAdvice(a Advice) error {
	list := append(s.advice[a.Member], a)
	slices.SortStableFunc(list, func(x, y Advice) int {
		if x.Stamp.After(y.Stamp) {
			return 1
		}
		if y.Stamp.After(x.Stamp) {
			return -1
		}
		return 0
	})
	s.advice[a.Member] = list
	return nil
}

// Name is the family's name, "" before its family.upserted.
func (s *State) Name() string {
	if s.Home == nil {
		return ""
	}
	return s.Home.Name
}

// HomeTZ is the family's home zone, "" before its family.upserted.
func (s *State) HomeTZ() string {
	if s.Home == nil {
		return ""
	}
	return s.Home.HomeTZ
}

// Live reports whether member id exists and is not removed.
func (s *State) Live(id uuid.UUID) bool { return s.Members[id].Live() }

// LiveMembers are the members that exist and are not removed, by id.
func (s *State) LiveMembers() []Member {
	var out []Member
	for _, m := range s.Members {
		if m.Live() {
			out = append(out, *m)
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return slices.Compare(a.ID[:], b.ID[:]) })
	return out
}

// Updates are the flight updates that apply to trip t, oldest first.
func (s *State) Updates(t *Trip) []FlightUpdate { return Applicable(t, s.updates[t.ID]) }

// Facts are a member's facts that count, by start.
func (s *State) Facts(member uuid.UUID) []Fact {
	var out []Fact
	for _, f := range s.facts {
		if f.Member == member && f.Counts {
			out = append(out, *f)
		}
	}
	slices.SortFunc(out, func(a, b Fact) int {
		if c := a.Log.Start.Compare(b.Log.Start); c != 0 {
			return c
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	return out
}

// Logs are a member's facts that count, as the planner reads them.
func (s *State) Logs(member uuid.UUID) []circadian.Log {
	facts := s.Facts(member)
	out := make([]circadian.Log, len(facts))
	for i, f := range facts {
		out[i] = f.Log
	}
	return out
}

// Advice is a member's advice, oldest first.
func (s *State) Advice(member uuid.UUID) []Advice { return s.advice[member] }

// LiveTrips are the trips that exist, are not removed and have flights,
// by first departure.
func (s *State) LiveTrips() []*Trip {
	var out []*Trip
	for _, t := range s.Trips {
		if t.Live() && len(t.Data.Legs) > 0 {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *Trip) int {
		if c := a.Data.Legs[0].Depart.Compare(b.Data.Legs[0].Depart); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out
}

// TripsOf are the live trips member id travels on, by first departure.
func (s *State) TripsOf(id uuid.UUID) []*Trip {
	var out []*Trip
	for _, t := range s.LiveTrips() {
		if slices.Contains(t.Data.Travellers, id) {
			out = append(out, t)
		}
	}
	return out
}

// Inputs builds the planner's inputs for trip t (see the package
// function Inputs).
func (s *State) Inputs(t *Trip) *Inputs {
	in, _ := BuildInputs(t, s.updates[t.ID], s.LiveMembers(), func(id uuid.UUID) ([]circadian.Log, error) { return s.Logs(id), nil })
	return in
}

// Events is how many distinct events of the family the state has folded.
func (s *State) Events() int { return len(s.seen) }
