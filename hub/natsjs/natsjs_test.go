package natsjs

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

func mustStart(tb testing.TB, dir string) *Server {
	tb.Helper()
	s, err := Start(context.Background(), Config{StoreDir: dir, Port: -1}, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

func event(id string) hub.Event {
	h := syncproto.Header{ID: syncproto.NewID(), FamilyID: syncproto.NewID(), Type: syncproto.TypeFamilyUpserted, V: 1}
	return hub.Event{Header: h, Raw: []byte(`{"n":"` + id + `"}`)}
}

// The log stores an id once: a repeat is acknowledged with the original's
// sequence and flagged as a duplicate; the feed delivers from where the
// state database says, in order, and survives a restart.
func TestAppendDeduplicatesAndFeedResumes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustStart(t, dir)
	a, b, c := event("a"), event("b"), event("c")
	acks, err := s.Append(ctx, []hub.Event{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if acks[0].Seq != 1 || acks[1].Seq != 2 || acks[0].Duplicate {
		t.Fatalf("acks %+v", acks)
	}
	acks, err = s.Append(ctx, []hub.Event{b, c})
	if err != nil {
		t.Fatal(err)
	}
	if !acks[0].Duplicate || acks[0].Seq != 2 || acks[1].Seq != 3 || acks[1].Duplicate {
		t.Fatalf("repeat acks %+v", acks)
	}
	if last, _ := s.LastSeq(ctx); last != 3 {
		t.Fatalf("last seq %d", last)
	}
	feed, err := s.OpenFeed(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, ack, err := feed.Next(ctx, 10)
	if err != nil || len(got) != 2 || got[0].Seq != 2 || string(got[1].Raw) != `{"n":"c"}` {
		t.Fatalf("feed from 2: %v %+v", err, got)
	}
	if err := ack(); err != nil {
		t.Fatal(err)
	}
	// The ack is asynchronous: the consumer stands at 3 once the server
	// has it, and the store's 1 below moves it back.
	wait.For(t, 10*time.Second, "the ack taken", func() error {
		info, err := feed.cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.AckFloor.Stream != 3 || info.NumAckPending != 0 {
			return fmt.Errorf("acknowledged up to %d, %d pending", info.AckFloor.Stream, info.NumAckPending)
		}
		return nil
	})
	s.Close()

	s = mustStart(t, dir)
	if last, _ := s.LastSeq(ctx); last != 3 {
		t.Fatalf("last seq after restart %d", last)
	}
	// The store says it applied only 1: the consumer is moved back.
	feed, err = s.OpenFeed(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err = feed.Next(ctx, 10)
	if err != nil || len(got) != 2 || got[0].Seq != 2 {
		t.Fatalf("feed after restart: %v %+v", err, got)
	}
	// Nothing new: Next waits about a second and returns nothing.
	if feed, err = s.OpenFeed(ctx, 4); err != nil {
		t.Fatalf("open the feed at 4: %v", err)
	}
	start := time.Now()
	got, _, err = feed.Next(ctx, 10)
	if err != nil || len(got) != 0 || time.Since(start) > 5*time.Second {
		t.Fatalf("idle feed: %v %+v after %v", err, got, time.Since(start))
	}
}

// TestFeedTellsWhatWasAppended: the feed tells the newest sequence the
// server's appends stored, single, atomic or in groups, and wakes its
// waiters once a later append stores more; a repeat stores nothing and
// wakes no one.
func TestFeedTellsWhatWasAppended(t *testing.T) {
	ctx := context.Background()
	s := mustStart(t, t.TempDir())
	feed, err := s.OpenFeed(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	seq, grew := feed.Appended()
	if seq != 0 {
		t.Fatalf("appended %d before any append", seq)
	}
	a, b, c, d := event("a"), event("b"), event("c"), event("d")
	appends := []struct {
		name string
		do   func() error
		want uint64
	}{
		{"one", func() error { _, err := s.Append(ctx, []hub.Event{a}); return err }, 1},
		{"atomic", func() error { _, err := s.Append(ctx, []hub.Event{b, c}); return err }, 3},
		{"groups", func() error { _, err := s.AppendGroups(ctx, [][]hub.Event{{d}, {event("e"), event("f")}}); return err }, 6},
	}
	for _, tc := range appends {
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		select {
		case <-grew:
		default:
			t.Fatalf("%s: waiters not woken", tc.name)
		}
		if seq, grew = feed.Appended(); seq != tc.want {
			t.Fatalf("%s: appended %d, want %d", tc.name, seq, tc.want)
		}
	}
	if _, err := s.Append(ctx, []hub.Event{a}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-grew:
		t.Fatal("a repeat woke the waiters")
	default:
	}
}

// A feed catching up with a long log reads the next batch while the last
// is applied: every event comes once, in order, with or without a reset
// in between (a batch read ahead is dropped, and delivered again).
func TestFeedReadsAheadInOrder(t *testing.T) {
	ctx := context.Background()
	s := mustStart(t, t.TempDir())
	for range 5 {
		if _, err := s.Append(ctx, batchOf(300, 10)); err != nil {
			t.Fatal(err)
		}
	}
	feed, err := s.OpenFeed(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	next := uint64(1)
	read := func(max int) {
		t.Helper()
		got, ack, err := feed.Next(ctx, max)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			if e.Seq != next {
				t.Fatalf("got event %d, want %d", e.Seq, next)
			}
			next++
		}
		if ack != nil {
			if err := ack(); err != nil {
				t.Fatal(err)
			}
		}
	}
	read(200)
	read(200) // the one read ahead
	if feed.ahead == nil {
		t.Fatal("a full batch read nothing ahead")
	}
	// Back to 301: what was read ahead (401..600) is dropped.
	if err := feed.Reset(ctx, 301); err != nil {
		t.Fatal(err)
	}
	next = 301
	for next <= 1500 {
		read(200)
	}
	if got, _, err := feed.Next(ctx, 200); err != nil || len(got) != 0 {
		t.Fatalf("after the end: %d events (%v)", len(got), err)
	}
}
