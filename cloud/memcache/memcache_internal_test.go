package memcache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// A Set drops the expired entries itself, so a cache that only gets Sets
// of new keys holds no more than the live ones: nothing waits for Len or
// for the bound.
func TestSetSweepsExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	for i := range 100 {
		if err := c.Set(ctx, fmt.Sprint(i), []byte("v"), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Second)
	if err := c.Set(ctx, "new", []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	if len(c.entries) != 1 || len(c.byTime) != 1 {
		t.Errorf("after a Set past 100 expiries: %d entries, %d in the heap; want 1", len(c.entries), len(c.byTime))
	}
	checkInvariants(t, c)
}

// Random Sets over a small key space with a moving clock keep the map and
// the heap in step and the bound held.
func TestRandomOpsKeepInvariants(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(Config{MaxEntries: 16, Now: func() time.Time { return now }})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		key := fmt.Sprint(rng.IntN(40))
		ttl := time.Duration(1+rng.IntN(10)) * time.Second
		if err := c.Set(ctx, key, []byte(key), ttl); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(4) == 0 {
			now = now.Add(time.Duration(rng.IntN(2000)) * time.Millisecond)
		}
		if i%97 == 0 {
			checkInvariants(t, c)
		}
	}
	checkInvariants(t, c)
}

func checkInvariants(t *testing.T, c *Cache) {
	t.Helper()
	if len(c.entries) > c.max {
		t.Fatalf("%d entries, over the bound of %d", len(c.entries), c.max)
	}
	if len(c.entries) != len(c.byTime) {
		t.Fatalf("%d entries but %d in the heap", len(c.entries), len(c.byTime))
	}
	for i, e := range c.byTime {
		if e.index != i {
			t.Fatalf("heap[%d] has index %d", i, e.index)
		}
		if c.entries[e.key] != e {
			t.Fatalf("heap[%d] (%s) is not the map's entry", i, e.key)
		}
		if i > 0 && c.byTime.Less(i, (i-1)/2) {
			t.Fatalf("heap[%d] sorts before its parent", i)
		}
	}
}
