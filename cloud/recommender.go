package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/internal/retry"
	"github.com/zoner-family/zoner/syncproto"
	"golang.org/x/sync/singleflight"
)

// Downlink sends an event the cloud made down to the family's hubs.
type Downlink interface {
	Send(ctx context.Context, h syncproto.Header, raw []byte) error
}

// Recommender keeps every active member's recommendation fresh in the
// cache. It consumes the event topics as its own consumer group and folds
// each family's events in memory (loading a family's history from the
// warehouse the first time it sees it), re-plans a member at once on a
// critical event and every Refresh for members of recently active
// families, writes one cache key per member and sends changed advice down
// to the family's hubs.
//
// A Recommender that does not Run (the API's) keeps no state: it computes
// a missing recommendation from the warehouse, once for concurrent misses.
type Recommender struct {
	Planner   *circadian.Planner
	Warehouse Warehouse
	Cache     Cache
	Down      Downlink // nil sends nothing down
	// Notify, when set, is told after a member's recommendation is
	// written to the cache: at once for a critical event, and on the
	// refresh when the advice changed. The API's live streams pass it on.
	Notify  NoticePublisher
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics *Metrics
	// TTL is how long a cached recommendation lives (6 h by default);
	// Refresh how often active members are re-planned (60 s); Active how
	// recent a family's last event must be for that (24 h); Reload how
	// often an active family's history is read again from the warehouse
	// (10 min), which fills in anything this process did not see.
	TTL, Refresh, Active, Reload time.Duration

	once     sync.Once
	clock    *syncproto.Clock
	mu       sync.Mutex
	families map[uuid.UUID]*entry
	flight   singleflight.Group
	keep     bool
}

type entry struct {
	mu       sync.Mutex
	fam      *Family
	touched  time.Time // when this process last received an event of the family
	loadedAt time.Time
	sent     map[uuid.UUID]uint64 // fingerprint of the advice last sent down, by member
	notified map[uuid.UUID]uint64 // fingerprint of the advice last notified, by member
}

func (r *Recommender) init() {
	r.once.Do(func() {
		r.clock = syncproto.NewClock(nil)
		r.families = map[uuid.UUID]*entry{}
		if r.Now == nil {
			r.Now = time.Now
		}
		if r.Planner == nil {
			r.Planner = &circadian.Planner{}
		}
		if r.Logger == nil {
			r.Logger = slog.New(slog.DiscardHandler)
		}
		r.TTL = orDefault(r.TTL, 6*time.Hour)
		r.Refresh = orDefault(r.Refresh, time.Minute)
		r.Active = orDefault(r.Active, 24*time.Hour)
		r.Reload = orDefault(r.Reload, 10*time.Minute)
	})
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Run consumes c until ctx ends, committing each batch after its
// recommendations are written, and re-plans active members every Refresh.
func (r *Recommender) Run(ctx context.Context, c Consumer) error {
	r.init()
	r.mu.Lock()
	r.keep = true
	r.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { r.refreshLoop(ctx) })
	defer wg.Wait()
	policy := retry.Policy{Initial: 200 * time.Millisecond, Max: 30 * time.Second,
		OnRetry: func(_ int, err error, wait time.Duration) {
			r.Logger.Warn("recommender: batch failed; retrying", "err", err, "wait", wait)
		}}
	for ctx.Err() == nil {
		retry.Do(ctx, policy, func(ctx context.Context) error {
			recs, err := c.Poll(ctx)
			if err == nil && len(recs) > 0 {
				err = r.Handle(ctx, recs)
				if err == nil {
					err = c.Commit(ctx)
				}
			}
			return err
		})
	}
	return nil
}

// Handle folds a batch of records into the families' states and re-plans
// the members its critical events affect. Records that do not hold a
// valid event are skipped (ingest dead-letters them).
func (r *Recommender) Handle(ctx context.Context, recs []Record) error {
	r.init()
	byFamily := map[uuid.UUID][]syncproto.Envelope{}
	var order []uuid.UUID
	for _, rec := range recs {
		e, err := syncproto.Unmarshal(rec.Value)
		if err != nil {
			continue
		}
		if _, ok := byFamily[e.FamilyID]; !ok {
			order = append(order, e.FamilyID)
		}
		byFamily[e.FamilyID] = append(byFamily[e.FamilyID], e)
	}
	if err := r.load(ctx, order); err != nil {
		return err
	}
	for _, id := range order {
		en, err := r.ensure(ctx, id, true)
		if err != nil {
			return err
		}
		en.mu.Lock()
		en.touched = time.Now()
		critical := map[uuid.UUID]bool{}
		for _, e := range byFamily[id] {
			c := en.fam.Apply(e)
			// A corrected entry of any kind changes the member's log as
			// much as a sleep does: re-plan at once too.
			if !c.New || !(c.Critical || c.Logged && family.Supersedes(e.Data) != uuid.Nil) {
				continue
			}
			for _, m := range c.Members {
				critical[m] = true
			}
			if t := en.fam.Trips[c.Trip]; t != nil && t.Data != nil {
				for _, m := range t.Data.Travellers {
					critical[m] = true
				}
			}
		}
		for m := range critical {
			if en.fam.Live(m) {
				r.replan(ctx, en, m, true)
			}
		}
		en.mu.Unlock()
	}
	return nil
}

// ensure returns the family's entry, loading it from the warehouse if it
// is not in memory (never seen, or forgotten by the refresh meanwhile).
// A family the warehouse does not have either gets an empty entry with
// create, and nil without.
func (r *Recommender) ensure(ctx context.Context, id uuid.UUID, create bool) (*entry, error) {
	if en := r.entry(id); en != nil {
		return en, nil
	}
	if err := r.load(ctx, []uuid.UUID{id}); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	en := r.families[id]
	if en == nil && create {
		en = r.newEntry(NewFamily(id))
		r.families[id] = en
	}
	return en, nil
}

func (r *Recommender) entry(id uuid.UUID) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.families[id]
}

// load makes sure every family is in memory, reading the ones that are not
// from the warehouse in one query.
func (r *Recommender) load(ctx context.Context, families []uuid.UUID) error {
	var missing []uuid.UUID
	r.mu.Lock()
	for _, id := range families {
		if r.families[id] == nil {
			missing = append(missing, id)
		}
	}
	r.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	rows, err := r.Warehouse.Events(ctx, missing, time.Time{})
	if err != nil {
		return fmt.Errorf("load families: %w", err)
	}
	states := Fold(rows, r.Logger)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range missing {
		if r.families[id] == nil && states[id] != nil {
			r.families[id] = r.newEntry(states[id])
		}
	}
	if r.Metrics != nil {
		r.Metrics.families.Set(float64(len(r.families)))
	}
	return nil
}

// newEntry wraps a family's state, touched now: a family just loaded is
// not idle, whatever the refresh finds before its events are applied.
func (r *Recommender) newEntry(f *Family) *entry {
	return &entry{fam: f, touched: time.Now(), loadedAt: time.Now(), sent: map[uuid.UUID]uint64{}, notified: map[uuid.UUID]uint64{}}
}

// replan computes a member's recommendation, caches it and sends changed
// advice down. en is locked by the caller.
func (r *Recommender) replan(ctx context.Context, en *entry, member uuid.UUID, critical bool) {
	m := r.Metrics.get()
	start := time.Now()
	rec, err := Recommend(r.Planner, en.fam, member, r.Now())
	if err != nil {
		inc(m.planErrors)
		r.Logger.Warn("recommender: plan", "family", en.fam.ID, "member", member, "err", err)
		return
	}
	since(m.planTime, start)
	if err := r.store(ctx, rec); err != nil {
		inc(m.planErrors)
		r.Logger.Warn("recommender: cache", "family", en.fam.ID, "member", member, "err", err)
		return
	}
	inc(m.plans)
	if critical && m.freshness != nil {
		m.freshness.Update(time.Since(en.fam.Newest.Time()).Seconds())
	}
	fp := rec.Fingerprint()
	r.notify(ctx, en, rec, fp, critical)
	if r.Down == nil {
		return
	}
	if en.sent[member] == fp {
		return
	}
	raw, e, err := rec.Event(r.clock, en.fam.Members[member].Data.HomeTZ)
	if err != nil || e == nil {
		if err != nil {
			inc(m.downErrors)
			r.Logger.Warn("recommender: make downlink event", "member", member, "err", err)
		}
		return
	}
	if err := r.Down.Send(ctx, e.Header, raw); err != nil {
		inc(m.downErrors)
		r.Logger.Warn("recommender: send down", "family", en.fam.ID, "member", member, "err", err)
		return
	}
	inc(m.downSent)
	en.sent[member] = fp
}

// notify tells the live streams that a member's advice was written: after
// a critical event always (the state changed), else when it changed.
func (r *Recommender) notify(ctx context.Context, en *entry, rec *Recommendation, fp uint64, critical bool) {
	if r.Notify == nil || !critical && en.notified[rec.Member] == fp {
		return
	}
	id := rec.Member
	if err := r.Notify.Notify(ctx, rec.Family, Notice{Kind: "plan", MemberID: &id, BasedOn: rec.BasedOn}); err != nil {
		r.Logger.Warn("recommender: notify", "family", rec.Family, "member", rec.Member, "err", err)
		return
	}
	en.notified[rec.Member] = fp
}

func (r *Recommender) store(ctx context.Context, rec *Recommendation) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return r.Cache.Set(ctx, RecommendationKey(rec.Family, rec.Member), b, r.TTL)
}

// refreshLoop re-plans the members of active families every Refresh.
func (r *Recommender) refreshLoop(ctx context.Context) {
	t := time.NewTicker(r.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.RefreshAll(ctx)
		}
	}
}

// RefreshAll re-plans every member on a trip in every family active within
// Active, reloading families whose history is older than Reload, and
// forgets families idle for longer.
func (r *Recommender) RefreshAll(ctx context.Context) {
	r.init()
	r.mu.Lock()
	var active []*entry
	var reload []uuid.UUID
	for id, en := range r.families {
		en.mu.Lock()
		idle := time.Since(en.touched) > r.Active
		stale := time.Since(en.loadedAt) > r.Reload
		en.mu.Unlock()
		if idle {
			delete(r.families, id)
			continue
		}
		active = append(active, en)
		if stale {
			reload = append(reload, id)
		}
	}
	r.mu.Unlock()
	if len(reload) > 0 {
		if rows, err := r.Warehouse.Events(ctx, reload, time.Time{}); err != nil {
			r.Logger.Warn("recommender: reload families", "err", err)
		} else {
			for _, id := range reload {
				if en := r.entry(id); en != nil {
					en.mu.Lock()
					r.merge(en, rows, id)
					en.loadedAt = time.Now()
					en.mu.Unlock()
				}
			}
		}
	}
	now := r.Now()
	for _, en := range active {
		if ctx.Err() != nil {
			return
		}
		en.mu.Lock()
		for id := range en.fam.Members {
			if en.fam.Live(id) && en.fam.CurrentTrip(id, now) != nil {
				r.replan(ctx, en, id, false)
			}
		}
		en.mu.Unlock()
	}
}

// merge applies a family's warehouse rows onto its state in memory.
func (r *Recommender) merge(en *entry, rows []Row, family uuid.UUID) {
	for _, row := range rows {
		if row.Family != family {
			continue
		}
		if e, err := syncproto.Unmarshal(row.Payload); err == nil {
			en.fam.Apply(e)
		}
	}
}

// Recommendation returns a member's recommendation as JSON: from the cache,
// or on a miss computed once however many callers miss at the same time,
// from the family in memory or else from the warehouse.
func (r *Recommender) Recommendation(ctx context.Context, family, member uuid.UUID) ([]byte, error) {
	r.init()
	m := r.Metrics.get()
	key := RecommendationKey(family, member)
	b, err := r.Cache.Get(ctx, key)
	switch {
	case err == nil:
		inc(m.cacheHits)
		return b, nil
	case errors.Is(err, ErrMiss):
		inc(m.cacheMisses)
	default:
		inc(m.cacheErrors)
		r.Logger.Warn("recommender: cache read", "err", err)
	}
	v, err, _ := r.flight.Do(key, func() (any, error) {
		f, unlock, err := r.family(ctx, family)
		if err != nil {
			return nil, err
		}
		rec, err := Recommend(r.Planner, f, member, r.Now())
		unlock()
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return nil, err
		}
		if err := r.Cache.Set(ctx, key, b, r.TTL); err != nil {
			inc(m.cacheErrors)
			r.Logger.Warn("recommender: cache write", "err", err)
		}
		return b, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// family returns a family's state, locked until unlock is called: the one
// in memory when this recommender runs, else one loaded now.
func (r *Recommender) family(ctx context.Context, id uuid.UUID) (*Family, func(), error) {
	r.mu.Lock()
	keep := r.keep
	r.mu.Unlock()
	if keep {
		en, err := r.ensure(ctx, id, false)
		if err != nil {
			return nil, nil, r.unavailable(err)
		}
		if en == nil {
			return nil, nil, &Error{Code: CodeNotFound, Message: "no family " + id.String()}
		}
		en.mu.Lock()
		if en.fam.Events() == 0 {
			en.mu.Unlock()
			return nil, nil, &Error{Code: CodeNotFound, Message: "no family " + id.String()}
		}
		return en.fam, en.mu.Unlock, nil
	}
	rows, err := r.Warehouse.Events(ctx, []uuid.UUID{id}, time.Time{})
	if err != nil {
		return nil, nil, r.unavailable(err)
	}
	f := Fold(rows, r.Logger)[id]
	if f == nil {
		return nil, nil, &Error{Code: CodeNotFound, Message: "no family " + id.String()}
	}
	return f, func() {}, nil
}

// unavailable logs a warehouse failure and answers with an error that
// tells the client to retry, without the internal details.
func (r *Recommender) unavailable(err error) error {
	r.Logger.Warn("recommender: read the warehouse", "err", err)
	return &Error{Code: CodeUnavailable, Message: "the cloud cannot read the warehouse now; try again shortly"}
}
