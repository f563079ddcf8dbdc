package syncproto

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var (
	testFamily = uuid.MustParse("01a2156f-95c5-7a2a-bb93-2b796a20f766")
	testMember = uuid.MustParse("01a2156f-95c8-7cde-b1b3-9a5db552d71d")
	testTrip   = uuid.MustParse("01a2156f-95d8-7af4-9be3-14b523b636fd")
	london     = time.FixedZone("", 0)
	pacific    = time.FixedZone("", -8*3600)
)

// sleepEvent is a valid night's sleep built in Go, for tests to break.
func sleepEvent() Envelope {
	return Envelope{
		Header: Header{
			ID:       NewID(),
			FamilyID: testFamily,
			MemberID: testMember,
			Origin:   "hub:test",
			Type:     TypeSleep,
			Start:    time.Date(2026, 12, 19, 22, 10, 0, 0, london),
			End:      time.Date(2026, 12, 20, 5, 55, 0, 0, london),
			TZ:       "Europe/London",
			HLC:      NewHLC(time.Date(2026, 12, 20, 6, 1, 0, 0, time.UTC), 0),
			V:        CurrentVersion,
		},
		Data: &Sleep{},
	}
}

// tripEvent is a valid one-leg trip built in Go.
func tripEvent() Envelope {
	e := sleepEvent()
	e.Type, e.MemberID, e.End = TypeTripUpserted, uuid.Nil, time.Time{}
	e.Data = &TripUpserted{
		TripID: testTrip,
		Legs: []Leg{{
			Flight: "BA286", From: "SFO", To: "LHR",
			FromTZ: "America/Los_Angeles", ToTZ: "Europe/London",
			Depart: time.Date(2026, 12, 18, 20, 45, 0, 0, pacific),
			Arrive: time.Date(2026, 12, 19, 14, 50, 0, 0, london),
		}},
		Travellers: []uuid.UUID{testMember},
	}
	return e
}

func TestMarshalRejectsInvalidValues(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *Envelope)
		want string
	}{
		{"end before start", func(e *Envelope) { e.End = e.Start.Add(-time.Minute) }, "end: must be after start"},
		{"no id", func(e *Envelope) { e.ID = uuid.Nil }, "id: required"},
		{"random id", func(e *Envelope) { e.ID = uuid.New() }, "id: must be a UUIDv7 (version 7, RFC 9562 variant); this is version 4"},
		{"payload of another type", func(e *Envelope) { e.Data = &Meal{Kind: MealLunch} }, "data: holds a meal payload but type is sleep"},
		{"no payload", func(e *Envelope) { e.Data = nil }, "data: required"},
		{"future version", func(e *Envelope) { e.V = 2 }, "v: version 2 is newer than this build writes (up to 1)"},
		{"unknown type", func(e *Envelope) { e.Type = "snooze" }, `type: unknown event type "snooze"`},
		{"zero hlc", func(e *Envelope) { e.HLC = HLC{} }, "hlc: required"},
		{"hlc out of range", func(e *Envelope) { e.HLC = NewHLC(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 0) }, "hlc: must lie between 2000-01-01 and 2100-01-01"},
		{"local zone", func(e *Envelope) { e.TZ = "Local" }, `tz: unknown time zone "Local"`},
		{"nap over 6 h", func(e *Envelope) { e.Data = &Sleep{Nap: true} }, "end: a nap lasts at most 6 h; this one lasts 7 h 45 min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sleepEvent()
			tt.edit(&e)
			_, err := Marshal(e)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Marshal error = %v, want one starting %q", err, tt.want)
			}
			if e.Validate() == nil {
				t.Error("Validate accepted what Marshal rejected")
			}
		})
	}
}

func TestMarshalRejectsInvalidPayloadValues(t *testing.T) {
	lux := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		e    func() Envelope
		want string
	}{
		{"clock time out of range", func() Envelope {
			e := sleepEvent()
			e.Type, e.End = TypeMemberUpserted, time.Time{}
			e.Data = &MemberUpserted{DisplayName: "Ada", AgeBand: AgeAdult, HomeTZ: "UTC", SleepTime: ClockAt(25, 0), WakeTime: ClockAt(7, 0)}
			return e
		}, "data.sleep_time: must be a time of day between 00:00 and 23:59"},
		{"date that does not exist", func() Envelope {
			e := sleepEvent()
			e.Type, e.End = TypeMemberUpserted, time.Time{}
			e.Data = &MemberUpserted{DisplayName: "Ada", BirthDate: Date{1988, time.February, 30}, HomeTZ: "UTC", SleepTime: ClockAt(22, 0), WakeTime: ClockAt(7, 0)}
			return e
		}, "data.birth_date: 1988-02-30 is not a real date"},
		{"lux is NaN", func() Envelope {
			e := sleepEvent()
			e.Type = TypeLightExposure
			e.Data = &LightExposure{Lux: lux(nanValue())}
			return e
		}, "data.lux: must be between 0 and 150000"},
		{"legs out of order", func() Envelope {
			e := tripEvent()
			trip := e.Data.(*TripUpserted)
			trip.Legs = append(trip.Legs, trip.Legs[0])
			return e
		}, "data.legs[1].depart: must not be before data.legs[0].arrive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Marshal(tt.e())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Marshal error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func nanValue() float64 {
	var zero float64
	return zero / zero
}

func TestMarshalThenUnmarshalGoValues(t *testing.T) {
	for _, e := range []Envelope{sleepEvent(), tripEvent()} {
		b, err := Marshal(e)
		if err != nil {
			t.Fatalf("Marshal(%s): %v", e.Type, err)
		}
		got, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if !got.Start.Equal(e.Start) || got.ID != e.ID || got.HLC != e.HLC {
			t.Errorf("round trip of %s changed the header: %+v", e.Type, got.Header)
		}
	}
}

// TestUnmarshalAcceptsNonCanonicalForms lists spellings clients send that
// are valid but not canonical, and the canonical bytes they become.
func TestUnmarshalAcceptsNonCanonicalForms(t *testing.T) {
	base, err := os.ReadFile("testdata/valid/flight_updated_cancelled.json")
	if err != nil {
		t.Fatal(err)
	}
	canon := func(b []byte) string {
		e, err := Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal: %v\n%s", err, b)
		}
		out, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	want := canon(base)
	for name, edit := range map[string][2]string{
		"member_id empty string": {`"origin"`, `"member_id": "", "origin"`},
		"member_id null":         {`"origin"`, `"member_id": null, "origin"`},
		"end null":               {`"tz"`, `"end": null, "tz"`},
		"offset +00:00":          {`"2027-01-01T18:00:00Z"`, `"2027-01-01T18:00:00+00:00"`},
		"fraction of zeros":      {`"2027-01-01T18:00:00Z"`, `"2027-01-01T18:00:00.000Z"`},
		"optional field null":    {`"status"`, `"depart": null, "status"`},
		"reordered and compact":  {"{\n  \"id\"", `{"v":1,"id"`},
	} {
		t.Run(name, func(t *testing.T) {
			in := strings.Replace(string(base), edit[0], edit[1], 1)
			if in == string(base) {
				t.Fatalf("edit %q did not apply", edit[0])
			}
			if name == "reordered and compact" {
				in = strings.Replace(in, "\"v\": 1,\n", "", 1)
			}
			if got := canon([]byte(in)); got != want {
				t.Errorf("canonical form\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestDecodeHeaderForwardsNewerVersions(t *testing.T) {
	newer := `{
		"id": "01a2156f-9615-752a-937a-8d64abffa7d3",
		"family_id": "01a2156f-95c5-7a2a-bb93-2b796a20f766",
		"member_id": "01a2156f-95c8-7cde-b1b3-9a5db552d71d",
		"origin": "hub:from-the-future",
		"type": "nap.skipped",
		"start": "2027-06-01T13:00:00+02:00",
		"tz": "Europe/Paris",
		"hlc": "2027-06-01T11:00:00.000Z-0000",
		"v": 2,
		"priority": "high",
		"data": {"reason": "teething"}
	}`
	h, err := DecodeHeader([]byte(newer))
	if err != nil {
		t.Fatalf("DecodeHeader of a v2 event: %v", err)
	}
	if h.Type != "nap.skipped" || h.V != 2 || h.MemberID != testMember {
		t.Errorf("header = %+v", h)
	}
	_, err = Unmarshal([]byte(newer))
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != CodeUnsupportedVersion || pe.Path != "v" {
		t.Errorf("Unmarshal of a v2 event: %v, want an unsupported_version error on v", err)
	}

	// At version 1 the same liberties are errors.
	v1 := strings.Replace(newer, `"v": 2`, `"v": 1`, 1)
	_, err = DecodeHeader([]byte(v1))
	if err == nil || !strings.Contains(err.Error(), "priority: unknown field") {
		t.Errorf("DecodeHeader of a v1 event with an unknown field: %v", err)
	}
	v1 = strings.Replace(v1, `"priority": "high",`, "", 1)
	_, err = DecodeHeader([]byte(v1))
	if pe, ok := errors.AsType[*Error](err); !ok || pe.Code != CodeUnknownType {
		t.Errorf("DecodeHeader of a v1 event of an unknown type: %v", err)
	}

	bad := strings.Replace(newer, `"nap.skipped"`, `"Nap Skipped!"`, 1)
	if _, err := DecodeHeader([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "type: must be lowercase") {
		t.Errorf("DecodeHeader of a malformed type name: %v", err)
	}
}

func TestErrorsAreTyped(t *testing.T) {
	_, err := Unmarshal([]byte(`{"v": "one"}`))
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T is not Errors", err)
	}
	if es.Code() != CodeMalformed {
		t.Errorf("Code() = %s, want malformed", es.Code())
	}
	pe, ok := errors.AsType[*Error](err)
	if !ok || pe.Path != "v" || pe.Rule != "must be a whole number, not a string" {
		t.Errorf("first *Error = %+v", pe)
	}
}

func TestProblemsAreBounded(t *testing.T) {
	e := tripEvent()
	trip := e.Data.(*TripUpserted)
	for range MaxLegs - 1 {
		trip.Legs = append(trip.Legs, Leg{Flight: "nope", From: "x", To: "y"})
	}
	err := e.Validate()
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Validate = %v", err)
	}
	if len(es) != maxProblems+1 || !strings.HasPrefix(es[maxProblems].Rule, "and ") {
		t.Errorf("got %d problems, the last %q; want %d and a count of the rest", len(es), es[len(es)-1].Rule, maxProblems+1)
	}
}

func TestAgeBandAt(t *testing.T) {
	birth := Date{2024, time.May, 2}
	for _, tt := range []struct {
		day  Date
		want AgeBand
	}{
		{Date{2024, time.May, 2}, AgeUnder6Months},
		{Date{2024, time.November, 1}, AgeUnder6Months},
		{Date{2024, time.November, 2}, Age6To12Months},
		{Date{2025, time.May, 1}, Age6To12Months},
		{Date{2025, time.May, 2}, AgeToddler},
		{Date{2027, time.May, 1}, AgeToddler},
		{Date{2027, time.May, 2}, AgeChild},
		{Date{2037, time.May, 2}, AgeTeen},
		{Date{2042, time.May, 1}, AgeTeen},
		{Date{2042, time.May, 2}, AgeAdult},
	} {
		if got := AgeBandAt(birth, tt.day); got != tt.want {
			t.Errorf("AgeBandAt(%s, %s) = %s, want %s", birth, tt.day, got, tt.want)
		}
	}
}

func TestFlightNumbers(t *testing.T) {
	for s, ok := range map[string]bool{
		"BA286": true, "U21234": true, "9W1": true, "UAL901": true, "BA286A": true, "QF12": true,
		"BA": false, "12345": false, "BA 286": false, "ba286": false, "BA12345": false, "BA-286": false, "UAL": false,
	} {
		var p problems
		flightNumber(&p, "flight", s)
		if p.ok() != ok {
			t.Errorf("flight number %q: valid = %v, want %v", s, p.ok(), ok)
		}
	}
}

func TestClockTimeAndDateText(t *testing.T) {
	for s, ok := range map[string]bool{"00:00": true, "23:59": true, "07:30": true, "24:00": false, "7:30": false, "07:60": false, "0730": false, "": false} {
		c, err := ParseClockTime(s)
		if (err == nil) != ok {
			t.Errorf("ParseClockTime(%q) error = %v, want valid = %v", s, err, ok)
		}
		if ok && c.String() != s {
			t.Errorf("ParseClockTime(%q).String() = %q", s, c)
		}
	}
	for s, ok := range map[string]bool{"2024-02-29": true, "2023-02-29": false, "2024-2-29": false, "29/02/2024": false, "2024-02-29T00:00:00Z": false} {
		d, err := ParseDate(s)
		if (err == nil) != ok {
			t.Errorf("ParseDate(%q) error = %v, want valid = %v", s, err, ok)
		}
		if ok && d.String() != s {
			t.Errorf("ParseDate(%q).String() = %q", s, d)
		}
	}
}

func TestUnknownFieldsAreReportedInKeyOrder(t *testing.T) {
	b, err := os.ReadFile("testdata/valid/sleep_night.json")
	if err != nil {
		t.Fatal(err)
	}
	in := strings.Replace(string(b), `"data": {}`, `"data": {"zeta": 1, "alpha": 2, "Odd Key": 3}`, 1)
	_, err = Unmarshal([]byte(in))
	want := `data["Odd Key"]: unknown field; data.alpha: unknown field; data.zeta: unknown field`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}

func ExampleUnmarshal() {
	_, err := Unmarshal([]byte(`{
		"id": "01a2156f-95fe-7e9e-a5ae-b7f610513d30",
		"family_id": "01a2156f-95c5-7a2a-bb93-2b796a20f766",
		"member_id": "01a2156f-95c8-7cde-b1b3-9a5db552d71d",
		"origin": "web:ada-phone",
		"type": "sleep",
		"start": "2026-12-19T22:10:00Z",
		"end": "2026-12-19T21:10:00Z",
		"tz": "Europe/London",
		"hlc": "2026-12-20T06:01:13.509Z-0000",
		"v": 1,
		"data": {}
	}`))
	fmt.Println(err)
	// Output: end: must be after start
}

func ExampleMarshal() {
	clock := NewClock(func() time.Time { return time.Date(2026, 12, 20, 6, 1, 13, 509e6, time.UTC) })
	london, _ := LoadZone("Europe/London")
	b, err := Marshal(Envelope{
		Header: Header{
			ID:       uuid.MustParse("01a2156f-95fe-7e9e-a5ae-b7f610513d30"), // NewID() in real code
			FamilyID: uuid.MustParse("01a2156f-95c5-7a2a-bb93-2b796a20f766"),
			MemberID: uuid.MustParse("01a2156f-95c8-7cde-b1b3-9a5db552d71d"),
			Origin:   "hub:kitchen-ipad",
			Type:     TypeSleep,
			Start:    time.Date(2026, 12, 19, 22, 10, 0, 0, london),
			End:      time.Date(2026, 12, 20, 5, 55, 0, 0, london),
			TZ:       "Europe/London",
			HLC:      clock.Now(),
			V:        CurrentVersion,
		},
		Data: &Sleep{},
	})
	fmt.Println(string(b), err)
	// Output: {"id":"01a2156f-95fe-7e9e-a5ae-b7f610513d30","family_id":"01a2156f-95c5-7a2a-bb93-2b796a20f766","member_id":"01a2156f-95c8-7cde-b1b3-9a5db552d71d","origin":"hub:kitchen-ipad","type":"sleep","start":"2026-12-19T22:10:00Z","end":"2026-12-20T05:55:00Z","tz":"Europe/London","hlc":"2026-12-20T06:01:13.509Z-0000","v":1,"data":{}} <nil>
}

func TestSizeLimitBoundary(t *testing.T) {
	b, err := os.ReadFile("testdata/valid/sleep_night.json")
	if err != nil {
		t.Fatal(err)
	}
	pad := func(n int) []byte {
		out := append([]byte(nil), b...)
		return append(out, strings.Repeat(" ", n-len(out))...)
	}
	if _, err := Unmarshal(pad(MaxEnvelopeBytes)); err != nil {
		t.Errorf("envelope of exactly %d bytes: %v", MaxEnvelopeBytes, err)
	}
	_, err = Unmarshal(pad(MaxEnvelopeBytes + 1))
	if es, ok := errors.AsType[Errors](err); !ok || es.Code() != CodeTooLarge {
		t.Errorf("envelope of %d bytes: %v, want too_large", MaxEnvelopeBytes+1, err)
	}
}
