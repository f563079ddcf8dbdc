package hub

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// fakeCloud fails the uplink a few times, then takes everything.
type fakeCloud struct {
	mu       sync.Mutex
	linked   bool
	failures int // Up calls left to fail
	pending  uint64
	upCalls  []time.Time
	last     uint64 // the cloud's stream position the downlink reports
	rings    chan struct{}
}

func (c *fakeCloud) Linked() bool           { c.mu.Lock(); defer c.mu.Unlock(); return c.linked }
func (c *fakeCloud) Rings() <-chan struct{} { return c.rings }
func (c *fakeCloud) Pending(ctx context.Context) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending, nil
}

func (c *fakeCloud) Up(ctx context.Context, limit int, wait time.Duration) (int, error) {
	c.mu.Lock()
	c.upCalls = append(c.upCalls, time.Now())
	if c.failures > 0 {
		c.failures--
		c.mu.Unlock()
		return 0, errors.New("no responders")
	}
	n := int(c.pending)
	c.pending = 0
	c.mu.Unlock()
	if n == 0 {
		time.Sleep(wait) // the log's fetch waits for an event
	}
	return n, nil
}

func (c *fakeCloud) Fetch(ctx context.Context, after uint64, limit int) (syncproto.FetchReply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return syncproto.FetchReply{Last: max(after, c.last)}, nil
}

type memSettings struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memSettings) Setting(ctx context.Context, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}

func (s *memSettings) SetSetting(ctx context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	return nil
}

// TestSyncerBacksOffAndRecovers: nothing is tried while the link is down;
// failures are retried after growing, jittered waits; the error shows in
// the status until a success clears it; the cloud position is kept.
func TestSyncerBacksOffAndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cloud := &fakeCloud{failures: 4, pending: 12, last: 40, rings: make(chan struct{}, 1)}
		settings := &memSettings{m: map[string]string{}}
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		s, err := NewSyncer(t.Context(), cloud, &Writer{}, settings, uuid.New(), NewMetrics(), logger)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()

		time.Sleep(10 * time.Second)
		if n := len(cloud.upCalls); n != 0 {
			t.Fatalf("%d uplink attempts while the link was down", n)
		}
		if st := s.Status(ctx); st.Linked || st.Pending != 12 || !st.Configured {
			t.Fatalf("status while down: %+v", st)
		}
		cloud.mu.Lock()
		cloud.linked = true
		cloud.mu.Unlock()
		time.Sleep(time.Second)
		if st := s.Status(ctx); st.LastError == "" {
			t.Fatalf("no error shown while the uplink fails: %+v", st)
		}
		time.Sleep(30 * time.Second)
		cloud.mu.Lock()
		calls := append([]time.Time(nil), cloud.upCalls...)
		cloud.mu.Unlock()
		if len(calls) < 6 {
			t.Fatalf("%d uplink attempts", len(calls))
		}
		// The uplink's waits after the 1st..4th failure: within [d/2, d]
		// for d = 250 ms, 500 ms, 1 s, 2 s.
		for i, d := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second} {
			gap := calls[i+1].Sub(calls[i])
			if gap < d/2 || gap > d {
				t.Errorf("wait after failure %d: %s, want between %s and %s", i+1, gap, d/2, d)
			}
		}
		st := s.Status(ctx)
		if st.LastError != "" || st.Sent != 12 || st.Pending != 0 || st.Position != 40 || st.LastSynced == nil {
			t.Fatalf("status after recovery: %+v", st)
		}
		cancel()
		<-done
		if v, _ := settings.Setting(ctx, settingPosition); v != "40" {
			t.Fatalf("position saved as %q", v)
		}
	})
}

// TestSyncerUplinkRetriesAtOnceWhenTheLinkReturns: the uplink's wait after
// failures ends when the link goes down, and the failures are forgotten:
// once the link is back (a cloud restarted), the uplink tries at once.
func TestSyncerUplinkRetriesAtOnceWhenTheLinkReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cloud := &fakeCloud{linked: true, failures: 6, pending: 5, rings: make(chan struct{}, 1)}
		settings := &memSettings{m: map[string]string{}}
		s, err := NewSyncer(t.Context(), cloud, &Writer{}, settings, uuid.New(), NewMetrics(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		calls := func() []time.Time {
			cloud.mu.Lock()
			defer cloud.mu.Unlock()
			return append([]time.Time(nil), cloud.upCalls...)
		}
		// Six failures in a row: the wait after the sixth is seconds long.
		for len(calls()) < 6 {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		cloud.mu.Lock()
		cloud.linked = false
		cloud.mu.Unlock()
		time.Sleep(time.Second)
		cloud.mu.Lock()
		cloud.linked = true
		cloud.mu.Unlock()
		back := time.Now()
		time.Sleep(time.Second)
		got := calls()
		if len(got) < 7 {
			t.Fatalf("no uplink attempt in the second after the link came back (%d attempts)", len(got))
		}
		if d := got[6].Sub(back); d > 2*linkPoll {
			t.Errorf("the uplink tried again %s after the link came back, want at most %s", d, 2*linkPoll)
		}
		if st := s.Status(ctx); st.Sent != 5 {
			t.Errorf("status after the link came back: %+v", st)
		}
	})
}
