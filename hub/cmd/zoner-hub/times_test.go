package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// hasFraction reports whether s is an RFC 3339 time with a fraction of a
// second. An HLC stamp, which has milliseconds and a counter, is not one.
func hasFraction(s string) bool {
	t, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && t.Nanosecond() != 0
}

// TestReadTimesAreWholeSeconds: every time the hub's read endpoints give
// for a real family, trip and logs is a whole second, the end of a span
// its exclusive end (17:31:40, never 17:31:39.999999999).
func TestReadTimesAreWholeSeconds(t *testing.T) {
	// A clock that, like a real one, is not on a whole second.
	m := mustRun(t, t.TempDir(), func(m *Main) { m.Now = func() time.Time { return testNow.Add(123456789) } })
	c := &client{tb: t, base: m.URL}
	f := newFamily(t)
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	stream := subscribe(t, c)
	stream.waitFor(t, "hello", func(e sseEvent) bool { return e.Name == "hello" })
	var w writtenJSON
	c.json("POST", "/api/v1/events", f.encode(f.tripEvent()), 200, &w)
	// Kemi naps, and is asleep for the night, still.
	nap := f.event(f.kemi, mustTime(t, "2026-12-18T12:30:00-08:00"), mustTime(t, "2026-12-18T13:45:00-08:00"), "America/Los_Angeles", &syncproto.Sleep{Nap: true})
	night := f.event(f.kemi, mustTime(t, "2026-12-17T19:40:00-08:00"), mustTime(t, "2026-12-18T06:20:00-08:00"), "America/Los_Angeles", &syncproto.Sleep{})
	c.json("POST", "/api/v1/events", f.encode(nap, night), 200, nil)
	for _, id := range []uuid.UUID{f.ada, f.kemi, f.tobi} {
		stream.waitFor(t, "plan for "+id.String(), func(e sseEvent) bool {
			return e.Name == "plan" && e.Data["member_id"] == id.String() && e.Data["seq"].(float64) >= float64(w.Seq)
		})
	}
	// Today says what the log says: Kemi woke at 06:20, and is napping
	// at 12:45 (the nap logged after 09:00 does not count before it).
	for at, want := range map[string]string{"": "awake since 2026-12-18T14:20:00Z", "?at=2026-12-18T20:45:00Z": "napping since 2026-12-18T20:30:00Z"} {
		var today struct {
			Members []hub.MemberNow `json:"members"`
		}
		c.json("GET", "/api/v1/today"+at, nil, 200, &today)
		got := "nothing"
		for _, mn := range today.Members {
			if mn.MemberID == f.kemi && mn.State != nil {
				got = string(mn.State.Kind) + " since " + mn.State.Since.UTC().Format(time.RFC3339)
			}
		}
		if got != want {
			t.Errorf("today%s: Kemi %s, want %s", at, got, want)
		}
	}
	paths := []string{"/api/v1/family", "/api/v1/trips", "/api/v1/trips/" + f.trip.String(), "/api/v1/trips/" + f.trip.String() + "/plan",
		"/api/v1/today", "/api/v1/sync", "/api/v1/events"}
	for _, at := range []string{"2026-12-18T17:00:00Z", "2026-12-20T23:59:59Z", "2026-12-21T18:31:00Z", "2026-12-24T03:00:00Z", "2027-01-02T20:00:00Z"} {
		paths = append(paths, "/api/v1/today?at="+at)
	}
	for _, id := range []uuid.UUID{f.ada, f.kemi, f.tobi} {
		paths = append(paths, "/api/v1/members/"+id.String()+"/plans", "/api/v1/members/"+id.String()+"/log?days=7")
	}
	for _, p := range paths {
		var v any
		c.json("GET", p, nil, 200, &v)
		var bad []string
		walkTimes(v, "", func(path, s string) {
			if hasFraction(s) && len(bad) < 5 {
				bad = append(bad, path+" = "+s)
			}
		})
		if len(bad) > 0 {
			t.Errorf("GET %s: times with a fraction of a second:\n\t%s", p, strings.Join(bad, "\n\t"))
		}
	}
}

// walkTimes calls fn with every string in v, and its path, looking inside
// embedded JSON too.
func walkTimes(v any, path string, fn func(path, s string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walkTimes(e, path+"."+k, fn)
		}
	case []any:
		for i, e := range x {
			walkTimes(e, path+"["+strconv.Itoa(i)+"]", fn)
		}
	case string:
		var inner any
		if strings.HasPrefix(x, "{") && json.Unmarshal([]byte(x), &inner) == nil {
			walkTimes(inner, path, fn)
			return
		}
		fn(path, x)
	}
}
