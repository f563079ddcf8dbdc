package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// fitbitLog is one sleep log in a Google Takeout sleep-YYYY-MM-DD.json
// file (the Fitbit Web API's sleep log). Takeout spells the main-sleep flag
// mainSleep, the Web API isMainSleep; either is read.
type fitbitLog struct {
	LogID       json.Number `json:"logId"`
	StartTime   string      `json:"startTime"`
	EndTime     string      `json:"endTime"`
	Duration    *int64      `json:"duration"` // milliseconds
	MainSleep   *bool       `json:"mainSleep"`
	IsMainSleep *bool       `json:"isMainSleep"`
}

// fitbitTime is Fitbit's local time without a zone.
const fitbitTime = "2006-01-02T15:04:05.000"

// readFitbit streams the array one log at a time.
func readFitbit(r io.Reader, b *builder) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for i := 1; dec.More(); i++ {
		var l fitbitLog
		if err := dec.Decode(&l); err != nil {
			return &Error{Where: fmt.Sprintf("record %d (byte %d)", i, dec.InputOffset()), Err: fmt.Errorf("not a Fitbit sleep log: %w", err)}
		}
		where := fmt.Sprintf("record %d (logId %s)", i, l.LogID)
		if l.LogID == "" {
			return &Error{Where: fmt.Sprintf("record %d", i), Err: errors.New("no logId")}
		}
		start, err := time.ParseInLocation(fitbitTime, l.StartTime, b.loc)
		if err != nil {
			return &Error{Where: where, Err: fmt.Errorf("startTime %q is not like 2024-01-02T23:10:00.000", l.StartTime)}
		}
		end, err := time.ParseInLocation(fitbitTime, l.EndTime, b.loc)
		if err != nil {
			return &Error{Where: where, Err: fmt.Errorf("endTime %q is not like 2024-01-03T06:40:00.000", l.EndTime)}
		}
		main := l.MainSleep
		if main == nil {
			main = l.IsMainSleep
		}
		if main == nil {
			return &Error{Where: where, Err: errors.New("neither mainSleep nor isMainSleep says whether it is the main sleep")}
		}
		if err := b.sleep(where, l.LogID.String(), start, end, !*main); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

// ouraPeriod is one Oura sleep period (API v2 "sleep" document, and the
// sleep entries of the app's JSON export).
type ouraPeriod struct {
	ID           string `json:"id"`
	BedtimeStart string `json:"bedtime_start"`
	BedtimeEnd   string `json:"bedtime_end"`
	Type         string `json:"type"`
}

// readOura streams the top-level object, reading the periods of its
// "sleep" or "data" array and skipping every other member.
func readOura(r io.Reader, b *builder) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntax(dec, err)
		}
		key, _ := tok.(string)
		if key != "sleep" && key != "data" {
			if err := skipValue(dec); err != nil {
				return err
			}
			continue
		}
		found = true
		if err := expectDelim(dec, '['); err != nil {
			return err
		}
		for i := 1; dec.More(); i++ {
			var p ouraPeriod
			if err := dec.Decode(&p); err != nil {
				return &Error{Where: fmt.Sprintf("%s[%d] (byte %d)", key, i-1, dec.InputOffset()), Err: fmt.Errorf("not an Oura sleep period: %w", err)}
			}
			where := fmt.Sprintf("%s[%d]", key, i-1)
			if p.ID != "" {
				where += fmt.Sprintf(" (id %s)", p.ID)
			}
			if err := ouraPeriodEvent(b, where, p); err != nil {
				return err
			}
		}
		if err := expectDelim(dec, ']'); err != nil {
			return err
		}
	}
	if !found {
		return errors.New(`no "sleep" or "data" array of sleep periods: not an Oura export`)
	}
	return nil
}

func ouraPeriodEvent(b *builder, where string, p ouraPeriod) error {
	var nap bool
	switch p.Type {
	case "long_sleep":
	case "late_nap":
		nap = true
	case "sleep":
		// Oura's shorter sleeps: a nap by day, a night otherwise.
	case "rest", "deleted":
		b.res.Skipped++
		return nil
	default:
		return &Error{Where: where, Err: fmt.Errorf("type %q is not long_sleep, sleep, late_nap, rest or deleted", p.Type)}
	}
	start, err := time.Parse(time.RFC3339, p.BedtimeStart)
	if err != nil {
		return &Error{Where: where, Err: fmt.Errorf("bedtime_start %q is not an ISO 8601 time with an offset", p.BedtimeStart)}
	}
	end, err := time.Parse(time.RFC3339, p.BedtimeEnd)
	if err != nil {
		return &Error{Where: where, Err: fmt.Errorf("bedtime_end %q is not an ISO 8601 time with an offset", p.BedtimeEnd)}
	}
	if p.Type == "sleep" {
		nap = isNap(start, end)
	}
	key := p.ID
	if key == "" {
		key = start.UTC().Format(time.RFC3339) + "/" + end.UTC().Format(time.RFC3339)
	}
	return b.sleep(where, key, start, end, nap)
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return syntax(dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return &Error{Where: fmt.Sprintf("byte %d", dec.InputOffset()), Err: fmt.Errorf("expected %q, found %v", want, tok)}
	}
	return nil
}

// skipValue reads past one JSON value token by token, holding none of it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return syntax(dec, err)
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

func syntax(dec *json.Decoder, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &Error{Where: fmt.Sprintf("byte %d", dec.InputOffset()), Err: fmt.Errorf("not well-formed JSON: %w", err)}
}
