package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// Apply folds a batch of events into the state in one transaction, with
// the batch's last sequence; events at or below the applied sequence are
// skipped, so a redelivered batch changes nothing.
func (s *Store) Apply(ctx context.Context, events []hub.Event) (hub.Changes, error) {
	changes := hub.Changes{Members: map[uuid.UUID]bool{}, Trips: map[uuid.UUID]bool{}}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return changes, fmt.Errorf("apply: %w", err)
	}
	defer tx.Rollback()
	applied, err := appliedSeq(ctx, tx)
	if err != nil {
		return changes, err
	}
	var family string
	if err := tx.QueryRowContext(ctx, "SELECT id FROM family").Scan(&family); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return changes, fmt.Errorf("apply: read family: %w", err)
	}
	last := applied
	for _, ev := range events {
		if ev.Seq <= applied {
			continue
		}
		if ev.Seq != last+1 {
			// The events between were delivered and not applied: recording
			// this position would lose them for good. (The hub's stream
			// never deletes messages, so its sequences have no holes.)
			return changes, fmt.Errorf("apply: got event %d, want %d: the feed skipped events; not applying past them", ev.Seq, last+1)
		}
		last = ev.Seq
		if err := s.applyOne(ctx, tx, ev, &family, &changes); err != nil {
			return changes, fmt.Errorf("apply event %d: %w", ev.Seq, err)
		}
	}
	if last == applied {
		return changes, nil
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('applied_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", strconv.FormatUint(last, 10)); err != nil {
		return changes, fmt.Errorf("apply: record position: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return changes, fmt.Errorf("apply: commit: %w", err)
	}
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

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) applyOne(ctx context.Context, tx *sql.Tx, ev hub.Event, family *string, changes *hub.Changes) error {
	status, reason := hub.StatusApplied, ""
	e, err := syncproto.Unmarshal(ev.Raw)
	h := e.Header
	if err != nil {
		status, reason = hub.StatusIgnored, err.Error()
		if hh, herr := syncproto.DecodeHeader(ev.Raw); herr == nil {
			h = hh
			if hh.V > syncproto.CurrentVersion {
				status, reason = hub.StatusUnsupported, "schema version "+strconv.Itoa(hh.V)+" is newer than this hub reads; kept for after an upgrade"
			}
		}
	}
	if status == hub.StatusApplied && *family != "" && h.FamilyID.String() != *family {
		status, reason = hub.StatusIgnored, "another family's event"
	}
	var id, member any
	var hlc string
	if h.ID != uuid.Nil {
		id = h.ID.String()
		hlc = h.HLC.String()
	}
	if h.MemberID != uuid.Nil {
		member = h.MemberID.String()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO events (seq, id, type, member_id, hlc, v, status, reason, raw)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		ev.Seq, id, string(h.Type), member, hlc, h.V, string(status), reason, ev.Raw)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // the same id earlier in the log: applied once already
	}
	if status != hub.StatusApplied {
		return nil
	}
	return s.fold(ctx, tx, e, family, changes)
}

// fold applies one valid event of the hub's family to the state.
func (s *Store) fold(ctx context.Context, tx *sql.Tx, e syncproto.Envelope, family *string, changes *hub.Changes) error {
	id, hlc := e.ID.String(), e.HLC.String()
	switch d := e.Data.(type) {
	case *syncproto.FamilyUpserted:
		won, err := wins(ctx, tx, "SELECT hlc, event_id FROM family", hlc, id)
		if err != nil || !won {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM family"); err != nil {
			return err
		}
		*family = e.FamilyID.String()
		changes.Family = true
		_, err = tx.ExecContext(ctx, "INSERT INTO family (id, name, home_tz, hlc, event_id) VALUES (?, ?, ?, ?, ?)",
			*family, d.Name, d.HomeTZ, hlc, id)
		return err

	case *syncproto.MemberUpserted, *syncproto.MemberRemoved:
		m := e.MemberID.String()
		won, err := wins(ctx, tx, "SELECT hlc, event_id FROM members WHERE id = ?", hlc, id, m)
		if err != nil || !won {
			return err
		}
		changes.Members[e.MemberID] = true
		if _, ok := d.(*syncproto.MemberRemoved); ok {
			_, err = tx.ExecContext(ctx, `INSERT INTO members (id, hlc, event_id, removed) VALUES (?, ?, ?, 1)
				ON CONFLICT (id) DO UPDATE SET hlc = excluded.hlc, event_id = excluded.event_id, removed = 1`, m, hlc, id)
			return err
		}
		data, err := json.Marshal(d)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO members (id, data, hlc, event_id, removed) VALUES (?, ?, ?, ?, 0)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data, hlc = excluded.hlc, event_id = excluded.event_id, removed = 0`,
			m, string(data), hlc, id)
		return err

	case *syncproto.TripUpserted:
		t := d.TripID.String()
		won, err := wins(ctx, tx, "SELECT hlc, event_id FROM trips WHERE id = ?", hlc, id, t)
		if err != nil || !won {
			return err
		}
		changes.Trips[d.TripID] = true
		data, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO trips (id, data, hlc, event_id, removed) VALUES (?, ?, ?, ?, 0)
			ON CONFLICT (id) DO UPDATE SET data = excluded.data, hlc = excluded.hlc, event_id = excluded.event_id, removed = 0`,
			t, string(data), hlc, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM trip_travellers WHERE trip_id = ?", t); err != nil {
			return err
		}
		for _, m := range d.Travellers {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO trip_travellers (trip_id, member_id) VALUES (?, ?)", t, m.String()); err != nil {
				return err
			}
		}
		return nil

	case *syncproto.TripRemoved:
		t := d.TripID.String()
		won, err := wins(ctx, tx, "SELECT hlc, event_id FROM trips WHERE id = ?", hlc, id, t)
		if err != nil || !won {
			return err
		}
		changes.Trips[d.TripID] = true
		_, err = tx.ExecContext(ctx, `INSERT INTO trips (id, hlc, event_id, removed) VALUES (?, ?, ?, 1)
			ON CONFLICT (id) DO UPDATE SET hlc = excluded.hlc, event_id = excluded.event_id, removed = 1`, t, hlc, id)
		return err

	case *syncproto.FlightUpdated:
		data, err := json.Marshal(d)
		if err != nil {
			return err
		}
		changes.Trips[d.TripID] = true
		_, err = tx.ExecContext(ctx, "INSERT OR IGNORE INTO flight_updates (event_id, trip_id, hlc, data) VALUES (?, ?, ?, ?)",
			id, d.TripID.String(), hlc, string(data))
		return err

	case *syncproto.Sleep, *syncproto.Meal, *syncproto.LightExposure:
		l, _ := circadian.LogFromEvent(e)
		var end any
		if !l.End.IsZero() {
			end = l.End.UnixMilli()
		}
		var sup any
		if s := hub.Supersedes(e.Data); s != uuid.Nil {
			sup = s.String()
		}
		changes.Members[e.MemberID] = true
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO facts (id, member_id, type, kind, start_ms, end_ms, lux, supersedes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, e.MemberID.String(), string(e.Type), string(l.Kind), l.Start.UnixMilli(), end, l.Lux, sup)
		return err

	case *syncproto.LogRetracted:
		changes.Members[e.MemberID] = true
		_, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO retractions (event_id, member_id, target) VALUES (?, ?, ?)",
			id, e.MemberID.String(), d.EventID.String())
		return err
	}
	return nil
}

// wins reports whether an upsert or removal stamped (hlc, id) is newer than
// what the row found by query holds: last writer wins, ties broken by id.
func wins(ctx context.Context, tx *sql.Tx, query, hlc, id string, args ...any) (bool, error) {
	var curHLC, curID string
	err := tx.QueryRowContext(ctx, query, args...).Scan(&curHLC, &curID)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return hlc > curHLC || (hlc == curHLC && id > curID), nil
}
