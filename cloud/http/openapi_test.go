package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/openapitest"
	"github.com/zoner-family/zoner/syncproto"
)

// oaUUID is the form of every id the cloud writes: a lowercase canonical
// UUID. kin-openapi knows no "uuid" format of its own.
var oaUUID = openapi3.NewRegexpFormatValidator(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// oaLoad fetches the document the server serves and checks that it is a
// valid OpenAPI 3.0 document, the same bytes as openapi.json.
func oaLoad(t *testing.T, ts *testServer) *openapi3.T {
	t.Helper()
	resp := ts.do("GET", "/v1/openapi.json", "", nil)
	if resp.code != 200 || resp.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/openapi.json: %d %q", resp.code, resp.header.Get("Content-Type"))
	}
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.body, file) {
		t.Fatal("/v1/openapi.json is not openapi.json")
	}
	return openapitest.Load(t, "/v1/openapi.json", resp.body)
}

// The document describes exactly the routes the server serves, each the
// same way: a route added to (*Server).routes without documenting it, or
// documented but not served, fails here.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	doc := oaLoad(t, ts)
	ops := openapitest.Operations(doc)
	served := map[string]route{}
	for _, rt := range ts.routes() {
		served[rt.method+" "+rt.pattern] = rt
	}
	for _, r := range slices.Sorted(maps.Keys(served)) {
		if ops[r] == nil {
			t.Errorf("route %s is served but not in cloud/http/openapi.json: document it", r)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(ops)) {
		rt, ok := served[r]
		if !ok {
			t.Errorf("operation %s is in cloud/http/openapi.json but the server has no such route", r)
			continue
		}
		op := ops[r]
		if op.OperationID == "" || op.Summary == "" {
			t.Errorf("%s: needs an operationId and a summary", r)
		}
		if op.Responses.Status(200) == nil || op.Responses.Status(500) == nil {
			t.Errorf("%s: every route answers 200, and 500 when it fails; declare them", r)
		}
		declare := func(why string, codes ...int) {
			for _, c := range codes {
				if op.Responses.Status(c) == nil {
					t.Errorf("%s: %s, so it can answer %d; declare it", r, why, c)
				}
			}
		}
		switch rt.access {
		case open:
			if op.Security == nil || len(*op.Security) != 0 {
				t.Errorf("%s: this route needs no credentials; declare \"security\": []", r)
			}
			if op.Responses.Status(429) != nil || op.Responses.Status(401) != nil {
				t.Errorf("%s: this route is neither limited nor authenticated; do not declare 401 or 429", r)
			}
		case bearer:
			declare("it needs a bearer token, is limited per token and reads the backend", 401, 403, 429, 503)
			if op.Security != nil {
				t.Errorf("%s: this route needs the bearer token; do not override the document's security", r)
			}
		case webhook:
			declare("it needs the webhook secret, is limited per address and reads a body", 400, 401, 413, 429, 503)
			var schemes []string
			if op.Security != nil {
				for _, req := range *op.Security {
					schemes = append(schemes, slices.Sorted(maps.Keys(req))...)
				}
			}
			if !slices.Equal(schemes, []string{"webhookSecret", "webhookSecretQuery"}) {
				t.Errorf("%s: security %v, want the webhook secret in the header or the query", r, schemes)
			}
		}
	}
}

// Every documented path answers every method it does not take with 405,
// the methods it takes in Allow (HEAD with GET, as the mux serves it), and
// the one error shape.
func TestOpenAPIUnsupportedMethods(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	doc := oaLoad(t, ts)
	errSchema := doc.Components.Schemas["Error"].Value
	tok := ts.token(t, RoleAdmin, uuid.Nil, "ops")
	for path, item := range doc.Paths.Map() {
		target := strings.NewReplacer("{family}", familyA.String(), "{member}", memberA.String()).Replace(path)
		var allow []string
		if item.Get != nil {
			allow = append(allow, "GET", "HEAD")
		}
		if item.Post != nil {
			allow = append(allow, "POST")
		}
		if item.Put != nil {
			allow = append(allow, "PUT")
		}
		if item.Delete != nil {
			allow = append(allow, "DELETE")
		}
		slices.Sort(allow) // as the mux lists them
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"} {
			if slices.Contains(allow, m) {
				continue
			}
			t.Run(m+" "+path, func(t *testing.T) {
				resp := ts.do(m, target, tok, nil)
				if resp.code != http.StatusMethodNotAllowed {
					t.Fatalf("status %d, want 405: %s", resp.code, resp.body)
				}
				if got := resp.header.Get("Allow"); got != strings.Join(allow, ", ") {
					t.Errorf("Allow %q, want %q", got, strings.Join(allow, ", "))
				}
				var v any
				if err := json.Unmarshal(resp.body, &v); err != nil {
					t.Fatal(err)
				}
				if err := errSchema.VisitJSON(v); err != nil {
					t.Errorf("the answer is not an Error: %v", err)
				}
				if e := resp.errorBody(t); e.Code != "method_not_allowed" {
					t.Errorf("code %q", e.Code)
				}
			})
		}
	}
}

// oaValidator checks requests sent to a test server, and its answers,
// against the document, and counts the statuses of each operation.
type oaValidator struct {
	t        *testing.T
	doc      *openapi3.T
	router   routers.Router
	statuses map[string]map[int]int // "METHOD path" → status → count
}

func oaNewValidator(t *testing.T, doc *openapi3.T) *oaValidator {
	t.Helper()
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	// The export is JSON Lines: every line one JSON object.
	openapi3filter.RegisterBodyDecoder("application/jsonl", func(body io.Reader, h http.Header, schema *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			var obj map[string]any
			if err := json.Unmarshal(line, &obj); err != nil {
				return nil, fmt.Errorf("line %d is not a JSON object: %w", i+1, err)
			}
		}
		return string(b), nil
	})
	return &oaValidator{t: t, doc: doc, router: router, statuses: map[string]map[int]int{}}
}

func (v *oaValidator) options() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus:   true,
		MultiError:              true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.WithStringFormatValidator("uuid", oaUUID)},
	}
}

// do sends a request to ts, checks that it conforms to the document
// unless bad (then it must not), that the answer has status want and
// conforms to the document, and returns the answer.
func (v *oaValidator) do(ts *testServer, bad bool, want int, method, target, token string, body []byte, header ...string) response {
	v.t.Helper()
	what := method + " " + target
	if len(what) > 120 {
		what = what[:120] + "…"
	}
	req := httptest.NewRequest(method, "http://cloud.test"+target, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.t.Fatalf("%s: not in the OpenAPI document: %v", what, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.options()}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case bad && reqErr == nil:
		v.t.Errorf("%s: sent as a bad request, but the document accepts it", what)
	case !bad && reqErr != nil:
		v.t.Errorf("%s: the request does not conform to the document: %v", what, reqErr)
	}
	resp := ts.do(method, target, token, body, header...)
	if resp.code != want {
		v.t.Errorf("%s: status %d, want %d: %s", what, resp.code, want, resp.body)
	}
	key := method + " " + route.Path
	if v.statuses[key] == nil {
		v.statuses[key] = map[int]int{}
	}
	v.statuses[key][resp.code]++
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.code, Header: resp.header, Options: v.options()}
	out.SetBodyBytes(resp.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("%s: the answer (%d %s) does not conform to the document: %v", what, resp.code, resp.header.Get("Content-Type"), err)
	}
	return resp
}

// checkCoverage fails for every operation, and every status of an
// operation, that the test did not exercise.
func (v *oaValidator) checkCoverage() {
	v.t.Helper()
	for _, key := range slices.Sorted(maps.Keys(openapitest.Operations(v.doc))) {
		got := v.statuses[key]
		if len(got) == 0 {
			v.t.Errorf("%s is never exercised by TestOpenAPIResponsesConform: add it to the flow", key)
			continue
		}
		var ss []string
		for _, s := range slices.Sorted(maps.Keys(got)) {
			ss = append(ss, fmt.Sprintf("%d×%d", s, got[s]))
		}
		v.t.Logf("%-62s %s", key, strings.Join(ss, " "))
		for code := range openapitest.Operations(v.doc)[key].Responses.Map() {
			var c int
			fmt.Sscan(code, &c)
			if got[c] == 0 && !oaUnreachable[key+" "+code] {
				v.t.Errorf("%s: status %s is declared but never exercised", key, code)
			}
		}
	}
}

// oaUnreachable are declared statuses the flow cannot cause: a panic in
// a handler that calls nothing that can panic.
var oaUnreachable = map[string]bool{
	"GET /healthz 500":                  true,
	"GET /readyz 500":                   true,
	"GET /v1/app-config 500":            true,
	"GET /metrics 500":                  true,
	"GET /v1/openapi.json 500":          true,
	"POST /v1/webhooks/flightaware 500": true,
}

// oaRecommendation is a realistic recommendation JSON for member of
// family, as the recommender caches it.
func oaRecommendation(tb testing.TB, family, member uuid.UUID, name string) []byte {
	tb.Helper()
	trip := uuid.MustParse("0193f000-0000-7000-8000-0000000000f1")
	mis := 4.5
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			tb.Fatal(err)
		}
		return t
	}
	rec := cloud.Recommendation{
		Version: cloud.RecommendationVersion, ComputedAt: at("2026-12-21T09:00:00Z"), Family: family, Member: member,
		Name: name, BasedOn: "2026-12-21T08:59:00.000Z-0000", Trip: &trip, TripName: "Christmas in London", Modelled: true,
		Misalignment: &mis,
		Adaptation:   []circadian.Adaptation{{TZ: "Europe/London", Arrive: at("2026-12-21T12:55:00Z"), Days: 4, DaysMin: 3, DaysMax: 6}},
		Now: []circadian.Item{{Kind: circadian.ItemLightSeek, Start: at("2026-12-21T09:00:00Z"), End: at("2026-12-21T10:00:00Z"),
			TZ: "Europe/London", Text: "Go outside", Reason: "Morning light moves your clock earlier", Effect: circadian.EffectAdvance,
			Outdoors: true, Lux: 10000}},
		Next: []circadian.Item{{Kind: circadian.ItemSleep, Start: at("2026-12-21T22:30:00Z"), End: at("2026-12-22T07:00:00Z"),
			TZ: "Europe/London", Text: "Sleep", Reason: "A London night"}},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// oaSummary is a realistic summary of family, with one member.
func oaSummary(tb testing.TB, family, member uuid.UUID) *cloud.FamilySummary {
	tb.Helper()
	var rec cloud.Recommendation
	if err := json.Unmarshal(oaRecommendation(tb, family, member, "Ada"), &rec); err != nil {
		tb.Fatal(err)
	}
	bedErr, mis := 25, 3.0
	day, _ := syncproto.ParseDate("2026-12-21")
	day7, _ := syncproto.ParseDate("2026-12-14")
	return &cloud.FamilySummary{Family: family, Name: "The As", Events: 40, BasedOn: rec.BasedOn,
		Members: []cloud.MemberSummary{{ID: member, Name: "Ada", AgeBand: syncproto.AgeAdult, Recommendation: &rec,
			Days: []cloud.MemberDay{
				{Family: family, Member: member, Day: day, AgeBand: syncproto.AgeAdult, Trip: *rec.Trip, TripDay: 1,
					SleepMin: 420, NapMin: 30, HabitualSleepMin: 480, BrightLightMin: 50, LightPlanned: 2, LightKept: 1,
					LightMissed: 1, Meals: 3, Misalignment: &mis, BedErrorMin: &bedErr, UpdatedAt: rec.ComputedAt},
				{Family: family, Member: member, Day: day7, AgeBand: syncproto.AgeAdult, UpdatedAt: rec.ComputedAt},
			}}},
		Trips: []cloud.TripSummary{{ID: *rec.Trip, Name: "Christmas in London", Depart: rec.ComputedAt.Add(-20 * time.Hour),
			Arrive: rec.ComputedAt.Add(-10 * time.Hour), From: "SFO", To: "LHR", Travellers: []uuid.UUID{member}}},
	}
}

// oaAnalytics are realistic aggregates.
func oaAnalytics() *cloud.Analytics {
	d, p, e := 3.5, 4.0, 22.5
	prior, personal, better := 71.0, 38.5, 0.7
	return &cloud.Analytics{
		Adaptation: []cloud.AdaptationGroup{
			{Direction: "east", AgeBand: syncproto.AgeAdult, Travellers: 4, Adapted: 3, MeanDays: &d, MeanPredicted: &p},
			{Direction: "west", AgeBand: syncproto.AgeToddler, Travellers: 1},
		},
		Light:       cloud.LightShare{Planned: 10, Kept: 6, Missed: 3},
		FirstNights: []cloud.NightGroup{{Night: 1, Members: 4, MeanSleepMin: 400, MeanHabitualMin: 480}},
		Accuracy:    cloud.Accuracy{Nights: 8, MeanAbsErrorMin: &e, Within30: 6},
		Calibration: cloud.CalibrationAccuracy{Nights: 20, MeanAbsPriorMin: &prior, MeanAbsPersonalMin: &personal, PersonalBetter: &better},
		Events:      1200, Families: 3,
	}
}

// The cloud's API through a family's day and an operator's: reads by
// every role, webhooks from both providers, and every kind of refusal.
// Every request and every answer conforms to the document, and every
// operation and status of the document is exercised.
func TestOpenAPIResponsesConform(t *testing.T) {
	ts := mustOpenServer(t, Config{WebhookRate: 1e6, WebhookBurst: 1e6})
	doc := oaLoad(t, ts)
	v := oaNewValidator(t, doc)
	fb := ts.backend
	fb.recs[[2]uuid.UUID{familyA, memberA}] = oaRecommendation(t, familyA, memberA, "Ada")
	fb.summaries[familyA] = oaSummary(t, familyA, memberA)
	fb.analytics = oaAnalytics()

	guardian := ts.token(t, RoleGuardian, familyA, "user-1")
	member := ts.token(t, RoleMember, familyA, memberA.String())
	analyst := ts.token(t, RoleAnalyst, uuid.Nil, "analyst-1")
	admin := ts.token(t, RoleAdmin, uuid.Nil, "ops-1")
	other := ts.token(t, RoleGuardian, familyB, "user-2")
	expired := mustToken(t, Claims{Role: RoleAdmin, Subject: "ops-1"}, testStart.Add(-2*time.Hour))
	secret := []string{WebhookSecretHeader, string(testWebhookSecret)}
	nobody := uuid.MustParse("0193f000-0000-7000-8000-0000000000ff").String()

	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/v1/openapi.json"} {
		v.do(ts, false, 200, "GET", p, "", nil)
	}
	fb.readyErr = &cloud.Error{Code: cloud.CodeUnavailable, Message: "the warehouse does not answer"}
	v.do(ts, false, 503, "GET", "/readyz", "", nil)
	fb.readyErr = nil

	// Reads, by whoever may.
	rec, sum := recPath(familyA, memberA), summaryPath(familyA)
	for _, tok := range []string{guardian, member, admin} {
		v.do(ts, false, 200, "GET", rec, tok, nil)
	}
	v.do(ts, false, 200, "GET", sum, guardian, nil)
	v.do(ts, false, 200, "GET", sum, admin, nil)
	v.do(ts, false, 200, "GET", summaryPath(familyB), admin, nil)
	v.do(ts, false, 200, "GET", "/v1/analytics", analyst, nil)
	export := "/v1/families/" + familyA.String() + "/export"
	v.do(ts, false, 200, "GET", export, guardian, nil)
	v.do(ts, false, 403, "GET", export, member, nil)
	v.do(ts, false, 403, "GET", export, other, nil)
	v.do(ts, false, 403, "GET", export, analyst, nil)
	v.do(ts, false, 401, "GET", export, "", nil)
	v.do(ts, false, 404, "GET", "/v1/families/"+familyC.String()+"/export", admin, nil)
	fb.analytics = &cloud.Analytics{} // an empty warehouse
	v.do(ts, false, 200, "GET", "/v1/analytics", admin, nil)

	// Refusals: no token, a bad one, another family, the wrong role,
	// nothing there.
	for _, p := range []string{rec, sum, "/v1/analytics"} {
		v.do(ts, false, 401, "GET", p, "", nil)
		v.do(ts, false, 401, "GET", p, expired, nil)
		v.do(ts, false, 401, "GET", p, "not.a.token", nil)
	}
	v.do(ts, false, 403, "GET", rec, other, nil)
	v.do(ts, false, 403, "GET", recPath(familyA, memberX), member, nil)
	v.do(ts, false, 403, "GET", sum, member, nil)
	v.do(ts, false, 403, "GET", summaryPath(familyC), guardian, nil)
	v.do(ts, false, 403, "GET", "/v1/analytics", guardian, nil)
	v.do(ts, false, 404, "GET", recPath(familyA, uuid.MustParse(nobody)), admin, nil)
	v.do(ts, false, 404, "GET", summaryPath(familyC), admin, nil)
	// Other spellings of an id name the same one; what is no id is refused.
	v.do(ts, false, 200, "GET", "/v1/families/"+strings.ToUpper(familyA.String())+"/summary", guardian, nil)
	v.do(ts, false, 200, "GET", "/v1/families/urn:uuid:"+familyA.String()+"/members/"+strings.ReplaceAll(memberA.String(), "-", "")+"/recommendation", member, nil)
	v.do(ts, false, 403, "GET", "/v1/families/00000000-0000-0000-0000-000000000000/summary", guardian, nil)
	v.do(ts, true, 403, "GET", "/v1/families/the-as/summary", guardian, nil)
	v.do(ts, true, 404, "GET", "/v1/families/"+familyA.String()+"/members/ada/recommendation", admin, nil)

	// The backend fails.
	fb.err = &cloud.Error{Code: cloud.CodeUnavailable, Message: "the warehouse does not answer; retry"}
	v.do(ts, false, 503, "GET", rec, guardian, nil)
	v.do(ts, false, 503, "GET", sum, guardian, nil)
	v.do(ts, false, 503, "GET", export, guardian, nil)
	v.do(ts, false, 503, "GET", "/v1/analytics", analyst, nil)
	v.do(ts, false, 503, "POST", "/v1/webhooks/flight-status", "", []byte(validStatus), secret...)
	fb.err = errors.New("redis: connection reset")
	v.do(ts, false, 500, "GET", rec, guardian, nil)
	v.do(ts, false, 500, "GET", sum, guardian, nil)
	v.do(ts, false, 500, "GET", export, guardian, nil)
	v.do(ts, false, 500, "GET", "/v1/analytics", analyst, nil)
	v.do(ts, false, 500, "POST", "/v1/webhooks/flight-status", "", []byte(validStatus), secret...)
	fb.err = nil

	// Webhooks: Zoner's form, with the secret in the header or the URL.
	v.do(ts, false, 200, "POST", "/v1/webhooks/flight-status", "", []byte(validStatus), secret...)
	v.do(ts, false, 200, "POST", "/v1/webhooks/flight-status?secret="+string(testWebhookSecret), "",
		[]byte(`{"id":"m-2","flight":"BA286","date":"2026-12-20","status":"diverted","diverted_to":"lgw","diverted_to_tz":"Europe/London","depart":null}`))
	v.do(ts, false, 200, "POST", "/v1/webhooks/flight-status", "", []byte(`{"id":"m-3","flight":"BA286","date":"2026-12-20","status":"cancelled","depart":"","arrive":null}`), secret...)
	v.do(ts, false, 401, "POST", "/v1/webhooks/flight-status", "", []byte(validStatus))
	v.do(ts, false, 401, "POST", "/v1/webhooks/flight-status", "", []byte(validStatus), WebhookSecretHeader, "wrong-secret-xxxxxxxx")
	// Rules no schema says: conform, refused.
	v.do(ts, false, 400, "POST", "/v1/webhooks/flight-status", "", []byte(`{"id":"m-4","flight":"BA286","date":"2026-12-20","status":"delayed"}`), secret...)
	v.do(ts, false, 400, "POST", "/v1/webhooks/flight-status", "", []byte(`{"id":"m-5","flight":"BA-286","date":"2026-12-20","status":"landed","arrive":"2026-12-21T12:55:00Z"}`), secret...)
	v.do(ts, false, 413, "POST", "/v1/webhooks/flight-status", "", append(bytes.Repeat([]byte(" "), MaxWebhookBytes), validStatus...), secret...)
	// Bodies the document refuses too.
	for _, body := range []string{
		`{"id":"m-6","flight":"BA286","date":"2026-12-20","status":"boarding"}`,
		`{"id":"m-7","flight":"BA286","date":"2026-12-20","status":"cancelled","gate":"A9"}`,
		`{"id":"m-8","flight":"BA286","date":"2026-12-20","Status":"cancelled"}`,
		`{"id":"m-9","flight":"BA286","date":"20 Dec 2026","status":"cancelled"}`,
		`{"id":"m-10","flight":"BA286","date":"2026-12-20","status":"departed","depart":"2026-12-20T21:10:00"}`,
		`[]`, `{"id":`,
	} {
		v.do(ts, true, 400, "POST", "/v1/webhooks/flight-status", "", []byte(body), secret...)
	}

	// FlightAware's alerts.
	for name, want := range map[string]int{"departure": 200, "arrival": 200, "cancelled": 200, "diverted": 200, "change": 200, "filed": 202} {
		v.do(ts, false, want, "POST", "/v1/webhooks/flightaware?secret="+string(testWebhookSecret), "", readSample(t, name))
	}
	v.do(ts, false, 401, "POST", "/v1/webhooks/flightaware", "", readSample(t, "departure"))
	v.do(ts, false, 400, "POST", "/v1/webhooks/flightaware", "", []byte(`{"event_code":"departure","flight":{"fa_flight_id":"BAW286-1","ident_iata":"BA286"}}`), secret...)
	v.do(ts, false, 413, "POST", "/v1/webhooks/flightaware", "", append(bytes.Repeat([]byte(" "), MaxWebhookBytes), readSample(t, "departure")...), secret...)
	fb.err = &cloud.Error{Code: cloud.CodeUnavailable, Message: "no NATS"}
	v.do(ts, false, 503, "POST", "/v1/webhooks/flightaware", "", readSample(t, "departure"), secret...)
	fb.err = nil
	v.do(ts, true, 400, "POST", "/v1/webhooks/flightaware", "", []byte(`{"event_code":"departure","alert_id":"x","flight":{"fa_flight_id":"BAW286-1"}}`), secret...)
	v.do(ts, true, 400, "POST", "/v1/webhooks/flightaware", "", []byte(`{"event_code":"departure"}`), secret...)

	// Limits: a token's bucket, and an address's for webhooks.
	tight := mustOpenServer(t, Config{RatePerSecond: 0.001, Burst: 1, WebhookRate: 0.001, WebhookBurst: 1})
	tight.backend.recs[[2]uuid.UUID{familyA, memberA}] = oaRecommendation(t, familyA, memberA, "Ada")
	tight.backend.summaries[familyA] = oaSummary(t, familyA, memberA)
	tight.backend.analytics = oaAnalytics()
	for _, p := range []string{rec, sum, "/v1/analytics", export} {
		tok := tight.token(t, RoleAdmin, uuid.Nil, "ops-"+p)
		v.do(tight, false, 200, "GET", p, tok, nil)
		v.do(tight, false, 429, "GET", p, tok, nil)
	}
	v.do(tight, false, 200, "POST", "/v1/webhooks/flight-status", "", []byte(validStatus), secret...)
	v.do(tight, false, 429, "POST", "/v1/webhooks/flight-status", "", []byte(validStatus), secret...)
	v.do(tight, false, 429, "POST", "/v1/webhooks/flightaware", "", readSample(t, "departure"), secret...)

	oaAuthFlow(t, v)
	oaAppFlow(t, v, ts)
	pushFlow(t, v, ts)
	oaIntakeFlow(t, v)
	v.checkCoverage()
}
