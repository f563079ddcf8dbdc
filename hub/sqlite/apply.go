package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// Apply folds a batch of events into the state in one transaction, with
// the batch's last sequence; events at or below the applied sequence are
// skipped, so a redelivered batch changes nothing.
func (s *Store) Apply(ctx context.Context, events []hub.Event) (hub.Changes, error) {
	changes := hub.Changes{Members: map[uuid.UUID]bool{}, Trips: map[uuid.UUID]bool{}, Advice: map[uuid.UUID]bool{}}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return changes, fmt.Errorf("apply: %w", err)
	}
	defer tx.Rollback()
	applied, err := appliedSeq(ctx, tx)
	if err != nil {
		return changes, err
	}
	if s.targets == nil {
		if s.targets, err = loadTargets(ctx, tx); err != nil {
			return changes, err
		}
	}
	// The fold's statements run without ctx: the driver would watch a
	// context that can end on a goroutine of its own for each statement.
	// The loop checks ctx between events instead.
	s.stmts.use(s.db)
	fold := &txFold{ctx: context.WithoutCancel(ctx), q: tx, tx: tx, cache: &s.stmts, at: s.now().UnixMilli(), targets: s.targets}
	news, err := newsHLC(ctx, tx)
	if err != nil {
		return changes, err
	}
	before := news
	last := applied
	decoded := decodeAhead(ctx, events, applied)
	for i, ev := range events {
		if ev.Seq <= applied {
			continue
		}
		d, ok := <-decoded[i]
		if !ok || ctx.Err() != nil {
			return changes, fmt.Errorf("apply: %w", context.Cause(ctx))
		}
		if ev.Seq != last+1 {
			// The events between were delivered and not applied: recording
			// this position would lose them for good. (The hub's stream
			// never deletes messages, so its sequences have no holes; a
			// hole whose loss the owner accepted arrives as Lost events.)
			return changes, fmt.Errorf("apply: got event %d, want %d: the feed skipped events; not applying past them", ev.Seq, last+1)
		}
		last = ev.Seq
		if err := s.applyOne(ctx, tx, ev, d, fold, &changes, &news); err != nil {
			return changes, fmt.Errorf("apply event %d: %w", ev.Seq, err)
		}
	}
	if last == applied {
		return changes, nil
	}
	if err := s.pruneRaw(ctx, tx); err != nil {
		return changes, err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('applied_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", strconv.FormatUint(last, 10)); err != nil {
		return changes, fmt.Errorf("apply: record position: %w", err)
	}
	if news != before {
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('news_hlc', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", news.String()); err != nil {
			return changes, fmt.Errorf("apply: record newest stamp: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return changes, fmt.Errorf("apply: commit: %w", err)
	}
	// The batch is applied; a statement that fails to prepare now is
	// prepared for each transaction instead, and asked for again.
	s.stmts.prepare(ctx)
	return changes, nil
}

func appliedSeq(ctx context.Context, q querier) (uint64, error) {
	var v string
	err := q.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'applied_seq'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read applied position: %w", err)
	}
	return strconv.ParseUint(v, 10, 64)
}

// newsHLC is the greatest stamp of the applied events other than the
// cloud's advice: what the hub's own plans are based on.
func newsHLC(ctx context.Context, q querier) (syncproto.HLC, error) {
	var v string
	err := q.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'news_hlc'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return syncproto.HLC{}, nil
	}
	if err != nil {
		return syncproto.HLC{}, fmt.Errorf("read newest stamp: %w", err)
	}
	return syncproto.ParseHLC(v)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// decoded is an event's JSON decoded: the envelope, or why it cannot be,
// with its header when that can be read.
type decoded struct {
	env    syncproto.Envelope
	err    error
	header syncproto.Header
	hErr   error
}

func decode(raw []byte) decoded {
	var d decoded
	d.env, d.err = syncproto.Unmarshal(raw)
	d.header = d.env.Header
	if d.err != nil {
		var h syncproto.Header
		if h, d.hErr = syncproto.DecodeHeader(raw); d.hErr == nil {
			d.header = h
		}
	}
	return d
}

// decodeAhead decodes the events after applied on goroutines of their
// own (as many as the machine runs at once), taking them in order, so
// that decoding overlaps with storing: each channel gets its event's
// decoding, or is closed when ctx ends first. Lost events and those at or
// below applied get nothing.
func decodeAhead(ctx context.Context, events []hub.Event, applied uint64) []chan decoded {
	out := make([]chan decoded, len(events))
	for i := range out {
		out[i] = make(chan decoded, 1)
	}
	var next atomic.Int64
	for range max(1, min(runtime.GOMAXPROCS(0), len(events)/16)) {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(events) {
					return
				}
				switch ev := events[i]; {
				case ev.Seq <= applied:
				case ctx.Err() != nil:
					close(out[i])
				case ev.Lost:
					out[i] <- decoded{}
				default:
					out[i] <- decode(ev.Raw)
				}
			}
		}()
	}
	return out
}

func (s *Store) applyOne(ctx context.Context, tx *sql.Tx, ev hub.Event, d decoded, fold *txFold, changes *hub.Changes, news *syncproto.HLC) error {
	if ev.Lost {
		// The log lacks it, and so does the state: its JSON reads as null.
		_, err := fold.exec(`INSERT INTO events (seq, type, hlc, v, status, reason) VALUES (?, '', 0, 0, ?, ?)`,
			ev.Seq, string(hub.StatusIgnored), hub.LostReason)
		return err
	}
	status, reason := hub.StatusApplied, ""
	e, h := d.env, d.header
	if d.err != nil {
		status, reason = hub.StatusIgnored, d.err.Error()
		if d.hErr == nil && h.V > syncproto.CurrentVersion {
			status, reason = hub.StatusUnsupported, "schema version "+strconv.Itoa(h.V)+" is newer than this hub reads; kept for after an upgrade"
		}
	}
	var hlc int64
	if h.ID != uuid.Nil {
		hlc = hlcInt(h.HLC)
	}
	res, err := fold.exec(`INSERT INTO events (seq, id, type, member_id, hlc, v, status, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		ev.Seq, idBlob(h.ID), string(h.Type), idBlob(h.MemberID), hlc, h.V, string(status), reason)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // the same id earlier in the log: applied once already
	}
	if s.keepsRaw(ev.Seq) {
		if _, err := fold.exec("INSERT INTO recent (seq, at_ms, raw) VALUES (?, ?, ?)", ev.Seq, fold.at, ev.Raw); err != nil {
			return err
		}
	}
	if status != hub.StatusApplied {
		return nil
	}
	var horizon time.Time
	if s.Now != nil {
		horizon = s.Now().Add(family.StampHorizon)
	}
	fold.fresh = h.ID // the insert found no event with its id
	c, err := family.ApplyAt(fold, e, horizon)
	fold.fresh = uuid.Nil
	if err != nil {
		return err
	}
	if c.Ignored != "" {
		_, err := tx.ExecContext(ctx, "UPDATE events SET status = ?, reason = ? WHERE seq = ?", string(hub.StatusIgnored), c.Ignored, ev.Seq)
		return err
	}
	if e.Type != syncproto.TypeRecommendationUpdated && e.HLC.Compare(*news) > 0 {
		*news = e.HLC
	}
	changes.Family = changes.Family || c.Household
	for _, m := range c.Members {
		if c.Advice {
			changes.Advice[m] = true // shown on Today; the hub's plan stands
		} else {
			changes.Members[m] = true
		}
	}
	if c.Trip != uuid.Nil {
		changes.Trips[c.Trip] = true
	}
	return nil
}
