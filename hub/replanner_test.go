package hub

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// TestReplannerLogsABrokenPlan: a plan that breaks an invariant of the
// planner is logged at error level with its rule, and a good one is not.
func TestReplannerLogsABrokenPlan(t *testing.T) {
	lon, err := syncproto.LoadZone("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	nyc, err := syncproto.LoadZone("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.MustParse("01a2156f-95c8-7cde-b1b3-9a5db552d71d")
	dep := time.Date(2026, 12, 10, 11, 0, 0, 0, lon)
	trip := circadian.Trip{ID: uuid.MustParse("01a2156f-95d8-7af4-9be3-14b523b636fd"), Travellers: []uuid.UUID{id},
		Legs: []circadian.Leg{{Flight: "BA177", From: "LHR", To: "JFK", FromTZ: lon, ToTZ: nyc, Depart: dep, Arrive: dep.Add(8 * time.Hour)}}}
	people := []circadian.Person{{ID: id, Name: "Ada", AgeBand: syncproto.AgeAdult, Home: lon,
		Sleep: syncproto.ClockAt(23, 0), Wake: syncproto.ClockAt(7, 0)}}
	req := circadian.Request{Trip: trip, People: people}
	var pl circadian.Planner
	mp, err := pl.PlanMember(req, id)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	r := &Replanner{logger: slog.New(slog.NewTextHandler(&logs, nil))}
	r.checkPlan(req, id, mp)
	if logs.Len() != 0 {
		t.Fatalf("a good plan was logged:\n%s", logs.String())
	}
	// Two meals at the same time on the last day: an overlap.
	last := &mp.Days[len(mp.Days)-1]
	for _, it := range last.Items {
		if it.Kind == circadian.ItemMeal {
			last.Items = append(last.Items, it)
			break
		}
	}
	r.checkPlan(req, id, mp)
	if got := logs.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "rule=overlap") {
		t.Errorf("a plan with overlapping meals was not logged as an error:\n%s", got)
	}
}

// coalescing runs a re-planner over a store holding one trip of ada and
// bo, its plans made at the bubble's clock; call it inside a synctest
// bubble. It returns the re-planner, a function that tells it bo logged
// something, and one that takes the plans saved so far.
func coalescing(t *testing.T) (r *Replanner, logged func(), saved func() []StoredPlan) {
	t.Helper()
	ada, bo, trip := uuid.New(), uuid.New(), uuid.New()
	s := newMemStore()
	s.tripsOf[bo] = []uuid.UUID{trip}
	s.inputs[trip] = planInputs(t, trip, ada, bo)
	r = NewReplanner(s, &circadian.Planner{}, time.Now, discardLogger(), nil, NewBroker())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	seq := uint64(0)
	logged = func() {
		seq++
		r.Changed(ctx, Changes{Members: map[uuid.UUID]bool{bo: true}}, seq)
	}
	saved = func() []StoredPlan {
		s.mu.Lock()
		defer s.mu.Unlock()
		return append([]StoredPlan(nil), s.plans...)
	}
	return r, logged, saved
}

// TestReplannerCoalescesABurst: 50 events for one member within the quiet
// period make one plan, made once the quiet period after the last has
// passed; then the re-planner is idle.
func TestReplannerCoalescesABurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, logged, saved := coalescing(t)
		start := time.Now()
		for range 50 {
			logged()
			time.Sleep(ReplanQuiet / 60)
		}
		last := time.Now().Add(-ReplanQuiet / 60)
		time.Sleep(2 * ReplanMaxDelay)
		synctest.Wait()
		plans := saved()
		if len(plans) != 1 {
			t.Fatalf("%d plans for a burst of 50 events, want 1", len(plans))
		}
		if at, want := plans[0].ComputedAt, last.Add(ReplanQuiet); !at.Equal(want.UTC()) {
			t.Errorf("planned %v after the first event, want %v", at.Sub(start), want.Sub(start))
		}
		select {
		case <-r.Idle():
		default:
			t.Error("the re-planner is not idle after the burst")
		}
	})
}

// TestReplannerPlansAStreamAtLeastEveryMaxDelay: events coming more often
// than the quiet period, for two seconds, still make plans: every event is
// in a plan made within ReplanMaxDelay of it, and the plans are about one
// per ReplanMaxDelay, not one per event.
func TestReplannerPlansAStreamAtLeastEveryMaxDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, logged, saved := coalescing(t)
		const every = 7 * time.Millisecond // not a divisor of the delays
		var events []time.Time
		for start := time.Now(); time.Since(start) < 2*time.Second; time.Sleep(every) {
			logged()
			events = append(events, time.Now())
		}
		time.Sleep(2 * ReplanMaxDelay)
		synctest.Wait()
		plans := saved()
		for _, e := range events {
			i := slices.IndexFunc(plans, func(p StoredPlan) bool { return p.ComputedAt.After(e) })
			if i < 0 || plans[i].ComputedAt.Sub(e) > ReplanMaxDelay {
				t.Fatalf("an event at %v waited longer than %v for a plan (plans at %v)", e, ReplanMaxDelay, planTimes(plans))
			}
		}
		if n, most := len(plans), int(2*time.Second/ReplanMaxDelay)+2; n > most {
			t.Errorf("%d plans for %d events in 2 s, want at most %d", n, len(events), most)
		}
		t.Logf("%d events, %d plans", len(events), len(plans))
	})
}

func planTimes(plans []StoredPlan) []time.Time {
	var out []time.Time
	for _, p := range plans {
		out = append(out, p.ComputedAt)
	}
	return out
}

// TestReplannerCachesTripsOfMembers: the trips of a member are read from
// the store once, not on every change of the member, and read again once
// a trip (who travels, or whether it is live) or the family changed.
func TestReplannerCachesTripsOfMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ada, trip, other := uuid.New(), uuid.New(), uuid.New()
		s := newMemStore()
		s.tripsOf[ada] = []uuid.UUID{trip}
		r := NewReplanner(s, &circadian.Planner{}, time.Now, discardLogger(), nil, NewBroker())
		ctx := t.Context()
		logged := Changes{Members: map[uuid.UUID]bool{ada: true}}
		steps := []struct {
			name  string
			c     Changes
			trips []uuid.UUID // the store's trips of ada from this step on
			reads int         // TripsOf calls so far
			dirty uuid.UUID   // a trip marked for ada
		}{
			{"first change", logged, nil, 1, trip},
			{"another", logged, nil, 1, trip},
			{"trip changed", Changes{Members: logged.Members, Trips: map[uuid.UUID]bool{trip: true}}, []uuid.UUID{trip, other}, 2, other},
			{"after it", logged, nil, 2, other},
			{"family changed", Changes{Members: logged.Members, Family: true}, []uuid.UUID{other}, 3, other},
		}
		for _, st := range steps {
			if st.trips != nil {
				s.mu.Lock()
				s.tripsOf[ada] = st.trips
				s.mu.Unlock()
			}
			r.Changed(ctx, st.c, 1)
			s.mu.Lock()
			n := s.tripsOfN
			s.mu.Unlock()
			r.mu.Lock()
			marked := r.dirty[st.dirty][ada]
			r.dirty = map[uuid.UUID]map[uuid.UUID]bool{}
			r.mu.Unlock()
			if n != st.reads || !marked {
				t.Errorf("%s: %d reads of the store, want %d; trip %v marked for ada: %v", st.name, n, st.reads, st.dirty, marked)
			}
		}
	})
}
