package hub

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/zoner-family/zoner/internal/retry"
)

// Projector applies the log to the store, in order and exactly once (the
// store records the applied sequence in the same transaction as the
// changes), and tells the re-planner and listeners what changed.
type Projector struct {
	store   Store
	feed    Feed
	log     Log
	logger  *slog.Logger
	metrics *Metrics
	// OnChange, when set, is called after each applied batch, from the
	// projector's goroutine.
	onChange func(Changes, uint64)

	mu      sync.Mutex
	applied uint64
	advance chan struct{} // closed and replaced whenever applied grows
	// accepted is the sequence up to which the owner accepted what the
	// log lost: a gap at or below it is moved past with Lost events.
	accepted uint64
	// lagAt is when a busy step last measured the lag (the projector's
	// goroutine only).
	lagAt time.Time
	// fault, once set, is why the hub takes no writes: the log is damaged
	// in a way only its owner can settle. Applying stops.
	fault *Error

	// The writer hands what it appended straight to the projector, which
	// applies it without a round trip to the feed: offered are those
	// events not yet applied, in log order, and appending counts the
	// appends under way whose events will be offered. kick wakes the
	// projector when events are offered.
	offered   []Event
	appending int
	kick      chan struct{}
	// feedBehind is set once the projector has applied offered events
	// the feed has not delivered: before it reads the feed again, the
	// feed is moved past them (the projector's goroutine only).
	feedBehind bool
	// logEnd is the log's last sequence when the projector last asked
	// (the projector's goroutine only; unknown, the most, until then).
	logEnd uint64
}

// appendWaker is a Feed that tells what the hub's appends stored: the
// newest sequence, and a channel closed once a later append stores more.
// With it, an idle projector waits for the writer's offers (or that
// channel) instead of waiting on the feed, so that offers are taken at
// once.
type appendWaker interface {
	Appended() (uint64, <-chan struct{})
}

// maxOffered bounds the events offered and not yet applied: past it
// offers are dropped, and the projector reads them from the feed.
const maxOffered = 16 * 1024

// handOffBatch is the most offered events the projector applies at once,
// as many as it takes from the feed.
const handOffBatch = 512

// lagEvery is how often a projector applying events measures its lag.
const lagEvery = 250 * time.Millisecond

// NewProjector returns a projector that starts after the store's applied
// sequence. onChange may be nil.
func NewProjector(ctx context.Context, store Store, feed Feed, log Log, logger *slog.Logger, m *Metrics, onChange func(Changes, uint64)) (*Projector, error) {
	seq, err := store.AppliedSeq(ctx)
	if err != nil {
		return nil, err
	}
	return &Projector{store: store, feed: feed, log: log, logger: logger, metrics: m, onChange: onChange, applied: seq,
		advance: make(chan struct{}), kick: make(chan struct{}, 1), logEnd: math.MaxUint64}, nil
}

// AcceptLoss makes the projector move past what the log lacks at or below
// seq (holes whose loss the owner accepted) instead of stopping there.
func (p *Projector) AcceptLoss(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accepted = seq
}

// Fault is why the hub takes no writes, nil when it takes them: the log is
// damaged (it lacks events the state needs) and its owner must act.
func (p *Projector) Fault() *Error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fault
}

// SetFault stops applying and writing for good (until a restart), and
// says why, once.
func (p *Projector) SetFault(missing []SeqRange) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fault != nil {
		return
	}
	p.fault = DamageError(missing)
	close(p.advance) // wake waiters: they see the fault
	p.advance = make(chan struct{})
	p.logger.Error("the event log is damaged: the hub takes no writes and serves what its state holds",
		"lost", FormatRanges(missing), "lost_events", CountRanges(missing), "applied_seq", p.applied,
		"action", "stop the hub and run `zoner-hub rebuild` for a report, then `zoner-hub rebuild -accept-loss` to rebuild from what the log holds")
}

// Applied is the sequence of the last applied event.
func (p *Projector) Applied() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.applied
}

// WaitApplied waits until every event up to seq is applied. It gives up
// after a few seconds with an unavailable error, so that a stuck store
// turns into a clear answer rather than a hung request.
func (p *Projector) WaitApplied(ctx context.Context, seq uint64) error {
	timer := time.NewTimer(5 * time.Second)
	defer timer.Stop()
	for {
		p.mu.Lock()
		applied, ch, fault := p.applied, p.advance, p.fault
		p.mu.Unlock()
		if applied >= seq {
			return nil
		}
		if fault != nil {
			return fault
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return Errorf(CodeUnavailable, "the hub is still applying earlier events; retry in a moment")
		}
	}
}

// Run applies events until ctx ends. Failures are logged and retried with
// backoff (50 ms doubling to 10 s); they never stop the loop.
func (p *Projector) Run(ctx context.Context) {
	policy := retry.Policy{Initial: 50 * time.Millisecond, Max: 10 * time.Second,
		OnRetry: func(_ int, err error, wait time.Duration) {
			p.logger.Error("projector", "err", err, "retry_in", wait)
			// What the feed delivered and the store did not apply is not
			// acknowledged; taking the next batch would skip it, and its
			// acknowledgement would cover the skipped events too. Deliver
			// again from the first event not applied.
			if err := p.reposition(ctx); err != nil && ctx.Err() == nil {
				p.logger.Error("projector: reposition the feed", "err", err)
			}
		}}
	for ctx.Err() == nil && p.Fault() == nil {
		retry.Do(ctx, policy, p.step)
	}
}

// Appending tells the projector that an append is under way whose events
// will be offered with Appended: rather than wait on the feed, it waits
// for them.
func (p *Projector) Appending() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.appending++
}

// Appended ends an append announced with Appending and offers the events
// it stored (each with its sequence and raw form, as the feed delivers
// them; nil when the append failed). The projector applies them as soon
// as they follow what it applied, without reading them from the feed;
// anything else it reads from the feed as before.
func (p *Projector) Appended(events []Event) {
	p.mu.Lock()
	p.appending--
	if len(p.offered)+len(events) <= maxOffered {
		for _, e := range events {
			if e.Seq > p.applied {
				p.offered = append(p.offered, Event{Seq: e.Seq, Raw: e.Raw})
			}
		}
		if !slices.IsSortedFunc(p.offered, bySeq) {
			slices.SortStableFunc(p.offered, bySeq)
		}
	}
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// hasOffered reports whether offers wait that do not follow the applied
// sequence: the feed holds what comes between.
func (p *Projector) hasOffered() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.offered) > 0
}

func bySeq(a, b Event) int {
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// takeOffered returns the offered events that follow the applied
// sequence without a gap, at most handOffBatch of them, and drops those
// applied already. wait is set when there are none and an append is
// under way: its events are about to be offered.
func (p *Projector) takeOffered() (batch []Event, wait bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := 0
	for i < len(p.offered) && p.offered[i].Seq <= p.applied {
		i++
	}
	p.offered = p.offered[i:]
	if len(p.offered) == 0 {
		p.offered = nil
		return nil, p.appending > 0
	}
	n := 0
	for n < len(p.offered) && n < handOffBatch && p.offered[n].Seq == p.applied+1+uint64(n) {
		n++
	}
	return slices.Clone(p.offered[:n]), false
}

func (p *Projector) step(ctx context.Context) error {
	batch, wait := p.takeOffered()
	var grew <-chan struct{}
	if w, ok := p.feed.(appendWaker); ok && len(batch) == 0 && !wait && !p.hasOffered() {
		// Idle: if the log holds nothing past what is applied, wait for
		// the writer's next offer rather than on the feed.
		var appended uint64
		appended, grew = w.Appended()
		wait = max(appended, p.logEnd) <= p.Applied()
	}
	if wait {
		// The writer is appending: its events come sooner from it than
		// through the feed. Should it take long, look at the log's end.
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-p.kick:
		case <-grew:
		case <-t.C:
			p.updateLag(ctx)
		case <-ctx.Done():
		}
		return nil
	}
	var ack func() error
	if len(batch) > 0 {
		p.feedBehind = true
	} else {
		if p.feedBehind {
			// What was applied from offers stays unread in the feed:
			// start it after the applied sequence instead.
			if err := p.reposition(ctx); err != nil {
				return err
			}
		}
		var err error
		if batch, ack, err = p.feed.Next(ctx, 512); err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return nil
			}
			return err
		}
	}
	if len(batch) == 0 {
		p.updateLag(ctx)
		return nil
	}
	batch, missing := p.fillGaps(batch)
	if len(missing) > 0 {
		// A hole in the log: waiting would never fill it, and applying
		// past it would record its events as applied. Apply what comes
		// before it, then stop and say so.
		defer p.SetFault(missing)
		ack = nil
		if len(batch) == 0 {
			return nil
		}
	}
	changes, err := p.store.Apply(ctx, batch)
	if err != nil {
		return err
	}
	last := batch[len(batch)-1].Seq
	if ack != nil {
		if err := ack(); err != nil {
			// The store already holds the batch; a redelivery is skipped.
			p.logger.Warn("projector ack", "err", err)
		}
	}
	p.mu.Lock()
	if last > p.applied {
		p.applied = last
		close(p.advance)
		p.advance = make(chan struct{})
	}
	p.mu.Unlock()
	// Asking the log for its end is a round trip to JetStream: while
	// events stream in, once in a while is enough (an idle step asks each
	// time).
	if now := time.Now(); now.Sub(p.lagAt) >= lagEvery {
		p.lagAt = now
		p.updateLag(ctx)
	}
	if p.onChange != nil && !changes.Empty() {
		p.onChange(changes, last)
	}
	return nil
}

// fillGaps puts a Lost event in every gap of batch (after the applied
// sequence) whose loss the owner accepted, and returns the gaps that were
// not accepted.
func (p *Projector) fillGaps(batch []Event) ([]Event, []SeqRange) {
	p.mu.Lock()
	prev, accepted := p.applied, p.accepted
	p.mu.Unlock()
	var out []Event
	for _, e := range batch {
		if e.Seq <= prev {
			continue
		}
		for s := prev + 1; s < e.Seq; s++ {
			if s > accepted {
				return out, []SeqRange{{s, e.Seq - 1}}
			}
			out = append(out, Event{Seq: s, Lost: true})
		}
		out = append(out, e)
		prev = e.Seq
	}
	if out == nil {
		return batch, nil // all already applied: the store skips them
	}
	return out, nil
}

func (p *Projector) reposition(ctx context.Context) error {
	seq, err := p.store.AppliedSeq(ctx)
	if err != nil {
		return err
	}
	if err := p.feed.Reset(ctx, seq+1); err != nil {
		return err
	}
	p.feedBehind = false
	return nil
}

func (p *Projector) updateLag(ctx context.Context) {
	last, err := p.log.LastSeq(ctx)
	if err != nil {
		p.logEnd = math.MaxUint64 // unknown: read the feed
		return
	}
	p.logEnd = last
	applied := p.Applied()
	if last < applied {
		// The log's end went missing under the state: the next write
		// would get a sequence already applied, and never be applied.
		p.SetFault([]SeqRange{{last + 1, applied}})
	}
	if last > applied {
		p.metrics.ProjectorLag(float64(last - applied))
	} else {
		p.metrics.ProjectorLag(0)
	}
}

// CatchUp waits until every event in the log at the time of the call is
// applied.
func (p *Projector) CatchUp(ctx context.Context) error {
	last, err := p.log.LastSeq(ctx)
	if err != nil {
		return err
	}
	for {
		err := p.WaitApplied(ctx, last)
		if err == nil || ErrorCodeOf(err) != CodeUnavailable || p.Fault() != nil {
			return err
		}
		p.logger.Info("catching up with the event log", "applied", p.Applied(), "last", last)
	}
}
