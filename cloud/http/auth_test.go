package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/syncproto"
)

// failingStore fails every call with err when err is set, and records the
// hashes codes are stored under.
type failingStore struct {
	cloud.SessionStore
	err    error
	hashes []string
	grants []cloud.SignInGrant
}

func (f *failingStore) PutCode(ctx context.Context, hash string, g cloud.SignInGrant, ttl time.Duration) error {
	f.hashes, f.grants = append(f.hashes, hash), append(f.grants, g)
	if f.err != nil {
		return f.err
	}
	return f.SessionStore.PutCode(ctx, hash, g, ttl)
}

func (f *failingStore) TakeCode(ctx context.Context, hash string) (cloud.SignInGrant, error) {
	if f.err != nil {
		return cloud.SignInGrant{}, f.err
	}
	return f.SessionStore.TakeCode(ctx, hash)
}

func (f *failingStore) Session(ctx context.Context, id string) (cloud.Session, error) {
	if f.err != nil {
		return cloud.Session{}, f.err
	}
	return f.SessionStore.Session(ctx, id)
}

func (f *failingStore) SessionAlive(ctx context.Context, id string) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	return f.SessionStore.SessionAlive(ctx, id)
}

func (f *failingStore) FamilySessions(ctx context.Context, family uuid.UUID) ([]cloud.Session, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.SessionStore.FamilySessions(ctx, family)
}

// authServer is a test server with an in-memory session store on its
// clock. Several servers may share one store, as API replicas do.
func authServer(t testing.TB, store *failingStore, cfg Config) *testServer {
	t.Helper()
	cfg.Sessions = store
	return mustOpenServer(t, cfg)
}

func newStore(ts func() time.Time) *failingStore {
	return &failingStore{SessionStore: memcache.NewSessions(ts)}
}

// newServerAndStore makes a server whose store follows the server's clock.
func newServerAndStore(t testing.TB, cfg Config) (*testServer, *failingStore) {
	t.Helper()
	c := &clock{t: testStart}
	st := newStore(c.now)
	ts := authServer(t, st, cfg)
	ts.clock = c
	ts.now = c.now
	return ts, st
}

// code mints a sign-in code through the server's own Auth.
func (ts *testServer) code(t testing.TB, role string, member uuid.UUID) string {
	t.Helper()
	g, err := cloud.CheckSignInRequest(familyA, syncproto.SignInRequest{Role: role, MemberID: member, Device: "Ada's phone"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := ts.auth.auth.NewSignInCode(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func exchangeBody(code string) []byte { return []byte(`{"code":"` + code + `"}`) }

// grant decodes a session answer and its refresh cookie.
func grant(t testing.TB, r response) (sessionJSON, string) {
	t.Helper()
	if r.code != 200 {
		t.Fatalf("status %d: %s", r.code, r.body)
	}
	var g sessionJSON
	if err := json.Unmarshal(r.body, &g); err != nil {
		t.Fatal(err)
	}
	var refresh string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == RefreshCookie {
			refresh = c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/v1/auth" {
				t.Errorf("refresh cookie %+v: want HttpOnly, SameSite=Strict, Path=/v1/auth", c)
			}
		}
	}
	if refresh == "" {
		t.Fatalf("no %s cookie in %v", RefreshCookie, r.header)
	}
	return g, refresh
}

func cookie(refresh string) []string { return []string{"Cookie", RefreshCookie + "=" + refresh} }

// A code works once: the second exchange, and one after 10 minutes, are
// refused with a message that says what to do; the session's token reads
// the member's own data and nothing of another member's.
func TestExchangeCodeOnce(t *testing.T) {
	ts, _ := newServerAndStore(t, Config{})
	code := ts.code(t, syncproto.SignInMember, memberA)
	g, refresh := grant(t, ts.do("POST", "/v1/auth/exchange", "", exchangeBody(code)))
	if g.Role != RoleMember || g.FamilyID != familyA || g.MemberID != memberA || g.SessionID == "" || !strings.HasPrefix(refresh, g.SessionID+".") {
		t.Fatalf("grant %+v, refresh %q", g, refresh)
	}
	if !g.ExpiresAt.Equal(testStart.Add(AccessTokenTTL)) {
		t.Errorf("expires %v", g.ExpiresAt)
	}
	c, err := ParseToken(testSecret, g.AccessToken, ts.clock.now())
	if err != nil || c.Session != g.SessionID || c.Subject != memberA.String() {
		t.Fatalf("token claims %+v, %v", c, err)
	}
	if r := ts.do("GET", recPath(familyA, memberA), g.AccessToken, nil); r.code != 200 {
		t.Fatalf("own recommendation: %d %s", r.code, r.body)
	}
	if r := ts.do("GET", recPath(familyA, memberX), g.AccessToken, nil); r.code != 403 {
		t.Fatalf("another member's: %d", r.code)
	}
	r := ts.do("POST", "/v1/auth/exchange", "", exchangeBody(code))
	if r.code != 401 || !strings.Contains(r.errorBody(t).Message, "already used") {
		t.Fatalf("second exchange: %d %s", r.code, r.body)
	}
	late := ts.code(t, syncproto.SignInGuardian, uuid.Nil)
	ts.clock.advance(cloud.SignInCodeTTL)
	if r := ts.do("POST", "/v1/auth/exchange", "", exchangeBody(late)); r.code != 401 || !strings.Contains(r.errorBody(t).Message, "expired") {
		t.Fatalf("expired code: %d %s", r.code, r.body)
	}
}

// Only the code's hash is stored.
func TestCodeHashOnlyStored(t *testing.T) {
	ts, st := newServerAndStore(t, Config{})
	code := ts.code(t, syncproto.SignInMember, memberA)
	if len(st.hashes) != 1 || st.hashes[0] == code || strings.Contains(st.hashes[0], code) || st.hashes[0] != cloud.HashSecret(code) {
		t.Fatalf("stored under %q for code %q", st.hashes, code)
	}
	if len(code) < 50 {
		t.Errorf("code %q: want 256 bits", code)
	}
}

// Each refresh rotates the token; presenting a spent one revokes the
// session: its access token, and the newest refresh token, stop working.
func TestRefreshRotationAndReuse(t *testing.T) {
	ts, _ := newServerAndStore(t, Config{})
	g, r1 := grant(t, ts.do("POST", "/v1/auth/exchange", "", exchangeBody(ts.code(t, syncproto.SignInGuardian, uuid.Nil))))
	if g.Role != RoleGuardian || g.MemberID != uuid.Nil {
		t.Fatalf("grant %+v", g)
	}
	ts.clock.advance(10 * time.Minute)
	g2, r2 := grant(t, ts.do("POST", "/v1/auth/refresh", "", nil, cookie(r1)...))
	if r2 == r1 || g2.SessionID != g.SessionID || g2.AccessToken == g.AccessToken {
		t.Fatalf("refresh did not rotate: %q %q", r1, r2)
	}
	if r := ts.do("GET", summaryPath(familyA), g2.AccessToken, nil); r.code != 200 {
		t.Fatalf("guardian reads the summary: %d %s", r.code, r.body)
	}
	// The spent token comes back: someone copied it.
	r := ts.do("POST", "/v1/auth/refresh", "", nil, cookie(r1)...)
	if r.code != 401 || !strings.Contains(r.errorBody(t).Message, "revoked") {
		t.Fatalf("reuse: %d %s", r.code, r.body)
	}
	if r := ts.do("POST", "/v1/auth/refresh", "", nil, cookie(r2)...); r.code != 401 {
		t.Fatalf("the newest refresh token after reuse: %d", r.code)
	}
	if r := ts.do("GET", summaryPath(familyA), g2.AccessToken, nil); r.code != 401 {
		t.Fatalf("access token after reuse: %d", r.code)
	}
	if r := ts.do("POST", "/v1/auth/refresh", "", nil); r.code != 401 {
		t.Fatalf("no cookie: %d", r.code)
	}
}

// A session lives 30 days from its last refresh.
func TestSessionSlidingExpiry(t *testing.T) {
	ts, _ := newServerAndStore(t, Config{})
	_, r := grant(t, ts.do("POST", "/v1/auth/exchange", "", exchangeBody(ts.code(t, syncproto.SignInMember, memberA))))
	ts.clock.advance(20 * 24 * time.Hour)
	_, r = grant(t, ts.do("POST", "/v1/auth/refresh", "", nil, cookie(r)...))
	ts.clock.advance(20 * 24 * time.Hour)
	_, r = grant(t, ts.do("POST", "/v1/auth/refresh", "", nil, cookie(r)...))
	ts.clock.advance(cloud.SessionLifetime)
	if resp := ts.do("POST", "/v1/auth/refresh", "", nil, cookie(r)...); resp.code != 401 {
		t.Fatalf("after 30 idle days: %d", resp.code)
	}
}

// A guardian lists the family's sessions and revokes one: its token is
// refused at once on the replica that revoked it, and within the check's
// TTL on another; a guardian of another family may do neither (403), and
// a member may not list.
func TestRevokeSession(t *testing.T) {
	ts, st := newServerAndStore(t, Config{})
	other := authServer(t, st, Config{}) // a second replica on the same store
	other.clock, other.now = ts.clock, ts.clock.now
	gm, _ := grant(t, ts.do("POST", "/v1/auth/exchange", "", exchangeBody(ts.code(t, syncproto.SignInMember, memberA))))
	ts.clock.advance(time.Minute)
	gg, _ := grant(t, ts.do("POST", "/v1/auth/exchange", "", exchangeBody(ts.code(t, syncproto.SignInGuardian, uuid.Nil))))

	r := ts.do("GET", "/v1/families/"+familyA.String()+"/sessions", gg.AccessToken, nil)
	var list struct{ Sessions []sessionItem }
	if r.code != 200 || json.Unmarshal(r.body, &list) != nil || len(list.Sessions) != 2 ||
		list.Sessions[0].ID != gg.SessionID || !list.Sessions[0].Current || list.Sessions[1].Current || list.Sessions[1].MemberID != memberA ||
		list.Sessions[1].Device != "Ada's phone" {
		t.Fatalf("list: %d %s", r.code, r.body)
	}
	if bytes.Contains(r.body, []byte("refresh")) {
		t.Fatalf("the list shows refresh hashes: %s", r.body)
	}
	if r := ts.do("GET", "/v1/families/"+familyA.String()+"/sessions", gm.AccessToken, nil); r.code != 403 {
		t.Fatalf("member lists: %d", r.code)
	}
	stranger := ts.token(t, RoleGuardian, familyB, "user-2")
	if r := ts.do("GET", "/v1/families/"+familyA.String()+"/sessions", stranger, nil); r.code != 403 {
		t.Fatalf("another family lists: %d", r.code)
	}
	if r := ts.do("DELETE", "/v1/families/"+familyA.String()+"/sessions/"+gm.SessionID, stranger, nil); r.code != 403 {
		t.Fatalf("another family revokes: %d", r.code)
	}
	if r := ts.do("DELETE", "/v1/families/"+familyB.String()+"/sessions/"+gm.SessionID, ts.token(t, RoleGuardian, familyB, "u"), nil); r.code != 404 {
		t.Fatalf("revoke through another family's path: %d", r.code)
	}

	// The other replica has seen the member's session alive.
	if r := other.do("GET", recPath(familyA, memberA), gm.AccessToken, nil); r.code != 200 {
		t.Fatalf("before: %d", r.code)
	}
	if r := ts.do("DELETE", "/v1/families/"+familyA.String()+"/sessions/"+gm.SessionID, gg.AccessToken, nil); r.code != 200 {
		t.Fatalf("revoke: %d %s", r.code, r.body)
	}
	if r := ts.do("GET", recPath(familyA, memberA), gm.AccessToken, nil); r.code != 401 || !strings.Contains(r.errorBody(t).Message, "session has ended") {
		t.Fatalf("on the revoking replica: %d %s", r.code, r.body)
	}
	ts.clock.advance(DefaultSessionCheckTTL)
	if r := other.do("GET", recPath(familyA, memberA), gm.AccessToken, nil); r.code != 401 {
		t.Fatalf("on another replica after %v: %d", DefaultSessionCheckTTL, r.code)
	}
	if r := ts.do("DELETE", "/v1/families/"+familyA.String()+"/sessions/"+gm.SessionID, gg.AccessToken, nil); r.code != 404 {
		t.Fatalf("revoke twice: %d", r.code)
	}
}

// Signing out ends the session and clears the cookie.
func TestSignOut(t *testing.T) {
	ts, _ := newServerAndStore(t, Config{})
	g, r := grant(t, ts.do("POST", "/v1/auth/exchange", "", exchangeBody(ts.code(t, syncproto.SignInMember, memberA))))
	resp := ts.do("POST", "/v1/auth/signout", "", nil, cookie(r)...)
	if resp.code != 200 || !strings.Contains(string(resp.body), `"signed_out":true`) || !strings.Contains(resp.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("sign out: %d %s %v", resp.code, resp.body, resp.header)
	}
	if resp := ts.do("GET", recPath(familyA, memberA), g.AccessToken, nil); resp.code != 401 {
		t.Fatalf("after sign-out: %d", resp.code)
	}
	// With the bearer token only.
	g, _ = grant(t, ts.do("POST", "/v1/auth/exchange", "", exchangeBody(ts.code(t, syncproto.SignInMember, memberA))))
	if resp := ts.do("POST", "/v1/auth/signout", g.AccessToken, nil); !strings.Contains(string(resp.body), `"signed_out":true`) {
		t.Fatalf("sign out by token: %s", resp.body)
	}
	if resp := ts.do("GET", recPath(familyA, memberA), g.AccessToken, nil); resp.code != 401 {
		t.Fatalf("after sign-out by token: %d", resp.code)
	}
}

// Exchange attempts are limited per client address.
func TestExchangeRateLimited(t *testing.T) {
	ts, _ := newServerAndStore(t, Config{SignInRate: 0.001, SignInBurst: 3})
	for i := range 3 {
		if r := ts.do("POST", "/v1/auth/exchange", "", exchangeBody("GUESS")); r.code != 401 {
			t.Fatalf("attempt %d: %d", i, r.code)
		}
	}
	if r := ts.do("POST", "/v1/auth/exchange", "", exchangeBody("GUESS")); r.code != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("4th attempt: %d %v", r.code, r.header)
	}
	if r := ts.do("POST", "/v1/auth/exchange", "", exchangeBody("GUESS"), "RemoteAddr", "198.51.100.7:1"); r.code != 401 {
		t.Fatalf("another address: %d", r.code)
	}
}

// A token naming a session is refused when no store is configured, and
// the sign-in routes answer 503; operator tokens work as before.
func TestNoSessionStore(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	tok := mustToken(t, Claims{Role: RoleMember, Family: familyA, Subject: memberA.String(), Session: "s-1"}, testStart)
	if r := ts.do("GET", recPath(familyA, memberA), tok, nil); r.code != 401 {
		t.Fatalf("sid without a store: %d", r.code)
	}
	if r := ts.do("GET", recPath(familyA, memberA), ts.token(t, RoleMember, familyA, memberA.String()), nil); r.code != 200 {
		t.Fatalf("operator token: %d", r.code)
	}
	if r := ts.do("POST", "/v1/auth/exchange", "", exchangeBody("x")); r.code != 503 {
		t.Fatalf("exchange: %d", r.code)
	}
}

// oaAuthFlow exercises the auth routes for TestOpenAPIResponsesConform.
func oaAuthFlow(t *testing.T, v *oaValidator) {
	ts, st := newServerAndStore(t, Config{})
	g, r1 := grant(t, v.do(ts, false, 200, "POST", "/v1/auth/exchange", "", exchangeBody(ts.code(t, syncproto.SignInGuardian, uuid.Nil))))
	gm, _ := grant(t, v.do(ts, false, 200, "POST", "/v1/auth/exchange", "", exchangeBody(ts.code(t, syncproto.SignInMember, memberA))))
	v.do(ts, false, 401, "POST", "/v1/auth/exchange", "", exchangeBody("NOT-A-CODE"))
	v.do(ts, true, 400, "POST", "/v1/auth/exchange", "", []byte(`{"kode":"x"}`))
	v.do(ts, true, 413, "POST", "/v1/auth/exchange", "", []byte(`{"code":"`+strings.Repeat("x", maxAuthBody)+`"}`))
	_, r2 := grant(t, v.do(ts, false, 200, "POST", "/v1/auth/refresh", "", nil, cookie(r1)...))
	v.do(ts, false, 401, "POST", "/v1/auth/refresh", "", nil)
	sessions := "/v1/families/" + familyA.String() + "/sessions"
	v.do(ts, false, 200, "GET", sessions, g.AccessToken, nil)
	v.do(ts, true, 404, "GET", "/v1/families/not-a-family/sessions", ts.token(t, RoleAdmin, uuid.Nil, "ops"), nil)
	v.do(ts, false, 401, "GET", sessions, "", nil)
	v.do(ts, false, 403, "GET", sessions, gm.AccessToken, nil)
	v.do(ts, false, 401, "DELETE", sessions+"/"+gm.SessionID, "", nil)
	v.do(ts, false, 403, "DELETE", sessions+"/"+gm.SessionID, gm.AccessToken, nil)
	v.do(ts, false, 200, "DELETE", sessions+"/"+gm.SessionID, g.AccessToken, nil)
	v.do(ts, false, 404, "DELETE", sessions+"/"+gm.SessionID, g.AccessToken, nil)
	v.do(ts, false, 200, "POST", "/v1/auth/signout", "", nil, cookie(r2)...)

	// The store fails.
	_, r3 := grant(t, v.do(ts, false, 200, "POST", "/v1/auth/exchange", "", exchangeBody(ts.code(t, syncproto.SignInGuardian, uuid.Nil))))
	g4, _ := grant(t, v.do(ts, false, 200, "POST", "/v1/auth/exchange", "", exchangeBody(ts.code(t, syncproto.SignInGuardian, uuid.Nil))))
	v.do(ts, false, 200, "GET", sessions, g4.AccessToken, nil) // cached alive for a second
	st.err = errors.New("redis: connection reset")
	v.do(ts, false, 500, "POST", "/v1/auth/exchange", "", exchangeBody("ANY"))
	v.do(ts, false, 500, "POST", "/v1/auth/refresh", "", nil, cookie(r3)...)
	v.do(ts, false, 500, "POST", "/v1/auth/signout", "", nil, cookie(r3)...)
	v.do(ts, false, 500, "GET", sessions, g4.AccessToken, nil)
	v.do(ts, false, 500, "DELETE", sessions+"/x", g4.AccessToken, nil)
	st.err = nil

	// No store configured.
	none := mustOpenServer(t, Config{})
	admin := none.token(t, RoleAdmin, uuid.Nil, "ops")
	v.do(none, false, 503, "POST", "/v1/auth/exchange", "", exchangeBody("x"))
	v.do(none, false, 503, "POST", "/v1/auth/refresh", "", nil, cookie("a.b")...)
	v.do(none, false, 503, "POST", "/v1/auth/signout", "", nil)
	v.do(none, false, 503, "GET", sessions, admin, nil)
	v.do(none, false, 503, "DELETE", sessions+"/x", admin, nil)

	// Limits.
	tight, _ := newServerAndStore(t, Config{RatePerSecond: 0.001, Burst: 1, WebhookRate: 0.001, WebhookBurst: 1, SignInRate: 0.001, SignInBurst: 1})
	gt, rt := grant(t, v.do(tight, false, 200, "POST", "/v1/auth/exchange", "", exchangeBody(tight.code(t, syncproto.SignInGuardian, uuid.Nil))))
	v.do(tight, false, 429, "POST", "/v1/auth/exchange", "", exchangeBody("x"))
	v.do(tight, false, 200, "POST", "/v1/auth/refresh", "", nil, cookie(rt)...)
	v.do(tight, false, 429, "POST", "/v1/auth/refresh", "", nil, cookie(rt)...)
	v.do(tight, false, 429, "POST", "/v1/auth/signout", "", nil)
	v.do(tight, false, 200, "GET", sessions, gt.AccessToken, nil)
	v.do(tight, false, 429, "GET", sessions, gt.AccessToken, nil)
	v.do(tight, false, 429, "DELETE", sessions+"/x", gt.AccessToken, nil)
}

// BenchmarkSessionCheck is a recommendation read through the handler with
// an operator's token (no session), a session's token checked through the
// cache of live sessions, and one checked in the store on every request.
func BenchmarkSessionCheck(b *testing.B) {
	for _, bc := range []struct {
		name string
		ttl  time.Duration
		sid  bool
	}{{"no-sid", 0, false}, {"sid-cached", time.Hour, true}, {"sid-store-every-request", -1, true}} {
		b.Run(bc.name, func(b *testing.B) {
			ts, _ := newServerAndStore(b, Config{RatePerSecond: 1e9, Burst: 1e9, SessionCheckTTL: bc.ttl})
			tok := ts.token(b, RoleMember, familyA, memberA.String())
			if bc.sid {
				g, _ := grant(b, ts.do("POST", "/v1/auth/exchange", "", exchangeBody(ts.code(b, syncproto.SignInMember, memberA))))
				tok = g.AccessToken
			}
			path := recPath(familyA, memberA)
			b.ReportAllocs()
			for b.Loop() {
				if r := ts.do("GET", path, tok, nil); r.code != 200 {
					b.Fatal(r.code)
				}
			}
		})
	}
}
