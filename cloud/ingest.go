package cloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/internal/retry"
	"github.com/zoner-family/zoner/syncproto"
)

// The Kafka headers the bridge writes.
const (
	HeaderID     = "zoner-id"
	HeaderFamily = "zoner-family"
)

// Ingest moves events from Kafka into the warehouse: it polls a batch,
// decodes and validates every record, sends the ones that can never be
// ingested to the dead-letter topic, writes the rest (deduplicated by id),
// and only then commits the batch's offsets. A warehouse that is down is
// waited for, with backoff, for as long as it takes: the batch is neither
// committed nor dropped, and lag grows until the warehouse is back.
type Ingest struct {
	Consumer Consumer
	Dead     DeadLetters
	Store    *Store
	Logger   *slog.Logger
	Metrics  *Metrics
	// MinBackoff and MaxBackoff bound the waits between retries of a
	// failed write (200 ms and 30 s by default).
	MinBackoff, MaxBackoff time.Duration
	// WriteTimeout bounds one attempt at a warehouse write (1 min by
	// default): a warehouse that hangs counts as down, and is retried.
	WriteTimeout time.Duration
}

// Run ingests until ctx ends.
func (in *Ingest) Run(ctx context.Context) error {
	m := in.Metrics.get()
	for {
		recs, err := in.Consumer.Poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			in.Logger.Warn("ingest: poll", "err", err)
			if !retry.Sleep(ctx, time.Second) {
				return nil
			}
			continue
		}
		if len(recs) == 0 {
			continue
		}
		start := time.Now()
		if err := in.batch(ctx, recs); err != nil {
			if ctx.Err() != nil {
				return nil // not committed: the next owner of the partitions redoes it
			}
			return err
		}
		if err := in.Consumer.Commit(ctx); err != nil {
			// The batch is in the warehouse; whoever gets the partitions
			// delivers it again and the merge ignores it.
			inc(m.commitErrors)
			in.Logger.Warn("ingest: commit offsets", "err", err)
		}
		since(m.batch, start)
	}
}

func (in *Ingest) batch(ctx context.Context, recs []Record) error {
	m := in.Metrics.get()
	add(m.records, len(recs))
	rows, poison := Decode(recs, time.Now())
	for _, p := range poison {
		err := in.retry(ctx, "dead letter", func() error { return in.Dead.DeadLetter(ctx, p.Record, p.Reason) })
		if err != nil {
			return err
		}
		inc(m.deadLetters)
		in.Logger.Warn("ingest: event dead-lettered", "topic", p.Record.Topic, "partition", p.Record.Partition,
			"offset", p.Record.Offset, "reason", p.Reason)
	}
	var fresh int
	timeout := in.WriteTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	// One write at a time runs against the warehouse. A write that takes
	// longer than timeout counts as a failure (the warehouse is down, or
	// its driver is stuck retrying), but is not started again while it
	// still runs: the next attempt waits for it, so a hung warehouse never
	// piles up writes.
	var pending *attempt
	err := in.retry(ctx, "warehouse write", func() error {
		if pending == nil {
			pending = in.write(ctx, rows, 10*timeout)
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-pending.done:
		case <-t.C:
			inc(m.warehouseErrors)
			return fmt.Errorf("the warehouse has not answered in %s", timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
		a := pending
		pending = nil
		if a.err != nil {
			inc(m.warehouseErrors)
			return a.err
		}
		since(m.warehouseWrite, a.start)
		fresh = a.n
		return nil
	})
	add(m.fresh, fresh)
	add(m.repeats, len(rows)-fresh)
	return err
}

// attempt is one warehouse write running in the background.
type attempt struct {
	start time.Time
	done  chan struct{}
	n     int
	err   error
}

// write starts a warehouse write that gives up after limit.
func (in *Ingest) write(ctx context.Context, rows []Row, limit time.Duration) *attempt {
	a := &attempt{start: time.Now(), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		wctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		a.n, a.err = in.Store.Write(wctx, rows)
	}()
	return a
}

// retry runs op until it succeeds or ctx ends, backing off with jitter
// from MinBackoff to MaxBackoff.
func (in *Ingest) retry(ctx context.Context, what string, op func() error) error {
	lo, hi := in.MinBackoff, in.MaxBackoff
	if lo <= 0 {
		lo = 200 * time.Millisecond
	}
	if hi <= 0 {
		hi = 30 * time.Second
	}
	attempts := 0
	err := retry.Do(ctx, retry.Policy{Initial: lo, Max: hi, Jitter: true,
		OnRetry: func(attempt int, err error, wait time.Duration) {
			in.waiting(1)
			in.Logger.Warn("ingest: "+what+" failed; retrying", "attempt", attempt, "wait", wait, "err", err)
		}}, func(context.Context) error {
		attempts++
		return op()
	})
	if err == nil && attempts > 1 {
		in.Logger.Info("ingest: "+what+" succeeded again", "attempts", attempts)
		in.waiting(0)
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (in *Ingest) waiting(v float64) {
	if in.Metrics != nil {
		in.Metrics.waiting.Set(v)
	}
}

// Poison is a record that can never be ingested, and why.
type Poison struct {
	Record Record
	Reason string
}

// Decode turns records into warehouse rows: each must hold a valid event
// (or, of a schema version newer than this build, at least a valid
// header) whose id and family match the record's headers. Repeats of an
// id within the batch are dropped. Everything else is poison.
func Decode(recs []Record, now time.Time) ([]Row, []Poison) {
	rows := make([]Row, 0, len(recs))
	var poison []Poison
	seen := make(map[uuid.UUID]bool, len(recs))
	for _, r := range recs {
		h, err := decodeRecord(r)
		if err != nil {
			poison = append(poison, Poison{Record: r, Reason: err.Error()})
			continue
		}
		if seen[h.ID] {
			continue
		}
		seen[h.ID] = true
		rows = append(rows, Row{
			ID: h.ID, Family: h.FamilyID, Member: h.MemberID, Type: h.Type, Start: h.Start, End: h.End,
			TZ: h.TZ, HLC: h.HLC.String(), Payload: r.Value, Topic: r.Topic, Partition: r.Partition,
			Offset: r.Offset, IngestedAt: now.UTC(),
		})
	}
	return rows, poison
}

func decodeRecord(r Record) (syncproto.Header, error) {
	e, err := syncproto.Unmarshal(r.Value)
	h := e.Header
	if err != nil {
		hh, herr := syncproto.DecodeHeader(r.Value)
		if herr != nil || hh.V <= syncproto.CurrentVersion {
			return h, fmt.Errorf("invalid event: %w", err)
		}
		h = hh // a newer version: kept, as hubs keep it
	}
	if id := r.Headers[HeaderID]; id != "" && id != h.ID.String() {
		return h, errors.New("header " + HeaderID + " " + id + " differs from the event's id " + h.ID.String())
	}
	if f := r.Headers[HeaderFamily]; f != "" && f != h.FamilyID.String() {
		return h, errors.New("header " + HeaderFamily + " " + f + " differs from the event's family " + h.FamilyID.String())
	}
	return h, nil
}
