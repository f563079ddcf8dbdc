package family

import (
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// Apply folds one valid event into the state s holds. Before the family's
// first family.upserted any family's events are applied; after it, events
// of another family are ignored (Change.Ignored says so). Applying an event
// a second time changes nothing in the state. Every stamp is plausible:
// ApplyAt with a horizon sets stamps far in the future aside.
func Apply(s Store, e syncproto.Envelope) (Change, error) {
	return ApplyAt(s, e, time.Time{})
}

// ApplyAt is Apply for a reader whose plausible stamps end at horizon (see
// Stamp.Replaces): the family, members and trips are last writer wins
// among plausible stamps first.
func ApplyAt(s Store, e syncproto.Envelope, horizon time.Time) (Change, error) {
	h, err := s.Household()
	if err != nil {
		return Change{}, err
	}
	if h != nil && h.ID != e.FamilyID {
		return Change{Ignored: "another family's event"}, nil
	}
	st := StampOf(e.Header)
	var c Change
	switch d := e.Data.(type) {
	case *syncproto.FamilyUpserted:
		if h != nil && !h.Stamp.IsZero() && !st.Replaces(h.Stamp, horizon) {
			return c, nil
		}
		c.Household = true
		return c, s.PutHousehold(Household{ID: e.FamilyID, Name: d.Name, HomeTZ: d.HomeTZ, Stamp: st})

	case *syncproto.MemberUpserted, *syncproto.MemberRemoved:
		m, err := s.Member(e.MemberID)
		if err != nil || (m != nil && !st.Replaces(m.Stamp, horizon)) {
			return c, err
		}
		next := Member{ID: e.MemberID, Stamp: st, Removed: true}
		if up, ok := d.(*syncproto.MemberUpserted); ok {
			next.Data, next.Removed = up, false
		}
		c.Members, c.Critical = []uuid.UUID{e.MemberID}, true
		return c, s.PutMember(next)

	case *syncproto.TripUpserted:
		return tripVersion(s, Trip{ID: d.TripID, Data: d, Stamp: st}, horizon)

	case *syncproto.TripRemoved:
		return tripVersion(s, Trip{ID: d.TripID, Removed: true, Stamp: st}, horizon)

	case *syncproto.FlightUpdated:
		c.Trip, c.Critical = d.TripID, true
		return c, s.AddFlightUpdate(FlightUpdate{Trip: d.TripID, Stamp: st, Origin: e.Origin, Data: d})

	case *syncproto.Sleep, *syncproto.Meal, *syncproto.LightExposure:
		known, err := s.Fact(e.ID)
		if err != nil || known != nil {
			return c, err
		}
		l, _ := circadian.LogFromEvent(e)
		f := Fact{ID: e.ID, Member: e.MemberID, Type: e.Type, Stamp: st, TZ: e.TZ, Log: l, Supersedes: Supersedes(e.Data)}
		if f.Counts, err = Counts(s, f); err != nil {
			return c, err
		}
		if err := s.PutFact(f); err != nil {
			return c, err
		}
		c.Members, c.Logged = []uuid.UUID{e.MemberID}, true
		_, c.Critical = e.Data.(*syncproto.Sleep)
		if f.Counts {
			c.Logs = append(c.Logs, f.Log)
		}
		changed, err := recountAround(s, f)
		c.Logs = append(c.Logs, changed...)
		return c, err

	case *syncproto.LogRetracted:
		if err := s.AddRetraction(Retraction{ID: e.ID, Member: e.MemberID, Target: d.EventID}); err != nil {
			return c, err
		}
		c.Members, c.Critical, c.Logged = []uuid.UUID{e.MemberID}, true, true
		f, err := s.Fact(d.EventID)
		if err != nil || f == nil {
			return c, err // counted when the fact arrives
		}
		changed, err := recount(s, f.ID)
		if err != nil {
			return c, err
		}
		if changed != nil {
			c.Logs = append(c.Logs, changed.Log)
		}
		around, err := recountAround(s, *f)
		c.Logs = append(c.Logs, around...)
		return c, err

	case *syncproto.RecommendationUpdated:
		c.Members, c.Advice = []uuid.UUID{e.MemberID}, true
		return c, s.AddAdvice(Advice{Member: e.MemberID, Stamp: st, Start: e.Start, TZ: e.TZ, Data: d})
	}
	return Change{Ignored: "type " + string(e.Type) + " is not part of a family's state"}, nil
}

// tripVersion stores a trip's upsert or removal if it is the newest.
func tripVersion(s Store, next Trip, horizon time.Time) (Change, error) {
	t, err := s.Trip(next.ID)
	if err != nil || (t != nil && !next.Stamp.Replaces(t.Stamp, horizon)) {
		return Change{}, err
	}
	return Change{Trip: next.ID, Critical: true}, s.PutTrip(next)
}

// recountAround recounts the facts whose standing can depend on fact f,
// after f arrived or was retracted: its corrections and, when f is a
// correction, the entry it corrects and that entry's other corrections.
func recountAround(s Store, f Fact) ([]circadian.Log, error) {
	var ids []uuid.UUID
	corr, err := s.Corrections(f.ID)
	if err != nil {
		return nil, err
	}
	for _, g := range corr {
		ids = append(ids, g.ID)
	}
	if f.Supersedes != uuid.Nil {
		ids = append(ids, f.Supersedes)
		sib, err := s.Corrections(f.Supersedes)
		if err != nil {
			return nil, err
		}
		for _, g := range sib {
			if g.ID != f.ID {
				ids = append(ids, g.ID)
			}
		}
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	var changed []circadian.Log
	for _, id := range slices.Compact(ids) {
		g, err := recount(s, id)
		if err != nil {
			return changed, err
		}
		if g != nil {
			changed = append(changed, g.Log)
		}
	}
	return changed, nil
}

// recount decides whether fact id counts and stores the answer if it
// changed. An unknown id is left alone.
func recount(s Store, id uuid.UUID) (*Fact, error) {
	f, err := s.Fact(id)
	if err != nil || f == nil {
		return nil, err
	}
	counts, err := Counts(s, *f)
	if err != nil || counts == f.Counts {
		return nil, err
	}
	f.Counts = counts
	return f, s.PutFact(*f)
}

// Counts decides whether fact f counts, from what s holds about it: its
// retractions, its corrections and, for a correction, the entry it
// corrects and the other corrections of that entry.
func Counts(s Store, f Fact) (bool, error) {
	if r, err := retracted(s, f); err != nil || r {
		return false, err
	}
	corr, err := s.Corrections(f.ID)
	if err != nil {
		return false, err
	}
	for _, g := range corr {
		if g.Member != f.Member || g.Type != f.Type {
			continue
		}
		if r, err := retracted(s, g); err != nil || !r {
			return false, err // a live correction hides f
		}
	}
	if f.Supersedes == uuid.Nil {
		return true, nil
	}
	// A correction competes with the other live corrections of the same
	// entry: the newest wins. The entry, when known, decides which member
	// and type a correction of it must have.
	target, err := s.Fact(f.Supersedes)
	if err != nil {
		return false, err
	}
	owner, typ := f.Member, f.Type
	if target != nil {
		owner, typ = target.Member, target.Type
		if f.Member != owner || f.Type != typ {
			return true, nil // not a correction of it: an entry of its own
		}
	}
	sib, err := s.Corrections(f.Supersedes)
	if err != nil {
		return false, err
	}
	for _, g := range sib {
		if g.ID == f.ID || g.Member != owner || g.Type != typ || !g.Stamp.After(f.Stamp) {
			continue
		}
		if r, err := retracted(s, g); err != nil || !r {
			return false, err
		}
	}
	return true, nil
}

// retracted reports whether f's own member withdrew it.
func retracted(s Store, f Fact) (bool, error) {
	rs, err := s.Retractions(f.ID)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		if r.Member == f.Member {
			return true, nil
		}
	}
	return false, nil
}

// Supersedes is the entry a logged fact corrects, uuid.Nil for none.
func Supersedes(p syncproto.Payload) uuid.UUID {
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

func sortUpdates(us []FlightUpdate) {
	slices.SortFunc(us, func(a, b FlightUpdate) int {
		switch {
		case a.Stamp.After(b.Stamp):
			return 1
		case b.Stamp.After(a.Stamp):
			return -1
		}
		return 0
	})
}
