package natspriors

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// fakeGroups counts reads and fails when told.
type fakeGroups struct {
	mu     sync.Mutex
	groups []cloud.ClockGroup
	err    error
	reads  int
}

func (f *fakeGroups) ClockGroups(context.Context) ([]cloud.ClockGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.groups, f.err
}

func (f *fakeGroups) set(err error) (reads int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
	return f.reads
}

func connect(t *testing.T) *nats.Conn {
	t.Helper()
	s, err := server.NewServer(&server.Options{Port: -1, DontListen: true, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func ask(t *testing.T, nc *nats.Conn, subject string) syncproto.PriorsReply {
	t.Helper()
	msg, err := nc.Request(subject, nil, 5*time.Second)
	if err != nil {
		t.Fatalf("request on %s: %v", subject, err)
	}
	var r syncproto.PriorsReply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatalf("reply %q: %v", msg.Data, err)
	}
	return r
}

// The responder answers each family's subject from the warehouse's groups,
// reads the warehouse once a TTL, and serves its last answer while the
// warehouse is down.
func TestResponder(t *testing.T) {
	nc := connect(t)
	groups := &fakeGroups{groups: []cloud.ClockGroup{
		{AgeBand: syncproto.AgeAdult, Chronotype: syncproto.ChronotypeLate, Members: 10, MeanTau: 24.65, SpreadTau: 0.1},
		{AgeBand: syncproto.AgeChild, Chronotype: syncproto.ChronotypeEarly, Members: 2, MeanTau: 24.0, SpreadTau: 0.1},
	}}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	r, err := Serve(nc, groups, Config{TTL: time.Minute, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)

	family := syncproto.NewID()
	got := ask(t, nc, syncproto.PriorsSubject(family))
	if got.Error != "" || len(got.Priors) != 1 {
		t.Fatalf("reply %+v: want the adults' prior only (the children are too few)", got)
	}
	if p := got.Priors[0]; p.AgeBand != syncproto.AgeAdult || p.Chronotype != syncproto.ChronotypeLate || p.People != 10 ||
		p.TauHours < 24.49 || p.TauHours > 24.51 {
		t.Errorf("prior %+v: want late adults at 24.5 h from 10 people", p)
	}
	ask(t, nc, syncproto.PriorsSubject(syncproto.NewID()))
	if n := groups.set(nil); n != 1 {
		t.Errorf("%d warehouse reads for two requests within the TTL, want 1", n)
	}

	advance(2 * time.Minute)
	groups.set(errors.New("warehouse down"))
	if got := ask(t, nc, syncproto.PriorsSubject(family)); got.Error != "" || len(got.Priors) != 1 {
		t.Errorf("reply while the warehouse is down %+v: want the last answer", got)
	}
	if n := groups.set(nil); n != 2 {
		t.Errorf("%d warehouse reads, want 2 (the TTL passed)", n)
	}

	if got := ask(t, nc, syncproto.DownRoot+".not-a-family.priors"); got.Error == "" {
		t.Errorf("reply on a subject with no family %+v: want an error", got)
	}
}

// With no answer yet and the warehouse down, the reply says so.
func TestResponderWarehouseDown(t *testing.T) {
	nc := connect(t)
	r, err := Serve(nc, &fakeGroups{err: errors.New("down")}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if got := ask(t, nc, syncproto.PriorsSubject(syncproto.NewID())); got.Error == "" || got.Priors != nil {
		t.Errorf("reply %+v: want an error and no priors", got)
	}
}
