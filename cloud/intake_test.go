package cloud_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/syncproto"
)

func mustMarshal(t *testing.T, e syncproto.Envelope) []byte {
	t.Helper()
	b, err := syncproto.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func intakeErr(t *testing.T, err error, code cloud.ErrorCode) *cloud.IntakeError {
	t.Helper()
	ie, ok := err.(*cloud.IntakeError)
	if !ok || ie.Code != code {
		t.Fatalf("error %v (%T), want an IntakeError %s", err, err, code)
	}
	return ie
}

// A nap posted is stored once; its retry answers the same and sends
// nothing; the same id with other content is a conflict.
func TestPostEventsRetryAndConflict(t *testing.T) {
	f := cloudtest.NewFamily(time.Now().Add(-48*time.Hour).Truncate(time.Minute), "BA286")
	svc, down := flightService(t, f.Setup())
	ctx := context.Background()
	nap := f.Event(f.Members[2], time.Now().Add(-2*time.Hour).Truncate(time.Minute), cloudtest.Away, &syncproto.Sleep{Nap: true})
	nap.End = nap.Start.Add(time.Hour)
	raw := mustMarshal(t, nap)
	first, err := svc.PostEvents(ctx, f.ID, cloud.Author{}, [][]byte{raw})
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.PostEvents(ctx, f.ID, cloud.Author{Member: f.Members[2]}, [][]byte{raw})
	if err != nil {
		t.Fatal(err)
	}
	if first[0] != again[0] || first[0].ID != nap.ID {
		t.Errorf("answers %+v then %+v", first, again)
	}
	if down.sends != 1 {
		t.Errorf("%d sends, want 1", down.sends)
	}
	other := nap
	other.End = nap.Start.Add(2 * time.Hour)
	_, err = svc.PostEvents(ctx, f.ID, cloud.Author{}, [][]byte{mustMarshal(t, other)})
	ie := intakeErr(t, err, cloud.CodeConflict)
	if len(ie.Problems) != 1 || ie.Problems[0].Path != "id" {
		t.Errorf("problems %+v", ie.Problems)
	}
	// A correction of the nap, posted before the warehouse has the nap,
	// is checked against what this API sent.
	fix := f.Event(f.Members[2], nap.Start, cloudtest.Away, &syncproto.Sleep{Nap: true, Supersedes: nap.ID})
	fix.End = nap.Start.Add(90 * time.Minute)
	if _, err := svc.PostEvents(ctx, f.ID, cloud.Author{Member: f.Members[2]}, [][]byte{mustMarshal(t, fix)}); err != nil {
		t.Fatal(err)
	}
}

// Events that do not fit the family's folded state are refused, all of the
// batch, with a problem each.
func TestPostEventsFoldCheck(t *testing.T) {
	f := cloudtest.NewFamily(time.Now().Add(-48*time.Hour).Truncate(time.Minute), "BA286")
	svc, down := flightService(t, f.Setup())
	ctx := context.Background()
	at := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	stranger := syncproto.NewID()
	unknownFix := f.Event(f.Members[0], at, cloudtest.Away, &syncproto.Sleep{Supersedes: syncproto.NewID()})
	unknownFix.End = at.Add(time.Hour)
	foreign := f.Event(stranger, at, cloudtest.Away, &syncproto.Meal{Kind: syncproto.MealLunch})
	retract := f.Event(f.Members[1], at, cloudtest.Away, &syncproto.LogRetracted{EventID: syncproto.NewID()})
	flight := f.Event(uuid.Nil, at, cloudtest.Away, &syncproto.FlightUpdated{TripID: syncproto.NewID(), Leg: 1, Status: syncproto.FlightCancelled})
	ok := f.Event(f.Members[0], at, cloudtest.Away, &syncproto.Meal{Kind: syncproto.MealLunch})
	batch := [][]byte{mustMarshal(t, ok), mustMarshal(t, unknownFix), mustMarshal(t, foreign), mustMarshal(t, retract), mustMarshal(t, flight)}
	_, err := svc.PostEvents(ctx, f.ID, cloud.Author{}, batch)
	ie := intakeErr(t, err, cloud.CodeInvalid)
	want := map[int]string{1: "data.supersedes", 2: "member_id", 3: "data.event_id", 4: "data.trip_id"}
	if len(ie.Problems) != len(want) {
		t.Fatalf("problems %+v", ie.Problems)
	}
	for _, p := range ie.Problems {
		if want[p.Index] != p.Path {
			t.Errorf("problem %+v, want path %q", p, want[p.Index])
		}
	}
	if down.sends != 0 {
		t.Errorf("%d sends of a refused batch", down.sends)
	}

	// Another family's event, on this family's route.
	g := cloudtest.NewFamily(f.Depart, "BA286")
	_, err = svc.PostEvents(ctx, f.ID, cloud.Author{}, [][]byte{mustMarshal(t, g.Event(uuid.Nil, at, cloudtest.Home, &syncproto.FamilyUpserted{Name: "G", HomeTZ: cloudtest.Home}))})
	if ie := intakeErr(t, err, cloud.CodeInvalid); ie.Problems[0].Path != "family_id" {
		t.Errorf("problems %+v", ie.Problems)
	}
	// A family the cloud never heard of.
	_, err = svc.PostEvents(ctx, g.ID, cloud.Author{}, [][]byte{mustMarshal(t, g.Event(g.Members[0], at, cloudtest.Home, &syncproto.Meal{Kind: syncproto.MealLunch}))})
	intakeErr(t, err, cloud.CodeNotFound)
	// Not an event at all.
	_, err = svc.PostEvents(ctx, f.ID, cloud.Author{}, [][]byte{[]byte(`{"type":"sleep"}`)})
	if ie := intakeErr(t, err, cloud.CodeInvalid); len(ie.Problems) == 0 {
		t.Error("no problems for an invalid event")
	}
	// The cloud's own type.
	adv := f.Event(f.Members[0], at, cloudtest.Away, &syncproto.RecommendationUpdated{})
	if b, err := syncproto.Marshal(adv); err == nil {
		_, err = svc.PostEvents(ctx, f.ID, cloud.Author{}, [][]byte{b})
		if ie := intakeErr(t, err, cloud.CodeInvalid); ie.Problems[0].Path != "type" {
			t.Errorf("problems %+v", ie.Problems)
		}
	}
}

// A member posts about themself and trips, not about others.
func TestPostEventsMemberScope(t *testing.T) {
	f := cloudtest.NewFamily(time.Now().Add(-48*time.Hour).Truncate(time.Minute), "BA286")
	svc, _ := flightService(t, f.Setup())
	ctx := context.Background()
	at := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	mine := f.Event(f.Members[0], at, cloudtest.Away, &syncproto.Meal{Kind: syncproto.MealLunch})
	theirs := f.Event(f.Members[1], at, cloudtest.Away, &syncproto.Meal{Kind: syncproto.MealLunch})
	me := cloud.Author{Member: f.Members[0]}
	if _, err := svc.PostEvents(ctx, f.ID, me, [][]byte{mustMarshal(t, mine)}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.PostEvents(ctx, f.ID, me, [][]byte{mustMarshal(t, theirs)})
	if ie := intakeErr(t, err, cloud.CodeForbidden); !strings.Contains(ie.Message, "own member") {
		t.Errorf("message %q", ie.Message)
	}
}

// notices records what a recommender notifies.
type notices struct {
	mu  sync.Mutex
	got []cloud.Notice
}

func (n *notices) Notify(_ context.Context, _ uuid.UUID, note cloud.Notice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, note)
	return nil
}

func (n *notices) plans(member uuid.UUID) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, x := range n.got {
		if x.Kind == "plan" && x.MemberID != nil && *x.MemberID == member {
			c++
		}
	}
	return c
}

// A critical event (a nap, a correction of a meal) re-plans its member at
// once and notifies after the cache is written; a plain meal waits for the
// refresh.
func TestRecommenderNotifiesCriticalEvents(t *testing.T) {
	f := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	w := openWarehouse(t)
	if _, err := (&cloud.Store{W: w, Now: time.Now}).Write(context.Background(), rowsOf(t, f.Setup())); err != nil {
		t.Fatal(err)
	}
	n := &notices{}
	cache := memcache.New(memcache.Config{})
	r := &cloud.Recommender{Warehouse: w, Cache: cache, Logger: discard(), Notify: n}
	at := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	nap := f.Event(f.Members[2], at, cloudtest.Away, &syncproto.Sleep{Nap: true})
	nap.End = at.Add(time.Hour)
	meal := f.Event(f.Members[0], at, cloudtest.Away, &syncproto.Meal{Kind: syncproto.MealLunch})
	fix := f.Event(f.Members[0], at, cloudtest.Away, &syncproto.Meal{Kind: syncproto.MealDinner, Supersedes: meal.ID})
	handle := func(es ...syncproto.Envelope) {
		var recs []cloud.Record
		for _, e := range es {
			recs = append(recs, cloud.Record{Value: mustMarshal(t, e)})
		}
		if err := r.Handle(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	handle(nap)
	if n.plans(f.Members[2]) != 1 {
		t.Fatalf("notices %+v after a nap", n.got)
	}
	if _, err := cache.Get(context.Background(), cloud.RecommendationKey(f.ID, f.Members[2])); err != nil {
		t.Errorf("no cached advice when notified: %v", err)
	}
	handle(meal)
	if n.plans(f.Members[0]) != 0 {
		t.Errorf("a plain meal notified at once: %+v", n.got)
	}
	handle(fix)
	if n.plans(f.Members[0]) != 1 {
		t.Errorf("a corrected meal did not re-plan at once: %+v", n.got)
	}
}
