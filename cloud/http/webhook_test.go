package http

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

const validStatus = `{"id":"msg-1","flight":"ba 286","date":"2026-12-20","status":"delayed","depart":"2026-12-20T21:10:00-08:00","arrive":"2026-12-21T15:30:00Z"}`

func TestWebhookAuth(t *testing.T) {
	secret := string(testWebhookSecret)
	for _, tc := range []struct {
		name   string
		query  string
		header []string
		want   int
	}{
		{"header", "", []string{WebhookSecretHeader, secret}, 200},
		{"query", "?secret=" + url.QueryEscape(secret), nil, 200},
		{"wrong header", "", []string{WebhookSecretHeader, secret + "x"}, 401},
		{"wrong query", "?secret=nope", nil, 401},
		{"prefix of the secret", "?secret=" + secret[:len(secret)-1], nil, 401},
		{"missing", "", nil, 401},
		{"empty header", "", []string{WebhookSecretHeader, ""}, 401},
		{"bearer token instead", "", []string{"Authorization", "Bearer " + secret}, 401},
		{"wrong header beats right query", "?secret=" + url.QueryEscape(secret), []string{WebhookSecretHeader, "wrong"}, 401},
	} {
		for _, path := range []string{"/v1/webhooks/flight-status", "/v1/webhooks/flightaware"} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				ts := mustOpenServer(t, Config{})
				body := []byte(validStatus)
				if strings.HasSuffix(path, "flightaware") {
					body = readSample(t, "departure")
				}
				resp := ts.do("POST", path+tc.query, "", body, tc.header...)
				if resp.code != tc.want {
					t.Fatalf("status %d, want %d: %s", resp.code, tc.want, resp.body)
				}
				if tc.want == 401 {
					if e := resp.errorBody(t); e.Code != httpx.CodeUnauthorized {
						t.Errorf("code %q", e.Code)
					}
					if resp.header.Get("WWW-Authenticate") == "" {
						t.Error("no WWW-Authenticate")
					}
					if n := ts.backend.callCount("FlightStatus"); n != 0 {
						t.Errorf("backend called %d times", n)
					}
				}
			})
		}
	}
}

func TestFlightStatusWebhook(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	resp := ts.do("POST", "/v1/webhooks/flight-status", "", []byte(validStatus), WebhookSecretHeader, string(testWebhookSecret))
	if resp.code != 200 {
		t.Fatalf("status %d: %s", resp.code, resp.body)
	}
	var res cloud.FlightResult
	if err := json.Unmarshal(resp.body, &res); err != nil || res.Trips != 1 || len(res.Events) != 1 {
		t.Errorf("answer %s (%v)", resp.body, err)
	}
	want := cloud.FlightStatus{
		Source: "zoner", ID: "msg-1", Flight: "BA286",
		Date:   syncproto.Date{Year: 2026, Month: time.December, Day: 20},
		Status: syncproto.FlightDelayed,
		Depart: time.Date(2026, 12, 21, 5, 10, 0, 0, time.UTC),
		Arrive: time.Date(2026, 12, 21, 15, 30, 0, 0, time.UTC),
	}
	got := ts.backend.lastStatus(t)
	if !sameStatus(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	// No trip matched: events is an empty list, not null.
	ts.backend.result = cloud.FlightResult{}
	resp = ts.do("POST", "/v1/webhooks/flight-status", "", []byte(validStatus), WebhookSecretHeader, string(testWebhookSecret))
	if resp.code != 200 || !bytes.Contains(resp.body, []byte(`"events":[]`)) {
		t.Errorf("%d %s", resp.code, resp.body)
	}
}

// sameStatus compares statuses with instants compared as instants.
func sameStatus(a, b cloud.FlightStatus) bool {
	return a.Source == b.Source && a.ID == b.ID && a.Flight == b.Flight && a.Date == b.Date &&
		a.Status == b.Status && a.Depart.Equal(b.Depart) && a.Arrive.Equal(b.Arrive) &&
		a.DivertedTo == b.DivertedTo && a.DivertedToTZ == b.DivertedToTZ
}

func TestFlightStatusForms(t *testing.T) {
	for name, tc := range map[string]struct {
		body string
		want cloud.FlightStatus
	}{
		"departed": {`{"id":"a","flight":"UA901","date":"2026-12-20","status":"departed","depart":"2026-12-20T18:05:00-08:00"}`,
			cloud.FlightStatus{Status: syncproto.FlightDeparted, Flight: "UA901", Depart: time.Date(2026, 12, 21, 2, 5, 0, 0, time.UTC)}},
		"landed": {`{"id":"a","flight":"UAL901","date":"2026-12-20","status":"landed","arrive":"2026-12-21T12:55:00Z"}`,
			cloud.FlightStatus{Status: syncproto.FlightLanded, Flight: "UAL901", Arrive: time.Date(2026, 12, 21, 12, 55, 0, 0, time.UTC)}},
		"cancelled, nulls as absent": {`{"id":"a","flight":"ba286","date":"2026-12-20","status":"cancelled","depart":null}`,
			cloud.FlightStatus{Status: syncproto.FlightCancelled, Flight: "BA286"}},
		"diverted": {`{"id":"a","flight":"BA286","date":"2026-12-20","status":"diverted","diverted_to":"lgw","diverted_to_tz":"Europe/London"}`,
			cloud.FlightStatus{Status: syncproto.FlightDiverted, Flight: "BA286", DivertedTo: "LGW", DivertedToTZ: "Europe/London"}},
		"delayed, arrive only": {`{"id":"a","flight":"BA286","date":"2026-12-20","status":"delayed","arrive":"2026-12-21T15:30:00+00:00"}`,
			cloud.FlightStatus{Status: syncproto.FlightDelayed, Flight: "BA286", Arrive: time.Date(2026, 12, 21, 15, 30, 0, 0, time.UTC)}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := decodeFlightStatus([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Source, tc.want.ID, tc.want.Date = "zoner", "a", syncproto.Date{Year: 2026, Month: time.December, Day: 20}
			if !sameStatus(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestFlightStatusStrictErrors(t *testing.T) {
	ok := map[string]any{}
	if err := json.Unmarshal([]byte(validStatus), &ok); err != nil {
		t.Fatal(err)
	}
	// edit returns the valid body with fields changed (nil deletes).
	edit := func(kv ...any) string {
		m := map[string]any{}
		for k, v := range ok {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for name, tc := range map[string]struct {
		body   string
		fields []string
	}{
		"unknown field":            {edit("gate", "A9"), []string{"gate"}},
		"misspelt field":           {edit("flight", nil, "flight_number", "BA286"), []string{"flight_number"}},
		"status a number":          {edit("status", 3), []string{"status"}},
		"flight an object":         {edit("flight", map[string]any{"iata": "BA286"}), []string{"flight"}},
		"missing id":               {edit("id", nil), []string{"id"}},
		"id with a newline":        {edit("id", "a\nb"), []string{"id"}},
		"id too long":              {edit("id", strings.Repeat("x", maxMessageID+1)), []string{"id"}},
		"missing flight":           {edit("flight", nil), []string{"flight"}},
		"bad flight":               {edit("flight", "BA-286"), []string{"flight"}},
		"missing date":             {edit("date", nil), []string{"date"}},
		"bad date":                 {edit("date", "2026-02-30"), []string{"date"}},
		"date with time":           {edit("date", "2026-12-20T00:00:00Z"), []string{"date"}},
		"date in 1999":             {edit("date", "1999-12-20"), []string{"date"}},
		"depart in 2100":           {edit("depart", "2100-01-01T00:00:00Z", "arrive", nil), []string{"depart"}},
		"missing status":           {edit("status", nil), []string{"status"}},
		"unknown status":           {edit("status", "boarding"), []string{"status"}},
		"bad depart":               {edit("depart", "2026-12-20 21:10"), []string{"depart"}},
		"depart without offset":    {edit("depart", "2026-12-20T21:10:00"), []string{"depart"}},
		"delayed without times":    {edit("depart", nil, "arrive", nil), []string{"depart"}},
		"departed without depart":  {edit("status", "departed", "depart", nil), []string{"depart"}},
		"landed without arrive":    {edit("status", "landed", "arrive", nil), []string{"arrive"}},
		"cancelled with times":     {edit("status", "cancelled"), []string{"depart", "arrive"}},
		"arrive before depart":     {edit("arrive", "2026-12-20T20:00:00-08:00"), []string{"arrive"}},
		"flight over a day":        {edit("arrive", "2026-12-23T15:30:00Z"), []string{"arrive"}},
		"diverted without zone":    {edit("status", "diverted", "diverted_to", "LGW"), []string{"diverted_to_tz"}},
		"diverted to unknown zone": {edit("status", "diverted", "diverted_to_tz", "Europe/Gatwick"), []string{"diverted_to_tz"}},
		"diverted to bad airport":  {edit("status", "diverted", "diverted_to", "EGKK", "diverted_to_tz", "Europe/London"), []string{"diverted_to"}},
		"diversion on a delay":     {edit("diverted_to", "LGW", "diverted_to_tz", "Europe/London"), []string{"diverted_to", "diverted_to_tz"}},
		"several problems":         {edit("id", nil, "date", "soon", "status", "late"), []string{"id", "date", "status"}},
		"key in capitals":          {edit("status", nil, "Status", "delayed"), []string{"Status"}},
		"key in capitals besides":  {`{"id":"a","flight":"BA286","date":"2026-12-20","status":"cancelled","Status":"delayed","depart":"2026-12-20T21:10:00-08:00"}`, []string{"Status"}},
		"repeated key":             {`{"id":"a","status":"cancelled","flight":"BA286","date":"2026-12-20","status":"delayed","depart":"2026-12-20T21:10:00-08:00"}`, []string{"status"}},
		"two objects":              {validStatus + validStatus, []string{""}},
		"trailing garbage":         {validStatus + " x", []string{""}},
		"array":                    {"[" + validStatus + "]", []string{""}},
		"string":                   {`"hello"`, []string{""}},
		"empty":                    {"", []string{""}},
		"truncated":                {validStatus[:40], []string{""}},
		"syntax error":             {`{"id":"a",}`, []string{""}},
	} {
		t.Run(name, func(t *testing.T) {
			ts := mustOpenServer(t, Config{})
			resp := ts.do("POST", "/v1/webhooks/flight-status", "", []byte(tc.body), WebhookSecretHeader, string(testWebhookSecret))
			if resp.code != 400 {
				t.Fatalf("status %d: %s", resp.code, resp.body)
			}
			e := resp.errorBody(t)
			if e.Code != httpx.CodeInvalid {
				t.Errorf("code %q", e.Code)
			}
			var got []string
			for _, p := range e.Problems {
				got = append(got, p.Path)
				if p.Rule == "" || p.Code == "" {
					t.Errorf("problem with no rule or code: %+v", p)
				}
				if p.Index != nil {
					t.Errorf("problem of a single object with an index: %+v", p)
				}
				if p.Path != "" && !strings.Contains(e.Message, p.Path+": ") {
					t.Errorf("message %q does not name %s", e.Message, p.Path)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("problem fields %v, want %v: %s", got, tc.fields, resp.body)
			}
			if n := ts.backend.callCount("FlightStatus"); n != 0 {
				t.Errorf("backend called")
			}
		})
	}
}

func TestWebhookBodyLimit(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	body := `{"id":"` + strings.Repeat("x", MaxWebhookBytes) + `"}`
	for _, path := range []string{"/v1/webhooks/flight-status", "/v1/webhooks/flightaware"} {
		resp := ts.do("POST", path, "", []byte(body), WebhookSecretHeader, string(testWebhookSecret))
		if resp.code != 413 {
			t.Fatalf("%s: status %d", path, resp.code)
		}
		if e := resp.errorBody(t); e.Code != httpx.CodeTooLarge {
			t.Errorf("code %q", e.Code)
		}
	}
}

func FuzzDecodeFlightStatus(f *testing.F) {
	f.Add([]byte(validStatus))
	f.Add([]byte(`{"id":"a","flight":"BA286","date":"2026-12-20","status":"diverted","diverted_to":"LGW","diverted_to_tz":"Europe/London"}`))
	f.Add([]byte(`{"id":"a","flight":"BA286","date":"2026-12-20","status":"cancelled"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fs, err := decodeFlightStatus(body)
		if err != nil {
			if e, ok := err.(*httpx.Error); !ok || e.Code != httpx.CodeInvalid {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// Whatever is accepted is a status syncproto would take.
		var p problems
		p.rules(fs)
		if len(p) > 0 || fs.ID == "" || !syncproto.ValidFlight(fs.Flight) || fs.Date.IsZero() || !knownStatus(fs.Status) {
			t.Fatalf("accepted %+v (%v)", fs, p)
		}
		if _, err := syncproto.Marshal(flightEnvelope(fs)); err != nil {
			t.Fatalf("accepted a status syncproto refuses: %+v: %v", fs, err)
		}
	})
}

// flightEnvelope is the flight.updated event a backend would make of fs.
func flightEnvelope(fs cloud.FlightStatus) syncproto.Envelope {
	return syncproto.Envelope{
		Header: syncproto.Header{
			V: syncproto.CurrentVersion, ID: uuid.MustParse("0193f000-0000-7000-8000-0000000000f1"), Type: syncproto.TypeFlightUpdated,
			FamilyID: familyA, Origin: "cloud", HLC: syncproto.NewHLC(testStart, 0),
			Start: testStart, TZ: "UTC",
		},
		Data: &syncproto.FlightUpdated{
			TripID: uuid.MustParse("0193f000-0000-7000-8000-0000000000f2"), Leg: 1, Flight: fs.Flight,
			Status: fs.Status, Depart: fs.Depart, Arrive: fs.Arrive,
			DivertedTo: fs.DivertedTo, DivertedToTZ: fs.DivertedToTZ,
		},
	}
}
