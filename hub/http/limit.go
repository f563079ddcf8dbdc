package http

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are per-client (per IP address) token buckets.
type Limits struct {
	WritesPerSecond float64
	WriteBurst      int
	ReadsPerSecond  float64
	ReadBurst       int
}

func (l Limits) withDefaults() Limits {
	if l.WritesPerSecond <= 0 {
		l.WritesPerSecond, l.WriteBurst = 20, 100
	}
	if l.ReadsPerSecond <= 0 {
		l.ReadsPerSecond, l.ReadBurst = 50, 200
	}
	return l
}

type limiter struct {
	limits  Limits
	mu      sync.Mutex
	clients map[string]*client
	swept   time.Time
}

type client struct {
	read, write *rate.Limiter
	seen        time.Time
}

func newLimiter(l Limits) *limiter {
	return &limiter{limits: l.withDefaults(), clients: map[string]*client{}}
}

func (l *limiter) allow(key string, write bool) bool {
	now := time.Now()
	l.mu.Lock()
	c := l.clients[key]
	if c == nil {
		c = &client{
			read:  rate.NewLimiter(rate.Limit(l.limits.ReadsPerSecond), l.limits.ReadBurst),
			write: rate.NewLimiter(rate.Limit(l.limits.WritesPerSecond), l.limits.WriteBurst),
		}
		l.clients[key] = c
	}
	c.seen = now
	// Forget clients idle for ten minutes, at most once a minute.
	if now.Sub(l.swept) > time.Minute {
		for k, v := range l.clients {
			if now.Sub(v.seen) > 10*time.Minute {
				delete(l.clients, k)
			}
		}
		l.swept = now
	}
	l.mu.Unlock()
	if write {
		return c.write.AllowN(now, 1)
	}
	return c.read.AllowN(now, 1)
}
