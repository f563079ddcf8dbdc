package hub

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// MemberClock is what calibration learned of one member's body clock, and
// when.
type MemberClock struct {
	MemberID   uuid.UUID               `json:"member_id"`
	Clock      circadian.PersonalClock `json:"clock"`
	ComputedAt time.Time               `json:"computed_at"`
}

// ClockStore is what the calibrator reads and keeps: the members, their
// trips and logs, and what it learned.
type ClockStore interface {
	Members(ctx context.Context) ([]Member, error)
	Member(ctx context.Context, id uuid.UUID) (*Member, error)
	TripsOf(ctx context.Context, member uuid.UUID) ([]uuid.UUID, error)
	Trip(ctx context.Context, id uuid.UUID) (*Trip, error)
	MemberLogs(ctx context.Context, member uuid.UUID, w circadian.LogWindow) ([]circadian.Log, error)
	SaveClock(ctx context.Context, c MemberClock) error
	DeleteClock(ctx context.Context, member uuid.UUID) error
	Clocks(ctx context.Context) ([]MemberClock, error)
}

// PriorSource gives the population's prior period for people of an age
// band and chronotype, as the cloud learned it; ok false means the
// planner's built-in prior.
type PriorSource interface {
	Lookup(band syncproto.AgeBand, chronotype syncproto.Chronotype) (p circadian.ClockPrior, ok bool)
}

// Calibration settings.
const (
	// CalibrationWindow is how far back the calibrator reads a member's
	// logs. The filter's daily process noise forgets older nights' phase
	// within weeks; half a year still narrows the period, and bounds the
	// work (about a second a member on one core).
	CalibrationWindow = 180 * 24 * time.Hour
	// CalibrationParticles is the filter's size on the hub.
	CalibrationParticles = 200
	// CalibrationQuiet is the pause in a member's changes before the
	// calibrator starts: a day's logs synced at once make one run.
	CalibrationQuiet = 2 * time.Second
)

// Calibrator learns each member's body clock from their logged nights in
// the background (circadian.Calibrate), keeps what it learned, and tells
// the re-planner, so that plans use a person's own clock once it is
// confident. Until a run finishes, plans use the previous estimate: each
// plan carries the estimate it was made with (nights, and logs through
// when).
type Calibrator struct {
	store  ClockStore
	priors PriorSource
	now    func() time.Time
	logger *slog.Logger
	// Model names the planner's body-clock model ("" is the default).
	Model string
	// OnClock, when set, is called after a member's clock was learned
	// anew or forgotten.
	OnClock func(ctx context.Context, member uuid.UUID)
	// Quiet is CalibrationQuiet unless set.
	Quiet time.Duration

	mu      sync.Mutex
	clocks  map[uuid.UUID]MemberClock
	dirty   map[uuid.UUID]time.Time // member → when last marked
	running map[uuid.UUID]bool
	wake    chan struct{}
	idle    chan struct{} // closed when no work is pending or running
}

// NewCalibrator returns a calibrator over store; priors may be nil.
func NewCalibrator(store ClockStore, priors PriorSource, now func() time.Time, logger *slog.Logger) *Calibrator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	idle := make(chan struct{})
	close(idle)
	return &Calibrator{store: store, priors: priors, now: now, logger: logger, Quiet: CalibrationQuiet,
		clocks: map[uuid.UUID]MemberClock{}, dirty: map[uuid.UUID]time.Time{}, running: map[uuid.UUID]bool{},
		wake: make(chan struct{}, 1), idle: idle}
}

// Load reads what was learned before, and marks every member for a run:
// logs may have come while the hub was off.
func (c *Calibrator) Load(ctx context.Context) error {
	saved, err := c.store.Clocks(ctx)
	if err != nil {
		return err
	}
	members, err := c.store.Members(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	for _, s := range saved {
		c.clocks[s.MemberID] = s
	}
	c.mu.Unlock()
	for _, m := range members {
		c.mark(m.ID, time.Time{})
	}
	return nil
}

// MarkAll marks every member for a run, as when the priors change.
func (c *Calibrator) MarkAll(ctx context.Context) error {
	members, err := c.store.Members(ctx)
	if err != nil {
		return err
	}
	at := time.Now()
	for _, m := range members {
		c.mark(m.ID, at)
	}
	return nil
}

// Clock is the member's clock for the planner: nil when nothing was
// learned.
func (c *Calibrator) Clock(member uuid.UUID) *circadian.PersonalClock {
	c.mu.Lock()
	defer c.mu.Unlock()
	mc, ok := c.clocks[member]
	if !ok {
		return nil
	}
	pc := mc.Clock
	return &pc
}

// Status is what was learned of a member (ok false: nothing yet) and
// whether a run is pending or under way.
func (c *Calibrator) Status(member uuid.UUID) (mc MemberClock, ok, updating bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	mc, ok = c.clocks[member]
	_, pending := c.dirty[member]
	return mc, ok, pending || c.running[member]
}

// Changed marks the members whose sleep logs or records a batch changed.
func (c *Calibrator) Changed(ch Changes) {
	at := time.Now()
	for m, logs := range ch.Logs {
		for _, l := range logs {
			if l.Kind == circadian.LogSleep || l.Kind == circadian.LogLight {
				c.mark(m, at)
				break
			}
		}
	}
	for m := range ch.Members {
		c.mark(m, at)
	}
	for range ch.Trips {
		// A trip moves where its travellers slept; which travellers is
		// the trip's, so everyone is looked at again (cheap when
		// nothing was logged).
		c.mu.Lock()
		for m := range c.clocks {
			c.dirty[m] = at
		}
		c.mu.Unlock()
		break
	}
}

func (c *Calibrator) mark(member uuid.UUID, at time.Time) {
	c.mu.Lock()
	c.dirty[member] = at
	select {
	case <-c.idle:
		c.idle = make(chan struct{})
	default:
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Idle returns a channel closed when no calibration is pending or running.
func (c *Calibrator) Idle() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idle
}

// Run calibrates marked members, one at a time, until ctx ends.
func (c *Calibrator) Run(ctx context.Context) {
	for {
		member, wait, ok := c.next()
		if !ok {
			select {
			case <-c.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.wake:
				t.Stop()
			case <-ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		began := time.Now()
		changed, err := c.calibrate(ctx, member)
		c.logger.Debug("calibrated a body clock", "member", member, "changed", changed, "err", err, "took", time.Since(began))
		c.mu.Lock()
		delete(c.running, member)
		c.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.logger.Error("calibrate", "member", member, "err", err)
			continue
		}
		if changed && c.OnClock != nil {
			c.OnClock(ctx, member)
		}
	}
}

// next takes the member marked longest ago whose changes have paused, or
// says how long until one will have; ok false when none is marked.
func (c *Calibrator) next() (member uuid.UUID, wait time.Duration, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.dirty) == 0 {
		select {
		case <-c.idle:
		default:
			if len(c.running) == 0 {
				close(c.idle)
			}
		}
		return uuid.Nil, 0, false
	}
	var oldest time.Time
	for m, at := range c.dirty {
		if member == uuid.Nil || at.Before(oldest) {
			member, oldest = m, at
		}
	}
	if w := time.Until(oldest.Add(c.Quiet)); w > 0 && !oldest.IsZero() {
		return uuid.Nil, w, true
	}
	delete(c.dirty, member)
	c.running[member] = true
	return member, 0, true
}

// errNothingToLearn: no logged night, or a person the model does not
// cover.
var errNothingToLearn = errors.New("nothing to learn from")

// calibrate runs the filter for one member and keeps the result. It
// reports whether what the planner reads changed.
func (c *Calibrator) calibrate(ctx context.Context, member uuid.UUID) (bool, error) {
	pc, err := c.learn(ctx, member)
	if errors.Is(err, errNothingToLearn) {
		return c.forget(ctx, member)
	}
	if err != nil {
		return false, err
	}
	mc := MemberClock{MemberID: member, Clock: *pc, ComputedAt: c.now().UTC()}
	if err := c.store.SaveClock(ctx, mc); err != nil {
		return false, err
	}
	c.mu.Lock()
	old, had := c.clocks[member]
	c.clocks[member] = mc
	c.mu.Unlock()
	return !had || !samePlanClock(old.Clock, mc.Clock), nil
}

// samePlanClock reports whether the planner would plan the same from a
// and b: both unused, or both used with the same period and phase (to
// within a minute and a thousandth of an hour).
func samePlanClock(a, b circadian.PersonalClock) bool {
	if a.Confident() != b.Confident() {
		return false
	}
	if !a.Confident() {
		return true
	}
	return math.Abs(a.PlanTau-b.PlanTau) < 1e-3 && math.Abs(a.Shift-b.Shift) < 1.0/60
}

func (c *Calibrator) forget(ctx context.Context, member uuid.UUID) (bool, error) {
	c.mu.Lock()
	old, had := c.clocks[member]
	delete(c.clocks, member)
	c.mu.Unlock()
	if !had {
		return false, nil
	}
	if err := c.store.DeleteClock(ctx, member); err != nil {
		return false, err
	}
	return old.Clock.Confident(), nil
}

// learn calibrates member from the logs of the last CalibrationWindow.
func (c *Calibrator) learn(ctx context.Context, member uuid.UUID) (*circadian.PersonalClock, error) {
	m, err := c.store.Member(ctx, member)
	if err != nil {
		return nil, err
	}
	if m == nil || m.Removed || m.Data == nil {
		return nil, errNothingToLearn
	}
	p, err := circadian.PersonFromMember(m.ID, m.Data)
	if err != nil {
		return nil, errNothingToLearn // the planner cannot plan them either
	}
	now := c.now()
	if p.AgeOn(syncproto.DateOf(now.In(p.Home))).Infant() {
		return nil, errNothingToLearn // a baby's sleep is not modelled
	}
	logs, err := c.store.MemberLogs(ctx, member, circadian.LogWindow{From: now.Add(-CalibrationWindow), To: now})
	if err != nil {
		return nil, err
	}
	var first time.Time
	for _, l := range logs {
		if l.Kind == circadian.LogSleep && !l.End.IsZero() && !l.End.After(now) && (first.IsZero() || l.Start.Before(first)) {
			first = l.Start
		}
	}
	if first.IsZero() {
		return nil, errNothingToLearn
	}
	ids, err := c.store.TripsOf(ctx, member)
	if err != nil {
		return nil, err
	}
	var trips []circadian.Trip
	for _, id := range ids {
		t, err := c.store.Trip(ctx, id)
		if err != nil {
			return nil, err
		}
		if t == nil || t.Removed || t.Data == nil {
			continue
		}
		if tr, err := circadian.TripFromEvent(t.Data); err == nil {
			trips = append(trips, tr)
		}
	}
	in := circadian.CalibrationInput{Person: p, Model: c.Model, Start: first.Add(-24 * time.Hour), End: now,
		Logs: logs, Where: circadian.Whereabouts(p.Home, trips), Particles: CalibrationParticles,
		Seed: binary.BigEndian.Uint64(member[8:])}
	if c.priors != nil {
		if prior, ok := c.priors.Lookup(p.AgeOn(syncproto.DateOf(now.In(p.Home))).Band, p.Chronotype); ok {
			in.Prior = &prior
		}
	}
	cal, err := circadian.Calibrate(in)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", member, err)
	}
	pc := cal.Personal()
	return &pc, nil
}
