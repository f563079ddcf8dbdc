package natsjs

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoner-family/zoner/hub"
)

func startWith(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	cfg.Port = -1
	s, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

func batchOf(n, size int) []hub.Event {
	out := make([]hub.Event, n)
	for i := range out {
		out[i] = event(strings.Repeat("x", size))
	}
	return out
}

// A batch the log has no room for is refused whole, as storage full, and
// fast: JetStream's limit is the same refusal a full disk gives.
func TestBatchPastTheLimitStoresNothing(t *testing.T) {
	ctx := context.Background()
	s := startWith(t, Config{StoreDir: t.TempDir(), MaxBytes: 16 << 10, MinFree: -1})
	if _, err := s.Append(ctx, batchOf(3, 100)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := s.Append(ctx, batchOf(100, 400)) // about 50 KiB: past the limit part way
	took := time.Since(start)
	if !errors.Is(err, hub.ErrStorageFull) {
		t.Fatalf("append past the limit: %v, want storage full", err)
	}
	if took > 5*time.Second {
		t.Errorf("the refusal took %v", took)
	}
	st, err := s.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Last != 3 || st.Msgs != 3 {
		t.Fatalf("after the refused batch the log holds %d events up to %d, want the first 3 only", st.Msgs, st.Last)
	}
	// A batch that fits still goes in, at the next sequences.
	acks, err := s.Append(ctx, batchOf(2, 100))
	if err != nil || acks[0].Seq != 4 || acks[1].Seq != 5 {
		t.Fatalf("append after the refusal: %v %+v", err, acks)
	}
}

// A disk short of the kept free space refuses writes at once, storing
// nothing; once space returns, writes go through with no restart.
func TestFullDiskRefusesThenRecovers(t *testing.T) {
	ctx := context.Background()
	var free atomic.Uint64
	free.Store(1 << 30)
	s := startWith(t, Config{StoreDir: t.TempDir(), FreeSpace: func() (uint64, error) { return free.Load(), nil }})
	if _, err := s.Append(ctx, batchOf(2, 100)); err != nil {
		t.Fatal(err)
	}
	free.Store(DefaultMinFree - 1)
	if err := s.CheckSpace(); !errors.Is(err, hub.ErrStorageFull) {
		t.Errorf("CheckSpace on a full disk: %v", err)
	}
	start := time.Now()
	if _, err := s.Append(ctx, batchOf(10, 100)); !errors.Is(err, hub.ErrStorageFull) || time.Since(start) > time.Second {
		t.Fatalf("append on a full disk: %v after %v", err, time.Since(start))
	}
	if last, _ := s.LastSeq(ctx); last != 2 {
		t.Fatalf("a refused batch left the log at %d", last)
	}
	free.Store(1 << 30)
	if err := s.CheckSpace(); err != nil {
		t.Errorf("CheckSpace once space returned: %v", err)
	}
	acks, err := s.Append(ctx, batchOf(10, 100))
	if err != nil || acks[9].Seq != 12 {
		t.Fatalf("append once space returned: %v %+v", err, acks)
	}
}

// An atomic batch reports each event's sequence, and a batch repeating
// an event the log holds is answered event by event.
func TestAtomicBatchSequencesAndRepeats(t *testing.T) {
	ctx := context.Background()
	s := startWith(t, Config{StoreDir: t.TempDir(), MinFree: -1})
	a := batchOf(3, 10)
	acks, err := s.Append(ctx, a)
	if err != nil || acks[0].Seq != 1 || acks[2].Seq != 3 {
		t.Fatalf("%v %+v", err, acks)
	}
	b := append([]hub.Event{a[1]}, batchOf(2, 10)...)
	acks, err = s.Append(ctx, b)
	if err != nil || !acks[0].Duplicate || acks[0].Seq != 2 || acks[1].Seq != 4 || acks[2].Seq != 5 {
		t.Fatalf("repeat in a batch: %v %+v", err, acks)
	}
}

// The log's state names the sequences it lacks.
func TestStateNamesHoles(t *testing.T) {
	ctx := context.Background()
	s := startWith(t, Config{StoreDir: t.TempDir(), MinFree: -1})
	if _, err := s.Append(ctx, batchOf(6, 10)); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{1, 3, 4} {
		if err := s.stream.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in := hub.Integrity{Log: st, Applied: 2}
	if got := hub.FormatRanges(in.Missing()); got != "1, 3-4" {
		t.Fatalf("missing %q (state %+v), want 1, 3-4", got, st)
	}
	in.Accepted = 3
	if got := hub.FormatRanges(in.Missing()); got != "4" {
		t.Fatalf("missing past the accepted loss %q, want 4", got)
	}
}

// AppendGroups stores the groups in order, each of several events as one
// batch; an event the log holds is acknowledged as a repeat.
func TestAppendGroups(t *testing.T) {
	ctx := context.Background()
	s := startWith(t, Config{StoreDir: t.TempDir(), MinFree: -1})
	a, b, c := batchOf(1, 10), batchOf(3, 10), batchOf(1, 10)
	acks, err := s.AppendGroups(ctx, [][]hub.Event{a, b, c})
	if err != nil || len(acks) != 5 {
		t.Fatalf("%v %+v", err, acks)
	}
	for i, ack := range acks {
		if ack.Seq != uint64(i+1) || ack.Duplicate {
			t.Fatalf("ack %d: %+v", i, ack)
		}
	}
	d := batchOf(1, 10)
	acks, err = s.AppendGroups(ctx, [][]hub.Event{c, d, {b[2], d[0]}})
	if err != nil || len(acks) != 4 || !acks[0].Duplicate || acks[0].Seq != 5 || acks[1].Seq != 6 || !acks[2].Duplicate || acks[2].Seq != 4 || acks[3].Seq != 6 {
		t.Fatalf("repeats: %v %+v", err, acks)
	}
	if last, _ := s.LastSeq(ctx); last != 6 {
		t.Fatalf("last seq %d, want 6", last)
	}
}

// A full disk refuses a whole round of writes before any is stored.
func TestAppendGroupsFullDisk(t *testing.T) {
	ctx := context.Background()
	free := uint64(1 << 40)
	s := startWith(t, Config{StoreDir: t.TempDir(), FreeSpace: func() (uint64, error) { return free, nil }})
	free = DefaultMinFree
	_, err := s.AppendGroups(ctx, [][]hub.Event{batchOf(1, 10), batchOf(2, 10)})
	if !errors.Is(err, hub.ErrStorageFull) {
		t.Fatalf("%v, want storage full", err)
	}
	if last, _ := s.LastSeq(ctx); last != 0 {
		t.Fatalf("%d events stored", last)
	}
}
