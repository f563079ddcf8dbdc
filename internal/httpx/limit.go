package httpx

import (
	"container/list"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is how many keys a Limiter holds when its MaxKeys is 0.
const DefaultMaxKeys = 10_000

// Rate is a token bucket: PerSecond tokens a second, at most Burst held.
type Rate struct {
	PerSecond float64
	Burst     int
}

// refill is how long an empty bucket takes to fill up again; 0 for a
// bucket that never refills.
func (r Rate) refill() time.Duration {
	if r.PerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(r.Burst) / r.PerSecond * float64(time.Second))
}

// Limiter is a token bucket per key (a client address, a token's
// holder). It holds at most MaxKeys buckets, whatever the number of keys
// it is asked about:
//
//   - a bucket unused for longer than Idle is forgotten (Idle is never
//     shorter than the time the bucket takes to fill up, so forgetting it
//     loses nothing: a new one is full too);
//   - when the limiter is full, a new key takes the bucket of the key
//     used longest ago, if that one has had time to fill up;
//   - otherwise the new key shares one overflow bucket with every other
//     key that found the limiter full, until room is made.
//
// So a client rotating addresses cannot grow it, nor reset the bucket of
// a client that is still busy. It starts no goroutine; the zero value is
// not usable, make one with NewLimiter.
type Limiter struct {
	rate    Rate
	idle    time.Duration
	refill  time.Duration
	maxKeys int

	mu       sync.Mutex
	keys     map[string]*list.Element // of *bucket
	lru      list.List                // front: used most recently
	overflow *rate.Limiter
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter returns a limiter of buckets of rate r, holding at most
// maxKeys of them (DefaultMaxKeys for 0), each forgotten after idle
// unused (at least the time a bucket takes to fill up; 0 for a minute).
func NewLimiter(r Rate, maxKeys int, idle time.Duration) *Limiter {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if idle <= 0 {
		idle = time.Minute
	}
	refill := r.refill()
	return &Limiter{
		rate:     r,
		idle:     max(idle, refill),
		refill:   refill,
		maxKeys:  maxKeys,
		keys:     map[string]*list.Element{},
		overflow: rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst),
	}
}

// Allow takes one token from key's bucket at now. When there is none, it
// reports how long until there will be one.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, wait time.Duration) {
	lim := l.bucket(key, now)
	res := lim.ReserveN(now, 1)
	if !res.OK() { // a burst of 0: never
		return false, l.idle
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// bucket returns key's token bucket, making room for it if it is new.
func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Forget the buckets idle for long enough, oldest first.
	for e := l.lru.Back(); e != nil && now.Sub(e.Value.(*bucket).seen) > l.idle; e = l.lru.Back() {
		l.remove(e)
	}
	if e, ok := l.keys[key]; ok {
		b := e.Value.(*bucket)
		b.seen = now
		l.lru.MoveToFront(e)
		return b.lim
	}
	if len(l.keys) >= l.maxKeys {
		oldest := l.lru.Back()
		if now.Sub(oldest.Value.(*bucket).seen) < l.refill {
			return l.overflow // everyone is busy: no room
		}
		l.remove(oldest)
	}
	b := &bucket{key: key, lim: rate.NewLimiter(rate.Limit(l.rate.PerSecond), l.rate.Burst), seen: now}
	l.keys[key] = l.lru.PushFront(b)
	return b.lim
}

func (l *Limiter) remove(e *list.Element) {
	delete(l.keys, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// Len is how many keys have a bucket of their own.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
