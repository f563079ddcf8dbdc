package hub

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// appendEvents appends n sleeps of one member to the log.
func appendEvents(t *testing.T, l *memLog, f *testFamily, n int) {
	t.Helper()
	member := uuid.New()
	var es []Event
	for range n {
		e := f.event(member, &syncproto.Sleep{})
		es = append(es, Event{Header: e.Header, Raw: f.raw(e)})
	}
	if _, err := l.Append(t.Context(), es); err != nil {
		t.Fatal(err)
	}
}

// runProjector runs a projector over l and s until the test ends.
func runProjector(t *testing.T, l *memLog, s *memStore, m *Metrics, onChange func(Changes, uint64)) *Projector {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	p, err := NewProjector(ctx, s, l, l, discardLogger(), m, onChange)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

// TestProjectorApplies: the projector applies the log in order, each event
// once, tells what changed (and nothing for a batch that changed nothing),
// and keeps the lag gauge.
func TestProjectorApplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, s, m := newMemLog(), newMemStore(), NewMetrics()
		f := newTestFamily(t)
		type call struct {
			c   Changes
			seq uint64
		}
		var calls []call
		p := runProjector(t, l, s, m, func(c Changes, seq uint64) { calls = append(calls, call{c, seq}) })

		appendEvents(t, l, f, 3)
		if err := p.WaitApplied(t.Context(), 3); err != nil {
			t.Fatal(err)
		}
		if len(calls) != 0 {
			t.Fatalf("told of changes when none were made: %+v", calls)
		}
		s.mu.Lock()
		s.changes = func(es []Event) Changes { return Changes{Family: true} }
		s.mu.Unlock()
		appendEvents(t, l, f, 2)
		if err := p.WaitApplied(t.Context(), 5); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the change is told after the applied sequence moves
		if len(calls) != 1 || calls[0].seq != 5 || !calls[0].c.Family {
			t.Fatalf("changes told: %+v", calls)
		}
		var applied []uint64
		for _, b := range s.batches {
			applied = append(applied, b...)
		}
		if !slices.Equal(applied, []uint64{1, 2, 3, 4, 5}) || p.Applied() != 5 {
			t.Fatalf("applied %v, Applied() %d", applied, p.Applied())
		}
		if lag := m.lag.Get(); lag != 0 {
			t.Fatalf("lag %v after catching up", lag)
		}
	})
}

// TestProjectorRetriesAFailedBatch: a batch the store fails to apply is
// delivered again from the first event not applied, after a growing wait,
// and nothing is skipped.
func TestProjectorRetriesAFailedBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, s := newMemLog(), newMemStore()
		s.applyErrs = 3
		f := newTestFamily(t)
		start := time.Now()
		p := runProjector(t, l, s, nil, nil)
		appendEvents(t, l, f, 2)
		if err := p.WaitApplied(t.Context(), 2); err != nil {
			t.Fatal(err)
		}
		// Waits of 50, 100 and 200 ms after the three failures.
		if took := time.Since(start); took != 350*time.Millisecond {
			t.Errorf("applied after %s, want 350ms", took)
		}
		if !slices.Equal(l.resets, []uint64{1, 1, 1}) {
			t.Errorf("feed reset to %v, want to 1 three times", l.resets)
		}
		if len(s.batches) != 1 || !slices.Equal(s.batches[0], []uint64{1, 2}) {
			t.Errorf("batches applied: %v", s.batches)
		}
	})
}

// TestWaitAppliedGivesUp: a stuck projector turns into an unavailable
// error after five seconds, not a hung request.
func TestWaitAppliedGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, err := NewProjector(t.Context(), newMemStore(), newMemLog(), newMemLog(), discardLogger(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = p.WaitApplied(t.Context(), 1)
		if ErrorCodeOf(err) != CodeUnavailable || time.Since(start) != 5*time.Second {
			t.Fatalf("after %s: %v", time.Since(start), err)
		}
		if err := p.WaitApplied(t.Context(), 0); err != nil {
			t.Fatalf("nothing to wait for: %v", err)
		}
	})
}

// TestCatchUp waits for every event in the log when it was called.
func TestCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, s := newMemLog(), newMemStore()
		s.applyErrs = 8 // about 13 s of retries: CatchUp outlasts WaitApplied's limit
		appendEvents(t, l, newTestFamily(t), 4)
		p := runProjector(t, l, s, nil, nil)
		if err := p.CatchUp(t.Context()); err != nil {
			t.Fatal(err)
		}
		if p.Applied() != 4 {
			t.Fatalf("applied %d of 4", p.Applied())
		}
	})
}

// offer appends n sleeps to l and hands them to p as the writer does,
// returning them with their sequences.
func offer(t *testing.T, l *memLog, p *Projector, f *testFamily, n int) []Event {
	t.Helper()
	member := uuid.New()
	var es []Event
	for range n {
		e := f.event(member, &syncproto.Sleep{})
		es = append(es, Event{Header: e.Header, Raw: f.raw(e)})
	}
	p.Appending()
	acks, err := l.Append(t.Context(), es)
	p.Appended(stored(es, acks, err))
	if err != nil {
		t.Fatal(err)
	}
	for i := range es {
		es[i].Seq = acks[i].Seq
	}
	return es
}

// wakerLog is a memLog whose feed tells what the hub's appends stored,
// as natsjs's does; note records an append.
type wakerLog struct {
	*memLog
	wmu      sync.Mutex
	appended uint64
	grew     chan struct{}
}

func (l *wakerLog) note(seq uint64) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.appended = seq
	close(l.grew)
	l.grew = make(chan struct{})
}

// Next waits up to a second, as natsjs's feed does.
func (l *wakerLog) Next(ctx context.Context, limit int) ([]Event, func() error, error) {
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	batch, ack, err := l.memLog.Next(wctx, limit)
	if err != nil && ctx.Err() == nil {
		return nil, nil, nil
	}
	return batch, ack, err
}

func (l *wakerLog) Appended() (uint64, <-chan struct{}) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.appended, l.grew
}

// TestProjectorAppliesOffers: events the writer hands over are applied
// without being read from the feed; an offer that does not follow what is
// applied sends the projector to the feed, moved past what the offers
// covered.
func TestProjectorAppliesOffers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, s := newMemLog(), newMemStore()
		f := newTestFamily(t)
		ctx, cancel := context.WithCancel(t.Context())
		p, err := NewProjector(ctx, s, l, l, discardLogger(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		p.Appending() // an append is under way: the projector waits for it
		done := make(chan struct{})
		go func() { p.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		synctest.Wait()

		start := time.Now()
		member := uuid.New()
		var es []Event
		for range 3 {
			e := f.event(member, &syncproto.Sleep{})
			es = append(es, Event{Header: e.Header, Raw: f.raw(e)})
		}
		acks, err := l.Append(t.Context(), es)
		p.Appended(stored(es, acks, err))
		if err := p.WaitApplied(t.Context(), 3); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("applied after %s", took)
		}
		// Idle, the projector reads the feed again, from past the offers.
		appendEvents(t, l, f, 1)
		if err := p.WaitApplied(t.Context(), 4); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		if want := [][]uint64{{1, 2, 3}, {4}}; !slices.EqualFunc(s.batches, want, slices.Equal) {
			t.Errorf("batches applied: %v, want %v", s.batches, want)
		}
		if !slices.Equal(l.resets, []uint64{4}) {
			t.Errorf("feed reset to %v, want to 4 once (the offers were applied, not read from it)", l.resets)
		}
	})
}

// TestIdleProjectorWaitsForOffers: with a feed that tells what the hub
// appended, an idle projector applies an offer at once, and finds an
// event stored otherwise when it next asks the log for its end.
func TestIdleProjectorWaitsForOffers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &wakerLog{memLog: newMemLog(), grew: make(chan struct{})}
		s := newMemStore()
		f := newTestFamily(t)
		ctx, cancel := context.WithCancel(t.Context())
		p, err := NewProjector(ctx, s, l, l, discardLogger(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { p.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		time.Sleep(3 * time.Second) // idle: the log is empty
		synctest.Wait()

		start := time.Now()
		es := offer(t, l.memLog, p, f, 2)
		l.note(es[1].Seq)
		if err := p.WaitApplied(t.Context(), 2); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("an offer applied after %s", took)
		}

		// Event 3 reaches the log without an offer, 4 with one: the
		// projector reads both from the feed, moved past the offers.
		start = time.Now()
		appendEvents(t, l.memLog, f, 1)
		es = offer(t, l.memLog, p, f, 1)
		l.note(es[0].Seq)
		if err := p.WaitApplied(t.Context(), 4); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("events after a gap in the offers applied after %s", took)
		}

		start = time.Now()
		appendEvents(t, l.memLog, f, 1)
		if err := p.WaitApplied(t.Context(), 5); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took <= 0 || took > time.Second {
			t.Errorf("an event appended otherwise applied after %s, want within a second", took)
		}
		synctest.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		if want := [][]uint64{{1, 2}, {3, 4}, {5}}; !slices.EqualFunc(s.batches, want, slices.Equal) {
			t.Errorf("batches applied: %v, want %v", s.batches, want)
		}
		if !slices.Equal(l.resets, []uint64{3}) {
			t.Errorf("feed reset to %v, want to 3 once", l.resets)
		}
	})
}
