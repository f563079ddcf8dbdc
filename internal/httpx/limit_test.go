package httpx

import (
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 20, 7, 0, 0, 0, time.UTC)

// However many keys it is asked about, a limiter holds at most its cap.
func TestLimiterCapHoldsUnderManyKeys(t *testing.T) {
	const maxKeys = 1000
	l := NewLimiter(Rate{PerSecond: 1, Burst: 5}, maxKeys, time.Minute)
	now := t0
	for i := range 100_000 {
		l.Allow("198.51."+strconv.Itoa(i>>8)+"."+strconv.Itoa(i&0xff), now)
		now = now.Add(time.Microsecond)
		if n := l.Len(); n > maxKeys {
			t.Fatalf("after %d keys the limiter holds %d, more than its cap %d", i+1, n, maxKeys)
		}
	}
	if n := l.Len(); n != maxKeys {
		t.Errorf("holds %d keys, want it full (%d)", n, maxKeys)
	}
}

// A full limiter never resets the bucket of a client that is still busy:
// new keys share the overflow bucket instead, and that one runs dry too.
func TestLimiterFullSharesOverflow(t *testing.T) {
	l := NewLimiter(Rate{PerSecond: 1, Burst: 2}, 2, time.Minute)
	for _, k := range []string{"a", "a", "b"} {
		if ok, _ := l.Allow(k, t0); !ok {
			t.Fatalf("%s refused", k)
		}
	}
	if ok, _ := l.Allow("a", t0); ok {
		t.Fatal("a's third request allowed over a burst of 2")
	}
	// Full, and both buckets are busy: c, d and e share one bucket.
	got := []bool{}
	for _, k := range []string{"c", "d", "e"} {
		ok, _ := l.Allow(k, t0)
		got = append(got, ok)
	}
	if !got[0] || !got[1] || got[2] {
		t.Errorf("overflow answers %v, want [true true false]", got)
	}
	if ok, _ := l.Allow("a", t0); ok {
		t.Error("a's bucket was reset by the new keys")
	}
	if l.Len() != 2 {
		t.Errorf("holds %d keys, want 2", l.Len())
	}
	// Once a's and b's buckets have had time to fill up, new keys take
	// their places.
	later := t0.Add(2 * time.Second)
	if ok, _ := l.Allow("f", later); !ok {
		t.Error("f refused after the oldest bucket refilled")
	}
	if ok, _ := l.Allow("f", later); !ok {
		t.Error("f's own bucket should have a second token")
	}
}

// A bucket unused for longer than idle is forgotten.
func TestLimiterForgetsIdleKeys(t *testing.T) {
	l := NewLimiter(Rate{PerSecond: 10, Burst: 10}, 100, time.Minute)
	for i := range 50 {
		l.Allow(strconv.Itoa(i), t0)
	}
	l.Allow("late", t0.Add(30*time.Second))
	if n := l.Len(); n != 51 {
		t.Fatalf("holds %d keys before they are idle, want 51", n)
	}
	l.Allow("later", t0.Add(61*time.Second))
	if n := l.Len(); n != 2 {
		t.Errorf("holds %d keys after a minute idle, want 2", n)
	}
}

// The wait is when the bucket will next have a token, so Retry-After
// follows the refill rate.
func TestLimiterRetryAfterFollowsRefill(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rate  Rate
		after time.Duration // since the bucket was emptied
		want  int           // Retry-After seconds
	}{
		{"one every 5 s", Rate{PerSecond: 0.2, Burst: 1}, 0, 5},
		{"one every 5 s, 4 s on", Rate{PerSecond: 0.2, Burst: 1}, 4 * time.Second, 1},
		{"one every 5 s, 2.5 s on", Rate{PerSecond: 0.2, Burst: 1}, 2500 * time.Millisecond, 3},
		{"one every 30 s", Rate{PerSecond: 1.0 / 30, Burst: 3}, 0, 30},
		{"two a second", Rate{PerSecond: 2, Burst: 4}, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLimiter(tc.rate, 10, 0)
			for range tc.rate.Burst {
				if ok, _ := l.Allow("k", t0); !ok {
					t.Fatal("refused within the burst")
				}
			}
			ok, wait := l.Allow("k", t0.Add(tc.after))
			if ok {
				t.Fatal("allowed over the burst")
			}
			if got := RetryAfterSeconds(wait); got != tc.want {
				t.Errorf("Retry-After %d (wait %v), want %d", got, wait, tc.want)
			}
			// A refused request takes no token: after the wait it passes.
			if ok, _ := l.Allow("k", t0.Add(tc.after+wait)); !ok {
				t.Errorf("refused after waiting %v", wait)
			}
		})
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := NewLimiter(Rate{PerSecond: 1e9, Burst: 1 << 30}, 1000, time.Minute)
	keys := make([]string, 5000)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	now := t0
	for i := 0; b.Loop(); i++ {
		l.Allow(keys[i%len(keys)], now)
	}
}

// A forgotten bucket had refilled: a returning client gets its full
// burst, no more.
func TestLimiterIdleCoversRefill(t *testing.T) {
	// At 0.01/s a burst of 10 takes 1000 s to refill: buckets must be
	// kept at least that long, or a client could reset its bucket by
	// waiting a minute.
	l := NewLimiter(Rate{PerSecond: 0.01, Burst: 10}, 10, time.Minute)
	for range 10 {
		l.Allow("k", t0)
	}
	if ok, _ := l.Allow("k", t0.Add(2*time.Minute)); !ok {
		t.Fatal("refused after 2 minutes: a token should have come back")
	}
	if ok, _ := l.Allow("k", t0.Add(2*time.Minute)); ok {
		t.Error("a second token after 2 minutes: the bucket was forgotten before it refilled")
	}
	later := t0.Add(20 * time.Minute)
	for i := range 10 {
		if ok, _ := l.Allow("k", later); !ok {
			t.Fatalf("request %d of a returning client refused", i)
		}
	}
	if ok, wait := l.Allow("k", later); ok || wait <= 0 {
		t.Errorf("over the burst: %v %v", ok, wait)
	}
}
