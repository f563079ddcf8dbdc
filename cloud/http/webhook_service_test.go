package http

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/cloud/warehouse/sqlite"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// keepingDownlink keeps what it is sent as the stores do: an event once
// by id, the first time it comes.
type keepingDownlink struct {
	mu   sync.Mutex
	kept map[uuid.UUID]syncproto.Envelope
}

func (k *keepingDownlink) Send(_ context.Context, h syncproto.Header, raw []byte) error {
	e, err := syncproto.Unmarshal(raw)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.kept[h.ID]; !ok {
		k.kept[h.ID] = e
	}
	return nil
}

func (k *keepingDownlink) event(t *testing.T, id uuid.UUID) syncproto.Envelope {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.kept[id]
	if !ok {
		t.Fatalf("event %s was not sent", id)
	}
	return e
}

// serviceServer is a test server over the real service: a SQLite
// warehouse holding setup, and a keeping downlink.
func serviceServer(t *testing.T, setup []syncproto.Envelope) (*testServer, *keepingDownlink) {
	t.Helper()
	ctx := context.Background()
	w, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	raws := cloudtest.Marshal(setup)
	recs := make([]cloud.Record, len(raws))
	for i, r := range raws {
		recs[i] = cloud.Record{Topic: "trip_events", Offset: int64(i), Value: r}
	}
	rows, poison := cloud.Decode(recs, time.Now())
	if len(poison) > 0 {
		t.Fatal(poison[0].Reason)
	}
	if _, err := (&cloud.Store{W: w, Now: time.Now}).Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	down := &keepingDownlink{kept: map[uuid.UUID]syncproto.Envelope{}}
	logger := slog.New(slog.DiscardHandler)
	svc := cloud.NewService(&cloud.Recommender{Warehouse: w, Cache: memcache.New(memcache.Config{}), Logger: logger}, down)
	return mustOpenServer(t, Config{Backend: svc}), down
}

// A webhook delivered again answers what it answered the first time, and
// makes nothing new; the same message id with a corrected time makes a
// new event, stamped later, whose time the family's plan then uses.
func TestFlightStatusWebhookRepeatAndCorrection(t *testing.T) {
	f := cloudtest.NewFamily(time.Date(2026, 12, 21, 3, 40, 0, 0, time.UTC), "BA286") // 19:40 on the 20th in San Francisco
	setup := f.Setup()
	ts, down := serviceServer(t, setup)
	post := func(path, body string) (cloud.FlightResult, []byte) {
		t.Helper()
		resp := ts.do("POST", path, "", []byte(body), WebhookSecretHeader, string(testWebhookSecret))
		if resp.code != 200 {
			t.Fatalf("%s: status %d: %s", path, resp.code, resp.body)
		}
		var res cloud.FlightResult
		if err := json.Unmarshal(resp.body, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Events) != 1 || res.Trips != 1 {
			t.Fatalf("%s answered %s; want one event of one trip", path, resp.body)
		}
		return res, resp.body
	}
	const path = "/v1/webhooks/flight-status"
	first := `{"id":"ops-1","flight":"BA286","date":"2026-12-20","status":"delayed","depart":"2026-12-20T20:40:00-08:00","arrive":"2026-12-21T15:00:00Z"}`
	res1, body1 := post(path, first)
	_, again := post(path, first)
	if string(again) != string(body1) {
		t.Errorf("the repeat answered %s; the first delivery %s", again, body1)
	}
	if len(down.kept) != 1 {
		t.Errorf("%d events kept after a repeat, want 1", len(down.kept))
	}

	corrected := `{"id":"ops-1","flight":"BA286","date":"2026-12-20","status":"delayed","depart":"2026-12-20T21:10:00-08:00","arrive":"2026-12-21T15:30:00Z"}`
	res2, _ := post(path, corrected)
	if res2.Events[0] == res1.Events[0] {
		t.Fatalf("the correction made the first message's event %s again", res1.Events[0])
	}
	e1, e2 := down.event(t, res1.Events[0]), down.event(t, res2.Events[0])
	if e2.HLC.Compare(e1.HLC) <= 0 {
		t.Errorf("the correction is stamped %v, not after %v", e2.HLC, e1.HLC)
	}
	wantDepart, wantArrive := time.Date(2026, 12, 21, 5, 10, 0, 0, time.UTC), time.Date(2026, 12, 21, 15, 30, 0, 0, time.UTC)
	if d := e2.Data.(*syncproto.FlightUpdated); !d.Depart.Equal(wantDepart) || !d.Arrive.Equal(wantArrive) {
		t.Errorf("the correction says depart %v, arrive %v; want %v, %v", d.Depart, d.Arrive, wantDepart, wantArrive)
	}
	s := family.New(f.ID)
	for _, e := range append(setup, e2, e1) { // the correction arrives first
		s.Apply(e)
	}
	in := s.Inputs(s.Trips[f.Trip])
	if l := in.Trip.Legs[0]; !l.Depart.Equal(wantDepart) || !l.Arrive.Equal(wantArrive) {
		t.Errorf("the fold's leg departs %v and arrives %v; want the corrected %v and %v", l.Depart, l.Arrive, wantDepart, wantArrive)
	}

	// A FlightAware callback delivered again: the same answer.
	const fa = "/v1/webhooks/flightaware"
	sample := string(readSample(t, "departure"))
	resFA, bodyFA := post(fa, sample)
	_, againFA := post(fa, sample)
	if string(againFA) != string(bodyFA) || slices.Contains(res1.Events, resFA.Events[0]) {
		t.Errorf("the FlightAware repeat answered %s; the first delivery %s", againFA, bodyFA)
	}
	if len(down.kept) != 3 {
		t.Errorf("%d events kept, want 3", len(down.kept))
	}
}
