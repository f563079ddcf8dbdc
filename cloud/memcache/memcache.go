// Package memcache is the cloud's recommendation cache on a single
// machine: an in-process map behind cloud.Cache, with per-entry expiry and
// a bound on the number of entries. It runs no goroutine.
//
// Expired entries are never returned. They are dropped at each Set (every
// entry whose time is up, soonest first, from a heap ordered by expiry) and
// at Len; a Get leaves them for the next Set. When the cache is full, a Set
// of a new key first drops the expired entries and, if still full, the
// entry that would expire soonest (the oldest among equals).
package memcache

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zoner-family/zoner/cloud"
)

// DefaultMaxEntries is the bound of a Config that sets none: ample for a
// family hub's members.
const DefaultMaxEntries = 10_000

// Config configures a Cache.
type Config struct {
	// MaxEntries is the most entries held; zero or less means
	// DefaultMaxEntries.
	MaxEntries int
	// Now is the clock that expiry follows; nil means time.Now. It is
	// called with the cache's lock held, from concurrent goroutines.
	Now func() time.Time
}

// Cache is a bounded in-process cloud.Cache. It is safe for concurrent
// use. Values are copied on Set and on Get: callers can neither change a
// stored value nor see one change under them.
type Cache struct {
	max int
	now func() time.Time

	mu      sync.RWMutex
	entries map[string]*entry
	byTime  expiryHeap
	seq     uint64 // order of Sets, to evict the oldest among equal expiries
	closed  bool
}

var _ cloud.Cache = (*Cache)(nil)

var errClosed = errors.New("cache is closed")

// New returns an empty Cache.
func New(cfg Config) *Cache {
	c := &Cache{max: cfg.MaxEntries, now: cfg.Now, entries: map[string]*entry{}}
	if c.max <= 0 {
		c.max = DefaultMaxEntries
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Get returns a copy of the value under key, or cloud.ErrMiss when there
// is none or it has expired.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memcache: get: %w", err)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, fmt.Errorf("memcache: get: %w", errClosed)
	}
	e, ok := c.entries[key]
	if !ok || e.expired(c.now()) {
		return nil, cloud.ErrMiss
	}
	out := make([]byte, len(e.value))
	copy(out, e.value)
	return out, nil
}

// Set stores a copy of value under key for ttl, which must be positive.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcache: set: %w", err)
	}
	if ttl <= 0 {
		return fmt.Errorf("memcache: set: ttl must be positive, got %s", ttl)
	}
	stored := append([]byte(nil), value...) // copied outside the lock
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("memcache: set: %w", errClosed)
	}
	now := c.now()
	c.sweep(now)
	c.seq++
	if e, ok := c.entries[key]; ok {
		e.value, e.expires, e.seq = stored, now.Add(ttl), c.seq
		heap.Fix(&c.byTime, e.index)
		return nil
	}
	if len(c.entries) >= c.max {
		c.remove(c.byTime[0]) // the soonest to expire
	}
	e := &entry{key: key, value: stored, expires: now.Add(ttl), seq: c.seq}
	c.entries[key] = e
	heap.Push(&c.byTime, e)
	return nil
}

// Len returns how many unexpired entries the cache holds, after dropping
// the expired ones.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.sweep(c.now())
	}
	return len(c.entries)
}

// Ping reports whether the cache is open.
func (c *Cache) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memcache: ping: %w", err)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return fmt.Errorf("memcache: ping: %w", errClosed)
	}
	return nil
}

// Close drops every entry; Get, Set and Ping fail after it. Closing again
// does nothing.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.entries = nil
	c.byTime = nil
	return nil
}

// sweep drops every entry expired at now. c.mu must be held for writing.
func (c *Cache) sweep(now time.Time) {
	for len(c.byTime) > 0 && c.byTime[0].expired(now) {
		c.remove(c.byTime[0])
	}
}

// remove drops e. c.mu must be held for writing.
func (c *Cache) remove(e *entry) {
	heap.Remove(&c.byTime, e.index)
	delete(c.entries, e.key)
}

type entry struct {
	key     string
	value   []byte
	expires time.Time
	seq     uint64
	index   int // in the heap
}

// expired reports whether e's time is up at now.
func (e *entry) expired(now time.Time) bool { return !now.Before(e.expires) }

// expiryHeap is a min-heap of entries by expiry, then by Set order.
type expiryHeap []*entry

func (h expiryHeap) Len() int { return len(h) }

func (h expiryHeap) Less(i, j int) bool {
	if !h[i].expires.Equal(h[j].expires) {
		return h[i].expires.Before(h[j].expires)
	}
	return h[i].seq < h[j].seq
}

func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *expiryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}
