package http

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

var tripA = uuid.MustParse("0193f000-0000-7000-8000-0000000000c1")

// The fake backend's answers to the web UI's reads: family A has members
// A and X and trip A; the summaries say which families exist.

func (f *fakeBackend) State(ctx context.Context, fam uuid.UUID) (*cloud.AppState, error) {
	if err := f.record("State"); err != nil {
		return nil, err
	}
	if fam != familyA {
		return nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "no such family"}
	}
	return &cloud.AppState{Family: &cloud.AppFamily{ID: familyA, Name: "The As", HomeTZ: "Europe/London", HLC: "0000019a0000000000-0000"},
		Members: []cloud.AppMember{{ID: memberA, Data: &syncproto.MemberUpserted{DisplayName: "Ada", HomeTZ: "Europe/London", SleepTime: mustClock("22:30"), WakeTime: mustClock("06:30")}, HLC: "x"}},
		Trips:   []cloud.AppTrip{{ID: tripA, Data: &syncproto.TripUpserted{Name: "Away", Travellers: []uuid.UUID{memberA}}, HLC: "y"}}}, nil
}

func (f *fakeBackend) Today(ctx context.Context, fam uuid.UUID, at time.Time) (*cloud.AppToday, error) {
	if err := f.record("Today:" + at.UTC().Format(time.RFC3339)); err != nil {
		return nil, err
	}
	if fam != familyA {
		return nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "no such family"}
	}
	ev := uuid.MustParse("0193f000-0000-7000-8000-0000000000d1")
	return &cloud.AppToday{At: at, Members: []family.MemberNow{{MemberID: memberA, Name: "Ada", TripID: &tripA, TZ: "Europe/London",
		Day:   &circadian.Day{Date: syncproto.DateOf(at), TZ: "Europe/London", Start: at, End: at.Add(24 * time.Hour), Items: []circadian.Item{}},
		Now:   []circadian.Item{{Kind: circadian.ItemSleep, Start: at, End: at.Add(time.Hour), TZ: "Europe/London", Text: "Sleep"}},
		Next:  []circadian.Item{},
		State: &family.Doing{Kind: family.StateNapping, Since: at.Add(-time.Hour), Event: &ev}}}}, nil
}

func (f *fakeBackend) TripPlans(ctx context.Context, fam, trip uuid.UUID) (*cloud.AppPlans, error) {
	if err := f.record("TripPlans"); err != nil {
		return nil, err
	}
	if fam != familyA || trip != tripA {
		return nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "no such trip"}
	}
	return &cloud.AppPlans{Plans: []family.StoredPlan{{TripID: tripA, MemberID: memberA, ComputedAt: testStart, Seq: 3,
		Plan: json.RawMessage(`{"days":[]}`)}, {TripID: tripA, MemberID: memberX, ComputedAt: testStart, Seq: 3, Error: "no plan could be made: no legs"}}}, nil
}

func (f *fakeBackend) MemberLog(ctx context.Context, fam, member uuid.UUID, since time.Time) (*cloud.AppLog, error) {
	if err := f.record("MemberLog:" + since.UTC().Format(time.RFC3339)); err != nil {
		return nil, err
	}
	if fam != familyA || (member != memberA && member != memberX) {
		return nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "no such member"}
	}
	return &cloud.AppLog{Facts: []family.LoggedFact{{Seq: 2, Event: json.RawMessage(`{"id":"x","type":"sleep"}`),
		Replaces: json.RawMessage(`{"id":"y","type":"sleep"}`)}}}, nil
}

func mustClock(s string) syncproto.ClockTime {
	c, err := syncproto.ParseClockTime(s)
	if err != nil {
		panic(err)
	}
	return c
}

func appPaths(fam, trip, member uuid.UUID) []string {
	f := "/v1/families/" + fam.String()
	return []string{f + "/state", f + "/today", f + "/trips/" + trip.String() + "/plan", f + "/members/" + member.String() + "/log"}
}

// TestAppReads: who may read the UI's routes, and what each passes on.
func TestAppReads(t *testing.T) {
	ts := mustOpenServer(t, Config{RatePerSecond: 1e6, Burst: 1e6})
	guardian := ts.token(t, RoleGuardian, familyA, "user-1")
	member := ts.token(t, RoleMember, familyA, memberA.String())
	other := ts.token(t, RoleMember, familyA, memberX.String())
	admin := ts.token(t, RoleAdmin, uuid.Nil, "ops-1")
	stranger := ts.token(t, RoleGuardian, familyB, "user-2")
	analyst := ts.token(t, RoleAnalyst, uuid.Nil, "analyst-1")
	for _, p := range appPaths(familyA, tripA, memberA) {
		for _, tok := range []string{guardian, member, other, admin} {
			if r := ts.do("GET", p, tok, nil); r.code != 200 || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("GET %s: %d %s", p, r.code, r.body)
			}
		}
		for _, tok := range []string{stranger, analyst} {
			if r := ts.do("GET", p, tok, nil); r.code != 403 {
				t.Errorf("GET %s by another: %d", p, r.code)
			}
		}
		if r := ts.do("GET", p, "", nil); r.code != 401 {
			t.Errorf("GET %s without a token: %d", p, r.code)
		}
	}
	// Another family answers 403 whether or not it exists.
	nobody := uuid.MustParse("0193f000-0000-7000-8000-0000000000ff")
	for _, p := range append(appPaths(familyB, tripA, memberA), appPaths(nobody, tripA, memberA)...) {
		if r := ts.do("GET", p, guardian, nil); r.code != 403 {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}
	// Unknown trips and members, malformed ids: not found.
	for _, p := range []string{appPaths(familyA, nobody, memberA)[2], appPaths(familyA, tripA, nobody)[3],
		"/v1/families/" + familyA.String() + "/trips/nope/plan", "/v1/families/" + familyA.String() + "/members/nope/log"} {
		if r := ts.do("GET", p, member, nil); r.code != 404 {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}
	// Today's moment and the log's days.
	today := appPaths(familyA, tripA, memberA)[1]
	if r := ts.do("GET", today+"?at=2026-12-21T09:30:00%2B01:00", member, nil); r.code != 200 || ts.backend.callCount("Today:2026-12-21T08:30:00Z") != 1 {
		t.Errorf("today at: %d %s", r.code, r.body)
	}
	logPath := appPaths(familyA, tripA, memberA)[3]
	ts.do("GET", logPath+"?days=10", member, nil)
	if ts.backend.callCount("MemberLog:"+ts.clock.now().Add(-240*time.Hour).UTC().Format(time.RFC3339)) != 1 {
		t.Error("days=10 did not read ten days back")
	}
	for _, p := range []string{today + "?at=tomorrow", today + "?at=", logPath + "?days=0", logPath + "?days=61", logPath + "?days="} {
		if r := ts.do("GET", p, member, nil); r.code != 400 {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}
	// The configuration is open.
	r := ts.do("GET", "/v1/app-config", "", nil)
	if r.code != 200 || !strings.Contains(string(r.body), `"backend":"cloud"`) {
		t.Errorf("app-config: %d %s", r.code, r.body)
	}
}

// TestAppServesWebUI: the UI at / and its files, with the page's CSP and
// the service worker filled in; the API's 404s stay JSON.
func TestAppServesWebUI(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	r := ts.do("GET", "/", "", nil)
	if r.code != 200 || !strings.Contains(string(r.body), "<html") || !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("/: %d %q csp %q", r.code, r.header.Get("Content-Type"), r.header.Get("Content-Security-Policy"))
	}
	if c := r.header.Get("Set-Cookie"); !strings.Contains(c, "zoner_backend=cloud") || strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
		t.Errorf("the page's cookie: %q", c)
	}
	sw := ts.do("GET", "/sw.js", "", nil)
	if sw.code != 200 || strings.Contains(string(sw.body), "__ZONER_VERSION__") || !strings.HasPrefix(sw.header.Get("Content-Type"), "text/javascript") {
		t.Errorf("/sw.js: %d %q", sw.code, sw.header.Get("Content-Type"))
	}
	for _, p := range []string{"/index.html", "/app.css", "/js/api.js", "/js/app.js", "/manifest.webmanifest", "/icon.svg"} {
		if r := ts.do("GET", p, "", nil); r.code != 200 {
			t.Errorf("GET %s: %d", p, r.code)
		}
	}
	if r := ts.do("HEAD", "/js/store.js", "", nil); r.code != 200 {
		t.Errorf("HEAD: %d", r.code)
	}
	if r := ts.do("GET", "/js/nope.js", "", nil); r.code != 404 {
		t.Errorf("a missing file: %d", r.code)
	}
	if r := ts.do("GET", "/v2/nothing", "", nil); r.code != 404 || !strings.Contains(string(r.body), `"code"`) {
		t.Errorf("an unknown path: %d %s", r.code, r.body)
	}
	if r := ts.do("POST", "/", "", nil); r.code != 405 {
		t.Errorf("POST /: %d", r.code)
	}
}

// oaAppFlow exercises the UI's routes for TestOpenAPIResponsesConform.
func oaAppFlow(t *testing.T, v *oaValidator, ts *testServer) {
	guardian := ts.token(t, RoleGuardian, familyA, "user-1")
	member := ts.token(t, RoleMember, familyA, memberA.String())
	other := ts.token(t, RoleGuardian, familyB, "user-2")
	v.do(ts, false, 200, "GET", "/v1/app-config", "", nil)
	paths := appPaths(familyA, tripA, memberA)
	nobody := uuid.MustParse("0193f000-0000-7000-8000-0000000000ff")
	for _, p := range paths {
		v.do(ts, false, 200, "GET", p, guardian, nil)
		v.do(ts, false, 200, "GET", p, member, nil)
		v.do(ts, false, 401, "GET", p, "", nil)
		v.do(ts, false, 403, "GET", p, other, nil)
	}
	for _, p := range appPaths(familyB, nobody, nobody) {
		v.do(ts, false, 404, "GET", p, ts.token(t, RoleGuardian, familyB, "user-3"), nil)
	}
	v.do(ts, false, 200, "GET", paths[1]+"?at=2026-12-21T07:30:00Z", member, nil)
	v.do(ts, false, 200, "GET", paths[3]+"?days=7", member, nil)
	v.do(ts, true, 400, "GET", paths[1]+"?at=tomorrow", member, nil)
	v.do(ts, true, 400, "GET", paths[3]+"?days=0", member, nil)
	ts.backend.err = &cloud.Error{Code: cloud.CodeUnavailable, Message: "the warehouse does not answer; retry"}
	for _, p := range paths {
		v.do(ts, false, 503, "GET", p, guardian, nil)
	}
	ts.backend.err = &cloud.Error{Code: "", Message: "boom"}
	for _, p := range paths {
		v.do(ts, false, 500, "GET", p, guardian, nil)
	}
	ts.backend.err = nil
	tight := mustOpenServer(t, Config{RatePerSecond: 0.001, Burst: 1})
	for _, p := range paths {
		tok := tight.token(t, RoleGuardian, familyA, "user-"+p)
		v.do(tight, false, 200, "GET", p, tok, nil)
		v.do(tight, false, 429, "GET", p, tok, nil)
	}
}
