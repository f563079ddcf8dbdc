package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

var _ hub.Store = (*Store)(nil)

// AppliedSeq is the sequence of the last applied event, 0 for none.
func (s *Store) AppliedSeq(ctx context.Context) (uint64, error) { return appliedSeq(ctx, s.db) }

// MaxHLC is the greatest stamp of any stored event.
func (s *Store) MaxHLC(ctx context.Context) (syncproto.HLC, error) {
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT max(hlc) FROM events").Scan(&v); err != nil {
		return syncproto.HLC{}, fmt.Errorf("read greatest stamp: %w", err)
	}
	return hlcFromInt(v.Int64), nil
}

// Family is the household, nil before setup.
func (s *Store) Family(ctx context.Context) (*hub.Family, error) {
	var f hub.Family
	var id string
	err := s.db.QueryRowContext(ctx, "SELECT id, name, home_tz, hlc FROM family").Scan(&id, &f.Name, &f.HomeTZ, &f.HLC)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read family: %w", err)
	}
	f.ID, err = uuid.Parse(id)
	return &f, err
}

// Members lists every member, tombstones included, by name.
func (s *Store) Members(ctx context.Context) ([]hub.Member, error) {
	return s.members(ctx, s.db, membersQuery)
}

const membersQuery = "SELECT id, data, hlc, removed FROM members ORDER BY removed, json_extract(data, '$.display_name'), id"

// Member is one member, nil when unknown.
func (s *Store) Member(ctx context.Context, id uuid.UUID) (*hub.Member, error) {
	ms, err := s.members(ctx, s.db, "SELECT id, data, hlc, removed FROM members WHERE id = ?", id.String())
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return &ms[0], nil
}

func (s *Store) members(ctx context.Context, q dbtx, query string, args ...any) ([]hub.Member, error) {
	rows, err := readVersioned[syncproto.MemberUpserted](ctx, q, "member", query, args...)
	if err != nil {
		return nil, err
	}
	out := make([]hub.Member, len(rows))
	for i, r := range rows {
		out[i] = hub.Member{ID: r.id, Data: r.data, HLC: r.hlc, Removed: r.removed}
	}
	return out, nil
}

// versioned is a row of a last-writer-wins table (members, trips): the
// last upsert's payload, nil for a tombstone that never had one.
type versioned[T any] struct {
	id      uuid.UUID
	data    *T
	hlc     string
	removed bool
}

// readVersioned runs a query selecting id, data, hlc, removed.
func readVersioned[T any](ctx context.Context, db dbtx, what, query string, args ...any) ([]versioned[T], error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read %ss: %w", what, err)
	}
	defer rows.Close()
	var out []versioned[T]
	for rows.Next() {
		var v versioned[T]
		var id string
		var data sql.NullString
		if err := rows.Scan(&id, &data, &v.hlc, &v.removed); err != nil {
			return nil, fmt.Errorf("read %ss: %w", what, err)
		}
		if v.id, err = uuid.Parse(id); err != nil {
			return nil, err
		}
		if data.Valid {
			v.data = new(T)
			if err := json.Unmarshal([]byte(data.String), v.data); err != nil {
				return nil, fmt.Errorf("decode %s %s: %w", what, id, err)
			}
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Trips lists every trip, tombstones included, by first departure.
func (s *Store) Trips(ctx context.Context) ([]hub.Trip, error) {
	return s.trips(ctx, "SELECT id, data, hlc, removed FROM trips ORDER BY removed, json_extract(data, '$.legs[0].depart'), id")
}

// Trip is one trip with the flight updates that apply to it, nil when
// unknown.
func (s *Store) Trip(ctx context.Context, id uuid.UUID) (*hub.Trip, error) {
	ts, err := s.trips(ctx, "SELECT id, data, hlc, removed FROM trips WHERE id = ?", id.String())
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	return &ts[0], nil
}

func (s *Store) trips(ctx context.Context, query string, args ...any) ([]hub.Trip, error) {
	rows, err := readVersioned[syncproto.TripUpserted](ctx, s.db, "trip", query, args...)
	if err != nil {
		return nil, err
	}
	out := make([]hub.Trip, len(rows))
	for i, r := range rows {
		out[i] = hub.Trip{ID: r.id, Data: r.data, HLC: r.hlc, Removed: r.removed}
		t, err := (&txFold{ctx: ctx, q: s.db}).Trip(r.id)
		if err != nil {
			return nil, err
		}
		if !t.Live() {
			continue // news about a removed trip is history
		}
		ups, err := flightUpdates(ctx, s.db, r.id)
		if err != nil {
			return nil, err
		}
		for _, u := range family.Applicable(t, ups) {
			out[i].Updates = append(out[i].Updates, u.Data)
		}
	}
	return out, nil
}

// flightUpdates are every flight update stored for a trip.
func flightUpdates(ctx context.Context, q dbtx, trip uuid.UUID) ([]family.FlightUpdate, error) {
	rows, err := q.QueryContext(ctx, "SELECT event_id, hlc, origin, data FROM flight_updates WHERE trip_id = ?", trip.String())
	if err != nil {
		return nil, fmt.Errorf("read flight updates: %w", err)
	}
	defer rows.Close()
	var out []family.FlightUpdate
	for rows.Next() {
		var id, hlc, data string
		u := family.FlightUpdate{Trip: trip, Data: &syncproto.FlightUpdated{}}
		if err := rows.Scan(&id, &hlc, &u.Origin, &data); err != nil {
			return nil, err
		}
		if u.Stamp, err = parseStamp(hlc, id); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), u.Data); err != nil {
			return nil, fmt.Errorf("decode flight update: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Fact is a logged sleep, meal or light exposure, nil when unknown.
func (s *Store) Fact(ctx context.Context, id uuid.UUID) (*hub.Fact, error) {
	var member, typ string
	err := s.db.QueryRowContext(ctx, "SELECT member_id, type FROM facts WHERE id = ?", id.String()).Scan(&member, &typ)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read fact: %w", err)
	}
	m, err := uuid.Parse(member)
	return &hub.Fact{ID: id, MemberID: m, Type: syncproto.Type(typ)}, err
}

// EventSeq finds an event's sequence by its id.
func (s *Store) EventSeq(ctx context.Context, id uuid.UUID) (uint64, bool, error) {
	var seq uint64
	err := s.db.QueryRowContext(ctx, "SELECT seq FROM events WHERE id = ?", id[:]).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("look up event: %w", err)
	}
	return seq, true, nil
}

// Unsupported counts the events of a newer schema version, kept unapplied.
func (s *Store) Unsupported(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE status = ?", string(hub.StatusUnsupported)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events of a newer version: %w", err)
	}
	return n, nil
}

// Events is a page of the log in sequence order. The JSON of the events
// the state does not keep comes from the log.
func (s *Store) Events(ctx context.Context, q hub.EventQuery) ([]hub.StoredEvent, error) {
	where := []string{"e.seq > ?"}
	args := []any{q.After}
	if q.Member != uuid.Nil {
		where = append(where, "e.member_id = ?")
		args = append(args, q.Member[:])
	}
	if q.Type != "" {
		where = append(where, "e.type = ?")
		args = append(args, string(q.Type))
	}
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, "SELECT e.seq, e.id, e.type, e.member_id, e.hlc, e.v, e.status, e.reason, r.raw FROM events e LEFT JOIN recent r ON r.seq = e.seq WHERE "+
		strings.Join(where, " AND ")+" ORDER BY e.seq LIMIT ?", args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	out := []hub.StoredEvent{}
	var need []uint64
	for rows.Next() {
		var e hub.StoredEvent
		var id, member, raw []byte
		var hlc int64
		var typ, status string
		if err := rows.Scan(&e.Seq, &id, &typ, &member, &hlc, &e.V, &status, &e.Reason, &raw); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read events: %w", err)
		}
		e.ID = idFromBlob(id)
		if m := idFromBlob(member); m != uuid.Nil {
			e.Member = &m
		}
		if h := hlcFromInt(hlc); !h.IsZero() {
			e.HLC = h.String()
		}
		e.Type, e.Status = syncproto.Type(typ), hub.EventStatus(status)
		switch {
		case raw != nil:
			e.Event = rawJSON(raw)
		case e.Reason == hub.LostReason && e.ID == uuid.Nil:
			e.Event = json.RawMessage("null")
		default:
			need = append(need, e.Seq)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	got, err := s.raws(ctx, need)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Event == nil {
			out[i].Event = rawJSON(got[out[i].Seq])
		}
	}
	return out, nil
}

// rawJSON is an event as the API shows it: its JSON, or the bytes as a
// JSON string when they are not JSON, or null when missing.
func rawJSON(raw []byte) json.RawMessage {
	switch {
	case raw == nil:
		return json.RawMessage("null")
	case json.Valid(raw):
		return raw
	}
	b, _ := json.Marshal(string(raw))
	return b
}

// TripsOf lists the live trips a member travels on.
func (s *Store) TripsOf(ctx context.Context, member uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.id FROM trip_travellers tt JOIN trips t ON t.id = tt.trip_id
		WHERE tt.member_id = ? AND t.removed = 0 ORDER BY t.id`, member.String())
	if err != nil {
		return nil, fmt.Errorf("read trips of member: %w", err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// PlanInputs gathers what the planner needs for a trip, as the family
// fold defines it: the trip with its flight updates applied, the live
// members, and each traveller's logged facts that count and can change
// the plan, those in the trip's circadian.LogWindowOf. It returns nil for
// a trip that is removed or unknown. Its work does not grow with the
// family's history: the trip, its flight updates and the members are a
// few rows, and the logs two bounded ranges of an index per traveller.
func (s *Store) PlanInputs(ctx context.Context, tripID uuid.UUID) (*hub.PlanInputs, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("read plan inputs: %w", err)
	}
	defer tx.Rollback()
	fold := &txFold{ctx: ctx, q: tx}
	t, err := fold.Trip(tripID)
	if err != nil || !t.Live() {
		return nil, err
	}
	seq, err := appliedSeq(ctx, tx)
	if err != nil {
		return nil, err
	}
	ups, err := flightUpdates(ctx, tx, tripID)
	if err != nil {
		return nil, err
	}
	// In the transaction: the members as of the same state as the trip,
	// and no second connection (an in-memory store has one).
	members, err := s.members(ctx, tx, membersQuery)
	if err != nil {
		return nil, err
	}
	fm := make([]family.Member, len(members))
	for i, m := range members {
		fm[i] = family.Member{ID: m.ID, Data: m.Data, Removed: m.Removed}
	}
	// The logs come once the trip, with its flight updates, says which
	// span of them the planner reads.
	in, err := family.BuildInputs(t, ups, fm, func(uuid.UUID) ([]circadian.Log, error) { return nil, nil })
	if err != nil || in == nil {
		return nil, err
	}
	if in.Problem == "" {
		// Only the logs of the plan's window: the planner reads nothing
		// older (sleeps never ended aside, which the window holds), and
		// needs no summary of what came before. A trip the planner cannot
		// plan (its first flight cancelled) has no window and needs no
		// logs: planning it fails whatever they are.
		if w, err := circadian.LogWindowOf(in.Trip); err == nil {
			for _, id := range in.Trip.Travellers {
				if in.Logs[id], _, err = countingIn(ctx, tx, id, w); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, n := range in.Notes {
		s.logger.Warn("planning trip "+tripID.String()+": "+n, "trip", tripID)
	}
	return &hub.PlanInputs{Inputs: *in, Seq: seq}, nil
}

// SavePlans stores plans, replacing earlier plans of the same trip and
// member.
func (s *Store) SavePlans(ctx context.Context, plans []hub.StoredPlan) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save plans: %w", err)
	}
	defer tx.Rollback()
	for _, p := range plans {
		var plan any
		if len(p.Plan) > 0 {
			plan = string(p.Plan)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO plans (trip_id, member_id, computed_at, seq, plan, error) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (trip_id, member_id) DO UPDATE SET computed_at = excluded.computed_at, seq = excluded.seq, plan = excluded.plan, error = excluded.error`,
			p.TripID.String(), p.MemberID.String(), p.ComputedAt.UTC().Format(time.RFC3339Nano), p.Seq, plan, p.Error); err != nil {
			return fmt.Errorf("save plans: %w", err)
		}
	}
	return tx.Commit()
}

// DeletePlans drops a trip's plans (member uuid.Nil), a member's plans
// (trip uuid.Nil), or one plan.
func (s *Store) DeletePlans(ctx context.Context, trip, member uuid.UUID) error {
	where, args := planFilter("", trip, member)
	_, err := s.db.ExecContext(ctx, "DELETE FROM plans WHERE "+where, args...)
	if err != nil {
		return fmt.Errorf("delete plans: %w", err)
	}
	return nil
}

// Plans lists stored plans of a trip, a member, or both (uuid.Nil: any).
func (s *Store) Plans(ctx context.Context, trip, member uuid.UUID) ([]hub.StoredPlan, error) {
	where, args := planFilter("p.", trip, member)
	rows, err := s.db.QueryContext(ctx, `SELECT p.trip_id, p.member_id, p.computed_at, p.seq, coalesce(p.plan, ''), p.error
		FROM plans p LEFT JOIN trips t ON t.id = p.trip_id WHERE `+where+
		` ORDER BY json_extract(t.data, '$.legs[0].depart'), p.trip_id, p.member_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read plans: %w", err)
	}
	defer rows.Close()
	out := []hub.StoredPlan{}
	for rows.Next() {
		var p hub.StoredPlan
		var trip, member, at, plan string
		if err := rows.Scan(&trip, &member, &at, &p.Seq, &plan, &p.Error); err != nil {
			return nil, fmt.Errorf("read plans: %w", err)
		}
		p.TripID, _ = uuid.Parse(trip)
		p.MemberID, _ = uuid.Parse(member)
		p.ComputedAt, _ = time.Parse(time.RFC3339Nano, at)
		if plan != "" {
			p.Plan = json.RawMessage(plan)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func planFilter(prefix string, trip, member uuid.UUID) (string, []any) {
	where, args := []string{"1 = 1"}, []any{}
	if trip != uuid.Nil {
		where = append(where, prefix+"trip_id = ?")
		args = append(args, trip.String())
	}
	if member != uuid.Nil {
		where = append(where, prefix+"member_id = ?")
		args = append(args, member.String())
	}
	return strings.Join(where, " AND "), args
}

// Setting reads a value the hub keeps beside its state ("" when unset).
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	if s.settings != nil {
		v, _ := s.settings.Get(key)
		return v, nil
	}
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", "setting."+key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting keeps a value beside the state.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	if s.settings != nil {
		return s.settings.Set(key, value)
	}
	_, err := s.db.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", "setting."+key, value)
	if err != nil {
		return fmt.Errorf("save setting %s: %w", key, err)
	}
	return nil
}

// Advice is a member's newest advice from the cloud, nil for none.
func (s *Store) Advice(ctx context.Context, member uuid.UUID) (*family.Advice, error) {
	var hlc, event, data string
	var start int64
	a := family.Advice{Member: member, Data: &syncproto.RecommendationUpdated{}}
	err := s.db.QueryRowContext(ctx, "SELECT hlc, event_id, start_ms, tz, data FROM advice WHERE member_id = ?", member.String()).Scan(&hlc, &event, &start, &a.TZ, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read advice: %w", err)
	}
	a.Start = time.UnixMilli(start).UTC()
	if a.Stamp, err = parseStamp(hlc, event); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(data), a.Data); err != nil {
		return nil, fmt.Errorf("decode advice: %w", err)
	}
	return &a, nil
}

// NewsHLC is the greatest stamp of the applied events other than the
// cloud's advice: the newest news the hub's plans can reflect.
func (s *Store) NewsHLC(ctx context.Context) (syncproto.HLC, error) { return newsHLC(ctx, s.db) }

// Logged lists a member's logged facts that count and began at or after
// since, newest first, each with the event it corrects, if any.
func (s *Store) Logged(ctx context.Context, member uuid.UUID, since time.Time) ([]hub.LoggedFact, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.seq, re.raw, coalesce(x.seq, 0), rx.raw FROM facts f
		JOIN events e ON e.id = unhex(replace(f.id, '-', ''))
		LEFT JOIN recent re ON re.seq = e.seq
		LEFT JOIN events x ON x.id = unhex(replace(f.supersedes, '-', ''))
		LEFT JOIN recent rx ON rx.seq = x.seq
		WHERE f.member_id = ? AND f.counts = 1 AND f.start_ms >= ?
		ORDER BY f.start_ms DESC, f.id DESC`, member.String(), since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("read logged facts: %w", err)
	}
	out := []hub.LoggedFact{}
	var replaces []uint64 // the sequence of what each fact replaces, 0 for none
	var need []uint64
	for rows.Next() {
		var f hub.LoggedFact
		var raw, xraw []byte
		var xseq uint64
		if err := rows.Scan(&f.Seq, &raw, &xseq, &xraw); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read logged facts: %w", err)
		}
		if raw != nil {
			f.Event = raw
		} else {
			need = append(need, f.Seq)
		}
		if xraw != nil {
			f.Replaces = xraw
		} else if xseq != 0 {
			need = append(need, xseq)
		}
		out = append(out, f)
		replaces = append(replaces, xseq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read logged facts: %w", err)
	}
	got, err := s.raws(ctx, need)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Event == nil {
			out[i].Event = rawJSON(got[out[i].Seq])
		}
		if out[i].Replaces == nil && replaces[i] != 0 {
			if r, ok := got[replaces[i]]; ok {
				out[i].Replaces = r
			}
		}
	}
	return out, nil
}
