package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// RawReader reads events as the log stores them, by sequence: the map
// lacks the sequences the log does not hold.
type RawReader interface {
	ReadRaw(ctx context.Context, seqs []uint64) (map[uint64][]byte, error)
}

// DefaultRawTail is how long the state keeps an applied event's JSON
// beside the log: well past the log's flush to disk (JetStream syncs
// every two minutes), so that a log that lost its unflushed end can be
// repaired from the state.
const DefaultRawTail = 10 * time.Minute

// SetLog makes the log the place of every event's JSON: the state then
// keeps an event's JSON only for tail after applying it (DefaultRawTail
// when 0), and none for the events at or below durable, which the log
// held on disk when the hub started. Without a log the state keeps every
// event's JSON.
func (s *Store) SetLog(r RawReader, durable uint64, tail time.Duration) {
	s.log, s.durable, s.rawTail = r, durable, tail
	if s.rawTail <= 0 {
		s.rawTail = DefaultRawTail
	}
}

// keepsRaw reports whether the state keeps the JSON of the event at seq.
func (s *Store) keepsRaw(seq uint64) bool { return s.log == nil || seq > s.durable }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// pruneRaw drops the JSON of the events applied more than the tail ago.
// The recent events are in sequence order, applied in that order: the
// scan stops at the first one still young. first is when the first row
// was applied (committed.first): while that row is young, or there is
// none, nothing is old enough and nothing is read.
func (s *Store) pruneRaw(ctx context.Context, fold *txFold, first *int64) error {
	if s.log == nil {
		return nil
	}
	cutoff := s.now().Add(-s.rawTail).UnixMilli()
	if *first != unknownKept && *first >= cutoff {
		return nil
	}
	var young, at sql.NullInt64
	err := fold.row("SELECT seq, at_ms FROM recent WHERE at_ms >= ? ORDER BY seq LIMIT 1", cutoff).Scan(&young, &at)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("prune the JSON of old events: %w", err)
	}
	if young.Valid {
		_, err = fold.exec("DELETE FROM recent WHERE seq < ?", young.Int64)
	} else {
		_, err = fold.exec("DELETE FROM recent")
	}
	if err != nil {
		return fmt.Errorf("prune the JSON of old events: %w", err)
	}
	*first = noneKept
	if young.Valid {
		*first = at.Int64
	}
	return nil
}

// raws fills in the JSON of the events the state does not keep, from the
// log. An event the log lacks stays without: its Event is null.
func (s *Store) raws(ctx context.Context, need []uint64) (map[uint64][]byte, error) {
	if len(need) == 0 {
		return nil, nil
	}
	if s.log == nil {
		return nil, fmt.Errorf("read events %d…: their JSON is in the event log only, and the state has no reader of it", need[0])
	}
	got, err := s.log.ReadRaw(ctx, need)
	if err != nil {
		return nil, fmt.Errorf("read events from the log: %w", err)
	}
	for _, seq := range need {
		if _, ok := got[seq]; !ok {
			s.logger.Warn("the event log lacks an event the state applied", "seq", seq)
		}
	}
	return got, nil
}

// Held lists the events from..to whose JSON the state keeps, in order:
// the recent ones, which can repair a log that lost its end.
func (s *Store) Held(ctx context.Context, from, to uint64) ([]hub.Event, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT seq, raw FROM recent WHERE seq BETWEEN ? AND ? ORDER BY seq", from, to)
	if err != nil {
		return nil, fmt.Errorf("read held events: %w", err)
	}
	defer rows.Close()
	var out []hub.Event
	for rows.Next() {
		var e hub.Event
		if err := rows.Scan(&e.Seq, &e.Raw); err != nil {
			return nil, fmt.Errorf("read held events: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// hlcInt is a stamp as stored: Unix ms × 10000 + logical counter, in the
// stamps' order; 0 for none.
func hlcInt(h syncproto.HLC) int64 {
	if h.IsZero() {
		return 0
	}
	return h.Time().UnixMilli()*10000 + int64(h.Logical())
}

func hlcFromInt(v int64) syncproto.HLC {
	if v <= 0 {
		return syncproto.HLC{}
	}
	return syncproto.NewHLC(time.UnixMilli(v/10000), int(v%10000))
}

// idBlob is an id as stored: its 16 bytes, NULL for none.
func idBlob(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id[:]
}

func idFromBlob(b []byte) uuid.UUID {
	id, err := uuid.FromBytes(b)
	if err != nil {
		return uuid.Nil
	}
	return id
}
