package http

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxLimiterKeys is how many keys a limiter holds before it sweeps idle
// ones early, so a flood of addresses cannot grow it without bound
// between sweeps.
const maxLimiterKeys = 100_000

// limiter is a set of token buckets by key (a token's subject and family,
// or a client address). It starts no goroutine: idle buckets are dropped
// by a sweep that allow runs at most once per sweep interval, so there is
// nothing to stop and nothing to leak.
type limiter struct {
	limit rate.Limit
	burst int
	// idle is how long a bucket must go unused before it is dropped: long
	// enough for it to have refilled, so dropping it loses nothing.
	idle time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	refill := time.Duration(float64(burst) / perSecond * float64(time.Second))
	return &limiter{
		limit:   rate.Limit(perSecond),
		burst:   burst,
		idle:    max(time.Minute, refill+time.Second),
		buckets: map[string]*bucket{},
	}
}

// allow takes one token from key's bucket at now. When there is none it
// reports how long until there will be.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	if now.Sub(l.swept) > l.idle || len(l.buckets) > maxLimiterKeys {
		l.sweepLocked(now)
	}
	l.mu.Unlock()

	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

func (l *limiter) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) > l.idle {
			delete(l.buckets, k)
		}
	}
	l.swept = now
}

// size is how many buckets are held.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// retryAfterSeconds is the Retry-After value for a wait of d: whole
// seconds, at least one.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
