package cloud_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/cloud/warehouse/sqlite"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// consumer hands out prepared batches and records commits.
type consumer struct {
	mu        sync.Mutex
	batches   [][]cloud.Record
	polled    int
	committed int // batches committed
}

func (c *consumer) Poll(ctx context.Context) ([]cloud.Record, error) {
	c.mu.Lock()
	if c.polled < len(c.batches) {
		b := c.batches[c.polled]
		c.polled++
		c.mu.Unlock()
		return b, nil
	}
	c.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (c *consumer) Commit(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.committed = c.polled
	return nil
}

func (c *consumer) Close() {}

func (c *consumer) commits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed
}

type deadLetters struct {
	mu      sync.Mutex
	reasons []string
}

func (d *deadLetters) DeadLetter(_ context.Context, _ cloud.Record, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reasons = append(d.reasons, reason)
	return nil
}

// flaky fails MergeEvents while down is set, and counts the refusals.
type flaky struct {
	cloud.Warehouse
	mu      sync.Mutex
	down    bool
	refused int
}

func (f *flaky) MergeEvents(ctx context.Context, rows []cloud.Row) (int, error) {
	f.mu.Lock()
	down := f.down
	if down {
		f.refused++
	}
	f.mu.Unlock()
	if down {
		return 0, errors.New("warehouse unreachable")
	}
	return f.Warehouse.MergeEvents(ctx, rows)
}

func (f *flaky) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func (f *flaky) refusals() int { f.mu.Lock(); defer f.mu.Unlock(); return f.refused }

func openWarehouse(t *testing.T) cloud.Warehouse {
	t.Helper()
	w, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func records(raws [][]byte) []cloud.Record {
	out := make([]cloud.Record, len(raws))
	for i, r := range raws {
		out[i] = cloud.Record{Topic: "trip_events", Offset: int64(i), Value: r}
	}
	return out
}

// Ingest stores each event once however often it comes, dead-letters
// what can never be stored, and commits a batch only after the warehouse
// took it, waiting as long as the warehouse is down.
func TestIngest(t *testing.T) {
	f := cloudtest.NewFamily(time.Date(2026, 12, 19, 2, 0, 0, 0, time.UTC), "BA286")
	es := append(f.Setup(), f.Day(0)...)
	raws := cloudtest.Marshal(es)
	batch1 := records(raws)
	batch1 = append(batch1, batch1[3]) // a repeat within the batch
	// Poison: not JSON, an invalid event, and a header that lies.
	lying := cloud.Record{Value: raws[0], Headers: map[string]string{cloud.HeaderID: syncproto.NewID().String()}}
	batch2 := append(records(raws[:5]), cloud.Record{Value: []byte("{not json")},
		cloud.Record{Value: []byte(`{"id":"x"}`)}, lying)
	f2 := cloudtest.NewFamily(time.Date(2026, 12, 19, 2, 0, 0, 0, time.UTC), "BA287")
	batch3 := records(cloudtest.Marshal(f2.Setup()))

	w := &flaky{Warehouse: openWarehouse(t)}
	c := &consumer{batches: [][]cloud.Record{batch1, batch2, batch3}}
	dead := &deadLetters{}
	m := cloud.NewMetrics()
	in := &cloud.Ingest{Consumer: c, Dead: dead, Store: &cloud.Store{W: w, Now: time.Now}, Logger: discard(),
		Metrics: m, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w.set(true) // down from the start
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()

	// Ingest has tried the first batch, and retried it, before the
	// absence of commits and rows means anything.
	wait.Until(t, 20*time.Second, "three refused writes", func() (bool, string) {
		return w.refusals() >= 3, fmt.Sprintf("%d refused writes", w.refusals())
	})
	if n := c.commits(); n != 0 {
		t.Fatalf("%d batches committed while the warehouse was down", n)
	}
	if rows, _, _ := w.Stats(ctx); rows != 0 {
		t.Fatalf("%d rows stored while down", rows)
	}
	w.set(false)
	wait.Until(t, 20*time.Second, "three commits", func() (bool, string) {
		return c.commits() == 3, fmt.Sprintf("%d commits", c.commits())
	})
	rows, ids, err := w.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(len(es) + len(batch3))
	if rows != want || ids != want {
		t.Errorf("RAW_EVENTS holds %d rows, %d ids; want %d of each", rows, ids, want)
	}
	if len(dead.reasons) != 3 {
		t.Fatalf("dead letters: %q, want 3", dead.reasons)
	}
	for _, r := range dead.reasons {
		if r == "" {
			t.Errorf("a dead letter without a reason")
		}
	}
	// The metrics of the landing day were merged.
	days, err := w.Daily(ctx, f.ID, syncproto.DateOf(f.Arrive.Add(-48*time.Hour)), syncproto.DateOf(f.Arrive.Add(72*time.Hour)))
	if err != nil || len(days) == 0 {
		t.Fatalf("no daily metrics after ingest: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

type downlink struct {
	mu   sync.Mutex
	sent []syncproto.Header
}

func (d *downlink) Send(_ context.Context, h syncproto.Header, raw []byte) error {
	if _, err := syncproto.Unmarshal(raw); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = append(d.sent, h)
	return nil
}

func (d *downlink) count() int { d.mu.Lock(); defer d.mu.Unlock(); return len(d.sent) }

// The recommender plans every member of a family it hears of, loading
// what came before from the warehouse; advice that did not change is not
// sent down again; a flushed cache is rebuilt by the refresh; a read that
// misses computes once for concurrent callers.
func TestRecommender(t *testing.T) {
	f := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	setup := f.Setup()
	w := openWarehouse(t)
	// The set-up is in the warehouse already (ingested before this
	// recommender started); the day's logs come from Kafka.
	if _, err := (&cloud.Store{W: w, Now: time.Now}).Write(context.Background(), rowsOf(t, setup)); err != nil {
		t.Fatal(err)
	}
	cache := memcache.New(memcache.Config{})
	down := &downlink{}
	r := &cloud.Recommender{Warehouse: w, Cache: cache, Down: down, Logger: discard(), Refresh: 20 * time.Millisecond}
	ctx := context.Background()
	day := records(cloudtest.Marshal(f.Day(0)))
	if err := r.Handle(ctx, day); err != nil {
		t.Fatal(err)
	}
	for _, m := range f.Members {
		if _, err := cache.Get(ctx, cloud.RecommendationKey(f.ID, m)); err != nil {
			t.Errorf("member %s: %v", m, err)
		}
	}
	sent := down.count()
	if sent != len(f.Members) {
		t.Errorf("%d recommendations sent down, want one per member", sent)
	}
	if err := r.Handle(ctx, day); err != nil { // the same again: nothing new
		t.Fatal(err)
	}
	r.RefreshAll(ctx) // re-plans everyone: the same advice
	if down.count() != sent {
		t.Errorf("unchanged advice sent down again (%d sends, then %d)", sent, down.count())
	}

	// Keys that are gone (a flushed Redis) come back with the refresh:
	// this recommender hears only of the first member's night, so only
	// that member is planned at once; the refresh plans the others.
	cache2 := memcache.New(memcache.Config{})
	r2 := &cloud.Recommender{Warehouse: w, Cache: cache2, Logger: discard()}
	if err := r2.Handle(ctx, day[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := cache2.Get(ctx, cloud.RecommendationKey(f.ID, f.Members[1])); !errors.Is(err, cloud.ErrMiss) {
		t.Fatalf("member 1 planned without an event of theirs: %v", err)
	}
	r2.RefreshAll(ctx)
	for _, m := range f.Members {
		if _, err := cache2.Get(ctx, cloud.RecommendationKey(f.ID, m)); err != nil {
			t.Errorf("after the refresh, member %s: %v", m, err)
		}
	}

	// Concurrent misses on an API recommender share one computation.
	api := &cloud.Recommender{Warehouse: &counting{Warehouse: w}, Cache: memcache.New(memcache.Config{}), Logger: discard()}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := api.Recommendation(ctx, f.ID, f.Members[0]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := api.Warehouse.(*counting).reads(); n < 1 || n > 2 {
		t.Errorf("8 concurrent misses read the warehouse %d times", n)
	}
	if _, err := api.Recommendation(ctx, syncproto.NewID(), f.Members[0]); cloud.CodeOf(err) != cloud.CodeNotFound {
		t.Errorf("unknown family: %v", err)
	}
}

// counting counts the warehouse reads of families.
type counting struct {
	cloud.Warehouse
	mu sync.Mutex
	n  int
}

func (c *counting) Events(ctx context.Context, families []uuid.UUID, since time.Time) ([]cloud.Row, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	time.Sleep(20 * time.Millisecond) // long enough for the callers to pile up
	return c.Warehouse.Events(ctx, families, since)
}

func (c *counting) reads() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func rowsOf(t *testing.T, es []syncproto.Envelope) []cloud.Row {
	t.Helper()
	rows, poison := cloud.Decode(records(cloudtest.Marshal(es)), time.Now())
	if len(poison) > 0 {
		t.Fatal(poison[0].Reason)
	}
	return rows
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// A family the refresh forgets (idle) while a batch of its events is being
// handled is loaded again, not dereferenced as nil.
func TestRecommenderForgetsWhileHandling(t *testing.T) {
	f := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	w := openWarehouse(t)
	r := &cloud.Recommender{Warehouse: w, Cache: memcache.New(memcache.Config{}), Logger: discard(),
		Active: time.Nanosecond} // every family is idle at once
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			r.RefreshAll(ctx)
		}
	})
	batch := records(cloudtest.Marshal(append(f.Setup(), f.Day(0)...)))
	for i := range 200 {
		if err := r.Handle(ctx, batch[i%len(batch):i%len(batch)+1]); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
}
