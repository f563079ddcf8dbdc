package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

const insertEvent = `INSERT INTO RAW_EVENTS (id, family, member, type, start_ts, end_ts, tz, hlc, payload,
	topic, kafka_partition, kafka_offset, ingested_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO NOTHING`

// MergeEvents stores rows in RAW_EVENTS in one transaction, keeping the
// row already stored under an id, or the first of the batch. It reports how
// many rows were new.
func (wh *Warehouse) MergeEvents(ctx context.Context, rows []cloud.Row) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	tx, err := wh.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("merge events: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, insertEvent)
	if err != nil {
		return 0, fmt.Errorf("merge events: %w", err)
	}
	defer stmt.Close()
	added := 0
	for _, r := range rows {
		res, err := stmt.ExecContext(ctx, r.ID.String(), r.Family.String(), nullUUID(r.Member), string(r.Type),
			formatTime(r.Start), nullTime(r.End), r.TZ, r.HLC, string(r.Payload),
			r.Topic, r.Partition, r.Offset, formatTime(r.IngestedAt))
		if err != nil {
			return 0, fmt.Errorf("merge events: event %s: %w", r.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("merge events: %w", err)
		}
		added += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("merge events: %w", err)
	}
	return added, nil
}

// loggedFacts are the event types Events filters by since: what people log
// as it happens, which is most of the events and little of the plan.
const loggedFacts = `'` + string(syncproto.TypeSleep) + `', '` + string(syncproto.TypeMeal) + `', '` +
	string(syncproto.TypeLightExposure) + `', '` + string(syncproto.TypeLogRetracted) + `'`

// selectEvents takes the families as a JSON array of ids (one parameter
// however many there are) and since, NULL for all time. Instants are stored
// fixed-width in UTC, so start_ts compares as text.
const selectEvents = `SELECT id, family, member, type, start_ts, end_ts, tz, hlc, payload,
	topic, kafka_partition, kafka_offset, ingested_at
FROM RAW_EVENTS
WHERE family IN (SELECT value FROM json_each(?1))
	AND (?2 IS NULL OR type NOT IN (` + loggedFacts + `) OR start_ts >= ?2)
ORDER BY family, hlc, id`

// Events returns stored events of the given families, ordered by family,
// HLC and id: all events but the logged facts (sleep, meal, light_exposure,
// log.retracted), and those of the logged facts whose Start is at or after
// since. A zero since returns everything; a family named twice is read once.
func (wh *Warehouse) Events(ctx context.Context, families []uuid.UUID, since time.Time) ([]cloud.Row, error) {
	if len(families) == 0 {
		return nil, nil
	}
	ids, err := json.Marshal(families) // uuid.UUID encodes as its string form
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	rows, err := wh.r.QueryContext(ctx, selectEvents, string(ids), nullTime(since))
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []cloud.Row
	var d decoder
	for rows.Next() {
		var (
			id, family, typ, start, ingested string
			member, end                      sql.NullString
			payload                          []byte
			r                                cloud.Row
		)
		err := rows.Scan(&id, &family, &member, &typ, &start, &end, &r.TZ, &r.HLC, &payload,
			&r.Topic, &r.Partition, &r.Offset, &ingested)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		r.ID, r.Family, r.Member = d.uuid(id), d.uuid(family), d.nullUUID(member)
		r.Type = syncproto.Type(typ)
		r.Start, r.End, r.IngestedAt = d.time(start), d.nullTime(end), d.time(ingested)
		r.Payload = payload
		if d.err != nil {
			return nil, fmt.Errorf("events: %w", d.err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// selectFlight finds the families of trip.upserted events with a leg of the
// flight. A payload that is not JSON, or whose legs are not objects, is
// passed over rather than failing the query: the CASEs keep json_each and
// json_extract from ever seeing malformed JSON.
const selectFlight = `SELECT DISTINCT e.family
FROM RAW_EVENTS AS e,
	json_each(CASE WHEN json_valid(e.payload) THEN e.payload END, '$.data.legs') AS leg
WHERE e.type = 'trip.upserted'
	AND CASE WHEN leg.type = 'object' THEN json_extract(leg.value, '$.flight') END = ?
ORDER BY e.family`

// FamiliesWithFlight returns the families with a trip.upserted event that
// has a leg with exactly the flight number flight, in id order.
func (wh *Warehouse) FamiliesWithFlight(ctx context.Context, flight string) ([]uuid.UUID, error) {
	rows, err := wh.r.QueryContext(ctx, selectFlight, flight)
	if err != nil {
		return nil, fmt.Errorf("families with flight: %w", err)
	}
	defer rows.Close()
	var out []uuid.UUID
	var d decoder
	for rows.Next() {
		var family string
		if err := rows.Scan(&family); err != nil {
			return nil, fmt.Errorf("families with flight: %w", err)
		}
		out = append(out, d.uuid(family))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("families with flight: %w", err)
	}
	if d.err != nil {
		return nil, fmt.Errorf("families with flight: %w", d.err)
	}
	return out, nil
}
