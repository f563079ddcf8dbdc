package hub

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
)

// Replanner keeps plans current: the projector tells it what changed, and
// it re-plans the affected travellers of the affected trips in the
// background, stores the plans and tells listeners. Changes are coalesced:
// a round starts once no change has come for ReplanQuiet, or ReplanMaxDelay
// after the first change it holds, whichever is sooner, so a burst of
// events for one member (a day's logs synced at once) makes one plan and a
// steady stream still makes one at least every ReplanMaxDelay. Changes
// that arrive while it works go into the next round.
type Replanner struct {
	store   Store
	planner *circadian.Planner
	now     func() time.Time
	logger  *slog.Logger
	metrics *Metrics
	broker  *Broker
	// quiet and maxDelay are ReplanQuiet and ReplanMaxDelay.
	quiet, maxDelay time.Duration
	// Clocks, when set, gives a member's learned body clock (see
	// Calibrator.Clock); the planner uses it when it is confident.
	Clocks func(member uuid.UUID) *circadian.PersonalClock

	mu    sync.Mutex
	dirty map[uuid.UUID]map[uuid.UUID]bool // trip → members; an empty set means every traveller
	seq   uint64
	// first and last are when the oldest and the newest change held in
	// dirty were marked, on the machine's clock (not now, the clock plans
	// are made at).
	first, last time.Time
	wake        chan struct{}
	idle        chan struct{} // closed when no work is pending or running

	// tripsOf caches the store's TripsOf by member: only a trip's own
	// events change who travels on it or whether it is live, and each
	// of them names the trip in Changes, which then clears the cache.
	tripsMu sync.Mutex
	tripsOf map[uuid.UUID][]uuid.UUID
	// windows are the log windows of the trips last planned: a change of
	// logs that none of a trip's window holds leaves its plans as they
	// are. Dropped with tripsOf, as a trip's change can move its window.
	windows map[uuid.UUID]circadian.LogWindow
}

// maxTripsOf bounds the members whose trips the re-planner caches.
const maxTripsOf = 1024

// How long changes wait to be re-planned together.
const (
	// ReplanQuiet is the pause in changes after which a round starts:
	// longer than the gap between the events of one sync or batch, short
	// enough not to be noticed.
	ReplanQuiet = 30 * time.Millisecond
	// ReplanMaxDelay is the longest a change waits while others keep
	// coming.
	ReplanMaxDelay = 250 * time.Millisecond
)

// NewReplanner returns a re-planner. now is the clock plans are made at.
func NewReplanner(store Store, planner *circadian.Planner, now func() time.Time, logger *slog.Logger, m *Metrics, b *Broker) *Replanner {
	idle := make(chan struct{})
	close(idle)
	return &Replanner{store: store, planner: planner, now: now, logger: logger, metrics: m, broker: b,
		quiet: ReplanQuiet, maxDelay: ReplanMaxDelay,
		dirty: map[uuid.UUID]map[uuid.UUID]bool{}, wake: make(chan struct{}, 1), idle: idle}
}

// Changed records what a batch changed; seq is the batch's last sequence.
func (r *Replanner) Changed(ctx context.Context, c Changes, seq uint64) {
	trips := map[uuid.UUID]map[uuid.UUID]bool{}
	for t := range c.Trips {
		trips[t] = nil
	}
	if len(c.Trips) > 0 || c.Family {
		r.forgetTrips()
	}
	for m, logs := range c.Logs {
		if c.Members[m] {
			continue // re-planned whatever its logs
		}
		ids, err := r.membersTrips(ctx, m)
		if err != nil {
			r.logger.Error("replanner: trips of member", "member", m, "err", err)
			continue
		}
		for _, t := range ids {
			if set, ok := trips[t]; (ok && set == nil) || !r.mayChange(t, logs) {
				continue
			}
			if trips[t] == nil {
				trips[t] = map[uuid.UUID]bool{}
			}
			trips[t][m] = true
		}
	}
	for m := range c.Members {
		ids, err := r.membersTrips(ctx, m)
		if err != nil {
			r.logger.Error("replanner: trips of member", "member", m, "err", err)
			continue
		}
		for _, t := range ids {
			if set, ok := trips[t]; ok && set == nil {
				continue // already every traveller
			}
			if trips[t] == nil {
				trips[t] = map[uuid.UUID]bool{}
			}
			trips[t][m] = true
		}
		// Plans of trips the member left are dropped when those trips are
		// re-planned; a removed member's plans go here.
		if len(ids) == 0 {
			if mem, err := r.store.Member(ctx, m); err == nil && mem != nil && mem.Removed {
				if err := r.store.DeletePlans(ctx, uuid.Nil, m); err == nil {
					id := m
					r.broker.Publish(Notice{Kind: "plans_removed", MemberID: &id, Seq: seq})
				}
			}
		}
	}
	r.mark(trips, seq)
}

// mayChange reports whether logs may change the plans of trip: unless the
// trip's window, as last planned, holds none of them. Logs outside a
// plan's window cannot change it (circadian.LogWindowOf), whatever the
// clock reads.
func (r *Replanner) mayChange(trip uuid.UUID, logs []circadian.Log) bool {
	r.tripsMu.Lock()
	w, ok := r.windows[trip]
	r.tripsMu.Unlock()
	if !ok {
		return true
	}
	for _, l := range logs {
		if w.Holds(l) {
			return true
		}
	}
	return false
}

// planned notes the log window of a trip as it was planned.
func (r *Replanner) planned(trip uuid.UUID, t circadian.Trip) {
	w, err := circadian.LogWindowOf(t)
	r.tripsMu.Lock()
	defer r.tripsMu.Unlock()
	if err != nil {
		delete(r.windows, trip)
		return
	}
	if r.windows == nil || len(r.windows) >= maxTripsOf {
		r.windows = map[uuid.UUID]circadian.LogWindow{}
	}
	r.windows[trip] = w
}

// membersTrips is the store's TripsOf, cached until a trip changes.
func (r *Replanner) membersTrips(ctx context.Context, m uuid.UUID) ([]uuid.UUID, error) {
	r.tripsMu.Lock()
	ids, ok := r.tripsOf[m]
	r.tripsMu.Unlock()
	if ok {
		return ids, nil
	}
	ids, err := r.store.TripsOf(ctx, m)
	if err != nil {
		return nil, err
	}
	r.tripsMu.Lock()
	defer r.tripsMu.Unlock()
	if r.tripsOf == nil || len(r.tripsOf) >= maxTripsOf {
		r.tripsOf = map[uuid.UUID][]uuid.UUID{}
	}
	r.tripsOf[m] = ids
	return ids, nil
}

func (r *Replanner) forgetTrips() {
	r.tripsMu.Lock()
	defer r.tripsMu.Unlock()
	r.tripsOf, r.windows = nil, nil
}

// ReplanAll marks every live trip for a full re-plan, as at start-up after
// an upgrade of the planner.
func (r *Replanner) ReplanAll(ctx context.Context) error {
	trips, err := r.store.Trips(ctx)
	if err != nil {
		return err
	}
	all := map[uuid.UUID]map[uuid.UUID]bool{}
	for _, t := range trips {
		if !t.Removed {
			all[t.ID] = nil
		}
	}
	r.mark(all, 0)
	return nil
}

func (r *Replanner) mark(trips map[uuid.UUID]map[uuid.UUID]bool, seq uint64) {
	if len(trips) == 0 {
		return
	}
	r.mu.Lock()
	at := time.Now()
	if len(r.dirty) == 0 {
		r.first = at
	}
	r.last = at
	for t, members := range trips {
		cur, ok := r.dirty[t]
		switch {
		case ok && len(cur) == 0:
		case len(members) == 0:
			r.dirty[t] = map[uuid.UUID]bool{}
		default:
			if cur == nil {
				cur = map[uuid.UUID]bool{}
				r.dirty[t] = cur
			}
			for m := range members {
				cur[m] = true
			}
		}
	}
	r.seq = max(r.seq, seq)
	select {
	case <-r.idle: // was idle: not any more
		r.idle = make(chan struct{})
	default:
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Idle returns a channel closed when no re-planning is pending or running.
func (r *Replanner) Idle() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.idle
}

// Run re-plans until ctx ends.
func (r *Replanner) Run(ctx context.Context) {
	for {
		r.mu.Lock()
		if len(r.dirty) == 0 {
			select {
			case <-r.idle:
			default:
				close(r.idle)
			}
			r.mu.Unlock()
			select {
			case <-r.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		// Wait for a pause in the changes, but not past the oldest's
		// deadline; a change meanwhile moves the pause.
		due := r.last.Add(r.quiet)
		if deadline := r.first.Add(r.maxDelay); deadline.Before(due) {
			due = deadline
		}
		if wait := time.Until(due); wait > 0 {
			r.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-r.wake:
				t.Stop()
			case <-ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		dirty, seq := r.dirty, r.seq
		r.dirty = map[uuid.UUID]map[uuid.UUID]bool{}
		r.mu.Unlock()
		for trip, members := range dirty {
			if ctx.Err() != nil {
				return
			}
			if err := r.replan(ctx, trip, members, seq); err != nil && ctx.Err() == nil {
				r.logger.Error("re-plan", "trip", trip, "err", err)
			}
		}
	}
}

func (r *Replanner) replan(ctx context.Context, trip uuid.UUID, members map[uuid.UUID]bool, seq uint64) error {
	in, err := r.store.PlanInputs(ctx, trip)
	if err != nil {
		return err
	}
	if in == nil { // removed or never known
		if err := r.store.DeletePlans(ctx, trip, uuid.Nil); err != nil {
			return err
		}
		r.broker.Publish(Notice{Kind: "plans_removed", TripID: &trip, Seq: seq})
		return nil
	}
	r.planned(trip, in.Trip)
	everyone := len(members) == 0
	if everyone {
		// Travellers may have changed: drop the old set first.
		if err := r.store.DeletePlans(ctx, trip, uuid.Nil); err != nil {
			return err
		}
	}
	if r.Clocks != nil {
		for i := range in.People {
			in.People[i].Clock = r.Clocks(in.People[i].ID)
		}
	}
	req := circadian.Request{Trip: in.Trip, People: in.People, Now: r.now(), Logs: in.Logs}
	var plans []StoredPlan
	for _, id := range in.Trip.Travellers {
		if !everyone && !members[id] {
			continue
		}
		sp := StoredPlan{TripID: trip, MemberID: id, Seq: in.Seq}
		start := time.Now()
		var mp *circadian.MemberPlan
		var err error
		if in.Problem != "" {
			err = errors.New(in.Problem)
		} else {
			mp, err = r.planner.PlanMember(req, id)
			r.metrics.Planned(time.Since(start))
			if err == nil {
				r.checkPlan(req, id, mp)
			}
		}
		sp.ComputedAt = r.now().UTC()
		if err != nil {
			sp.Error = planError(err)
		} else if sp.Plan, err = json.Marshal(mp); err != nil {
			return fmt.Errorf("encode plan: %w", err)
		}
		plans = append(plans, sp)
	}
	if err := r.store.SavePlans(ctx, plans); err != nil {
		return err
	}
	for _, p := range plans {
		t, m := p.TripID, p.MemberID
		r.broker.Publish(Notice{Kind: "plan", TripID: &t, MemberID: &m, Seq: p.Seq})
	}
	return nil
}

// checkPlan logs, loudly, a plan that breaks one of the planner's own
// invariants: it is still saved (a plan with a flaw beats none at 3 a.m.),
// but it is a bug to report.
func (r *Replanner) checkPlan(req circadian.Request, id uuid.UUID, mp *circadian.MemberPlan) {
	var p circadian.Person
	for _, q := range req.People {
		if q.ID == id {
			p = q
		}
	}
	for _, pr := range circadian.CheckMember(req.Trip, p, mp) {
		r.logger.Error("plan breaks an invariant of the planner; please report it", "trip", req.Trip.ID, "member", id,
			"day", pr.Day.String(), "rule", string(pr.Rule), "detail", pr.Detail)
	}
}

func planError(err error) string {
	return "no plan could be made: " + err.Error()
}
