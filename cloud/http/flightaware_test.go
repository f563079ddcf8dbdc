package http

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "flightaware", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// editSample returns a sample with fields of its flight object changed
// (nil sets null) and top-level fields changed with a "." prefix.
func editSample(tb testing.TB, name string, kv ...any) []byte {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(readSample(tb, name), &m); err != nil {
		tb.Fatal(err)
	}
	f := m["flight"].(map[string]any)
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if top, ok := strings.CutPrefix(k, "."); ok {
			m[top] = kv[i+1]
		} else {
			f[k] = kv[i+1]
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func utc(h, m int) time.Time { return time.Date(2026, 12, 21, h, m, 0, 0, time.UTC) }

// The BA286 of the samples is the 20 December flight at its origin (San
// Francisco), though it leaves at 03:40 UTC on the 21st.
var ba286Date = syncproto.Date{Year: 2026, Month: time.December, Day: 20}

func TestFlightAwareSamples(t *testing.T) {
	for _, tc := range []struct {
		sample string
		want   cloud.FlightStatus // Source, Flight, Date filled in below
		ignore bool
	}{
		{sample: "filed", ignore: true},
		{sample: "change", want: cloud.FlightStatus{Status: syncproto.FlightDelayed, Depart: utc(5, 10), Arrive: utc(15, 30)}},
		{sample: "departure", want: cloud.FlightStatus{Status: syncproto.FlightDeparted, Depart: utc(4, 41), Arrive: utc(14, 38)}},
		{sample: "arrival", want: cloud.FlightStatus{Status: syncproto.FlightLanded, Depart: utc(4, 41), Arrive: utc(14, 31)}},
		{sample: "cancelled", want: cloud.FlightStatus{Status: syncproto.FlightCancelled}},
		{sample: "diverted", want: cloud.FlightStatus{Status: syncproto.FlightDiverted, Depart: utc(4, 41), Arrive: utc(14, 52),
			DivertedTo: "LGW", DivertedToTZ: "Europe/London"}},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			ts := mustOpenServer(t, Config{})
			body := readSample(t, tc.sample)
			resp := ts.do("POST", "/v1/webhooks/flightaware?secret="+string(testWebhookSecret), "", body)
			if tc.ignore {
				var ig ignoredJSON
				if resp.code != 202 || json.Unmarshal(resp.body, &ig) != nil || !ig.Ignored || ig.Reason == "" {
					t.Fatalf("%d %s", resp.code, resp.body)
				}
				if n := ts.backend.callCount("FlightStatus"); n != 0 {
					t.Errorf("backend called")
				}
				return
			}
			if resp.code != 200 {
				t.Fatalf("status %d: %s", resp.code, resp.body)
			}
			got := ts.backend.lastStatus(t)
			want := tc.want
			want.Source, want.Flight, want.Date, want.ID = "flightaware", "BA286", ba286Date, got.ID
			if !sameStatus(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if !strings.HasPrefix(got.ID, "fa:4815162:BAW286-1797824400-schedule-0412:"+tc.sample+":") {
				t.Errorf("id %q", got.ID)
			}
			if _, err := syncproto.Marshal(flightEnvelope(got)); err != nil {
				t.Errorf("syncproto refuses the status: %v", err)
			}
		})
	}
}

func TestFlightAwareIDs(t *testing.T) {
	a, _, err := decodeFlightAware(readSample(t, "departure"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := decodeFlightAware(readSample(t, "departure"))
	if a.ID != b.ID {
		t.Error("a redelivered alert has a new id")
	}
	c, _, _ := decodeFlightAware(editSample(t, "departure", "actual_off", "2026-12-21T04:43:00Z"))
	if c.ID == a.ID {
		t.Error("a different alert has the same id")
	}
}

func TestFlightAwareMapping(t *testing.T) {
	for name, tc := range map[string]struct {
		body   []byte
		status syncproto.FlightStatus // "" when ignored
		check  func(t *testing.T, fs cloud.FlightStatus)
	}{
		"off event uses the runway time": {body: editSample(t, "departure", ".event_code", "off"), status: syncproto.FlightDeparted,
			check: func(t *testing.T, fs cloud.FlightStatus) {
				if !fs.Depart.Equal(utc(4, 41)) {
					t.Errorf("depart %v", fs.Depart)
				}
			}},
		"out event before takeoff uses the gate time": {body: editSample(t, "departure", ".event_code", "out", "actual_off", nil), status: syncproto.FlightDeparted,
			check: func(t *testing.T, fs cloud.FlightStatus) {
				if !fs.Depart.Equal(utc(4, 22)) {
					t.Errorf("depart %v", fs.Depart)
				}
			}},
		"in event": {body: editSample(t, "arrival", ".event_code", "in", "actual_on", nil), status: syncproto.FlightLanded,
			check: func(t *testing.T, fs cloud.FlightStatus) {
				if !fs.Arrive.Equal(utc(14, 44)) {
					t.Errorf("arrive %v", fs.Arrive)
				}
			}},
		"event code in capitals":           {body: editSample(t, "arrival", ".event_code", "ARRIVAL"), status: syncproto.FlightLanded},
		"minutes_out with moved estimates": {body: editSample(t, "change", ".event_code", "minutes_out"), status: syncproto.FlightDelayed},
		"change with only the arrival moved": {body: editSample(t, "change", "estimated_out", "2026-12-21T03:42:00Z"), status: syncproto.FlightDelayed,
			check: func(t *testing.T, fs cloud.FlightStatus) {
				if !fs.Arrive.Equal(utc(15, 30)) {
					t.Errorf("arrive %v", fs.Arrive)
				}
			}},
		"earlier departure counts":     {body: editSample(t, "change", "estimated_out", "2026-12-21T03:20:00Z", "estimated_in", "2026-12-21T14:15:00Z"), status: syncproto.FlightDelayed},
		"change of a cancelled flight": {body: editSample(t, "change", "cancelled", true), status: syncproto.FlightCancelled},
		"change that moved nothing":    {body: editSample(t, "change", "estimated_out", "2026-12-21T03:42:00Z", "estimated_in", "2026-12-21T14:18:00Z")},
		"change without estimates":     {body: editSample(t, "change", "estimated_out", nil, "estimated_in", nil)},
		"hold alert":                   {body: editSample(t, "departure", ".event_code", "hold_start", "estimated_out", nil, "estimated_in", nil)},
		"uncancelled":                  {body: editSample(t, "cancelled", "cancelled", false)},
		"no IATA ident":                {body: editSample(t, "departure", "ident_iata", nil)},
		"filed":                        {body: readSample(t, "filed")},
		"estimate before departure is dropped": {body: editSample(t, "departure", "estimated_on", "2026-12-21T04:00:00Z", "estimated_in", nil), status: syncproto.FlightDeparted,
			check: func(t *testing.T, fs cloud.FlightStatus) {
				if !fs.Arrive.IsZero() {
					t.Errorf("arrive %v", fs.Arrive)
				}
			}},
		"date from scheduled_off when no scheduled_out": {body: editSample(t, "departure", "scheduled_out", nil), status: syncproto.FlightDeparted,
			check: func(t *testing.T, fs cloud.FlightStatus) {
				if fs.Date != ba286Date {
					t.Errorf("date %v", fs.Date)
				}
			}},
		"date in Tokyo": {body: editSample(t, "departure", "origin", map[string]any{"code_iata": "HND", "timezone": "Asia/Tokyo"}), status: syncproto.FlightDeparted,
			check: func(t *testing.T, fs cloud.FlightStatus) {
				if want := (syncproto.Date{Year: 2026, Month: time.December, Day: 21}); fs.Date != want {
					t.Errorf("date %v, want %v", fs.Date, want)
				}
			}},
		"unknown fields are fine": {body: editSample(t, "departure", ".something_new", map[string]any{"x": 1}, "new_flight_field", "y"), status: syncproto.FlightDeparted},
	} {
		t.Run(name, func(t *testing.T) {
			fs, ignore, err := decodeFlightAware(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.status == "" {
				if ignore == "" {
					t.Fatalf("not ignored: %+v", fs)
				}
				return
			}
			if ignore != "" || fs.Status != tc.status {
				t.Fatalf("status %q (ignored: %q), want %q", fs.Status, ignore, tc.status)
			}
			if fs.Flight != "BA286" || fs.Source != "flightaware" {
				t.Errorf("%+v", fs)
			}
			if tc.check != nil {
				tc.check(t, fs)
			}
			if _, err := syncproto.Marshal(flightEnvelope(fs)); err != nil {
				t.Errorf("syncproto refuses the status: %v", err)
			}
		})
	}
}

func TestFlightAwareRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		body  []byte
		field string
	}{
		"no origin time zone":             {editSample(t, "departure", "origin", map[string]any{"code": "KSFO"}), "flight.origin.timezone"},
		"unknown origin time zone":        {editSample(t, "departure", "origin", map[string]any{"timezone": "Pacific/Nowhere"}), "flight.origin.timezone"},
		"no origin":                       {editSample(t, "departure", "origin", nil), "flight.origin.timezone"},
		"no scheduled times":              {editSample(t, "departure", "scheduled_out", nil, "scheduled_off", nil), "flight.scheduled_out"},
		"time of the wrong type":          {editSample(t, "departure", "actual_off", 1797828060), "flight.actual_off"},
		"time not RFC 3339":               {editSample(t, "departure", "actual_off", "Dec 21 04:41"), "flight.actual_off"},
		"departure without a time":        {editSample(t, "departure", "actual_off", nil, "actual_out", nil), "flight.actual_off"},
		"arrival without a time":          {editSample(t, "arrival", "actual_on", nil, "actual_in", nil), "flight.actual_on"},
		"diversion without a destination": {editSample(t, "diverted", "destination", nil), "flight.destination.timezone"},
		"bad time, no IATA ident":         {editSample(t, "departure", "ident_iata", nil, "actual_in", "AAA"), "flight.actual_in"},
		"bad time in a filed alert":       {editSample(t, "filed", "scheduled_in", "2026-12-21"), "flight.scheduled_in"},
		"bad IATA ident":                  {editSample(t, "departure", "ident_iata", "286"), "flight.ident_iata"},
		"no event code":                   {editSample(t, "departure", ".event_code", ""), "event_code"},
		"event code a number":             {editSample(t, "departure", ".event_code", 3), "event_code"},
		"alert id a string":               {editSample(t, "departure", ".alert_id", "x"), "alert_id"},
		"no flight":                       {editSample(t, "departure", ".flight", nil), "flight"},
		"flight a string":                 {editSample(t, "departure", ".flight", "BA286"), "flight"},
		"no fa_flight_id":                 {editSample(t, "departure", "fa_flight_id", nil), "flight.fa_flight_id"},
		"not JSON":                        {[]byte("event_code=departure"), ""},
	} {
		t.Run(name, func(t *testing.T) {
			ts := mustOpenServer(t, Config{})
			resp := ts.do("POST", "/v1/webhooks/flightaware", "", tc.body, WebhookSecretHeader, string(testWebhookSecret))
			if resp.code != 400 {
				t.Fatalf("status %d: %s", resp.code, resp.body)
			}
			e := resp.errorBody(t)
			if len(e.Problems) == 0 || e.Problems[0].Path != tc.field {
				t.Errorf("problems %+v, want field %s", e.Problems, tc.field)
			}
		})
	}
}

func FuzzDecodeFlightAware(f *testing.F) {
	for _, s := range []string{"filed", "change", "departure", "arrival", "cancelled", "diverted"} {
		f.Add(readSample(f, s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fs, ignore, err := decodeFlightAware(body)
		if err != nil || ignore != "" {
			return
		}
		if _, err := syncproto.Marshal(flightEnvelope(fs)); err != nil {
			t.Fatalf("mapped to a status syncproto refuses: %+v: %v", fs, err)
		}
		if fs.ID == "" || len(fs.ID) > maxMessageID || fs.Date.IsZero() {
			t.Fatalf("mapped %+v", fs)
		}
	})
}
