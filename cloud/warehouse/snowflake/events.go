package snowflake

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	sf "github.com/snowflakedb/gosnowflake"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// eventsStage stages MergeEvents' rows. SEQ is the row's place in the
// call; MEMBER is "" for none; END_TS counts only where HAS_END.
func eventsStage() staging {
	return staging{table: "RAW_EVENTS_STAGE", columns: []string{
		"SEQ NUMBER(10, 0)",
		"ID VARCHAR(36)",
		"FAMILY VARCHAR(36)",
		"MEMBER VARCHAR(36)",
		"TYPE VARCHAR",
		"START_TS TIMESTAMP_NTZ(9)",
		"HAS_END BOOLEAN",
		"END_TS TIMESTAMP_NTZ(9)",
		"TZ VARCHAR",
		"HLC VARCHAR",
		"PAYLOAD_TEXT VARCHAR",
		"TOPIC VARCHAR",
		"KAFKA_PARTITION NUMBER(10, 0)",
		"KAFKA_OFFSET NUMBER(19, 0)",
		"INGESTED_AT TIMESTAMP_NTZ(9)",
	}}
}

// mergeEvents inserts the staged rows whose ids are new, the first of each
// id in the call. The source query does every conversion, so that the
// INSERT takes plain columns: fakesnow runs a MERGE as several statements
// over a table of the source's columns, and loses any other expression.
const mergeEvents = `MERGE INTO RAW_EVENTS T
USING (
	SELECT ID, FAMILY, NULLIF(MEMBER, '') AS MEMBER, TYPE, START_TS,
		CASE WHEN HAS_END THEN END_TS END AS END_TS, TZ, HLC,
		PARSE_JSON(PAYLOAD_TEXT) AS PAYLOAD, PAYLOAD_TEXT,
		TOPIC, KAFKA_PARTITION, KAFKA_OFFSET, INGESTED_AT
	FROM RAW_EVENTS_STAGE
	QUALIFY ROW_NUMBER() OVER (PARTITION BY ID ORDER BY SEQ) = 1
) S
ON T.ID = S.ID
WHEN NOT MATCHED THEN INSERT
	(ID, FAMILY, MEMBER, TYPE, START_TS, END_TS, TZ, HLC, PAYLOAD, PAYLOAD_TEXT,
	 TOPIC, KAFKA_PARTITION, KAFKA_OFFSET, INGESTED_AT)
VALUES
	(S.ID, S.FAMILY, S.MEMBER, S.TYPE, S.START_TS, S.END_TS, S.TZ, S.HLC, S.PAYLOAD, S.PAYLOAD_TEXT,
	 S.TOPIC, S.KAFKA_PARTITION, S.KAFKA_OFFSET, S.INGESTED_AT)`

// MergeEvents stores rows in RAW_EVENTS keyed on ID, leaving a row whose
// ID is already there as it was; of two rows with one ID in rows, the
// first counts. It reports how many were new. The rows are staged with
// array binding and merged by one statement, so a batch is stored whole or
// not at all.
func (w *Warehouse) MergeEvents(ctx context.Context, rows []cloud.Row) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	for _, r := range rows {
		if !json.Valid(r.Payload) {
			return 0, fmt.Errorf("merge events: event %s: payload is not JSON", r.ID)
		}
	}
	n, err := w.merge(ctx, eventsStage(), len(rows), func(lo, hi int) []any {
		return eventArrays(rows[lo:hi], lo)
	}, mergeEvents)
	if err != nil {
		return 0, fmt.Errorf("merge events: %w", err)
	}
	return int(n), nil
}

// eventArrays binds rows, the first of which is the call's row seq0, one
// array per eventsStage column.
func eventArrays(rows []cloud.Row, seq0 int) []any {
	n := len(rows)
	var (
		ids, families, members, types = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		tzs, hlcs, payloads, topics   = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		starts, ends, ingested        = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		hasEnd                        = make([]bool, n)
		partitions                    = make([]int32, n)
		offsets                       = make([]int64, n)
	)
	for i, r := range rows {
		ids[i], families[i], members[i] = r.ID.String(), r.Family.String(), idText(r.Member)
		types[i], tzs[i], hlcs[i] = string(r.Type), r.TZ, r.HLC
		payloads[i], topics[i] = string(r.Payload), r.Topic
		starts[i], ingested[i] = utc(r.Start), utc(r.IngestedAt)
		ends[i], hasEnd[i] = optTime(r.End)
		partitions[i], offsets[i] = r.Partition, r.Offset
	}
	seq := seqs(seq0, seq0+n)
	return []any{
		sf.Array(&seq), sf.Array(&ids), sf.Array(&families), sf.Array(&members), sf.Array(&types),
		sf.Array(&starts, sf.TimestampNTZType), sf.Array(&hasEnd), sf.Array(&ends, sf.TimestampNTZType),
		sf.Array(&tzs), sf.Array(&hlcs), sf.Array(&payloads), sf.Array(&topics),
		sf.Array(&partitions), sf.Array(&offsets), sf.Array(&ingested, sf.TimestampNTZType),
	}
}

// eventsChunk is the most families one Events query names.
const eventsChunk = 500

// loggedFacts are the event types Events filters by since: what people log
// as it happens, which is most of the events and little of the plan.
func loggedFacts() []syncproto.Type {
	return []syncproto.Type{syncproto.TypeSleep, syncproto.TypeMeal, syncproto.TypeLightExposure, syncproto.TypeLogRetracted}
}

// Events returns stored events of the given families, ordered by family,
// then HLC, then ID: every event of types other than the logged facts
// (sleep, meal, light_exposure, log.retracted), and of the logged facts
// those whose Start is at or after since; a zero since returns everything.
// A family named twice is read once.
func (w *Warehouse) Events(ctx context.Context, families []uuid.UUID, since time.Time) ([]cloud.Row, error) {
	// Families sorted as their text sorts, so that the chunks' answers,
	// each ordered, follow one another in order.
	names := make([]string, 0, len(families))
	for _, f := range families {
		names = append(names, f.String())
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var out []cloud.Row
	for chunk := range slices.Chunk(names, eventsChunk) {
		facts := loggedFacts()
		args := make([]any, 0, len(chunk)+len(facts)+1)
		for _, f := range chunk {
			args = append(args, f)
		}
		where := "FAMILY IN (" + placeholders(len(chunk)) + ")"
		if !since.IsZero() {
			where += " AND (TYPE NOT IN (" + placeholders(len(facts)) + ") OR START_TS >= ?)"
			for _, t := range facts {
				args = append(args, string(t))
			}
			args = append(args, since.UTC())
		}
		rows, err := w.db.QueryContext(ctx, `SELECT ID, FAMILY, MEMBER, TYPE, START_TS,
				END_TS IS NOT NULL, END_TS, TZ, HLC, PAYLOAD_TEXT, TOPIC, KAFKA_PARTITION, KAFKA_OFFSET, INGESTED_AT
			FROM RAW_EVENTS
			WHERE `+where+`
			ORDER BY FAMILY, HLC, ID`, args...)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		out, err = scanEvents(rows, out)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
	}
	return out, nil
}

// placeholders is n comma-separated positional placeholders.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// scanEvents reads Events' rows. END_TS comes with "END_TS IS NOT NULL":
// fakesnow sends a NULL TIMESTAMP_NTZ as an Arrow struct that is valid
// with null fields (fakesnow.arrow.timestamp_to_sf_struct), which the
// driver reads as 1970-01-01, not as NULL.
func scanEvents(rows *sql.Rows, out []cloud.Row) ([]cloud.Row, error) {
	defer rows.Close()
	for rows.Next() {
		var (
			r                         cloud.Row
			id, family, member        sql.NullString
			typ, payload              string
			start, ingested           time.Time
			end                       sql.NullTime
			hasEnd                    bool
			partition                 int64
			err, errFamily, errMember error
		)
		if err := rows.Scan(&id, &family, &member, &typ, &start, &hasEnd, &end, &r.TZ, &r.HLC, &payload,
			&r.Topic, &partition, &r.Offset, &ingested); err != nil {
			return nil, err
		}
		r.ID, err = parseID(id)
		r.Family, errFamily = parseID(family)
		r.Member, errMember = parseID(member)
		if err := firstErr(err, errFamily, errMember); err != nil {
			return nil, fmt.Errorf("event %s: %w", id.String, err)
		}
		r.Type = syncproto.Type(typ)
		r.Payload = []byte(payload)
		r.Start, r.IngestedAt = start.UTC(), ingested.UTC()
		if hasEnd && end.Valid {
			r.End = end.Time.UTC()
		}
		r.Partition = int32(partition)
		out = append(out, r)
	}
	return out, rows.Err()
}

// firstErr is the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// familiesWithFlight finds the trips' legs with LATERAL FLATTEN over the
// VARIANT; fakesnow emulates FLATTEN with a DuckDB table macro, and both
// take the same statement.
const familiesWithFlight = `SELECT DISTINCT E.FAMILY
FROM RAW_EVENTS E, LATERAL FLATTEN(INPUT => E.PAYLOAD:data:legs) L
WHERE E.TYPE = ? AND L.VALUE:flight::VARCHAR = ?
ORDER BY E.FAMILY`

// FamiliesWithFlight returns the families with a trip.upserted event one
// of whose legs has exactly that flight number, in id order.
func (w *Warehouse) FamiliesWithFlight(ctx context.Context, flight string) ([]uuid.UUID, error) {
	rows, err := w.db.QueryContext(ctx, familiesWithFlight, string(syncproto.TypeTripUpserted), flight)
	if err != nil {
		return nil, fmt.Errorf("families with flight: %w", err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("families with flight: %w", err)
		}
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("families with flight: family %q: %w", s, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("families with flight: %w", err)
	}
	return out, nil
}
