package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// fakeCloud stands for the cloud's ingest stream on the hub's own server:
// it takes what the uplink publishes and answers with PubAcks when its
// answer function says, so a test can make it slow, pause it, or lose
// confirmations.
type fakeCloud struct {
	mu       sync.Mutex
	held     []*nats.Msg     // received, not answered yet
	stored   map[string]bool // event ids stored
	received int
	maxHeld  int
	// drop, when set, says whether the nth message received (from 1) is
	// lost without an answer.
	drop func(n int) bool
}

func startFakeCloud(t *testing.T, s *Server, drop func(int) bool) *fakeCloud {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(s.ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	f := &fakeCloud{stored: map[string]bool{}, drop: drop}
	_, err = nc.Subscribe(syncproto.IngestRoot+".>", func(m *nats.Msg) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.received++
		if f.drop != nil && f.drop(f.received) {
			return
		}
		f.held = append(f.held, m)
		f.maxHeld = max(f.maxHeld, len(f.held))
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// answer confirms up to n of the held messages, oldest first.
func (f *fakeCloud) answer(n int) {
	f.mu.Lock()
	msgs := f.held[:min(n, len(f.held))]
	f.held = f.held[len(msgs):]
	for _, m := range msgs {
		f.stored[m.Header.Get(syncproto.HeaderID)] = true
	}
	f.mu.Unlock()
	for _, m := range msgs {
		b, _ := json.Marshal(jetstream.PubAck{Stream: syncproto.IngestStream, Sequence: 1})
		m.Respond(b)
	}
}

func (f *fakeCloud) counts() (stored, received, maxHeld int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.stored), f.received, f.maxHeld
}

// openTestLink opens the link on a hub whose log holds n events of a
// family, with the leaf link played by linked.
func openTestLink(t *testing.T, n int, linked *atomic.Bool) (*Server, *CloudLink) {
	t.Helper()
	ctx := context.Background()
	s := mustStart(t, t.TempDir())
	family := syncproto.NewID()
	events := make([]hub.Event, n)
	for i := range events {
		h := syncproto.Header{ID: syncproto.NewID(), FamilyID: family, MemberID: syncproto.NewID(), Type: syncproto.TypeMeal, V: 1}
		events[i] = hub.Event{Header: h, Raw: []byte(`{"i":` + strings.Repeat("1", 1+i%5) + `}`)}
	}
	for i := 0; i < n; i += 500 {
		if _, err := s.Append(ctx, events[i:min(i+500, n)]); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.OpenCloudLink(ctx, syncproto.Credentials{FamilyID: family}, "test-hub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.linked = linked.Load
	return s, c
}

// allAcked waits for the log to count every event acknowledged (the acks
// are processed a moment after they are sent).
func allAcked(t *testing.T, c *CloudLink) {
	t.Helper()
	wait.Until(t, 5*time.Second, "every event acknowledged in the log", func() (bool, string) {
		p, err := c.Pending(context.Background())
		return err == nil && p == 0, fmt.Sprintf("pending %d (%v)", p, err)
	})
}

// A slow cloud, and one that stops answering for a while, slow the uplink
// down: the publisher waits for room in its window, never more events
// out than the window, and nothing fails.
func TestUpWaitsForASlowCloud(t *testing.T) {
	const n = 20000
	var linked atomic.Bool
	linked.Store(true)
	s, c := openTestLink(t, n, &linked)
	cloud := startFakeCloud(t, s, nil)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		answered := 0
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if answered >= n/4 && answered < n/4+300 {
				// A pause, shorter than the shortest wait for a
				// confirmation: the cloud is slow, not gone.
				time.Sleep(time.Second)
			}
			cloud.answer(300)
			answered += 300
		}
	}()
	// Up sends up to n: a fetch from the log that comes back empty under
	// load ends a call early, and the syncer calls again, as here. Each
	// call must succeed.
	got := 0
	for calls := 1; got < n; calls++ {
		k, err := c.Up(context.Background(), n-got, time.Second)
		if err != nil {
			t.Fatalf("Up failed with a slow cloud after %d of %d: %v", got+k, n, err)
		}
		if got += k; k == 0 || calls > 20 {
			t.Fatalf("Up stalled at %d of %d after %d calls", got, n, calls)
		}
	}
	stored, _, maxHeld := cloud.counts()
	if got != n || stored != n {
		t.Fatalf("Up confirmed %d and the cloud stored %d, want %d", got, stored, n)
	}
	if maxHeld > upWindow {
		t.Errorf("%d events were out at once, more than the window of %d", maxHeld, upWindow)
	}
	allAcked(t, c)
}

// Confirmations lost (the cloud crashed after storing, or before) are
// noticed after a short wait, not half a minute, and what they were for
// is sent again at once: everything reaches the cloud.
func TestUpResendsWhatTheCloudDidNotConfirm(t *testing.T) {
	const n = 3000
	var linked atomic.Bool
	linked.Store(true)
	s, c := openTestLink(t, n, &linked)
	// The first 700 messages are lost; then the cloud answers everything.
	cloud := startFakeCloud(t, s, func(i int) bool { return i <= 700 })
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				cloud.answer(1000)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	total := 0
	var errs []error
	for total < n && ctx.Err() == nil {
		got, err := c.Up(ctx, n, 100*time.Millisecond)
		total += got
		if err != nil {
			errs = append(errs, err)
		}
	}
	if total != n {
		t.Fatalf("after 15 s the cloud confirmed %d of %d events (errors: %v)", total, n, errs)
	}
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "confirmed nothing") {
		t.Errorf("the lost confirmations went unnoticed: errors %v", errs)
	}
	if stored, _, _ := cloud.counts(); stored != n {
		t.Errorf("the cloud stored %d of %d", stored, n)
	}
	allAcked(t, c)
}

// The leaf link going down while confirmations are due ends Up at once
// with ErrLinkLost, and hands every unconfirmed event back to the log.
func TestUpStopsWhenTheLinkDrops(t *testing.T) {
	const n = 2000
	var linked atomic.Bool
	linked.Store(true)
	s, c := openTestLink(t, n, &linked)
	startFakeCloud(t, s, nil) // never answers
	time.AfterFunc(300*time.Millisecond, func() { linked.Store(false) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := c.Up(ctx, n, time.Second)
	if !errors.Is(err, ErrLinkLost) || got != 0 {
		t.Fatalf("Up with the link down: %d confirmed, err %v; want 0 and %v", got, err, ErrLinkLost)
	}
	if p, err := c.Pending(context.Background()); err != nil || p != n {
		t.Errorf("pending %d (%v), want all %d back in the log", p, err, n)
	}
}
