package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/syncproto"
)

// fakeSource hands out its events and takes back those retried, after
// their delay, as the JetStream consumer does.
type fakeSource struct {
	mu       sync.Mutex
	queue    []bridge.Delivery
	acked    map[uuid.UUID]int
	dropped  map[uuid.UUID]string
	retries  int
	inflight int
	peak     int
}

func newFakeSource(n int, problem func(i int) string) *fakeSource {
	s := &fakeSource{acked: map[uuid.UUID]int{}, dropped: map[uuid.UUID]string{}}
	for i := range n {
		e := bridge.Event{ID: syncproto.NewID(), Type: syncproto.TypeMeal, Family: uuid.New(), Member: uuid.New(), V: 1, Raw: []byte(fmt.Sprint(i))}
		d := bridge.Delivery{Event: e}
		if problem != nil {
			d.Problem = problem(i)
		}
		s.queue = append(s.queue, d)
	}
	return s
}

func (s *fakeSource) Fetch(ctx context.Context, limit int, wait time.Duration) ([]bridge.Delivery, error) {
	s.mu.Lock()
	if len(s.queue) == 0 {
		s.mu.Unlock()
		time.Sleep(wait)
		return nil, nil
	}
	n := min(limit, len(s.queue))
	out := make([]bridge.Delivery, n)
	for i, d := range s.queue[:n] {
		out[i] = s.wire(d)
	}
	s.queue = s.queue[n:]
	s.inflight += n
	s.peak = max(s.peak, s.inflight)
	s.mu.Unlock()
	return out, nil
}

func (s *fakeSource) wire(d bridge.Delivery) bridge.Delivery {
	done := func() { s.inflight-- }
	d.Ack = func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.acked[d.Event.ID]++
		done()
		return nil
	}
	d.Drop = func(reason string) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.dropped[d.Event.ID] = reason
		done()
		return nil
	}
	d.Retry = func(delay time.Duration) error {
		s.mu.Lock()
		s.retries++
		done()
		s.mu.Unlock()
		go func() {
			time.Sleep(delay)
			s.mu.Lock()
			s.queue = append(s.queue, bridge.Delivery{Event: d.Event, Problem: d.Problem})
			s.mu.Unlock()
		}()
		return nil
	}
	return d
}

func (s *fakeSource) settled(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acked)+len(s.dropped) == n && s.inflight == 0
}

// fakeSink fails as told: fail(id, attempt) returns the error for an
// event's nth attempt.
type fakeSink struct {
	mu       sync.Mutex
	attempts map[uuid.UUID]int
	written  map[uuid.UUID]int
	fail     func(id uuid.UUID, attempt int) error
	block    chan struct{} // when set, Produce waits for it
}

func (k *fakeSink) Produce(ctx context.Context, events []bridge.Event) []error {
	if k.block != nil {
		<-k.block
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]error, len(events))
	for i, e := range events {
		k.attempts[e.ID]++
		if k.fail != nil {
			out[i] = k.fail(e.ID, k.attempts[e.ID])
		}
		if out[i] == nil {
			k.written[e.ID]++
		}
	}
	return out
}

type fakeDead struct {
	mu   sync.Mutex
	kept map[uuid.UUID]string
	err  error
}

func (d *fakeDead) DeadLetter(ctx context.Context, del bridge.Delivery, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	d.kept[del.Event.ID] = reason
	return nil
}

func TestForwarder(t *testing.T) {
	const n = 250
	broken := func(i int) string {
		if i%50 == 7 {
			return "header Zoner-Id is not an event id"
		}
		return ""
	}
	tooBig := map[uuid.UUID]bool{}
	cases := []struct {
		name    string
		problem func(int) string
		fail    func(src *fakeSource) func(uuid.UUID, int) error
		deadErr error
		check   func(t *testing.T, src *fakeSource, sink *fakeSink, dead *fakeDead, m *bridge.Metrics)
	}{
		{name: "every event written once and acknowledged", check: func(t *testing.T, src *fakeSource, sink *fakeSink, dead *fakeDead, m *bridge.Metrics) {
			for id, c := range src.acked {
				if c != 1 || sink.written[id] != 1 {
					t.Fatalf("event %s acked %d times, written %d", id, c, sink.written[id])
				}
			}
			if got := m.Forwarded(); got != n {
				t.Fatalf("forwarded metric %d, want %d", got, n)
			}
		}},
		{name: "a sink that fails for a while loses nothing", fail: func(*fakeSource) func(uuid.UUID, int) error {
			return func(id uuid.UUID, attempt int) error {
				if attempt <= 3 {
					return errors.New("broker not available")
				}
				return nil
			}
		}, check: func(t *testing.T, src *fakeSource, sink *fakeSink, dead *fakeDead, m *bridge.Metrics) {
			if len(src.acked) != n || len(src.dropped) != 0 {
				t.Fatalf("%d acked, %d dropped", len(src.acked), len(src.dropped))
			}
			for id := range src.acked {
				if sink.attempts[id] != 4 {
					t.Fatalf("event tried %d times, want 4", sink.attempts[id])
				}
			}
			if src.retries != 3*n {
				t.Fatalf("%d retries, want %d", src.retries, 3*n)
			}
		}},
		{name: "events that can never be written are dead-lettered", problem: broken, fail: func(src *fakeSource) func(uuid.UUID, int) error {
			for i, d := range src.queue {
				if i%10 == 3 {
					tooBig[d.Event.ID] = true
				}
			}
			return func(id uuid.UUID, attempt int) error {
				if tooBig[id] {
					return fmt.Errorf("MESSAGE_TOO_LARGE: %w", bridge.ErrPermanent)
				}
				return nil
			}
		}, check: func(t *testing.T, src *fakeSource, sink *fakeSink, dead *fakeDead, m *bridge.Metrics) {
			want := len(tooBig) + n/50
			if len(dead.kept) != want || len(src.dropped) != want || m.DeadLettered() != uint64(want) {
				t.Fatalf("%d dead-lettered, %d dropped, metric %d; want %d", len(dead.kept), len(src.dropped), m.DeadLettered(), want)
			}
			if len(src.acked) != n-want {
				t.Fatalf("%d acked, want %d", len(src.acked), n-want)
			}
		}},
		{name: "an event is not dropped when the dead-letter store fails", problem: broken, deadErr: errors.New("dead-letter stream full"),
			check: func(t *testing.T, src *fakeSource, sink *fakeSink, dead *fakeDead, m *bridge.Metrics) {
				if len(src.dropped) != 0 || src.retries == 0 {
					t.Fatalf("%d dropped, %d retries", len(src.dropped), src.retries)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				src := newFakeSource(n, tc.problem)
				sink := &fakeSink{attempts: map[uuid.UUID]int{}, written: map[uuid.UUID]int{}}
				if tc.fail != nil {
					sink.fail = tc.fail(src)
				}
				dead := &fakeDead{kept: map[uuid.UUID]string{}, err: tc.deadErr}
				m := bridge.NewMetrics()
				f := &bridge.Forwarder{Source: src, Sink: sink, Dead: dead, Metrics: m, Workers: 3, Batch: 40}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { f.Run(ctx); close(done) }()
				if tc.deadErr != nil {
					time.Sleep(time.Minute)
				} else {
					for !src.settled(n) {
						time.Sleep(100 * time.Millisecond)
					}
				}
				cancel()
				<-done
				// Retries handed back just before the stop come back to
				// the fake source after their delay: let the bubble's
				// clock run past the longest backoff so that those
				// goroutines end (a bubble whose main has returned does
				// not advance time, and a sleeping goroutine then counts
				// as a deadlock).
				time.Sleep(time.Minute)
				if src.peak > 3*40 {
					t.Errorf("%d events in flight at once; the bound is 120", src.peak)
				}
				tc.check(t, src, sink, dead, m)
			})
		})
	}
}

// TestForwarderDrains: a batch in flight when the bridge is told to stop
// is finished and acknowledged before Run returns.
func TestForwarderDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := newFakeSource(30, nil)
		sink := &fakeSink{attempts: map[uuid.UUID]int{}, written: map[uuid.UUID]int{}, block: make(chan struct{})}
		f := &bridge.Forwarder{Source: src, Sink: sink, Workers: 1, Batch: 30}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { f.Run(ctx); close(done) }()
		synctest.Wait() // the batch is in Produce
		cancel()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Run returned with a batch in flight")
		default:
		}
		close(sink.block)
		<-done
		if len(src.acked) != 30 {
			t.Fatalf("%d of 30 acknowledged after the drain", len(src.acked))
		}
	})
}

func TestTopics(t *testing.T) {
	tp := bridge.DefaultTopics()
	for typ, want := range map[syncproto.Type]string{
		syncproto.TypeSleep: "sleep_events", syncproto.TypeMeal: "meal_events", syncproto.TypeLightExposure: "light_exposure",
		syncproto.TypeTripUpserted: "trip_events", syncproto.TypeFlightUpdated: "trip_events", syncproto.TypeMemberUpserted: "trip_events",
		syncproto.TypeLogRetracted: "trip_events",
	} {
		if got := tp.For(typ); got != want {
			t.Errorf("%s goes to %s, want %s", typ, got, want)
		}
	}
	if got := len(tp.All()); got != 4 {
		t.Errorf("%d topics, want 4", got)
	}
}
