package snowflake

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// stageChunk is the most rows one INSERT binds (Warehouse.chunk, which
// tests make small). Snowflake takes an array
// binding of any size (past CLIENT_STAGE_ARRAY_BINDING_THRESHOLD values
// the driver uploads it to a temporary stage as CSV instead of sending it
// inline); the chunk only bounds one request's size.
const stageChunk = 16384

// A staging table is a temporary table: it lives in one session, so a
// write holds one *sql.Conn from CREATE to MERGE, and concurrent writes
// each have their own. CREATE OR REPLACE empties what an earlier write
// that failed half-way left in the session.
//
// Staging columns hold values as bound, and the MERGE's source query turns
// them into the target's: text "" into NULL (ids), a HAS_… flag into NULL
// (other types). Nulls are not bound inside arrays because fakesnow's
// server converts every element of a FIXED, DATE or TIMESTAMP array with
// int() (fakesnow.converter.from_binding), which fails on a null; a text
// "" is not a valid id, and the flag keeps typed values typed.
type staging struct {
	table   string   // the temporary table's name
	columns []string // its columns, "NAME TYPE"
}

// create makes the session's staging table, empty.
func (s staging) create(ctx context.Context, conn *sql.Conn) error {
	q := "CREATE OR REPLACE TEMPORARY TABLE " + s.table + " (" + strings.Join(s.columns, ", ") + ")"
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create %s: %w", s.table, err)
	}
	return nil
}

// load inserts n rows with array binding, chunk rows a statement:
// bind(lo, hi) returns one sf.Array per column, in the columns' order, for
// rows lo to hi. The INSERT names no columns: fakesnow runs an array-bound
// INSERT once per row, parsing and rewriting its text each time, and the
// shorter text makes that about a third faster.
func (s staging) load(ctx context.Context, conn *sql.Conn, n, chunk int, bind func(lo, hi int) []any) error {
	q := "INSERT INTO " + s.table + " VALUES (" + placeholders(len(s.columns)) + ")"
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		args := bind(lo, hi)
		if len(args) != len(s.columns) {
			return fmt.Errorf("load %s: %d arrays for %d columns", s.table, len(args), len(s.columns))
		}
		res, err := conn.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("load %s: %w", s.table, err)
		}
		if got, err := res.RowsAffected(); err == nil && got != int64(hi-lo) {
			return fmt.Errorf("load %s: %d rows inserted, want %d", s.table, got, hi-lo)
		}
	}
	return nil
}

// seqs returns lo to hi: the rows' places in the call, which decide which
// of two rows with one key the MERGE takes.
func seqs(lo, hi int) []int64 {
	out := make([]int64, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, int64(i))
	}
	return out
}

// idText is an id as stored: lower-case UUID text, "" (NULL once merged)
// for uuid.Nil.
func idText(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// parseID reads an id column; NULL is uuid.Nil.
func parseID(s sql.NullString) (uuid.UUID, error) {
	if !s.Valid {
		return uuid.Nil, nil
	}
	return uuid.Parse(s.String)
}

// utc is t in UTC, as TIMESTAMP_NTZ columns hold instants. (The driver
// binds an array inline as epoch nanoseconds, but formats a staged one in
// the time's own location.)
func utc(t time.Time) time.Time { return t.UTC() }

// optTime is an optional instant as staged: the time in UTC and true, or a
// placeholder and false for the zero time (NULL once merged).
func optTime(t time.Time) (time.Time, bool) {
	if t.IsZero() {
		return time.Unix(0, 0).UTC(), false
	}
	return t.UTC(), true
}
