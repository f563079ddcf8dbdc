package hub

import (
	"context"
	"slices"
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
