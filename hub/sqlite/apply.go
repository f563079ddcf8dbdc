package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// Apply folds a batch of events into the state in one transaction, with
// the batch's last sequence; events at or below the applied sequence are
// skipped, so a redelivered batch changes nothing.
func (s *Store) Apply(ctx context.Context, events []hub.Event) (hub.Changes, error) {
	changes := hub.Changes{Members: map[uuid.UUID]bool{}, Logs: map[uuid.UUID][]circadian.Log{}, Trips: map[uuid.UUID]bool{}, Advice: map[uuid.UUID]bool{}}
	var tx *sql.Tx
	var err error
	if !s.memory && len(events) >= largeBatch {
		// A connection of its own with a larger page cache for the
		// transaction, given back with SQLite's default, so that a
		// rebuild's cache does not stay on every connection of the pool.
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return changes, fmt.Errorf("apply: %w", err)
		}
		defer func() {
			conn.ExecContext(context.WithoutCancel(ctx), defaultCache)
			conn.Close()
		}()
		if _, err := conn.ExecContext(ctx, applyCache); err != nil {
			return changes, fmt.Errorf("apply: set the page cache: %w", err)
		}
		tx, err = conn.BeginTx(ctx, nil)
		if err != nil {
			return changes, fmt.Errorf("apply: %w", err)
		}
	} else if tx, err = s.db.BeginTx(ctx, nil); err != nil {
		return changes, fmt.Errorf("apply: %w", err)
	}
	defer tx.Rollback()
	s.stmts.use(s.db)
	// What the last Apply committed, read from the database only when not
	// known (the first Apply, or after one that failed): these rows change
	// through Apply alone. It is known again once this batch commits.
	last, ok := s.stmts.take()
	if !ok {
		if last, err = readCommitted(ctx, tx); err != nil {
			return changes, err
		}
	}
	if s.targets == nil {
		if s.targets, err = loadTargets(ctx, tx); err != nil {
			return changes, err
		}
	}
	// The fold's statements run without ctx: the driver would watch a
	// context that can end on a goroutine of its own for each statement.
	// The loop checks ctx between events instead.
	fold := &txFold{ctx: context.WithoutCancel(ctx), q: tx, tx: tx, cache: &s.stmts, at: s.now().UnixMilli(), targets: s.targets,
		home: last.home, read: last.homeRead}
	applied, news := last.seq, last.news
	seq := applied
	next := decoder(ctx, events, applied)
	for i, ev := range events {
		if ev.Seq <= applied {
			continue
		}
		d, ok := next(i)
		if !ok || ctx.Err() != nil {
			return changes, fmt.Errorf("apply: %w", context.Cause(ctx))
		}
		if ev.Seq != seq+1 {
			// The events between were delivered and not applied: recording
			// this position would lose them for good. (The hub's stream
			// never deletes messages, so its sequences have no holes; a
			// hole whose loss the owner accepted arrives as Lost events.)
			return changes, fmt.Errorf("apply: got event %d, want %d: the feed skipped events; not applying past them", ev.Seq, seq+1)
		}
		seq = ev.Seq
		if err := s.applyOne(ev, d, fold, &changes, &news, &last.first); err != nil {
			return changes, fmt.Errorf("apply event %d: %w", ev.Seq, err)
		}
	}
	if seq == applied {
		s.stmts.keep(last) // nothing written: the state is as it was
		return changes, nil
	}
	if err := s.pruneRaw(ctx, fold, &last.first); err != nil {
		return changes, err
	}
	if news != last.news {
		_, err = fold.exec(`INSERT INTO meta (key, value) VALUES ('applied_seq', ?), ('news_hlc', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatUint(seq, 10), news.String())
	} else {
		_, err = fold.exec(`INSERT INTO meta (key, value) VALUES ('applied_seq', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatUint(seq, 10))
	}
	if err != nil {
		return changes, fmt.Errorf("apply: record position: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return changes, fmt.Errorf("apply: commit: %w", err)
	}
	last.seq, last.news, last.home, last.homeRead = seq, news, fold.home, fold.read
	s.stmts.keep(last)
	// The batch is applied; a statement that fails to prepare now is
	// prepared for each transaction instead, and asked for again.
	s.stmts.prepare(ctx)
	return changes, nil
}

// applyCache is the page cache of a connection while it applies a large
// batch (largeBatch events or more). A batch of a rebuild
// dirties some thousand pages of the state's b-trees (its events and
// facts, and their ids' indexes, each a random place): more than SQLite's
// default cache of 2 MiB holds, and a cache that overflows writes pages
// to the WAL before the commit, some of them again and again. An
// in-memory state has its pages in memory already.
const applyCache = "PRAGMA cache_size = -16384" // KiB

// defaultCache is SQLite's own page cache size, for every other use of a
// connection.
const defaultCache = "PRAGMA cache_size = -2000" // KiB

// largeBatch is the size of batch that gets applyCache: a rebuild's or a
// long catch-up's. Live writes come in batches of a few events.
const largeBatch = 64

// committed is what the state holds as of the last Apply that committed:
// its position, its newest stamp other than the cloud's advice (newsHLC),
// the household, and when the first JSON it keeps was applied. Apply
// keeps it between batches so that a batch of a few events does not read
// it all again.
type committed struct {
	seq  uint64
	news syncproto.HLC
	// home is the household, when homeRead (nil before setup).
	home     *family.Household
	homeRead bool
	// first is when the first row of recent was applied (Unix ms), or
	// noneKept when recent is empty, or unknownKept.
	first int64
}

const (
	noneKept    = math.MaxInt64
	unknownKept = math.MinInt64
)

// readCommitted reads the position and the newest stamp; the household
// and the oldest JSON kept are read when first needed.
func readCommitted(ctx context.Context, q querier) (committed, error) {
	c := committed{first: unknownKept}
	var err error
	if c.seq, err = appliedSeq(ctx, q); err != nil {
		return c, err
	}
	if c.news, err = newsHLC(ctx, q); err != nil {
		return c, err
	}
	return c, nil
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

// decoder gives the decoding of the events after applied, by index,
// false when ctx ended first. A batch of a few events is decoded as it is
// read; a longer one ahead of the reader, on goroutines of their own (as
// many as the machine runs at once), so that decoding overlaps with
// storing.
func decoder(ctx context.Context, events []hub.Event, applied uint64) func(i int) (decoded, bool) {
	if len(events) < 2*decodeChunk {
		return func(i int) (decoded, bool) {
			if ctx.Err() != nil {
				return decoded{}, false
			}
			if events[i].Lost {
				return decoded{}, true
			}
			return decode(events[i].Raw), true
		}
	}
	out := decodeAhead(ctx, events, applied)
	got := 0 // the chunks before are decoded
	return func(i int) (decoded, bool) {
		for ; got <= i/decodeChunk; got++ {
			if _, ok := <-out[got].done; !ok {
				return decoded{}, false
			}
		}
		return out[i/decodeChunk].d[i%decodeChunk], true
	}
}

// decodeChunk is how many events a decoding goroutine takes at once.
const decodeChunk = 16

// decodedChunk is the decoding of decodeChunk events in a row, done once
// done has a value (closed: ctx ended first).
type decodedChunk struct {
	d    [decodeChunk]decoded
	done chan struct{}
}

// decodeAhead decodes the events after applied on goroutines of their
// own, taking chunks of them in order. Lost events and those at or below
// applied get nothing.
func decodeAhead(ctx context.Context, events []hub.Event, applied uint64) []decodedChunk {
	out := make([]decodedChunk, (len(events)+decodeChunk-1)/decodeChunk)
	for i := range out {
		out[i].done = make(chan struct{}, 1)
	}
	var next atomic.Int64
	for range max(1, min(runtime.GOMAXPROCS(0), len(events)/decodeChunk)) {
		go func() {
			for {
				c := int(next.Add(1) - 1)
				if c >= len(out) {
					return
				}
				if ctx.Err() != nil {
					close(out[c].done)
					continue
				}
				for j := range decodeChunk {
					i := c*decodeChunk + j
					if i >= len(events) {
						break
					}
					if ev := events[i]; ev.Seq > applied && !ev.Lost {
						out[c].d[j] = decode(ev.Raw)
					}
				}
				out[c].done <- struct{}{}
			}
		}()
	}
	return out
}

// applyOne stores one event and folds it; first is when the first row of
// recent was applied (committed.first).
func (s *Store) applyOne(ev hub.Event, d decoded, fold *txFold, changes *hub.Changes, news *syncproto.HLC, first *int64) error {
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
		if *first == noneKept {
			*first = fold.at
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
		_, err := fold.exec("UPDATE events SET status = ?, reason = ? WHERE seq = ?", string(hub.StatusIgnored), c.Ignored, ev.Seq)
		return err
	}
	if e.Type != syncproto.TypeRecommendationUpdated && e.HLC.Compare(*news) > 0 {
		*news = e.HLC
	}
	changes.Family = changes.Family || c.Household
	for _, m := range c.Members {
		switch {
		case c.Advice:
			changes.Advice[m] = true // shown on Today; the hub's plan stands
		case c.Logged:
			changes.Logs[m] = append(changes.Logs[m], c.Logs...)
		default:
			changes.Members[m] = true
		}
	}
	if c.Trip != uuid.Nil {
		changes.Trips[c.Trip] = true
	}
	return nil
}
