package http

import (
	"bytes"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/httpx"
)

func TestAccessRules(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	tokens := map[string]string{
		"guardian A":       ts.token(t, RoleGuardian, familyA, "user-1"),
		"guardian B":       ts.token(t, RoleGuardian, familyB, "user-2"),
		"member A":         ts.token(t, RoleMember, familyA, memberA.String()),
		"member X of A":    ts.token(t, RoleMember, familyA, memberX.String()),
		"member B":         ts.token(t, RoleMember, familyB, memberB.String()),
		"member A as of B": ts.token(t, RoleMember, familyB, memberA.String()),
		"analyst":          ts.token(t, RoleAnalyst, uuid.Nil, "analyst-1"),
		"admin":            ts.token(t, RoleAdmin, uuid.Nil, "ops-1"),
	}
	type rule struct {
		who  string
		path string
		want int
	}
	rules := []rule{
		// Recommendations: the family's guardians, the member, admins.
		{"guardian A", recPath(familyA, memberA), 200},
		{"guardian A", recPath(familyA, memberX), 200},
		{"member A", recPath(familyA, memberA), 200},
		{"member X of A", recPath(familyA, memberA), 403},
		{"member A", recPath(familyA, memberX), 403},
		{"member A as of B", recPath(familyA, memberA), 403},
		{"guardian B", recPath(familyA, memberA), 403},
		{"member B", recPath(familyA, memberA), 403},
		{"analyst", recPath(familyA, memberA), 403},
		{"admin", recPath(familyA, memberA), 200},
		{"admin", recPath(familyB, memberB), 200},
		// A family A token never reads family B, existing or not.
		{"guardian A", recPath(familyB, memberB), 403},
		{"guardian A", recPath(familyC, memberA), 403},
		{"member A", recPath(familyB, memberA), 403},
		{"guardian A", "/v1/families/not-a-uuid/members/" + memberA.String() + "/recommendation", 403},
		{"admin", recPath(familyC, memberA), 404},
		{"admin", recPath(familyA, memberB), 404},
		{"admin", "/v1/families/not-a-uuid/members/" + memberA.String() + "/recommendation", 404},
		// The nil UUID names nothing.
		{"guardian A", "/v1/families/00000000-0000-0000-0000-000000000000/summary", 403},
		{"admin", "/v1/families/00000000-0000-0000-0000-000000000000/summary", 404},
		// Summaries: the family's guardians, admins.
		{"guardian A", summaryPath(familyA), 200},
		{"guardian B", summaryPath(familyB), 200},
		{"guardian A", summaryPath(familyB), 403},
		{"guardian A", summaryPath(familyC), 403},
		{"member A", summaryPath(familyA), 403},
		{"analyst", summaryPath(familyA), 403},
		{"admin", summaryPath(familyA), 200},
		{"admin", summaryPath(familyC), 404},
		// Analytics: analysts, admins.
		{"analyst", "/v1/analytics", 200},
		{"admin", "/v1/analytics", 200},
		{"guardian A", "/v1/analytics", 403},
		{"member A", "/v1/analytics", 403},
		{"member B", "/v1/analytics", 403},
	}
	for _, r := range rules {
		t.Run(r.who+" GET "+r.path, func(t *testing.T) {
			resp := ts.do("GET", r.path, tokens[r.who], nil)
			if resp.code != r.want {
				t.Fatalf("status %d, want %d: %s", resp.code, r.want, resp.body)
			}
			if r.want != 200 {
				e := resp.errorBody(t)
				if r.want == 403 && e.Code != httpx.CodeForbidden {
					t.Errorf("code %q", e.Code)
				}
			}
			if cc := resp.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
		})
	}
	// The 403 for another family says the same whether or not it exists.
	b := ts.do("GET", summaryPath(familyB), tokens["guardian A"], nil)
	c := ts.do("GET", summaryPath(familyC), tokens["guardian A"], nil)
	if !bytes.Equal(b.body, c.body) {
		t.Errorf("403 bodies differ for an existing and a missing family:\n%s\n%s", b.body, c.body)
	}
}

func TestMemberIDSpelling(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	// A member token whose sub is the id in capitals reads the member.
	tok := ts.token(t, RoleMember, familyA, strings.ToUpper(memberA.String()))
	if resp := ts.do("GET", recPath(familyA, memberA), tok, nil); resp.code != 200 {
		t.Errorf("capitalised sub: %d", resp.code)
	}
	// And the path in capitals names the same member.
	if resp := ts.do("GET", "/v1/families/"+strings.ToUpper(familyA.String())+"/members/"+strings.ToUpper(memberA.String())+"/recommendation", tok, nil); resp.code != 200 {
		t.Errorf("capitalised path: %d", resp.code)
	}
}

func TestNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	ts := mustOpenServer(t, Config{RatePerSecond: 1, Burst: 1, WebhookRate: 1, WebhookBurst: 1})
	for i := range 500 {
		ts.do("GET", "/v1/analytics", "bad", nil, "RemoteAddr", "203.0.113."+strconv.Itoa(i%250)+":1")
		ts.do("GET", "/v1/analytics", ts.token(t, RoleAnalyst, uuid.Nil, "a"+strconv.Itoa(i)), nil)
		ts.clock.advance(time.Second)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}

func TestRefusedRequestsNeverReachTheBackend(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	for _, tok := range []string{
		ts.token(t, RoleGuardian, familyA, "user-1"),
		ts.token(t, RoleMember, familyA, memberA.String()),
		"",
	} {
		for _, path := range []string{"/v1/analytics", summaryPath(familyB), recPath(familyB, memberB)} {
			if resp := ts.do("GET", path, tok, nil); resp.code != 403 && resp.code != 401 {
				t.Errorf("GET %s: %d", path, resp.code)
			}
		}
	}
	for _, call := range []string{"Analytics", "FamilySummary", "Recommendation"} {
		if n := ts.backend.callCount(call); n != 0 {
			t.Errorf("backend %s called %d times", call, n)
		}
	}
}

func TestAnalyticsNeverReachableByFamilyRoles(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	for _, tok := range []string{
		ts.token(t, RoleGuardian, familyA, "user-1"),
		ts.token(t, RoleMember, familyA, memberA.String()),
	} {
		for _, path := range []string{"/v1/analytics", "/v1/analytics/", "/v1//analytics", "/V1/analytics", "/v1/analytics?role=admin", "/v1/./analytics"} {
			resp := ts.do("GET", path, tok, nil, "X-Zoner-Role", "admin")
			if resp.code == 200 || bytes.Contains(resp.body, []byte(`"families"`)) {
				t.Errorf("GET %s: %d %s", path, resp.code, resp.body)
			}
		}
	}
	if n := ts.backend.callCount("Analytics"); n != 0 {
		t.Errorf("Analytics called %d times", n)
	}
}

func TestUnauthorized(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	good := ts.token(t, RoleGuardian, familyA, "user-1")
	for name, auth := range map[string]string{
		"no header":        "",
		"basic":            "Basic dXNlcjpwYXNz",
		"bearer, no token": "Bearer ",
		"garbage":          "Bearer nonsense",
		"alg none":         "Bearer " + strings.Join(strings.Split(good, ".")[:2], ".") + ".",
		"wrong secret": "Bearer " + func() string {
			tok, _ := IssueToken([]byte("a different secret, 32 bytes or more"), Claims{Role: RoleGuardian, Family: familyA, Subject: "u"}, time.Hour, testStart)
			return tok
		}(),
		"expired": "Bearer " + mustToken(t, Claims{Role: RoleGuardian, Family: familyA, Subject: "u"}, testStart.Add(-2*time.Hour)),
	} {
		t.Run(name, func(t *testing.T) {
			resp := ts.do("GET", summaryPath(familyA), "", nil, "Authorization", auth)
			if resp.code != 401 {
				t.Fatalf("status %d: %s", resp.code, resp.body)
			}
			if h := resp.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") {
				t.Errorf("WWW-Authenticate %q", h)
			}
			if e := resp.errorBody(t); e.Code != httpx.CodeUnauthorized {
				t.Errorf("code %q", e.Code)
			}
			if name == "expired" && !strings.Contains(string(resp.body), "expired") {
				t.Errorf("does not say the token expired: %s", resp.body)
			}
		})
	}
	if resp := ts.do("GET", summaryPath(familyA), good, nil); resp.code != 200 {
		t.Errorf("good token: %d", resp.code)
	}
}

func TestRecommendationBytesPassThrough(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	// Odd spacing and key order: anything decoded and encoded again
	// would change it.
	want := []byte("{\"version\":1,  \"name\":\"Ada\\u00e9\",\"now\":[] ,\"family_id\":\"" + familyA.String() + "\"}")
	ts.backend.recs[[2]uuid.UUID{familyA, memberA}] = want
	resp := ts.do("GET", recPath(familyA, memberA), ts.token(t, RoleMember, familyA, memberA.String()), nil)
	if resp.code != 200 {
		t.Fatalf("status %d: %s", resp.code, resp.body)
	}
	if !bytes.Equal(resp.body, want) {
		t.Errorf("body changed:\n got %s\nwant %s", resp.body, want)
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if n := resp.header.Get("X-Content-Type-Options"); n != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", n)
	}
}

func TestBackendErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
		code httpx.Code
	}{
		{&cloud.Error{Code: cloud.CodeNotFound, Message: "no such member"}, 404, httpx.CodeNotFound},
		{&cloud.Error{Code: cloud.CodeInvalid, Message: "bad"}, 400, httpx.CodeInvalid},
		{&cloud.Error{Code: cloud.CodeUnavailable, Message: "warming up"}, 503, httpx.CodeUnavailable},
		{&cloud.Error{Code: cloud.CodeRateLimited, Message: "slow down"}, 429, httpx.CodeRateLimited},
		{&cloud.Error{Code: cloud.CodeForbidden, Message: "no"}, 403, httpx.CodeForbidden},
		{errors.New("dial tcp 10.0.0.7:6379: connection refused (password hunter2)"), 500, httpx.CodeInternal},
	} {
		t.Run(string(tc.code), func(t *testing.T) {
			ts := mustOpenServer(t, Config{})
			ts.backend.err = tc.err
			resp := ts.do("GET", summaryPath(familyA), ts.token(t, RoleGuardian, familyA, "u"), nil)
			if resp.code != tc.want {
				t.Fatalf("status %d, want %d", resp.code, tc.want)
			}
			e := resp.errorBody(t)
			if e.Code != tc.code {
				t.Errorf("code %q, want %q", e.Code, tc.code)
			}
			if tc.want == 500 {
				if strings.Contains(string(resp.body), "hunter2") || strings.Contains(string(resp.body), "10.0.0.7") {
					t.Errorf("internal error shown to the client: %s", resp.body)
				}
				if !strings.Contains(ts.logs.String(), "hunter2") {
					t.Errorf("internal error not logged: %s", ts.logs)
				}
			}
		})
	}
}

// Every code of the cloud's domain is one of the API's: the status
// table knows it.
func TestCloudCodesAreInTheStatusTable(t *testing.T) {
	for code, want := range map[cloud.ErrorCode]int{
		cloud.CodeInvalid: 400, cloud.CodeNotFound: 404, cloud.CodeUnauthorized: 401,
		cloud.CodeForbidden: 403, cloud.CodeRateLimited: 429, cloud.CodeUnavailable: 503,
	} {
		if got := httpx.Code(code).Status(); got != want {
			t.Errorf("%q: %d, want %d", code, got, want)
		}
	}
}

func TestPanicIsA500(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	ts.backend.panicMsg = "boom in the backend"
	resp := ts.do("GET", "/v1/analytics", ts.token(t, RoleAdmin, uuid.Nil, "ops"), nil)
	if resp.code != 500 || strings.Contains(string(resp.body), "boom") {
		t.Fatalf("%d %s", resp.code, resp.body)
	}
	resp.errorBody(t)
	if !strings.Contains(ts.logs.String(), "boom in the backend") {
		t.Error("panic not logged")
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	tok := ts.token(t, RoleAdmin, uuid.Nil, "ops")
	for _, tc := range []struct {
		method, path string
		want         int
		allow        string
	}{
		{"GET", "/nope", 404, ""},
		{"GET", "/v1/families", 404, ""},
		{"GET", "/v2/", 404, ""}, // "/" is the web UI
		{"POST", "/v1/analytics", 405, "GET, HEAD"},
		{"DELETE", summaryPath(familyA), 405, "GET, HEAD"},
		{"GET", "/v1/webhooks/flight-status", 405, "POST"},
		{"PUT", "/healthz", 405, "GET, HEAD"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp := ts.do(tc.method, tc.path, tok, nil)
			if resp.code != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.code, tc.want, resp.body)
			}
			e := resp.errorBody(t)
			if tc.want == 404 && e.Code != httpx.CodeNotFound || tc.want == 405 && e.Code != httpx.CodeMethodNotAllowed {
				t.Errorf("code %q", e.Code)
			}
			if tc.allow != "" && resp.header.Get("Allow") != tc.allow {
				t.Errorf("Allow %q, want %q", resp.header.Get("Allow"), tc.allow)
			}
		})
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	if resp := ts.do("GET", "/healthz", "", nil); resp.code != 200 {
		t.Errorf("healthz %d", resp.code)
	}
	if resp := ts.do("GET", "/readyz", "", nil); resp.code != 200 {
		t.Errorf("readyz %d", resp.code)
	}
	ts.backend.readyErr = errors.New("redis: dial 10.1.2.3: refused")
	resp := ts.do("GET", "/readyz", "", nil)
	if resp.code != 503 || strings.Contains(string(resp.body), "10.1.2.3") {
		t.Errorf("readyz when not ready: %d %s", resp.code, resp.body)
	}
	if resp := ts.do("GET", "/healthz", "", nil); resp.code != 200 {
		t.Errorf("healthz when not ready: %d", resp.code)
	}
	ts.do("GET", "/v1/analytics", ts.token(t, RoleAnalyst, uuid.Nil, "a"), nil)
	ts.do("GET", "/v1/analytics", ts.token(t, RoleGuardian, familyA, "g"), nil)
	ts.do("GET", "/nowhere", "", nil)

	resp = ts.do("GET", "/metrics", "", nil)
	if resp.code != 200 || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics %d %q", resp.code, resp.header.Get("Content-Type"))
	}
	body := string(resp.body)
	for _, want := range []string{
		`zoner_cloud_http_requests_total{route="/healthz",status="200"} 2`,
		`zoner_cloud_http_requests_total{route="/readyz",status="503"} 1`,
		`zoner_cloud_http_requests_total{route="/v1/analytics",status="200"} 1`,
		`zoner_cloud_http_requests_total{route="/v1/analytics",status="403"} 1`,
		`zoner_cloud_http_requests_total{route="unmatched",status="404"} 1`,
		`zoner_cloud_http_request_duration_seconds_bucket{route="/v1/analytics",le="0.001"}`,
		`zoner_cloud_http_request_duration_seconds_count{route="/v1/analytics"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The metrics are in the set passed in, not a global one.
	var buf bytes.Buffer
	ts.metrics.WritePrometheus(&buf)
	if !strings.Contains(buf.String(), `zoner_cloud_http_requests_total{route="/healthz",status="200"}`) {
		t.Error("the passed-in set lacks the request counter")
	}
}

func TestNewRefuses(t *testing.T) {
	fb := newFakeBackend()
	for name, cfg := range map[string]Config{
		"no backend":            {Secret: testSecret, WebhookSecret: testWebhookSecret},
		"short secret":          {Backend: fb, Secret: testSecret[:31], WebhookSecret: testWebhookSecret},
		"no webhook secret":     {Backend: fb, Secret: testSecret},
		"short webhook secret":  {Backend: fb, Secret: testSecret, WebhookSecret: []byte("short")},
		"negative rate":         {Backend: fb, Secret: testSecret, WebhookSecret: testWebhookSecret, RatePerSecond: -1},
		"negative webhook rate": {Backend: fb, Secret: testSecret, WebhookSecret: testWebhookSecret, WebhookBurst: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(cfg); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := New(Config{Backend: fb, Secret: testSecret, WebhookSecret: testWebhookSecret}); err != nil {
		t.Errorf("minimal config: %v", err)
	}
}

// Analytics with no groups answer empty arrays, not null, whichever
// warehouse left them nil.
func TestAnalyticsEmptyGroups(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	ts.backend.analytics = &cloud.Analytics{}
	resp := ts.do("GET", "/v1/analytics", ts.token(t, RoleAnalyst, uuid.Nil, "a"), nil)
	if resp.code != 200 || !strings.Contains(string(resp.body), `"adaptation":[]`) || !strings.Contains(string(resp.body), `"first_nights":[]`) {
		t.Errorf("%d %s", resp.code, resp.body)
	}
}

func TestSummaryJSON(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	resp := ts.do("GET", summaryPath(familyA), ts.token(t, RoleGuardian, familyA, "g"), nil)
	if resp.code != http.StatusOK || !strings.Contains(string(resp.body), `"name":"The As"`) {
		t.Errorf("%d %s", resp.code, resp.body)
	}
}
