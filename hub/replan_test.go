package hub

import (
	"context"
	"maps"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// TestReplannerMarks: which travellers of which trips a batch's changes
// mark for re-planning (an empty set: every traveller).
func TestReplannerMarks(t *testing.T) {
	ada, bo, cy, gone := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	t1, t2 := uuid.New(), uuid.New()
	set := func(ids ...uuid.UUID) map[uuid.UUID]bool {
		m := map[uuid.UUID]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	type dirty = map[uuid.UUID]map[uuid.UUID]bool
	tests := []struct {
		name    string
		changes []Changes // told one after the other
		want    dirty
	}{
		{"a trip changed", []Changes{{Trips: set(t1)}}, dirty{t1: {}}},
		{"a traveller's logs", []Changes{{Members: set(ada)}}, dirty{t1: set(ada), t2: set(ada)}},
		{"two travellers", []Changes{{Members: set(ada, bo)}}, dirty{t1: set(ada, bo), t2: set(ada)}},
		{"a trip and one of its travellers", []Changes{{Trips: set(t1), Members: set(ada)}}, dirty{t1: {}, t2: set(ada)}},
		{"a traveller, then the trip", []Changes{{Members: set(bo)}, {Trips: set(t1)}}, dirty{t1: {}}},
		{"the trip, then a traveller", []Changes{{Trips: set(t1)}, {Members: set(bo)}}, dirty{t1: {}}},
		{"a member on no trip", []Changes{{Members: set(cy)}}, dirty{}},
		{"the family's settings", []Changes{{Family: true}}, dirty{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			s.tripsOf[ada] = []uuid.UUID{t1, t2}
			s.tripsOf[bo] = []uuid.UUID{t1}
			s.members[cy] = &Member{ID: cy}
			s.members[gone] = &Member{ID: gone, Removed: true}
			r := NewReplanner(s, &circadian.Planner{}, time.Now, discardLogger(), nil, NewBroker())
			for i, c := range tc.changes {
				r.Changed(t.Context(), c, uint64(i+1))
			}
			if !maps.EqualFunc(r.dirty, tc.want, maps.Equal) {
				t.Errorf("marked %v, want %v", r.dirty, tc.want)
			}
			if len(s.deleted) != 0 {
				t.Errorf("plans deleted: %v", s.deleted)
			}
			select {
			case <-r.Idle():
				if len(tc.want) > 0 {
					t.Error("idle with work marked")
				}
			default:
				if len(tc.want) == 0 {
					t.Error("not idle with nothing marked")
				}
			}
		})
	}
}

// TestReplannerDropsARemovedMembersPlans: a removed member is on no trip,
// and their plans go at once.
func TestReplannerDropsARemovedMembersPlans(t *testing.T) {
	gone := uuid.New()
	s := newMemStore()
	s.members[gone] = &Member{ID: gone, Removed: true}
	b := NewBroker()
	notices, stop := b.Subscribe()
	defer stop()
	r := NewReplanner(s, &circadian.Planner{}, time.Now, discardLogger(), nil, b)
	r.Changed(t.Context(), Changes{Members: map[uuid.UUID]bool{gone: true}}, 9)
	if len(s.deleted) != 1 || s.deleted[0] != [2]uuid.UUID{uuid.Nil, gone} {
		t.Fatalf("plans deleted: %v", s.deleted)
	}
	n := <-notices
	if n.Kind != "plans_removed" || n.MemberID == nil || *n.MemberID != gone || n.Seq != 9 {
		t.Fatalf("notice %+v", n)
	}
}

// planInputs is a trip from London to New York for ada and bo.
func planInputs(t *testing.T, trip, ada, bo uuid.UUID) *PlanInputs {
	lon, err := syncproto.LoadZone("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	nyc, err := syncproto.LoadZone("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	dep := time.Date(2026, 12, 10, 11, 0, 0, 0, lon)
	person := func(id uuid.UUID, name string) circadian.Person {
		return circadian.Person{ID: id, Name: name, AgeBand: syncproto.AgeAdult, Home: lon,
			Sleep: syncproto.ClockAt(23, 0), Wake: syncproto.ClockAt(7, 0)}
	}
	return &PlanInputs{Seq: 12, Inputs: family.Inputs{
		Trip: circadian.Trip{ID: trip, Travellers: []uuid.UUID{ada, bo},
			Legs: []circadian.Leg{{Flight: "BA177", From: "LHR", To: "JFK", FromTZ: lon, ToTZ: nyc, Depart: dep, Arrive: dep.Add(8 * time.Hour)}}},
		People: []circadian.Person{person(ada, "Ada"), person(bo, "Bo")}}}
}

// TestReplannerReplans: the marked travellers are planned, at the
// re-planner's clock, their plans saved and announced; a trip re-planned
// for everyone loses its old plans first; a trip that cannot be planned
// gets the reason as every traveller's plan; a trip that is gone loses its
// plans.
func TestReplannerReplans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ada, bo, trip, gone := uuid.New(), uuid.New(), uuid.New(), uuid.New()
		s := newMemStore()
		s.tripsOf[bo] = []uuid.UUID{trip}
		s.inputs[trip] = planInputs(t, trip, ada, bo)
		now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		b := NewBroker()
		notices, stop := b.Subscribe()
		defer stop()
		r := NewReplanner(s, &circadian.Planner{}, func() time.Time { return now }, discardLogger(), nil, b)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		idle := func() {
			t.Helper()
			time.Sleep(ReplanMaxDelay) // changes wait to be coalesced
			synctest.Wait()
			select {
			case <-r.Idle():
			default:
				t.Fatal("the re-planner is not idle")
			}
		}
		take := func() (plans []StoredPlan, deleted [][2]uuid.UUID, got []Notice) {
			s.mu.Lock()
			plans, deleted, s.plans, s.deleted = s.plans, s.deleted, nil, nil
			s.mu.Unlock()
			for len(notices) > 0 {
				got = append(got, <-notices)
			}
			return plans, deleted, got
		}

		// One traveller's logs: only their plan.
		r.Changed(ctx, Changes{Members: map[uuid.UUID]bool{bo: true}}, 12)
		idle()
		plans, deleted, got := take()
		if len(plans) != 1 || plans[0].MemberID != bo || plans[0].TripID != trip || plans[0].Seq != 12 ||
			!plans[0].ComputedAt.Equal(now) || len(plans[0].Plan) == 0 || plans[0].Error != "" {
			t.Fatalf("plans after bo's logs: %+v", plans)
		}
		if len(deleted) != 0 || len(got) != 1 || got[0].Kind != "plan" || *got[0].MemberID != bo {
			t.Fatalf("after bo's logs: deleted %v, notices %+v", deleted, got)
		}

		// The trip: every traveller, the old plans dropped first.
		r.Changed(ctx, Changes{Trips: map[uuid.UUID]bool{trip: true}}, 13)
		idle()
		plans, deleted, got = take()
		if len(plans) != 2 || plans[0].MemberID != ada || plans[1].MemberID != bo || len(got) != 2 {
			t.Fatalf("plans after the trip changed: %+v; notices %+v", plans, got)
		}
		if !slices.Equal(deleted, [][2]uuid.UUID{{trip, uuid.Nil}}) {
			t.Fatalf("deleted %v, want the trip's plans", deleted)
		}

		// A trip that cannot be planned: the reason, for everyone.
		s.mu.Lock()
		s.inputs[trip].Problem = "leg 1 lands before it departs"
		s.mu.Unlock()
		r.Changed(ctx, Changes{Trips: map[uuid.UUID]bool{trip: true}}, 14)
		idle()
		plans, _, _ = take()
		if len(plans) != 2 || plans[0].Plan != nil || plans[0].Error != "no plan could be made: leg 1 lands before it departs" {
			t.Fatalf("plans of a trip that cannot be planned: %+v", plans)
		}

		// A trip that is gone: its plans go.
		r.Changed(ctx, Changes{Trips: map[uuid.UUID]bool{gone: true}}, 15)
		idle()
		plans, deleted, got = take()
		if len(plans) != 0 || !slices.Equal(deleted, [][2]uuid.UUID{{gone, uuid.Nil}}) ||
			len(got) != 1 || got[0].Kind != "plans_removed" || *got[0].TripID != gone || got[0].Seq != 15 {
			t.Fatalf("after a trip went: plans %+v, deleted %v, notices %+v", plans, deleted, got)
		}
	})
}
