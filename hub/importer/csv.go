package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// localLayouts are the local-time spellings a CSV may use instead of RFC
// 3339; they are read in Options.TZ.
var localLayouts = []string{
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
}

// readCSV reads start,end,kind rows one at a time.
func readCSV(r io.Reader, b *builder) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return &Error{Where: "line 1", Err: fmt.Errorf("no start,end,kind header: %w", err)}
	}
	for i, want := range []string{"start", "end", "kind"} {
		if got := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff"))); got != want {
			return &Error{Where: "line 1", Err: fmt.Errorf("header column %d is %q, not %q (the header is start,end,kind)", i+1, head[i], want)}
		}
	}
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &Error{Where: fmt.Sprintf("line %d", pe.Line), Err: pe.Err}
			}
			return err
		}
		line, _ := cr.FieldPos(0)
		where := fmt.Sprintf("line %d", line)
		start, err := b.csvTime(row[0])
		if err != nil {
			return &Error{Where: where, Err: fmt.Errorf("start: %w", err)}
		}
		end, err := b.csvTime(row[1])
		if err != nil {
			return &Error{Where: where, Err: fmt.Errorf("end: %w", err)}
		}
		kind := strings.ToLower(strings.TrimSpace(row[2]))
		if kind != "sleep" && kind != "nap" {
			return &Error{Where: where, Err: fmt.Errorf("kind %q is not sleep or nap", row[2])}
		}
		key := start.UTC().Format(time.RFC3339) + "/" + end.UTC().Format(time.RFC3339) + "/" + kind
		if err := b.sleep(where, key, start, end, kind == "nap"); err != nil {
			return err
		}
	}
}

func (b *builder) csvTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, b.loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or a local time like 2024-01-02 23:10", s)
}
