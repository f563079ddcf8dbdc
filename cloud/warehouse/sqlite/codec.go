package sqlite

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// How values are stored: instants as fixed-width UTC text with nanoseconds,
// so that they sort and compare as strings and round-trip exactly; dates as
// 'YYYY-MM-DD'; UUIDs as lower-case text, and the zero value of each
// optional field as NULL.

const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime is t's column value, NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// nullUUID is id's column value, NULL for uuid.Nil.
func nullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id.String()
}

// nullDate is d's column value, NULL for the zero date.
func nullDate(d syncproto.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

func nullFloat(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func nullInt(i *int) any {
	if i == nil {
		return nil
	}
	return *i
}

// decoder turns column values back into Go values, keeping the first error
// so that a row's fields can be decoded in a row of calls.
type decoder struct{ err error }

func (d *decoder) fail(what, s string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("stored %s %q: %w", what, s, err)
	}
}

func (d *decoder) uuid(s string) uuid.UUID {
	id, err := uuid.Parse(s)
	if err != nil {
		d.fail("id", s, err)
	}
	return id
}

// nullUUID reads NULL as uuid.Nil.
func (d *decoder) nullUUID(s sql.NullString) uuid.UUID {
	if !s.Valid {
		return uuid.Nil
	}
	return d.uuid(s.String)
}

func (d *decoder) time(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.fail("time", s, err)
	}
	return t
}

// nullTime reads NULL as the zero time.
func (d *decoder) nullTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	return d.time(s.String)
}

// nullDate reads NULL as the zero date.
func (d *decoder) nullDate(s sql.NullString) syncproto.Date {
	if !s.Valid {
		return syncproto.Date{}
	}
	v, err := syncproto.ParseDate(s.String)
	if err != nil {
		d.fail("date", s.String, err)
	}
	return v
}

func floatPtr(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

func intPtr(i sql.NullInt64) *int {
	if !i.Valid {
		return nil
	}
	v := int(i.Int64)
	return &v
}
