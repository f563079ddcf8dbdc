package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	hubhttp "github.com/zoner-family/zoner/hub/http"
	"github.com/zoner-family/zoner/internal/openapitest"
	"github.com/zoner-family/zoner/syncproto"
)

// oaUUID is the form of every id the hub writes: a lowercase canonical
// UUID. kin-openapi knows no "uuid" format of its own.
var oaUUID = openapi3.NewRegexpFormatValidator(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// oaLoad fetches the hub's OpenAPI document and checks that it is a valid
// OpenAPI 3.0 document.
func oaLoad(t *testing.T, base string) *openapi3.T {
	t.Helper()
	b := (&client{tb: t, base: base}).json("GET", "/api/openapi.json", nil, 200, nil)
	return openapitest.Load(t, "/api/openapi.json", b)
}

// The document describes exactly the routes the server serves: a route
// added to (*Server).routes without documenting it, or documented but not
// served, fails here.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	m := mustRun(t, t.TempDir())
	doc := oaLoad(t, m.URL)
	ops := openapitest.Operations(doc)

	open := (&hubhttp.Server{}).Routes()
	open["GET /metrics"] = true
	served := map[string]bool{}
	for r := range open {
		served[r] = true
	}
	for _, r := range slices.Sorted(maps.Keys(served)) {
		if ops[r] == nil {
			t.Errorf("route %s is served but not in hub/http/openapi.json: document it", r)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(ops)) {
		if !served[r] {
			t.Errorf("operation %s is in hub/http/openapi.json but the server has no such route", r)
		}
	}

	// Every operation is documented the same way, so a new one cannot
	// slip in half-described.
	for _, r := range slices.Sorted(maps.Keys(ops)) {
		op := ops[r]
		if op.OperationID == "" || op.Summary == "" {
			t.Errorf("%s: needs an operationId and a summary", r)
		}
		if op.Responses.Status(200) == nil {
			t.Errorf("%s: no 200 response", r)
		}
		if r == "GET /metrics" {
			continue // served outside the API's rate limit and errors
		}
		if op.Responses.Status(429) == nil || op.Responses.Status(500) == nil {
			t.Errorf("%s: every API route can answer 429 (rate limited) and 500; declare them", r)
		}
		if !open[r] {
			if op.Responses.Status(401) == nil {
				t.Errorf("%s: this route answers 401 on the LAN without the pairing token; declare it", r)
			}
			if op.Security != nil {
				t.Errorf("%s: this route needs the pairing token on the LAN; do not override the document's security", r)
			}
		} else if op.Security == nil || len(*op.Security) != 0 {
			t.Errorf("%s: this route needs no pairing token; declare \"security\": []", r)
		}
	}
}

// oaValidator is an http.RoundTripper that checks every request the test
// sends to a hub, and the hub's answer, against the OpenAPI document.
type oaValidator struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router
	next   http.RoundTripper

	mu        sync.Mutex
	expectBad bool
	statuses  map[string]map[int]int // "METHOD path" → status → count
}

// oaInstall routes http.DefaultClient, which the client, subscribe and
// waitPlans helpers use, through a validator for the rest of the test.
// Tests that install it must not run in parallel.
func oaInstall(t *testing.T, doc *openapi3.T) *oaValidator {
	t.Helper()
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	// The calendar is text; kin-openapi decodes only the common types.
	openapi3filter.RegisterBodyDecoder("text/calendar", openapi3filter.PlainBodyDecoder)
	// The export is JSON Lines: every line an event envelope (some of a
	// newer version than this build reads, kept as they came).
	openapi3filter.RegisterBodyDecoder("application/jsonl", func(body io.Reader, h http.Header, schema *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if len(b) == 0 {
				break
			}
			var e struct {
				ID   string `json:"id"`
				Type string `json:"type"`
				V    int    `json:"v"`
			}
			if err := json.Unmarshal(line, &e); err != nil || e.ID == "" || e.Type == "" || e.V < 1 {
				return nil, fmt.Errorf("line %d is not an event envelope (%v): %s", i+1, err, line)
			}
		}
		return string(b), nil
	})
	prev := http.DefaultClient.Transport
	next := prev
	if next == nil {
		next = http.DefaultTransport
	}
	v := &oaValidator{t: t, doc: doc, router: router, next: next, statuses: map[string]map[int]int{}}
	http.DefaultClient.Transport = v
	t.Cleanup(func() { http.DefaultClient.Transport = prev })
	return v
}

func (v *oaValidator) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus:   true,
		MultiError:              true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.WithStringFormatValidator("uuid", oaUUID)},
	}
}

// bad runs f, which must send exactly one request that breaks the
// document (the hub must refuse it too; the test checks its status).
func (v *oaValidator) bad(f func()) {
	v.t.Helper()
	v.mu.Lock()
	v.expectBad = true
	v.mu.Unlock()
	f()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.expectBad {
		v.t.Errorf("no request was sent")
		v.expectBad = false
	}
}

func (v *oaValidator) RoundTrip(req *http.Request) (*http.Response, error) {
	what := req.Method + " " + req.URL.RequestURI()
	if len(what) > 120 {
		what = what[:120] + "…"
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.t.Errorf("%s: not in the OpenAPI document: %v", what, err)
		return v.next.RoundTrip(req)
	}
	// Validate a copy: ValidateRequest reads the body and may add defaults.
	vreq := req.Clone(req.Context())
	if req.GetBody != nil {
		if vreq.Body, err = req.GetBody(); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: v.options()}
	reqErr := openapi3filter.ValidateRequest(req.Context(), in)
	v.mu.Lock()
	bad := v.expectBad
	v.expectBad = false
	v.mu.Unlock()
	switch {
	case bad && reqErr == nil:
		v.t.Errorf("%s: sent as a bad request, but the document accepts it", what)
	case !bad && reqErr != nil:
		v.t.Errorf("%s: the request does not conform to the document: %v", what, reqErr)
	}

	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	key := req.Method + " " + route.Path
	v.mu.Lock()
	if v.statuses[key] == nil {
		v.statuses[key] = map[int]int{}
	}
	v.statuses[key][resp.StatusCode]++
	v.mu.Unlock()

	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: v.options()}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "text/event-stream" {
		// A stream does not end: check its status, headers and that the
		// document declares the media type, not its body.
		if r := route.Operation.Responses.Status(resp.StatusCode); r == nil || r.Value.Content.Get(ct) == nil {
			v.t.Errorf("%s: status %d with %s is not declared", what, resp.StatusCode, ct)
		}
		out.Options.ExcludeResponseBody = true
		if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
			v.t.Errorf("%s: the answer does not conform to the document: %v", what, err)
		}
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		v.t.Errorf("%s: the answer (%d %s) does not conform to the document: %v", what, resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	return resp, nil
}

// checkCoverage fails for every operation of the document the test did
// not exercise, so that a new route cannot go untested.
func (v *oaValidator) checkCoverage() {
	v.t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, op := range slices.Sorted(maps.Keys(openapitest.Operations(v.doc))) {
		got := v.statuses[op]
		if len(got) == 0 {
			v.t.Errorf("%s is never exercised by TestOpenAPIResponsesConform: add it to the flow", op)
			continue
		}
		var ss []string
		for _, s := range slices.Sorted(maps.Keys(got)) {
			ss = append(ss, fmt.Sprintf("%d×%d", s, got[s]))
		}
		v.t.Logf("%-45s %s", op, strings.Join(ss, " "))
	}
}

// A household's first evening, with mistakes, and a hub on the LAN: every
// request and every answer conforms to the OpenAPI document, and every
// operation of the document is exercised.
func TestOpenAPIResponsesConform(t *testing.T) {
	m := mustRun(t, t.TempDir())
	doc := oaLoad(t, m.URL)
	v := oaInstall(t, doc)
	c := &client{tb: t, base: m.URL}
	f := newFamily(t)

	for _, p := range []string{"/healthz", "/readyz", "/api/openapi.json", "/api/v1/family", "/api/v1/sync", "/api/v1/today", "/metrics"} {
		c.json("GET", p, nil, 200, nil)
	}

	// Setup; writes before it and a second setup are refused.
	setup := f.setup()
	c.json("POST", "/api/v1/events", f.encode(setup[1]), 409, nil)
	c.json("POST", "/api/v1/setup", f.encode(setup...), 200, nil)
	c.json("POST", "/api/v1/setup", f.encode(setup...), 409, nil)

	// A trip, planned for its three travellers.
	stream := subscribe(t, c)
	stream.waitFor(t, "hello", func(e sseEvent) bool { return e.Name == "hello" })
	var w writtenJSON
	c.json("POST", "/api/v1/events", f.encode(f.tripEvent()), 200, &w)
	waitReplan := func(seq uint64, members ...uuid.UUID) {
		t.Helper()
		for _, id := range members {
			stream.waitFor(t, "plan for "+id.String(), func(e sseEvent) bool {
				s, _ := e.Data["seq"].(float64)
				return e.Name == "plan" && e.Data["member_id"] == id.String() && s >= float64(seq)
			})
		}
	}
	waitReplan(w.Seq, f.ada, f.kemi, f.tobi)

	// Kemi naps late on arrival day; the flight home is delayed.
	nap := f.event(f.kemi, mustTime(t, "2026-12-21T16:30:00Z"), mustTime(t, "2026-12-21T17:10:00Z"), "Europe/London", &syncproto.Sleep{Nap: true})
	c.json("POST", "/api/v1/events", f.encode(nap), 200, &w)
	waitReplan(w.Seq, f.kemi)
	delay := f.event(uuid.Nil, testNow, time.Time{}, "Europe/London", &syncproto.FlightUpdated{
		TripID: f.trip, Leg: 2, Flight: "BA287", Status: syncproto.FlightDelayed,
		Depart: mustTime(t, "2027-01-02T16:00:00Z"), Arrive: mustTime(t, "2027-01-02T19:10:00-08:00")})
	c.json("POST", "/api/v1/events", f.encode(delay), 200, &w)
	waitReplan(w.Seq, f.ada, f.kemi, f.tobi)

	// A grandparent who visited once, and a weekend away that was called
	// off, leave tombstones.
	gran := syncproto.NewID()
	weekend := syncproto.NewID()
	la := "America/Los_Angeles"
	var res resultsJSON
	c.json("POST", "/api/v1/events", f.encode(
		f.event(gran, testNow, time.Time{}, la, &syncproto.MemberUpserted{DisplayName: "Nana", AgeBand: syncproto.AgeAdult, HomeTZ: la,
			SleepTime: clock(22, 0), WakeTime: clock(6, 0)}),
		f.event(uuid.Nil, testNow, time.Time{}, la, &syncproto.TripUpserted{TripID: weekend, Name: "Seattle weekend", Travellers: []uuid.UUID{gran},
			Legs: []syncproto.Leg{{Flight: "AS1141", From: "SFO", To: "SEA", FromTZ: la, ToTZ: la,
				Depart: mustTime(t, "2027-02-05T07:00:00-08:00"), Arrive: mustTime(t, "2027-02-05T09:10:00-08:00")}}}),
	), 200, &res)
	waitReplan(res.Results[1].Seq, gran)
	// A phone on a newer schema version: kept, not applied.
	newer := bytes.Replace(f.encode(f.event(f.ada, testNow, time.Time{}, la, &syncproto.Sleep{})), []byte(`"v":1`), []byte(`"v":2`), 1)
	c.json("POST", "/api/v1/events", newer, 200, &w)
	if w.Applied {
		t.Errorf("an event of schema version 2 was applied: %+v", w)
	}
	c.json("POST", "/api/v1/events", f.encode(
		f.event(uuid.Nil, testNow, time.Time{}, la, &syncproto.TripRemoved{TripID: weekend}),
		f.event(gran, testNow, time.Time{}, la, &syncproto.MemberRemoved{}),
	), 200, &res)
	// Reads see a write once it is applied.
	stream.waitFor(t, "the removals applied", func(e sseEvent) bool {
		s, _ := e.Data["seq"].(float64)
		return e.Name == "events" && s >= float64(res.Results[1].Seq)
	})

	// Everything there is to read.
	trip, kemi, nobody := f.trip.String(), f.kemi.String(), uuid.NewString()
	for _, p := range []string{
		"/api/v1/family", "/api/v1/members", "/api/v1/members?removed=true", "/api/v1/members/" + kemi,
		"/api/v1/members/" + gran.String(), "/api/v1/members/" + kemi + "/plans", "/api/v1/members/" + kemi + "/calendar.ics",
		"/api/v1/members/" + kemi + "/log", "/api/v1/members/" + kemi + "/log?days=60", "/api/v1/members/" + kemi + "/clock", "/api/v1/export",
		"/api/v1/trips", "/api/v1/trips?removed=true", "/api/v1/trips/" + trip, "/api/v1/trips/" + weekend.String(),
		"/api/v1/trips/" + trip + "/plan", "/api/v1/trips/" + weekend.String() + "/plan",
		"/api/v1/today", "/api/v1/today?at=2026-12-20T22:00:00Z", "/api/v1/today?at=2026-12-22T08:00:00Z", "/api/v1/today?at=2027-03-01T08:00:00Z",
		"/api/v1/sync", "/api/v1/events?member=" + kemi + "&type=sleep", "/api/v1/events?after=1000",
	} {
		c.json("GET", p, nil, 200, nil)
	}
	var plans plansJSON
	c.json("GET", "/api/v1/trips/"+trip+"/plan", nil, 200, &plans)
	if len(plans.Plans) != 3 {
		t.Errorf("the trip has %d plans, want 3", len(plans.Plans))
	}
	for after := uint64(0); ; {
		var page eventsJSON
		c.json("GET", fmt.Sprintf("/api/v1/events?after=%d&limit=3", after), nil, 200, &page)
		if len(page.Events) == 0 {
			break
		}
		after = page.Next
	}

	// Mistakes: refused, with answers the document describes.
	for _, p := range []string{
		"/api/v1/members/" + nobody, "/api/v1/members/" + nobody + "/plans", "/api/v1/members/" + nobody + "/calendar.ics",
		"/api/v1/members/" + nobody + "/log", "/api/v1/members/" + nobody + "/clock", "/api/v1/trips/" + nobody, "/api/v1/trips/" + nobody + "/plan",
	} {
		c.json("GET", p, nil, 404, nil)
	}
	for p, want := range map[string]int{
		"/api/v1/trips/christmas":                  404,
		"/api/v1/members/KEMI/plans":               404,
		"/api/v1/today?at=yesterday":               400,
		"/api/v1/members/" + kemi + "/log?days=61": 400,
		"/api/v1/events?limit=0":                   400,
		"/api/v1/events?limit=5000":                400,
		"/api/v1/events?member=kemi":               400,
		"/api/v1/events?after=-1":                  400,
		"/api/v1/events?after=2&limit=x1":          400,
	} {
		v.bad(func() { c.json("GET", p, nil, want, nil) })
	}
	// A calendar feed link, fetched with no credentials, then revoked.
	var link struct{ Path string }
	c.json("POST", "/api/v1/members/"+kemi+"/feeds", nil, 200, &link)
	c.json("GET", link.Path, nil, 200, nil)
	c.json("POST", "/api/v1/members/"+nobody+"/feeds", nil, 404, nil)
	c.json("POST", "/api/v1/members/"+nobody+"/feeds/revoke", nil, 404, nil)
	c.json("POST", "/api/v1/members/"+kemi+"/feeds/revoke", nil, 200, nil)
	c.json("GET", link.Path, nil, 404, nil)
	// A sleep history from a CSV export: taken, taken again (nothing
	// new), a broken one, and one for nobody.
	imports := "/api/v1/members/" + kemi + "/imports"
	history := "start,end,kind\n2026-12-01T19:30:00-08:00,2026-12-02T06:30:00-08:00,sleep\n"
	csv := map[string]string{"Content-Type": "text/csv"}
	for range 2 {
		if code, body := browserReq(t, "POST", m.URL+imports, "", csv, history); code != 200 {
			t.Errorf("import: %d %s", code, body)
		}
	}
	if code, body := browserReq(t, "POST", m.URL+imports, "", csv, history+"yesterday,today,sleep\n"); code != 400 {
		t.Errorf("broken import: %d %s", code, body)
	}
	if code, body := browserReq(t, "POST", m.URL+"/api/v1/members/"+nobody+"/imports", "", csv, history); code != 404 {
		t.Errorf("import for nobody: %d %s", code, body)
	}
	// Another site's page: a write from it, and a read through a name
	// pointed at the hub, are refused; a write not sent as JSON too.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(m.URL, "http://"))
	if code, _ := browserReq(t, "POST", m.URL+"/api/v1/events", "", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}, string(f.encode(setup[1]))); code != 403 {
		t.Errorf("a cross-site write: %d", code)
	}
	if code, _ := browserReq(t, "GET", m.URL+"/api/v1/family", "evil.example:"+port, nil, ""); code != 403 {
		t.Errorf("a read through another name: %d", code)
	}
	v.bad(func() {
		if code, _ := browserReq(t, "POST", m.URL+"/api/v1/events", "", map[string]string{"Content-Type": "text/plain"}, "{}"); code != 415 {
			t.Errorf("a write as text/plain: %d", code)
		}
	})
	sleep := func(member uuid.UUID, tz string) syncproto.Envelope {
		return f.event(member, mustTime(t, "2026-12-22T22:00:00Z"), mustTime(t, "2026-12-23T06:30:00Z"), tz, &syncproto.Sleep{})
	}
	// The document cannot know who is in the family or which zones exist:
	// these conform to it and the hub refuses them.
	c.json("POST", "/api/v1/events", f.encode(sleep(syncproto.NewID(), "Europe/London")), 400, nil)
	c.json("POST", "/api/v1/events", bytes.Replace(f.encode(sleep(f.ada, "Europe/London")), []byte(`"Europe/London"`), []byte(`"Mars/Olympus_Mons"`), 1), 400, nil)
	c.json("POST", "/api/v1/events", oaOversized(f.encode(sleep(f.ada, "Europe/London"))), 413, nil)
	// These break the document too.
	v.bad(func() { c.json("POST", "/api/v1/events", []byte(`{"id":`), 400, nil) })
	v.bad(func() { c.json("POST", "/api/v1/events", []byte(`[]`), 400, nil) })
	v.bad(func() {
		many := make([]syncproto.Envelope, hub.MaxBatch+1)
		for i := range many {
			many[i] = sleep(f.ada, "Europe/London")
		}
		c.json("POST", "/api/v1/events", f.encode(many...), 413, nil)
	})
	v.bad(func() {
		c.json("POST", "/api/v1/events", bytes.Replace(f.encode(sleep(f.ada, "Europe/London")), []byte(`"v":1`), []byte(`"v":"1"`), 1), 400, nil)
	})
	// On localhost there is no token to rotate.
	c.json("POST", "/api/v1/pairing/rotate", nil, 409, nil)
	c.json("POST", "/api/v1/pairing/invites", nil, 409, nil)
	c.json("GET", "/api/v1/pairing", nil, 200, nil)
	c.json("POST", "/api/v1/pairing/session", []byte(`{"token":"abcd"}`), 409, nil)
	// Not linked to the cloud: no sign-in links.
	c.json("POST", "/api/v1/cloud/signin-links", []byte(`{"role":"guardian"}`), 409, nil)

	// The notices over the stream are Notices.
	stream.mu.Lock()
	notices := slices.Clone(stream.events)
	stream.mu.Unlock()
	notice := doc.Components.Schemas["Notice"].Value
	for _, e := range notices {
		if e.Name == "hello" {
			if _, ok := e.Data["applied_seq"].(float64); !ok || len(e.Data) != 1 {
				t.Errorf("hello event: %v", e.Data)
			}
			continue
		}
		if err := notice.VisitJSON(e.Data, openapi3.WithStringFormatValidator("uuid", oaUUID)); err != nil || e.Data["kind"] != e.Name {
			t.Errorf("%s event: %v does not conform to Notice: %v", e.Name, e.Data, err)
		}
	}

	oaLAN(t, f)
	v.checkCoverage()
}

// oaLAN drives a hub on the LAN with a tight write limit: answers without
// the token, a rotation, and the rate limit.
func oaLAN(t *testing.T, f *family) {
	var shown bytes.Buffer
	m := mustRun(t, t.TempDir(), func(m *Main) {
		m.HTTPAddr = "0.0.0.0:0"
		m.Stdout = &shown
		m.Limits = hubhttp.Limits{WritesPerSecond: 0.001, WriteBurst: 8, ReadsPerSecond: 1e6, ReadBurst: 1e6}
	})
	tok := regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`).FindString(shown.String())
	if tok == "" {
		t.Fatalf("the LAN hub showed no pairing token: %q", shown.String())
	}
	anon := &client{tb: t, base: m.URL}
	paired := &client{tb: t, base: m.URL, token: tok}
	anon.json("GET", "/healthz", nil, 200, nil)
	anon.json("GET", "/api/v1/family", nil, 401, nil)
	anon.json("GET", "/api/v1/stream", nil, 401, nil)
	anon.json("POST", "/api/v1/setup", f.encode(f.setup()...), 401, nil)
	// A browser trades the token for a cookie.
	anon.json("POST", "/api/v1/pairing/session", []byte(`{"token":"abcd-efgh"}`), 401, nil)
	browser := &client{tb: t, base: m.URL, cookie: pairBrowser(t, m.URL, tok)}
	browser.json("GET", "/api/v1/family", nil, 200, nil)
	// A paired browser invites one more, once.
	anon.json("GET", "/api/v1/pairing", nil, 200, nil)
	var inv struct{ URL string }
	browser.json("POST", "/api/v1/pairing/invites", nil, 200, &inv)
	_, code, _ := strings.Cut(inv.URL, "#/pair/")
	anon.json("POST", "/api/v1/pairing/session", []byte(`{"token":"`+code+`"}`), 200, nil)
	anon.json("POST", "/api/v1/pairing/session", []byte(`{"token":"`+code+`"}`), 401, nil)
	var rotated struct{ Token string }
	paired.json("POST", "/api/v1/pairing/rotate", nil, 200, &rotated)
	paired.json("GET", "/api/v1/family", nil, 401, nil)
	renewed := &client{tb: t, base: m.URL, token: rotated.Token}
	renewed.json("GET", "/api/v1/family", nil, 200, nil)
	renewed.json("POST", "/api/v1/pairing/rotate", nil, 200, nil)
	renewed.json("POST", "/api/v1/pairing/rotate", nil, 429, nil)
}

// oaOversized is a batch of copies of one event, each padded with
// whitespace: every event is within the limits of the document and of
// syncproto, but the body is over the hub's 4 MiB.
func oaOversized(event []byte) []byte {
	padded := append(append([]byte("{"), bytes.Repeat([]byte(" "), 9000)...), event[1:]...)
	n := hubhttp.MaxBodyBytes/len(padded) + 2
	if n > hub.MaxBatch {
		panic("padding too small for an oversized batch")
	}
	return append(append([]byte("["), bytes.Join(slices.Repeat([][]byte{padded}, n), []byte(","))...), ']')
}
