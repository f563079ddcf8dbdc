package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// txFold is the family fold's store inside one transaction: the fold
// decides, these methods only read and write rows.
type txFold struct {
	ctx  context.Context
	q    dbtx
	home *family.Household // cached for the batch; nil before setup
	read bool
	// tx, when set, runs each statement through cache, prepared once for
	// the database (a batch folds hundreds of events with the same dozen
	// statements, and a hub applies many small batches).
	tx    *sql.Tx
	cache *stmtCache
	stmts map[string]*sql.Stmt
	// at is when the batch is applied, Unix ms.
	at int64
	// fresh is the id of the event being applied when no event before it
	// had that id: no fact has it yet.
	fresh uuid.UUID
	// targets, when set, are the ids that may have corrections or
	// retractions; the others have none.
	targets *targets
	// facts are the facts the transaction read or wrote, by id (nil: no
	// fact has that id), and corrections the corrections of an entry,
	// once read: a correction's entry is read again as its standing is
	// recounted, in the same batch that stored it.
	facts       map[uuid.UUID]*family.Fact
	corrections map[uuid.UUID][]family.Fact
}

// targets are the ids that corrections and retractions name, or more (a
// batch that rolls back leaves its own): most logged facts are never
// corrected nor retracted, and the fold asks about each, so the store
// answers those from memory.
type targets struct {
	corrected, retracted map[uuid.UUID]bool
}

// loadTargets reads the ids that corrections and retractions name.
func loadTargets(ctx context.Context, q dbtx) (*targets, error) {
	t := &targets{corrected: map[uuid.UUID]bool{}, retracted: map[uuid.UUID]bool{}}
	for _, src := range []struct {
		query string
		into  map[uuid.UUID]bool
	}{
		{"SELECT DISTINCT supersedes FROM facts WHERE supersedes IS NOT NULL", t.corrected},
		{"SELECT DISTINCT target FROM retractions", t.retracted},
	} {
		rows, err := q.QueryContext(ctx, src.query)
		if err != nil {
			return nil, fmt.Errorf("read corrected and retracted ids: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read corrected and retracted ids: %w", err)
			}
			if u, err := uuid.Parse(id); err == nil {
				src.into[u] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read corrected and retracted ids: %w", err)
		}
	}
	return t, nil
}

func (t *txFold) stmt(query string) (*sql.Stmt, error) {
	if st := t.stmts[query]; st != nil {
		return st, nil
	}
	var st *sql.Stmt
	if base := t.cache.lookup(query); base != nil {
		st = t.tx.StmtContext(t.ctx, base)
	} else {
		// Not prepared for the database yet: prepared for this
		// transaction, and for the database once it ends (preparing
		// now could wait for a connection this transaction holds).
		var err error
		if st, err = t.tx.PrepareContext(t.ctx, query); err != nil {
			return nil, err
		}
		t.cache.want(query)
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = st
	return st, nil
}

func (t *txFold) exec(query string, args ...any) (sql.Result, error) {
	if t.tx == nil {
		return t.q.ExecContext(t.ctx, query, args...)
	}
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

func (t *txFold) query(query string, args ...any) (*sql.Rows, error) {
	if t.tx == nil {
		return t.q.QueryContext(t.ctx, query, args...)
	}
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(t.ctx, args...)
}

// row is QueryRow through the statement cache; a failed prepare shows as
// the row's error.
func (t *txFold) row(query string, args ...any) scanner {
	if t.tx == nil {
		return t.q.QueryRowContext(t.ctx, query, args...)
	}
	st, err := t.stmt(query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(t.ctx, args...)
}

// stmtCache keeps statements prepared on a database for as long as the
// database is open. A transaction takes one with Tx.StmtContext, which
// reuses what its connection prepared before instead of preparing again.
// It also keeps what the last Apply committed to the database.
type stmtCache struct {
	mu     sync.Mutex
	db     *sql.DB
	stmts  map[string]*sql.Stmt
	wanted []string
	last   *committed
}

// take is what the last Apply committed, if known, and forgets it: an
// Apply that fails leaves it unknown, to be read again.
func (c *stmtCache) take() (committed, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	last := c.last
	c.last = nil
	if last == nil {
		return committed{}, false
	}
	return *last, true
}

// keep records what an Apply committed.
func (c *stmtCache) keep(last committed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = &last
}

// use makes the cache prepare on db, dropping what it prepared on
// another (a store that was reset has a new database).
func (c *stmtCache) use(db *sql.DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db == db {
		return
	}
	for _, st := range c.stmts {
		st.Close()
	}
	c.db, c.stmts, c.wanted, c.last = db, nil, nil, nil
}

// lookup is the statement prepared for query, nil when there is none yet.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

// want notes a query to prepare once no transaction holds a connection.
func (c *stmtCache) want(query string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wanted = append(c.wanted, query)
}

// prepare prepares the queries wanted since the last call. Call it with
// no transaction open: it takes a connection of its own.
func (c *stmtCache) prepare(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range c.wanted {
		if c.stmts[q] != nil {
			continue
		}
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		if c.stmts == nil {
			c.stmts = map[string]*sql.Stmt{}
		}
		c.stmts[q] = st
	}
	c.wanted = nil
	return nil
}

type scanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// dbtx is what both *sql.DB and *sql.Tx offer.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var _ family.Store = (*txFold)(nil)

func parseStamp(hlc, id string) (family.Stamp, error) {
	h, err := syncproto.ParseHLC(hlc)
	if err != nil {
		return family.Stamp{}, fmt.Errorf("stored stamp %q: %w", hlc, err)
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return family.Stamp{}, fmt.Errorf("stored event id %q: %w", id, err)
	}
	return family.Stamp{HLC: h, ID: u}, nil
}

func (t *txFold) Household() (*family.Household, error) {
	if t.read {
		return t.home, nil
	}
	var h family.Household
	var id, hlc, event string
	err := t.row("SELECT id, name, home_tz, hlc, event_id FROM family").Scan(&id, &h.Name, &h.HomeTZ, &hlc, &event)
	if errors.Is(err, sql.ErrNoRows) {
		t.read = true
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read family: %w", err)
	}
	if h.ID, err = uuid.Parse(id); err != nil {
		return nil, err
	}
	if h.Stamp, err = parseStamp(hlc, event); err != nil {
		return nil, err
	}
	t.home, t.read = &h, true
	return t.home, nil
}

func (t *txFold) PutHousehold(h family.Household) error {
	if _, err := t.exec("DELETE FROM family"); err != nil {
		return err
	}
	_, err := t.exec("INSERT INTO family (id, name, home_tz, hlc, event_id) VALUES (?, ?, ?, ?, ?)",
		h.ID.String(), h.Name, h.HomeTZ, h.Stamp.HLC.String(), h.Stamp.ID.String())
	if err == nil {
		t.home, t.read = &h, true
	}
	return err
}

func (t *txFold) Member(id uuid.UUID) (*family.Member, error) {
	var data sql.NullString
	var hlc, event string
	m := family.Member{ID: id}
	err := t.row("SELECT data, hlc, event_id, removed FROM members WHERE id = ?", id.String()).Scan(&data, &hlc, &event, &m.Removed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read member: %w", err)
	}
	if m.Stamp, err = parseStamp(hlc, event); err != nil {
		return nil, err
	}
	if data.Valid {
		m.Data = &syncproto.MemberUpserted{}
		if err := json.Unmarshal([]byte(data.String), m.Data); err != nil {
			return nil, fmt.Errorf("decode member %s: %w", id, err)
		}
	}
	return &m, nil
}

func nullJSON(v any, isNil bool) (any, error) {
	if isNil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func (t *txFold) PutMember(m family.Member) error {
	data, err := nullJSON(m.Data, m.Data == nil)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO members (id, data, hlc, event_id, removed) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, hlc = excluded.hlc, event_id = excluded.event_id, removed = excluded.removed`,
		m.ID.String(), data, m.Stamp.HLC.String(), m.Stamp.ID.String(), m.Removed)
	return err
}

func (t *txFold) Trip(id uuid.UUID) (*family.Trip, error) {
	var data sql.NullString
	var hlc, event string
	tr := family.Trip{ID: id}
	err := t.row("SELECT data, hlc, event_id, removed FROM trips WHERE id = ?", id.String()).Scan(&data, &hlc, &event, &tr.Removed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read trip: %w", err)
	}
	if tr.Stamp, err = parseStamp(hlc, event); err != nil {
		return nil, err
	}
	if data.Valid {
		tr.Data = &syncproto.TripUpserted{}
		if err := json.Unmarshal([]byte(data.String), tr.Data); err != nil {
			return nil, fmt.Errorf("decode trip %s: %w", id, err)
		}
	}
	return &tr, nil
}

func (t *txFold) PutTrip(tr family.Trip) error {
	data, err := nullJSON(tr.Data, tr.Data == nil)
	if err != nil {
		return err
	}
	id := tr.ID.String()
	if _, err := t.exec(`INSERT INTO trips (id, data, hlc, event_id, removed) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data, hlc = excluded.hlc, event_id = excluded.event_id, removed = excluded.removed`,
		id, data, tr.Stamp.HLC.String(), tr.Stamp.ID.String(), tr.Removed); err != nil {
		return err
	}
	if _, err := t.exec("DELETE FROM trip_travellers WHERE trip_id = ?", id); err != nil {
		return err
	}
	if tr.Data == nil {
		return nil
	}
	for _, m := range tr.Data.Travellers {
		if _, err := t.exec("INSERT OR IGNORE INTO trip_travellers (trip_id, member_id) VALUES (?, ?)", id, m.String()); err != nil {
			return err
		}
	}
	return nil
}

func (t *txFold) AddFlightUpdate(u family.FlightUpdate) error {
	data, err := json.Marshal(u.Data)
	if err != nil {
		return err
	}
	_, err = t.exec("INSERT OR IGNORE INTO flight_updates (event_id, trip_id, hlc, origin, data) VALUES (?, ?, ?, ?, ?)",
		u.Stamp.ID.String(), u.Trip.String(), u.Stamp.HLC.String(), u.Origin, string(data))
	return err
}

const factColumns = "id, member_id, type, hlc, tz, kind, start_ms, end_ms, lux, coalesce(supersedes, ''), counts"

func scanFact(sc scanner) (family.Fact, error) {
	var f family.Fact
	var id, member, typ, hlc, sup string
	var start int64
	var end sql.NullInt64
	if err := sc.Scan(&id, &member, &typ, &hlc, &f.TZ, &f.Log.Kind, &start, &end, &f.Log.Lux, &sup, &f.Counts); err != nil {
		return f, err
	}
	var err error
	if f.Stamp, err = parseStamp(hlc, id); err != nil {
		return f, err
	}
	f.ID = f.Stamp.ID
	if f.Member, err = uuid.Parse(member); err != nil {
		return f, err
	}
	if sup != "" {
		if f.Supersedes, err = uuid.Parse(sup); err != nil {
			return f, err
		}
	}
	f.Type = syncproto.Type(typ)
	f.Log.Start = time.UnixMilli(start).UTC()
	if end.Valid {
		f.Log.End = time.UnixMilli(end.Int64).UTC()
	}
	return f, nil
}

func (t *txFold) Fact(id uuid.UUID) (*family.Fact, error) {
	if id == t.fresh && id != uuid.Nil {
		return nil, nil
	}
	if f, ok := t.facts[id]; ok {
		if f == nil {
			return nil, nil
		}
		c := *f
		return &c, nil
	}
	f, err := scanFact(t.row("SELECT "+factColumns+" FROM facts WHERE id = ?", id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		t.knowFact(id, nil)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read logged fact: %w", err)
	}
	c := f
	t.knowFact(id, &c)
	return &f, nil
}

// knowFact records what the transaction knows of fact id: f, or none.
func (t *txFold) knowFact(id uuid.UUID, f *family.Fact) {
	if t.facts == nil {
		t.facts = map[uuid.UUID]*family.Fact{}
	}
	t.facts[id] = f
}

func (t *txFold) PutFact(f family.Fact) error {
	var end, sup any
	if !f.Log.End.IsZero() {
		end = f.Log.End.UnixMilli()
	}
	if f.Supersedes != uuid.Nil {
		sup = f.Supersedes.String()
		if t.targets != nil {
			t.targets.corrected[f.Supersedes] = true
		}
	}
	if f.ID == t.fresh {
		t.fresh = uuid.Nil
	}
	_, err := t.exec(`INSERT INTO facts (id, member_id, type, hlc, tz, kind, start_ms, end_ms, lux, supersedes, counts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET counts = excluded.counts`,
		f.ID.String(), f.Member.String(), string(f.Type), f.Stamp.HLC.String(), f.TZ, string(f.Log.Kind),
		f.Log.Start.UnixMilli(), end, f.Log.Lux, sup, f.Counts)
	if err != nil {
		return err
	}
	// As the statement did: a fact already stored changes its counts only.
	stored := t.facts[f.ID]
	if stored != nil {
		stored.Counts = f.Counts
	} else {
		stored = &f
		t.knowFact(f.ID, stored)
	}
	if corr, ok := t.corrections[stored.Supersedes]; ok && stored.Supersedes != uuid.Nil {
		i := slices.IndexFunc(corr, func(g family.Fact) bool { return g.ID == stored.ID })
		if i < 0 {
			t.corrections[stored.Supersedes] = append(corr, *stored)
		} else {
			corr[i] = *stored
		}
	}
	return nil
}

func (t *txFold) Corrections(target uuid.UUID) ([]family.Fact, error) {
	if t.targets != nil && !t.targets.corrected[target] {
		return nil, nil
	}
	if corr, ok := t.corrections[target]; ok {
		return slices.Clone(corr), nil
	}
	rows, err := t.query("SELECT "+factColumns+" FROM facts WHERE supersedes = ?", target.String())
	if err != nil {
		return nil, fmt.Errorf("read corrections: %w", err)
	}
	defer rows.Close()
	var out []family.Fact
	for rows.Next() {
		f, err := scanFact(rows)
		if err != nil {
			return nil, fmt.Errorf("read corrections: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read corrections: %w", err)
	}
	if t.corrections == nil {
		t.corrections = map[uuid.UUID][]family.Fact{}
	}
	t.corrections[target] = slices.Clone(out)
	return out, nil
}

func (t *txFold) AddRetraction(r family.Retraction) error {
	if t.targets != nil {
		t.targets.retracted[r.Target] = true
	}
	_, err := t.exec("INSERT OR IGNORE INTO retractions (event_id, member_id, target) VALUES (?, ?, ?)",
		r.ID.String(), r.Member.String(), r.Target.String())
	return err
}

func (t *txFold) Retractions(target uuid.UUID) ([]family.Retraction, error) {
	if t.targets != nil && !t.targets.retracted[target] {
		return nil, nil
	}
	rows, err := t.query("SELECT event_id, member_id FROM retractions WHERE target = ?", target.String())
	if err != nil {
		return nil, fmt.Errorf("read retractions: %w", err)
	}
	defer rows.Close()
	var out []family.Retraction
	for rows.Next() {
		var id, member string
		if err := rows.Scan(&id, &member); err != nil {
			return nil, err
		}
		r := family.Retraction{Target: target}
		if r.ID, err = uuid.Parse(id); err != nil {
			return nil, err
		}
		if r.Member, err = uuid.Parse(member); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddAdvice keeps only a member's newest advice.
func (t *txFold) AddAdvice(a family.Advice) error {
	var hlc, event string
	err := t.row("SELECT hlc, event_id FROM advice WHERE member_id = ?", a.Member.String()).Scan(&hlc, &event)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("read advice: %w", err)
	default:
		cur, err := parseStamp(hlc, event)
		if err != nil {
			return err
		}
		if !a.Stamp.After(cur) {
			return nil
		}
	}
	data, err := json.Marshal(a.Data)
	if err != nil {
		return err
	}
	var trip string
	if a.Data.TripID != uuid.Nil {
		trip = a.Data.TripID.String()
	}
	_, err = t.exec(`INSERT INTO advice (member_id, hlc, event_id, trip_id, based_on, start_ms, tz, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (member_id) DO UPDATE SET hlc = excluded.hlc, event_id = excluded.event_id, trip_id = excluded.trip_id,
		based_on = excluded.based_on, start_ms = excluded.start_ms, tz = excluded.tz, data = excluded.data`,
		a.Member.String(), a.Stamp.HLC.String(), a.Stamp.ID.String(), trip, a.Data.BasedOn.String(), a.Start.UnixMilli(), a.TZ, string(data))
	return err
}

// longLog is where countingIn splits a window's logs: those that began
// less than this before the window are a range of one index, and those
// that began earlier yet reach into the window are open, or longer than
// this, and in an index of their own (migration 0003). syncproto's rules
// let a sleep or a light exposure last a day at most (a nap 6 h, a meal
// 3 h), so in practice the second holds only sleeps never ended; either
// way the two together are exactly the logs that overlap the window. The
// literal is repeated in the query and the index's WHERE, as SQLite only
// uses a partial index for a query that repeats its condition.
const longLog = 24 * time.Hour

// windowQuery reads a member's facts that count and began in [?2, ?3),
// then those that began before ?2 and are open or longer than longLog:
// two bounded index ranges, with no filter SQLite must apply to rows
// outside them, so every row it reads is returned. INDEXED BY holds
// SQLite to those indexes (a statement fails rather than scan), whatever
// its statistics would have it choose.
const windowQuery = `SELECT id, kind, start_ms, end_ms, lux FROM facts INDEXED BY facts_counting
	WHERE member_id = ?1 AND counts = 1 AND start_ms >= ?2 AND start_ms < ?3
UNION ALL
SELECT id, kind, start_ms, end_ms, lux FROM facts INDEXED BY facts_open_or_long
	WHERE member_id = ?1 AND counts = 1 AND (end_ms IS NULL OR end_ms - start_ms > 86400000) AND start_ms < ?2
ORDER BY start_ms, id`

// countingIn reads a member's facts that count and can change a plan with
// window w (w.Holds), by start: the subsequence of counting that the
// planner needs. The current model reads nothing older than its window,
// so no summary of older history stands in for what is left out. read is
// how many rows the database returned, filtered here to the window's
// ends: it is bounded by the logs of the window's span and a day, plus the
// sleeps never ended, however long the history.
func countingIn(ctx context.Context, q dbtx, member uuid.UUID, w circadian.LogWindow) (logs []circadian.Log, read int, err error) {
	to := w.To.UnixMilli()
	if w.To.After(time.UnixMilli(to)) {
		to++ // a window's end between two milliseconds
	}
	rows, err := q.QueryContext(ctx, windowQuery, member.String(), w.From.Add(-longLog).UnixMilli(), to)
	if err != nil {
		return nil, 0, fmt.Errorf("read logs: %w", err)
	}
	return scanLogs(rows, &w)
}

// scanLogs reads rows of kind, start_ms, end_ms and lux, after an id when
// w is set, keeping those w holds; read counts every row.
func scanLogs(rows *sql.Rows, w *circadian.LogWindow) (out []circadian.Log, read int, err error) {
	defer rows.Close()
	for rows.Next() {
		var l circadian.Log
		var id string
		var start int64
		var end sql.NullInt64
		dest := []any{&l.Kind, &start, &end, &l.Lux}
		if w != nil {
			dest = append([]any{&id}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, read, err
		}
		read++
		l.Start = time.UnixMilli(start).UTC()
		if end.Valid {
			l.End = time.UnixMilli(end.Int64).UTC()
		}
		if w == nil || w.Holds(l) {
			out = append(out, l)
		}
	}
	return out, read, rows.Err()
}
