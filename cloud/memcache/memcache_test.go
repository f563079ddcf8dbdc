package memcache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/memcache"
)

// clock is a hand-moved clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// mustOpen returns a Cache closed when the test ends.
func mustOpen(tb testing.TB, cfg memcache.Config) *memcache.Cache {
	tb.Helper()
	c := memcache.New(cfg)
	tb.Cleanup(func() { c.Close() })
	return c
}

func mustSet(tb testing.TB, c *memcache.Cache, key, value string, ttl time.Duration) {
	tb.Helper()
	if err := c.Set(context.Background(), key, []byte(value), ttl); err != nil {
		tb.Fatalf("Set(%s): %v", key, err)
	}
}

// wantHit fails unless key holds value.
func wantHit(tb testing.TB, c *memcache.Cache, key, value string) {
	tb.Helper()
	got, err := c.Get(context.Background(), key)
	if err != nil || string(got) != value {
		tb.Errorf("Get(%s) = %q, %v; want %q", key, got, err, value)
	}
}

// wantMiss fails unless key misses.
func wantMiss(tb testing.TB, c *memcache.Cache, key string) {
	tb.Helper()
	if got, err := c.Get(context.Background(), key); !errors.Is(err, cloud.ErrMiss) {
		tb.Errorf("Get(%s) = %q, %v; want cloud.ErrMiss", key, got, err)
	}
}

func TestRoundTrip(t *testing.T) {
	c := mustOpen(t, memcache.Config{})
	for _, tc := range []struct {
		name  string
		value []byte
	}{
		{"json", []byte(`{"version":1}`)},
		{"binary", []byte{0, 0xff, '\n', 0}},
		{"empty", []byte{}},
		{"nil", nil},
		{"one MiB", bytes.Repeat([]byte("z"), 1<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Set(t.Context(), tc.name, tc.value, time.Minute); err != nil {
				t.Fatal(err)
			}
			got, err := c.Get(t.Context(), tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.value) {
				t.Errorf("Get = %d bytes, want %d", len(got), len(tc.value))
			}
			if got == nil {
				t.Error("a hit returned nil")
			}
		})
	}
	t.Run("overwrite", func(t *testing.T) {
		mustSet(t, c, "k", "first", time.Minute)
		mustSet(t, c, "k", "second", time.Minute)
		wantHit(t, c, "k", "second")
	})
}

func TestMiss(t *testing.T) {
	c := mustOpen(t, memcache.Config{})
	got, err := c.Get(t.Context(), "never-set")
	if !errors.Is(err, cloud.ErrMiss) || got != nil {
		t.Errorf("Get = %q, %v; want nil, cloud.ErrMiss", got, err)
	}
}

func TestExpiry(t *testing.T) {
	clk := newClock()
	c := mustOpen(t, memcache.Config{Now: clk.Now})
	mustSet(t, c, "short", "s", time.Minute)
	mustSet(t, c, "long", "l", time.Hour)

	clk.Advance(time.Minute - time.Nanosecond)
	wantHit(t, c, "short", "s")
	clk.Advance(time.Nanosecond) // exactly the ttl: gone
	wantMiss(t, c, "short")
	wantHit(t, c, "long", "l")
	if n := c.Len(); n != 1 {
		t.Errorf("Len = %d after one expired, want 1", n)
	}

	// Setting again renews the ttl from the time of the Set.
	mustSet(t, c, "long", "l2", time.Minute)
	clk.Advance(59 * time.Second)
	wantHit(t, c, "long", "l2")
	clk.Advance(time.Second)
	wantMiss(t, c, "long")
	if n := c.Len(); n != 0 {
		t.Errorf("Len = %d after all expired, want 0", n)
	}
}

// Without Config.Now the cache follows time.Now; synctest's fake clock
// moves it without waiting.
func TestExpiryWithRealClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := mustOpen(t, memcache.Config{})
		mustSet(t, c, "k", "v", time.Hour)
		time.Sleep(time.Hour - time.Millisecond)
		wantHit(t, c, "k", "v")
		time.Sleep(time.Millisecond)
		wantMiss(t, c, "k")
	})
}

func TestNonPositiveTTL(t *testing.T) {
	c := mustOpen(t, memcache.Config{})
	for _, ttl := range []time.Duration{0, -time.Second} {
		err := c.Set(t.Context(), "k", []byte("v"), ttl)
		if err == nil || !strings.Contains(err.Error(), "ttl") {
			t.Errorf("Set with ttl %s: err = %v, want one about the ttl", ttl, err)
		}
	}
	wantMiss(t, c, "k")
}

func TestBound(t *testing.T) {
	t.Run("evicts the soonest to expire", func(t *testing.T) {
		clk := newClock()
		c := mustOpen(t, memcache.Config{MaxEntries: 3, Now: clk.Now})
		mustSet(t, c, "a", "a", 3*time.Minute)
		mustSet(t, c, "b", "b", time.Minute) // soonest
		mustSet(t, c, "c", "c", 2*time.Minute)
		mustSet(t, c, "d", "d", 4*time.Minute)
		wantMiss(t, c, "b")
		for _, k := range []string{"a", "c", "d"} {
			wantHit(t, c, k, k)
		}
		if n := c.Len(); n != 3 {
			t.Errorf("Len = %d, want 3", n)
		}
	})
	t.Run("evicts the oldest among equal expiries", func(t *testing.T) {
		clk := newClock()
		c := mustOpen(t, memcache.Config{MaxEntries: 2, Now: clk.Now})
		mustSet(t, c, "old", "o", time.Minute)
		mustSet(t, c, "new", "n", time.Minute)
		mustSet(t, c, "newest", "x", time.Minute)
		wantMiss(t, c, "old")
		wantHit(t, c, "new", "n")
		wantHit(t, c, "newest", "x")
	})
	t.Run("overwriting a key evicts nothing", func(t *testing.T) {
		c := mustOpen(t, memcache.Config{MaxEntries: 2})
		mustSet(t, c, "a", "a", time.Minute)
		mustSet(t, c, "b", "b", time.Second)
		mustSet(t, c, "b", "b2", time.Minute)
		wantHit(t, c, "a", "a")
		wantHit(t, c, "b", "b2")
	})
	t.Run("expired entries go before live ones", func(t *testing.T) {
		clk := newClock()
		c := mustOpen(t, memcache.Config{MaxEntries: 3, Now: clk.Now})
		mustSet(t, c, "live", "l", time.Hour)
		mustSet(t, c, "gone1", "g", time.Second)
		mustSet(t, c, "gone2", "g", time.Second)
		clk.Advance(2 * time.Second)
		mustSet(t, c, "x", "x", time.Hour)
		mustSet(t, c, "y", "y", time.Hour)
		for _, k := range []string{"live", "x", "y"} {
			wantHit(t, c, k, k[:1])
		}
	})
	t.Run("default bound", func(t *testing.T) {
		c := mustOpen(t, memcache.Config{MaxEntries: -1})
		for i := range memcache.DefaultMaxEntries + 10 {
			mustSet(t, c, fmt.Sprint(i), "v", time.Hour)
		}
		if n := c.Len(); n != memcache.DefaultMaxEntries {
			t.Errorf("Len = %d, want DefaultMaxEntries (%d)", n, memcache.DefaultMaxEntries)
		}
	})
}

// Neither the caller's slice given to Set nor the one Get returns is the
// stored value.
func TestCopies(t *testing.T) {
	c := mustOpen(t, memcache.Config{})
	v := []byte("original")
	if err := c.Set(t.Context(), "k", v, time.Minute); err != nil {
		t.Fatal(err)
	}
	copy(v, "CHANGED!")
	wantHit(t, c, "k", "original")

	got, err := c.Get(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	copy(got, "CHANGED!")
	wantHit(t, c, "k", "original")
}

func TestContextEnds(t *testing.T) {
	c := mustOpen(t, memcache.Config{})
	mustSet(t, c, "k", "v", time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: err = %v, want context.Canceled", err)
	}
	if err := c.Set(ctx, "k", []byte("v"), time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Set: err = %v, want context.Canceled", err)
	}
	if err := c.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping: err = %v, want context.Canceled", err)
	}
}

func TestPingAndClose(t *testing.T) {
	c := memcache.New(memcache.Config{})
	mustSet(t, c, "k", "v", time.Minute)
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Get(t.Context(), "k"); err == nil || errors.Is(err, cloud.ErrMiss) {
		t.Errorf("Get after Close: err = %v, want an error that is no miss", err)
	}
	if err := c.Set(t.Context(), "k", []byte("v"), time.Minute); err == nil {
		t.Error("Set after Close: no error")
	}
	if err := c.Ping(t.Context()); err == nil {
		t.Error("Ping after Close: no error")
	}
	if n := c.Len(); n != 0 {
		t.Errorf("Len after Close = %d", n)
	}
}

// Readers, writers and the clock at once, under -race. Every hit must be
// a value that was set under that key, and the bound must hold.
func TestConcurrentUse(t *testing.T) {
	clk := newClock()
	const bound = 32
	c := mustOpen(t, memcache.Config{MaxEntries: bound, Now: clk.Now})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				key := fmt.Sprint((g*31 + i) % 64)
				switch i % 4 {
				case 0:
					ttl := time.Duration(1+i%5) * time.Second
					if err := c.Set(t.Context(), key, []byte(key+":"+fmt.Sprint(g)), ttl); err != nil {
						t.Error(err)
						return
					}
				case 1:
					if n := c.Len(); n > bound {
						t.Errorf("Len = %d, over the bound of %d", n, bound)
						return
					}
				default:
					got, err := c.Get(t.Context(), key)
					if err != nil && !errors.Is(err, cloud.ErrMiss) {
						t.Error(err)
						return
					}
					if err == nil && !strings.HasPrefix(string(got), key+":") {
						t.Errorf("Get(%s) = %q, a value of another key", key, got)
						return
					}
				}
				if g == 0 && i%100 == 0 {
					clk.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkGet is a hit on a 1 KiB value (a recommendation's size) from
// parallel goroutines, among 1,000 entries.
func BenchmarkGet(b *testing.B) {
	c := mustOpen(b, memcache.Config{})
	value := bytes.Repeat([]byte("r"), 1024)
	const n = 1000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("zoner:rec:%d", i)
		if err := c.Set(b.Context(), keys[i], value, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := 0
		for pb.Next() {
			if _, err := c.Get(ctx, keys[i%n]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkSet overwrites keys of a full cache.
func BenchmarkSet(b *testing.B) {
	c := mustOpen(b, memcache.Config{MaxEntries: 1000})
	value := bytes.Repeat([]byte("r"), 1024)
	keys := make([]string, 2000) // twice the bound: half the Sets evict
	for i := range keys {
		keys[i] = fmt.Sprintf("zoner:rec:%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := 0
		for pb.Next() {
			if err := c.Set(ctx, keys[i%len(keys)], value, time.Hour); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
