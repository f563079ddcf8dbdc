//go:build integration

package redis_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/redis"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/internal/wait"
)

// These tests run against the server in REDIS_ADDR (deploy/local/redis.sh
// starts one). Each test writes keys under its own prefix in DB 0, except
// TestFlush, which flushes flushDB, a database no other test uses.
const flushDB = 15

// redisAddr returns REDIS_ADDR. Without it the test is skipped, or fails
// when ZONER_REQUIRE_SERVICES=1 (as under the test task and CI).
func redisAddr(tb testing.TB) string {
	tb.Helper()
	return proctest.Service(tb, "REDIS_ADDR")
}

// mustOpen returns a Cache on REDIS_ADDR's database db, closed when the
// test ends.
func mustOpen(tb testing.TB, db int) *redis.Cache {
	tb.Helper()
	c, err := redis.New(tb.Context(), redis.Config{Addr: redisAddr(tb), DB: db}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Error(err)
		}
	})
	return c
}

// mustAdmin returns a plain go-redis client on database db, for looking
// behind the Cache's back.
func mustAdmin(tb testing.TB, db int) *goredis.Client {
	tb.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: redisAddr(tb), DB: db})
	tb.Cleanup(func() { rdb.Close() })
	return rdb
}

// prefix returns a key prefix of its own for the test and this run, and
// deletes the test's keys when it ends.
func prefix(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	rand.Read(b[:])
	p := "zoner:test:" + tb.Name() + ":" + hex.EncodeToString(b[:]) + ":"
	admin := mustAdmin(tb, 0)
	tb.Cleanup(func() {
		ctx := context.Background()
		keys, err := admin.Keys(ctx, p+"*").Result()
		if err == nil && len(keys) > 0 {
			admin.Del(ctx, keys...)
		}
	})
	return p
}

func TestRoundTrip(t *testing.T) {
	c := mustOpen(t, 0)
	p := prefix(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for _, tc := range []struct {
		name  string
		key   string
		value []byte
	}{
		{"json", "rec", []byte(`{"version":1,"advice":"bright light 07:00-08:00"}`)},
		{"binary", "bin", []byte{0, 1, 2, 0xff, '\r', '\n', 0}},
		{"empty", "empty", []byte{}},
		{"one MiB", "big", big},
		{"key with spaces and unicode", "fam ily:Zoë:日本", []byte("x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := p + tc.key
			if err := c.Set(t.Context(), key, tc.value, time.Minute); err != nil {
				t.Fatal(err)
			}
			got, err := c.Get(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.value) {
				t.Errorf("Get = %d bytes %.40q, want %d bytes %.40q", len(got), got, len(tc.value), tc.value)
			}
		})
	}

	t.Run("overwrite", func(t *testing.T) {
		key := p + "over"
		for _, v := range []string{"first", "second"} {
			if err := c.Set(t.Context(), key, []byte(v), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := c.Get(t.Context(), key); err != nil || string(got) != "second" {
			t.Errorf("Get = %q, %v; want second", got, err)
		}
	})
}

func TestMiss(t *testing.T) {
	c := mustOpen(t, 0)
	got, err := c.Get(t.Context(), prefix(t)+"never-set")
	if !errors.Is(err, cloud.ErrMiss) {
		t.Fatalf("Get of a key never set = %q, %v; want cloud.ErrMiss", got, err)
	}
	if got != nil {
		t.Errorf("a miss returned a value: %q", got)
	}
}

func TestTTL(t *testing.T) {
	c := mustOpen(t, 0)
	admin := mustAdmin(t, 0)
	key := prefix(t) + "short"
	const ttl = 300 * time.Millisecond

	start := time.Now()
	if err := c.Set(t.Context(), key, []byte("v"), ttl); err != nil {
		t.Fatal(err)
	}
	// Stored with a millisecond expiry of at most ttl.
	pttl, err := admin.PTTL(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if pttl <= 0 || pttl > ttl {
		t.Errorf("PTTL = %s, want in (0, %s]", pttl, ttl)
	}
	if _, err := c.Get(t.Context(), key); err != nil && time.Since(start) < ttl {
		t.Fatalf("Get before expiry: %v", err)
	}
	// Poll until it expires: no sooner than ttl, and not much later.
	var elapsed time.Duration
	wait.For(t, ttl+3*time.Second-time.Since(start), "expired", func() error {
		_, err := c.Get(t.Context(), key)
		elapsed = time.Since(start)
		if errors.Is(err, cloud.ErrMiss) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Errorf("still there %s after a %s ttl", elapsed, ttl)
	})
	if elapsed < ttl-5*time.Millisecond {
		t.Errorf("expired after %s, before its ttl of %s", elapsed, ttl)
	}
	t.Logf("expired after %s (ttl %s)", elapsed.Round(time.Millisecond), ttl)
}

func TestTTLRounding(t *testing.T) {
	c := mustOpen(t, 0)
	admin := mustAdmin(t, 0)
	p := prefix(t)
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		want time.Duration // PTTL at most, rounded up to milliseconds
	}{
		{"one hour", time.Hour, time.Hour},
		{"1.5ms", 1500 * time.Microsecond, 2 * time.Millisecond},
		{"one nanosecond", time.Nanosecond, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := p + tc.name
			if err := c.Set(t.Context(), key, []byte("v"), tc.ttl); err != nil {
				t.Fatal(err)
			}
			pttl, err := admin.PTTL(t.Context(), key).Result()
			if err != nil {
				t.Fatal(err)
			}
			switch pttl {
			case -1:
				t.Fatal("stored without expiry")
			case -2:
				return // a tiny ttl may have expired already
			}
			if pttl > tc.want {
				t.Errorf("PTTL = %s, want at most %s", pttl, tc.want)
			}
		})
	}
}

func TestSetRejectsNonPositiveTTL(t *testing.T) {
	c := mustOpen(t, 0)
	p := prefix(t)
	for _, ttl := range []time.Duration{0, -time.Second} {
		t.Run(ttl.String(), func(t *testing.T) {
			key := p + ttl.String()
			if err := c.Set(t.Context(), key, []byte("v"), ttl); err == nil || !strings.Contains(err.Error(), "ttl") {
				t.Errorf("Set with ttl %s: err = %v, want one about the ttl", ttl, err)
			}
			if err := c.SetMany(t.Context(), map[string][]byte{key: []byte("v")}, ttl); err == nil {
				t.Errorf("SetMany with ttl %s: no error", ttl)
			}
			if _, err := c.Get(t.Context(), key); !errors.Is(err, cloud.ErrMiss) {
				t.Errorf("something was stored: Get err = %v", err)
			}
		})
	}
}

func TestSetMany(t *testing.T) {
	c := mustOpen(t, 0)
	admin := mustAdmin(t, 0)
	p := prefix(t)

	items := map[string][]byte{}
	for i := range 500 {
		items[fmt.Sprintf("%sk%03d", p, i)] = fmt.Appendf(nil, "value %d", i)
	}
	if err := c.SetMany(t.Context(), items, time.Minute); err != nil {
		t.Fatal(err)
	}
	for key, want := range items {
		got, err := c.Get(t.Context(), key)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Get(%s) = %q, %v; want %q", key, got, err, want)
		}
	}
	pttl, err := admin.PTTL(t.Context(), p+"k042").Result()
	if err != nil {
		t.Fatal(err)
	}
	if pttl <= 0 || pttl > time.Minute {
		t.Errorf("PTTL of a SetMany key = %s, want in (0, 1m]", pttl)
	}

	t.Run("empty", func(t *testing.T) {
		if err := c.SetMany(t.Context(), nil, time.Minute); err != nil {
			t.Errorf("SetMany(nil) = %v", err)
		}
	})
}

// Flushing the server (an operator's FLUSHALL, a restart without
// persistence) turns entries into misses, not errors, and the Cache keeps
// working. FLUSHDB on a database of this test's own stands in for
// FLUSHALL, so that other packages' tests sharing the server keep their
// keys.
func TestFlush(t *testing.T) {
	c := mustOpen(t, flushDB)
	admin := mustAdmin(t, flushDB)
	for _, key := range []string{"a", "b"} {
		if err := c.Set(t.Context(), key, []byte(key), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.FlushDB(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"a", "b"} {
		if got, err := c.Get(t.Context(), key); !errors.Is(err, cloud.ErrMiss) {
			t.Errorf("Get(%s) after the flush = %q, %v; want cloud.ErrMiss", key, got, err)
		}
	}
	if err := c.Set(t.Context(), "a", []byte("again"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(t.Context(), "a"); err != nil || string(got) != "again" {
		t.Errorf("Get after setting again = %q, %v", got, err)
	}
}

// When the server drops the Cache's connections (a restart, a timeout on
// its side), the next commands reconnect by themselves.
func TestReconnectsAfterConnectionsKilled(t *testing.T) {
	const db = 14 // a database of its own, to find this test's connections
	c := mustOpen(t, db)
	admin := mustAdmin(t, 0)
	key := "reconnect"
	t.Cleanup(func() { mustAdmin(t, db).Del(context.Background(), key) })
	if err := c.Set(t.Context(), key, []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	// Kill every connection on that database.
	list, err := admin.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for line := range strings.SplitSeq(list, "\n") {
		if !strings.Contains(" "+line+" ", fmt.Sprintf(" db=%d ", db)) {
			continue
		}
		id := strings.TrimPrefix(strings.Fields(line)[0], "id=")
		if err := admin.Do(t.Context(), "client", "kill", "id", id).Err(); err != nil {
			t.Fatal(err)
		}
		killed++
	}
	if killed == 0 {
		t.Fatal("found none of the Cache's connections in CLIENT LIST")
	}
	for range 3 {
		if got, err := c.Get(t.Context(), key); err != nil || string(got) != "v" {
			t.Errorf("Get after killing %d connections = %q, %v; want v", killed, got, err)
		}
	}
	if err := c.Ping(t.Context()); err != nil {
		t.Errorf("Ping after the kill: %v", err)
	}
}

func TestConcurrentGets(t *testing.T) {
	c := mustOpen(t, 0)
	p := prefix(t)
	const keys = 50
	for i := range keys {
		if err := c.Set(t.Context(), fmt.Sprintf("%s%d", p, i), fmt.Appendf(nil, "v%d", i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				n := (g*7 + i) % (keys + 10) // some beyond the keys set: misses
				got, err := c.Get(t.Context(), fmt.Sprintf("%s%d", p, n))
				switch {
				case n >= keys:
					if !errors.Is(err, cloud.ErrMiss) {
						t.Errorf("Get(%d) = %q, %v; want a miss", n, got, err)
						return
					}
				case err != nil || string(got) != fmt.Sprintf("v%d", n):
					t.Errorf("Get(%d) = %q, %v", n, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestContextEnds(t *testing.T) {
	c := mustOpen(t, 0)
	key := prefix(t) + "k"
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Get(ctx, key); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: err = %v, want context.Canceled", err)
	}
	if err := c.Set(ctx, key, []byte("v"), time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("Set with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestPingAndClose(t *testing.T) {
	c, err := redis.New(t.Context(), redis.Config{Addr: redisAddr(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
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
	if err := c.Ping(t.Context()); err == nil {
		t.Error("Ping after Close: no error")
	}
}

func TestWrongPassword(t *testing.T) {
	_, err := redis.New(t.Context(), redis.Config{Addr: redisAddr(t), Username: "nobody", Password: "wrong-pw-123"}, nil)
	if err == nil {
		t.Fatal("New with a user that does not exist: no error")
	}
	t.Logf("wrong credentials: %v", err)
	if strings.Contains(err.Error(), "wrong-pw-123") {
		t.Errorf("the error shows the password: %v", err)
	}
}

// BenchmarkGet is a hit on a 1 KiB value (a recommendation's size) from
// parallel goroutines over the pool.
func BenchmarkGet(b *testing.B) {
	c := mustOpen(b, 0)
	key := prefix(b) + "bench"
	value := bytes.Repeat([]byte("r"), 1024)
	if err := c.Set(b.Context(), key, value, time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := c.Get(ctx, key); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
