package cloud_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// keeping is a downlink that keeps what it is sent as the stores do: an
// event once by id, the first time it comes.
type keeping struct {
	mu    sync.Mutex
	sends int
	kept  map[uuid.UUID]syncproto.Envelope
	order []uuid.UUID
}

func (k *keeping) Send(_ context.Context, h syncproto.Header, raw []byte) error {
	e, err := syncproto.Unmarshal(raw)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sends++
	if k.kept == nil {
		k.kept = map[uuid.UUID]syncproto.Envelope{}
	}
	if _, ok := k.kept[h.ID]; !ok {
		k.kept[h.ID] = e
		k.order = append(k.order, h.ID)
	}
	return nil
}

func (k *keeping) event(t *testing.T, id uuid.UUID) syncproto.Envelope {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.kept[id]
	if !ok {
		t.Fatalf("event %s was not sent", id)
	}
	return e
}

// flightService is a service over a warehouse holding a family's set-up,
// sending into a keeping downlink.
func flightService(t *testing.T, setup []syncproto.Envelope) (*cloud.Service, *keeping) {
	t.Helper()
	w := openWarehouse(t)
	if _, err := (&cloud.Store{W: w, Now: time.Now}).Write(context.Background(), rowsOf(t, setup)); err != nil {
		t.Fatal(err)
	}
	down := &keeping{}
	r := &cloud.Recommender{Warehouse: w, Cache: memcache.New(memcache.Config{}), Logger: discard()}
	return cloud.NewService(r, down), down
}

// A provider's exact repeat makes the same event and the same answer; a
// message with the same provider id and other content (a corrected time,
// a new status) makes a new event, stamped later, which the family's fold
// applies last: the corrected times are the trip's.
func TestFlightStatusRepeatAndCorrection(t *testing.T) {
	f := cloudtest.NewFamily(time.Now().Add(48*time.Hour).Truncate(time.Minute), "BA286")
	setup := f.Setup()
	svc, down := flightService(t, setup)
	ctx := context.Background()
	first := cloud.FlightStatus{Source: "zoner", ID: "ops-17", Flight: "BA286", Date: syncproto.DateOf(f.Depart),
		Status: syncproto.FlightDelayed, Depart: f.Depart.Add(time.Hour), Arrive: f.Arrive.Add(time.Hour)}
	res1, err := svc.FlightStatus(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if len(res1.Events) != 1 || res1.Trips != 1 {
		t.Fatalf("first message: %+v, want one event for one trip", res1)
	}

	// An exact repeat, and the same instants written in another offset.
	again := first
	again.Depart, again.Arrive = first.Depart.UTC(), first.Arrive.In(time.FixedZone("", 9*3600))
	for name, st := range map[string]cloud.FlightStatus{"exact repeat": first, "same instants": again} {
		res, err := svc.FlightStatus(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Events, res1.Events) || res.Trips != res1.Trips {
			t.Errorf("%s answered %+v, want the first answer %+v", name, res, res1)
		}
	}
	if len(down.kept) != 1 {
		t.Fatalf("the stores keep %d events after repeats, want 1", len(down.kept))
	}

	// The provider corrects its message: later times, then a new status.
	corrected := first
	corrected.Depart, corrected.Arrive = first.Depart.Add(30*time.Minute), first.Arrive.Add(30*time.Minute)
	res2, err := svc.FlightStatus(ctx, corrected)
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Events) != 1 || res2.Events[0] == res1.Events[0] {
		t.Fatalf("the corrected message answered %+v; want one new event beside %v", res2, res1.Events)
	}
	e1, e2 := down.event(t, res1.Events[0]), down.event(t, res2.Events[0])
	if e2.HLC.Compare(e1.HLC) <= 0 {
		t.Errorf("the correction is stamped %v, not after the first message's %v", e2.HLC, e1.HLC)
	}
	d2 := e2.Data.(*syncproto.FlightUpdated)
	if !d2.Depart.Equal(corrected.Depart) || !d2.Arrive.Equal(corrected.Arrive) {
		t.Errorf("the correction carries depart %v, arrive %v; want %v, %v", d2.Depart, d2.Arrive, corrected.Depart, corrected.Arrive)
	}
	departed := corrected
	departed.Status, departed.Arrive = syncproto.FlightDeparted, time.Time{}
	res3, err := svc.FlightStatus(ctx, departed)
	if err != nil {
		t.Fatal(err)
	}
	if len(res3.Events) != 1 || res3.Events[0] == res1.Events[0] || res3.Events[0] == res2.Events[0] {
		t.Fatalf("the new status answered %+v; want an event of its own", res3)
	}
	// The first message delivered again after its correction changes
	// nothing: the stores have its event already.
	if _, err := svc.FlightStatus(ctx, corrected); err != nil {
		t.Fatal(err)
	}
	if len(down.kept) != 3 {
		t.Errorf("the stores keep %d events, want 3", len(down.kept))
	}

	// The fold, in any order of arrival, applies the corrected times last.
	want := corrected.Depart
	for _, order := range [][]uuid.UUID{{res1.Events[0], res2.Events[0]}, {res2.Events[0], res1.Events[0]}} {
		s := family.New(f.ID)
		for _, e := range setup {
			s.Apply(e)
		}
		for _, id := range order {
			s.Apply(down.event(t, id))
		}
		trip := s.Trips[f.Trip]
		in := s.Inputs(trip)
		if in == nil || len(in.Trip.Legs) != 1 {
			t.Fatalf("no inputs for the trip: %+v", in)
		}
		l := in.Trip.Legs[0]
		if !l.Depart.Equal(want) || !l.Arrive.Equal(corrected.Arrive) {
			t.Errorf("order %v: the fold's leg departs %v and arrives %v; want the corrected %v and %v", order, l.Depart, l.Arrive, want, corrected.Arrive)
		}
		if n := len(in.CloudNews); n != 2 {
			t.Errorf("order %v: %d cloud news applied, want 2", order, n)
		}
	}
}
