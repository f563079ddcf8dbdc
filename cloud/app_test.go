package cloud_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/syncproto"
)

// The UI's reads from the warehouse: the family, a trip's plans (made
// once per view), today and a member's log; a view is made again when the
// recommender of the process has folded events it has not, and on
// Invalidate.
func TestAppReads(t *testing.T) {
	ctx := context.Background()
	fam := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	w := openWarehouse(t)
	store := &cloud.Store{W: w, Now: time.Now}
	if _, err := store.Write(ctx, rowsOf(t, fam.Setup())); err != nil {
		t.Fatal(err)
	}
	r := &cloud.Recommender{Warehouse: w, Cache: memcache.New(memcache.Config{}), Logger: discard()}
	s := cloud.NewService(r, nil)

	st, err := s.State(ctx, fam.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.SetupRequired || st.Family.Name != "The Testers" || len(st.Members) != 3 || st.Members[0].Data.DisplayName != "Ada" ||
		len(st.Trips) != 1 || st.Trips[0].ID != fam.Trip {
		t.Fatalf("state: %+v", st)
	}
	plans, err := s.TripPlans(ctx, fam.ID, fam.Trip)
	if err != nil || len(plans.Plans) != 3 {
		t.Fatalf("plans: %v %+v", err, plans)
	}
	for _, p := range plans.Plans {
		if p.Error != "" || len(p.Plan) == 0 || p.TripID != fam.Trip {
			t.Errorf("plan: %+v", p)
		}
	}
	again, _ := s.TripPlans(ctx, fam.ID, fam.Trip)
	if &again.Plans[0] != &plans.Plans[0] {
		t.Error("the plans were made again for the same view")
	}
	today, err := s.Today(ctx, fam.ID, fam.Arrive.Add(3*time.Hour+500*time.Millisecond))
	if err != nil || len(today.Members) != 3 || !today.At.Equal(fam.Arrive.Add(3*time.Hour)) {
		t.Fatalf("today: %v %+v", err, today)
	}
	for _, mn := range today.Members {
		if mn.TripID == nil || *mn.TripID != fam.Trip || mn.Day == nil {
			t.Errorf("today of %s: %+v", mn.Name, mn)
		}
	}

	// Not found: a family, a trip, a member.
	for _, err := range []error{
		second(s.State(ctx, uuid.New())), second(s.TripPlans(ctx, fam.ID, uuid.New())),
		second(s.MemberLog(ctx, fam.ID, uuid.New(), time.Time{})),
	} {
		if ce, ok := errors.AsType[*cloud.Error](err); !ok || ce.Code != cloud.CodeNotFound {
			t.Errorf("not found: %v", err)
		}
	}

	// A day's logs reach the warehouse and this process's recommender:
	// the next read sees them without waiting for the view to age.
	day := fam.Day(0)
	if _, err := store.Write(ctx, rowsOf(t, day)); err != nil {
		t.Fatal(err)
	}
	var recs []cloud.Record
	for _, b := range cloudtest.Marshal(day) {
		recs = append(recs, cloud.Record{Value: b})
	}
	if err := r.Handle(ctx, recs); err != nil {
		t.Fatal(err)
	}
	log, err := s.MemberLog(ctx, fam.ID, fam.Members[2], time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Facts) != 6 {
		t.Fatalf("the toddler's log: %d facts", len(log.Facts))
	}
	prev := log.Facts[0]
	for _, f := range log.Facts[1:] {
		a, _ := syncproto.Unmarshal(prev.Event)
		b, _ := syncproto.Unmarshal(f.Event)
		if a.Start.Before(b.Start) || f.Seq == 0 {
			t.Errorf("the log is not newest first: %s then %s", a.Start, b.Start)
		}
		prev = f
	}
	replanned, _ := s.TripPlans(ctx, fam.ID, fam.Trip)
	if &replanned.Plans[0] == &plans.Plans[0] || replanned.Plans[0].Seq <= plans.Plans[0].Seq {
		t.Error("the plans were not made again after new events")
	}
}

// TestAppInvalidate: an event only the warehouse has shows once the view
// ages or is dropped.
func TestAppInvalidate(t *testing.T) {
	ctx := context.Background()
	fam := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	w := openWarehouse(t)
	store := &cloud.Store{W: w, Now: time.Now}
	if _, err := store.Write(ctx, rowsOf(t, fam.Setup())); err != nil {
		t.Fatal(err)
	}
	s := cloud.NewService(&cloud.Recommender{Warehouse: w, Cache: memcache.New(memcache.Config{}), Logger: discard()}, nil)
	if log, err := s.MemberLog(ctx, fam.ID, fam.Members[0], time.Time{}); err != nil || len(log.Facts) != 0 {
		t.Fatalf("log: %v %+v", err, log)
	}
	e := fam.Event(fam.Members[0], fam.Arrive.Add(time.Hour), cloudtest.Away, &syncproto.Meal{Kind: syncproto.MealLunch})
	if _, err := store.Write(ctx, rowsOf(t, []syncproto.Envelope{e})); err != nil {
		t.Fatal(err)
	}
	if log, _ := s.MemberLog(ctx, fam.ID, fam.Members[0], time.Time{}); len(log.Facts) != 0 {
		t.Fatal("the view was made again before it aged")
	}
	s.Invalidate(fam.ID)
	if log, _ := s.MemberLog(ctx, fam.ID, fam.Members[0], time.Time{}); len(log.Facts) != 1 {
		t.Fatalf("after Invalidate: %d facts", len(log.Facts))
	}
}

func second[T any](_ T, err error) error { return err }
