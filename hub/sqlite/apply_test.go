package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// applyTestLog is a family's setup, then nights of sleep for two members,
// each fourth corrected and each seventh retracted, with sequences.
func applyTestLog(t *testing.T, nights int) (events []hub.Event, ada, kemi uuid.UUID) {
	g := &gen{tb: t, family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	ada, kemi = syncproto.NewID(), syncproto.NewID()
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	person := func(name string) *syncproto.MemberUpserted {
		return &syncproto.MemberUpserted{DisplayName: name, AgeBand: syncproto.AgeAdult, HomeTZ: "Europe/London",
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}
	}
	events = []hub.Event{
		g.event(uuid.Nil, 1, day, time.Time{}, &syncproto.FamilyUpserted{Name: "Okafor", HomeTZ: "Europe/London"}),
		g.event(ada, 2, day, time.Time{}, person("Ada")),
		g.event(kemi, 3, day, time.Time{}, person("Kemi")),
	}
	for i := range nights {
		m := ada
		if i%2 == 1 {
			m = kemi
		}
		start := day.Add(time.Duration(i/2)*24*time.Hour - time.Hour)
		night := g.event(m, 10+3*i, start, start.Add(7*time.Hour), &syncproto.Sleep{})
		events = append(events, night)
		switch {
		case i%4 == 3:
			events = append(events, g.event(m, 11+3*i, start, start.Add(8*time.Hour), &syncproto.Sleep{Supersedes: night.Header.ID}))
		case i%7 == 6:
			events = append(events, g.event(m, 11+3*i, start, time.Time{}, &syncproto.LogRetracted{EventID: night.Header.ID}))
		}
	}
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	return events, ada, kemi
}

// stateOf is what a store shows of a log: the dump, the position and the
// newest stamp of the news.
func stateOf(t *testing.T, s *Store, members ...uuid.UUID) (string, uint64, syncproto.HLC) {
	t.Helper()
	ctx := context.Background()
	seq, err := s.AppliedSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	news, err := s.NewsHLC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return dump(t, s, uuid.Nil, members...), seq, news
}

// A batch that fails part-way leaves nothing of itself, in the database
// or in what the store remembers between batches: the batches after it
// apply as if it had never been tried, and end in the state of a store
// that applied the log in one batch.
func TestApplyAfterAFailedBatch(t *testing.T) {
	ctx := context.Background()
	events, ada, kemi := applyTestLog(t, 40)
	whole := mustOpen(t, filepath.Join(t.TempDir(), "whole.db"))
	if _, err := whole.Apply(ctx, events); err != nil {
		t.Fatal(err)
	}
	want, wantSeq, wantNews := stateOf(t, whole, ada, kemi)

	s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
	if _, err := s.Apply(ctx, events[:1]); err != nil {
		t.Fatal(err)
	}
	// Folds events 2 to 10 (the members, newer news), then meets a hole.
	holed := append(append([]hub.Event(nil), events[1:10]...), events[11])
	if _, err := s.Apply(ctx, holed); err == nil {
		t.Fatal("applied a batch with a hole")
	}
	// Ends on a cancelled context part-way through a long batch.
	cancelled, cancel := context.WithCancelCause(ctx)
	cancel(errors.New("stopped"))
	if _, err := s.Apply(cancelled, events[1:]); err == nil {
		t.Fatal("applied a batch on a cancelled context")
	}
	if got, seq, news := stateOf(t, s); seq != 1 || news.IsZero() {
		t.Fatalf("after the failed batches: applied %d, news %s, want 1 and the family's stamp:\n%s", seq, news, got)
	}
	// The rest in batches of varied sizes, some delivered again.
	for i := 1; i < len(events); {
		n := min(1+i%7*5, len(events)-i)
		if _, err := s.Apply(ctx, events[max(0, i-2):i+n]); err != nil {
			t.Fatal(err)
		}
		i += n
	}
	got, seq, news := stateOf(t, s, ada, kemi)
	if got != want || seq != wantSeq || news != wantNews {
		t.Errorf("applied %d, news %s, state:\n%s\nwant %d, %s:\n%s", seq, news, got, wantSeq, wantNews, want)
	}
}

// A batch longer than the decoder's chunks, with lost events and a
// delivered-again start, applies each event once, in order.
func TestApplyLongBatchesWithLostEvents(t *testing.T) {
	ctx := context.Background()
	events, ada, kemi := applyTestLog(t, 120)
	for _, i := range []int{20, 47, 48, 90} {
		events[i] = hub.Event{Seq: events[i].Seq, Lost: true}
	}
	one := mustOpen(t, filepath.Join(t.TempDir(), "one.db"))
	for _, e := range events {
		if _, err := one.Apply(ctx, []hub.Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
	for _, to := range []int{33, 100, len(events)} {
		if _, err := s.Apply(ctx, events[:to]); err != nil {
			t.Fatal(err)
		}
	}
	want, wantSeq, wantNews := stateOf(t, one, ada, kemi)
	got, seq, news := stateOf(t, s, ada, kemi)
	if got != want || seq != wantSeq || news != wantNews {
		t.Errorf("applied %d, news %s, state:\n%s\nwant %d, %s:\n%s", seq, news, got, wantSeq, wantNews, want)
	}
	lost, err := s.Events(ctx, hub.EventQuery{After: 20, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 1 || lost[0].Reason != hub.LostReason {
		t.Errorf("event 21: %+v, want a lost event", lost)
	}
}

// The JSON of applied events is pruned once the first one kept is older
// than the tail: by a store that applied it, and by one opened later on
// the same file.
func TestApplyPrunesOnceTheFirstKeptIsOld(t *testing.T) {
	ctx := context.Background()
	events, _, _ := applyTestLog(t, 8)
	log := logOnDisk{}
	for _, e := range events {
		log[e.Seq] = e.Raw
	}
	path := filepath.Join(t.TempDir(), "hub.db")
	now := time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC)
	open := func() *Store {
		s := mustOpen(t, path)
		s.Now = func() time.Time { return now }
		s.SetLog(log, 2, time.Minute) // the log held 1 and 2 on disk
		return s
	}
	s := open()
	for _, step := range []struct {
		after      time.Duration
		to         int
		reopen     bool
		first, end uint64
	}{
		{0, 4, false, 3, 4},
		{30 * time.Second, 5, false, 3, 5},
		{40 * time.Second, 6, false, 5, 6},  // 3 and 4 are old
		{10 * time.Minute, 7, false, 7, 7},  // all are old
		{10 * time.Second, 7, false, 7, 7},  // nothing new
		{2 * time.Minute, 8, true, 8, 8},    // a store that did not apply 7
		{10 * time.Second, 10, true, 8, 10}, // nothing old
		{2 * time.Minute, len(events), false, 11, uint64(len(events))},
	} {
		now = now.Add(step.after)
		if step.reopen {
			s.Close()
			s = open()
		}
		if _, err := s.Apply(ctx, events[:step.to]); err != nil {
			t.Fatal(err)
		}
		held, err := s.Held(ctx, 1, uint64(len(events)))
		if err != nil {
			t.Fatal(err)
		}
		if len(held) == 0 || held[0].Seq != step.first || held[len(held)-1].Seq != step.end || len(held) != int(step.end-step.first+1) {
			t.Fatalf("after applying %d: held %d events from %d, want %d to %d", step.to, len(held), seqOf(held), step.first, step.end)
		}
	}
}
