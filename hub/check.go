package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// check refuses a batch whose events do not fit the hub's state as c
// knows it: another family's events, and references to members, trips or
// logged facts that do not exist. Events earlier in the batch, and in
// batches c accepted before, count as existing. family is the hub's family
// so far (uuid.Nil before setup); check returns it as of the batch.
func (w *Writer) check(c *refChecker, family uuid.UUID, batch []pending, setup bool) (uuid.UUID, error) {
	if family == uuid.Nil {
		for _, b := range batch {
			if b.ok && b.env.Type == syncproto.TypeFamilyUpserted {
				family = b.env.FamilyID
				break
			}
		}
		if family == uuid.Nil {
			return family, &Error{Code: CodeNoFamily, Message: "this hub has no family yet: set it up first with a family.upserted event (POST /api/v1/setup)"}
		}
	} else if setup {
		return family, &Error{Code: CodeConflict, Message: "this hub is already set up for family " + family.String() + "; send further events to /api/v1/events"}
	}
	if w.linked != uuid.Nil && family != w.linked {
		return family, &Error{Code: CodeConflict, Message: "this hub syncs with the cloud as family " + w.linked.String() + ": set up that family (its id is in the hub's cloud credentials), or wait for it to come from the cloud"}
	}
	var problems []Problem
	add := func(i int, path, rule string) {
		problems = append(problems, Problem{Index: i, Code: syncproto.CodeInvalid, Path: path, Rule: rule})
	}
	now := w.clock.Wall()
	newer, firstNewer := 0, 0
	for i, b := range batch {
		if b.env.FamilyID != family {
			add(i, "family_id", "must be this hub's family "+family.String())
			continue
		}
		if b.known {
			continue
		}
		if ahead := b.env.HLC.Ahead(now); ahead > syncproto.MaxClockAhead {
			add(i, "hlc", fmt.Sprintf("the stamp is %s ahead of the hub's clock, which reads %s; at most %s ahead is accepted. "+
				"Set the clock of the device that made the event right (or the hub's, if that one is wrong), then stamp the event again",
				ahead.Round(time.Second), now.UTC().Format(time.RFC3339), syncproto.MaxClockAhead))
		}
		if b.env.Type == syncproto.TypeRecommendationUpdated {
			add(i, "type", "recommendation.updated events are made by the cloud, not sent to a hub")
			continue
		}
		if !b.ok {
			if newer == 0 {
				firstNewer = i
			}
			newer++
			if err := c.newer(i, b.env.Header, add); err != nil {
				return family, err
			}
			continue
		}
		if err := c.event(i, b.env, add); err != nil {
			return family, err
		}
	}
	if newer > 0 {
		held, err := c.unsupported()
		if err != nil {
			return family, err
		}
		if held+newer > MaxUnsupported {
			add(firstNewer, "v", fmt.Sprintf("this hub reads schema version %d and already keeps %d events of newer versions, unapplied; it keeps at most %d. Upgrade the hub, then send the events again",
				syncproto.CurrentVersion, held, MaxUnsupported))
		}
	}
	if len(problems) > 0 {
		return family, &Error{Code: CodeInvalid, Message: "events refused; none were stored", Problems: problems}
	}
	c.addNewer(newer)
	return family, nil
}

// refChecker knows the state as of the batches it checked so far: what it
// looked up in the store, and what the accepted batches change. The
// changes of a batch are kept in an undo log until the batch is accepted
// (commit) or refused (rollback), so that a refused batch leaves no trace.
type refChecker struct {
	ctx      context.Context
	store    Store
	members  map[uuid.UUID]memberState             // as of the batches so far
	trips    map[uuid.UUID]*syncproto.TripUpserted // nil value: removed
	facts    map[uuid.UUID]Fact
	held     int // events of a newer version the store keeps; -1 until looked up
	admitted int // events of a newer version accepted since
	undo     []func()
}

func newRefChecker(ctx context.Context, store Store) *refChecker {
	return &refChecker{ctx: ctx, store: store, members: map[uuid.UUID]memberState{},
		trips: map[uuid.UUID]*syncproto.TripUpserted{}, facts: map[uuid.UUID]Fact{}, held: -1}
}

// mark is where a batch's changes start; rollback undoes them.
func (c *refChecker) mark() int { return len(c.undo) }

func (c *refChecker) rollback(mark int) {
	for i := len(c.undo) - 1; i >= mark; i-- {
		c.undo[i]()
	}
	c.undo = c.undo[:mark]
}

// commit keeps every change made so far.
func (c *refChecker) commit() { c.undo = c.undo[:0] }

// set changes m[k] to v, undoably.
func set[K comparable, V any](c *refChecker, m map[K]V, k K, v V) {
	old, had := m[k]
	c.undo = append(c.undo, func() {
		if had {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
	m[k] = v
}

func (c *refChecker) setMember(id uuid.UUID, st memberState) { set(c, c.members, id, st) }

func (c *refChecker) unsupported() (int, error) {
	if c.held < 0 {
		n, err := c.store.Unsupported(c.ctx)
		if err != nil {
			return 0, fmt.Errorf("count events of newer versions: %w", err)
		}
		c.held = n
	}
	return c.held + c.admitted, nil
}

func (c *refChecker) addNewer(n int) {
	if n == 0 {
		return
	}
	c.admitted += n
	c.undo = append(c.undo, func() { c.admitted -= n })
}

type memberState int8

const (
	memberUnknown memberState = iota // never added
	memberAlive
	memberRemoved
)

func (c *refChecker) memberState(id uuid.UUID) (memberState, error) {
	if st, ok := c.members[id]; ok {
		return st, nil
	}
	m, err := c.store.Member(c.ctx, id)
	if err != nil {
		return memberUnknown, fmt.Errorf("look up member: %w", err)
	}
	st := memberUnknown
	switch {
	case m != nil && m.Removed:
		st = memberRemoved
	case m != nil:
		st = memberAlive
	}
	c.members[id] = st
	return st, nil
}

func (c *refChecker) member(id uuid.UUID) (alive bool, err error) {
	st, err := c.memberState(id)
	return st == memberAlive, err
}

// newer checks what this build can check of an event of a newer schema
// version: its envelope. The member it is about must be alive, unless it
// (re)creates the member.
func (c *refChecker) newer(i int, h syncproto.Header, add func(i int, path, rule string)) error {
	if h.MemberID == uuid.Nil {
		return nil
	}
	if h.Type == syncproto.TypeMemberUpserted {
		c.setMember(h.MemberID, memberAlive)
		return nil
	}
	alive, err := c.member(h.MemberID)
	if err == nil && !alive {
		add(i, "member_id", "no member "+h.MemberID.String()+" in this family (never added, or removed)")
	}
	return err
}

func (c *refChecker) trip(id uuid.UUID) (*syncproto.TripUpserted, error) {
	if t, ok := c.trips[id]; ok {
		return t, nil
	}
	t, err := c.store.Trip(c.ctx, id)
	if err != nil {
		return nil, fmt.Errorf("look up trip: %w", err)
	}
	var data *syncproto.TripUpserted
	if t != nil && !t.Removed {
		data = t.Data
	}
	c.trips[id] = data
	return data, nil
}

func (c *refChecker) fact(id uuid.UUID) (*Fact, error) {
	if f, ok := c.facts[id]; ok {
		return &f, nil
	}
	f, err := c.store.Fact(c.ctx, id)
	if err != nil {
		return nil, fmt.Errorf("look up logged fact: %w", err)
	}
	return f, nil
}

func (c *refChecker) event(i int, e syncproto.Envelope, add func(i int, path, rule string)) error {
	needMember := func() (bool, error) {
		alive, err := c.member(e.MemberID)
		if err != nil {
			return false, err
		}
		if !alive {
			add(i, "member_id", "no member "+e.MemberID.String()+" in this family (never added, or removed)")
		}
		return alive, nil
	}
	checkFact := func(path string, id uuid.UUID, want syncproto.Type) error {
		if id == uuid.Nil {
			return nil
		}
		f, err := c.fact(id)
		if err != nil {
			return err
		}
		switch {
		case f == nil:
			add(i, path, "no logged event "+id.String())
		case f.MemberID != e.MemberID:
			add(i, path, "event "+id.String()+" belongs to another member")
		case want != "" && f.Type != want:
			add(i, path, fmt.Sprintf("event %s is a %s, not a %s", id, f.Type, want))
		}
		return nil
	}

	switch d := e.Data.(type) {
	case *syncproto.MemberUpserted:
		c.setMember(e.MemberID, memberAlive)
	case *syncproto.MemberRemoved:
		// Removing a removed member again is harmless (two devices may do
		// it at once); removing one never added is a mistake.
		st, err := c.memberState(e.MemberID)
		if err != nil {
			return err
		}
		if st == memberUnknown {
			add(i, "member_id", "no member "+e.MemberID.String()+" in this family")
		}
		c.setMember(e.MemberID, memberRemoved)
	case *syncproto.TripUpserted:
		for j, id := range d.Travellers {
			alive, err := c.member(id)
			if err != nil {
				return err
			}
			if !alive {
				add(i, fmt.Sprintf("data.travellers[%d]", j), "no member "+id.String()+" in this family")
			}
		}
		set(c, c.trips, d.TripID, d)
	case *syncproto.TripRemoved:
		t, err := c.trip(d.TripID)
		if err != nil {
			return err
		}
		if t == nil {
			add(i, "data.trip_id", "no trip "+d.TripID.String()+" in this family (never added, or removed)")
		}
		set(c, c.trips, d.TripID, nil)
	case *syncproto.FlightUpdated:
		t, err := c.trip(d.TripID)
		if err != nil {
			return err
		}
		switch {
		case t == nil:
			add(i, "data.trip_id", "no trip "+d.TripID.String()+" in this family (never added, or removed)")
		case d.Leg > len(t.Legs):
			add(i, "data.leg", fmt.Sprintf("the trip has %d legs", len(t.Legs)))
		case d.Flight != "" && t.Legs[d.Leg-1].Flight != "" && d.Flight != t.Legs[d.Leg-1].Flight:
			add(i, "data.flight", fmt.Sprintf("leg %d is flight %s, not %s", d.Leg, t.Legs[d.Leg-1].Flight, d.Flight))
		}
	case *syncproto.Sleep, *syncproto.Meal, *syncproto.LightExposure:
		ok, err := needMember()
		if err != nil || !ok {
			return err
		}
		if err := checkFact("data.supersedes", family.Supersedes(e.Data), e.Type); err != nil {
			return err
		}
		set(c, c.facts, e.ID, Fact{ID: e.ID, MemberID: e.MemberID, Type: e.Type})
	case *syncproto.LogRetracted:
		ok, err := needMember()
		if err != nil || !ok {
			return err
		}
		return checkFact("data.event_id", d.EventID, "")
	}
	return nil
}
