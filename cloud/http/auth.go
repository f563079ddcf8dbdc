package http

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/httpx"
)

// Sessions of devices signed in away from the hub. A device trades a
// sign-in link's code for a session (POST /v1/auth/exchange): an access
// token of AccessTokenTTL carrying the session's id (sid), and a refresh
// token in an HttpOnly cookie that POST /v1/auth/refresh trades, once,
// for a new pair. Every request with a sid is checked against the session
// store (through a cache of SessionCheckTTL), so a revoked session is
// refused within that time on every replica, at once on the one that
// revoked it.

// AccessTokenTTL is the life of a session's access token.
const AccessTokenTTL = 15 * time.Minute

// RefreshCookie is the cookie holding a session's refresh token, sent
// only to /v1/auth.
const RefreshCookie = "zoner_refresh"

// DefaultSessionCheckTTL is how long an API replica trusts that a session
// it has checked is still alive.
const DefaultSessionCheckTTL = time.Second

// Defaults for the limit on sign-in attempts per client address.
const (
	DefaultSignInRate  = 0.2 // one every 5 s
	DefaultSignInBurst = 10
)

// maxAuthBody bounds an exchange request's body.
const maxAuthBody = 4 << 10

// maxAliveEntries bounds the cache of checked sessions; past it the cache
// starts over.
const maxAliveEntries = 100_000

// auth is the Server's part for sessions.
type auth struct {
	store    cloud.SessionStore // nil: sessions are not configured
	auth     *cloud.Auth
	signIns  *httpx.Limiter
	checkTTL time.Duration

	mu    sync.RWMutex
	alive map[string]time.Time // session id -> when it was last found alive
}

func newAuth(cfg Config, now func() time.Time) *auth {
	rate, burst := cfg.SignInRate, cfg.SignInBurst
	if rate <= 0 {
		rate = DefaultSignInRate
	}
	if burst <= 0 {
		burst = DefaultSignInBurst
	}
	ttl := cfg.SessionCheckTTL
	if ttl == 0 {
		ttl = DefaultSessionCheckTTL
	}
	a := &auth{store: cfg.Sessions, checkTTL: ttl, alive: map[string]time.Time{},
		signIns: httpx.NewLimiter(httpx.Rate{PerSecond: rate, Burst: burst}, maxLimiterKeys, time.Minute)}
	if cfg.Sessions != nil {
		a.auth = &cloud.Auth{Store: cfg.Sessions, Now: now}
	}
	return a
}

// signInAccess: a route a browser calls without a bearer token, limited per
// client address.
const signInAccess access = 100

func (s *Server) authRoutes() []route {
	return []route{
		{"POST", "/v1/auth/exchange", signInAccess, s.postExchange},
		{"POST", "/v1/auth/refresh", signInAccess, s.postRefresh},
		{"POST", "/v1/auth/signout", signInAccess, s.postSignOut},
		{"GET", "/v1/families/{family}/sessions", bearer, s.getSessions},
		{"DELETE", "/v1/families/{family}/sessions/{session}", bearer, s.deleteSession},
	}
}

var errNoSessions = &cloud.Error{Code: cloud.CodeUnavailable, Message: "sign-in is not configured on this server"}

// checkSession refuses a token whose session (sid) has ended. A token
// without a sid (issued by the operator) has no session to check.
func (s *Server) checkSession(ctx context.Context, c *Claims) error {
	if c.Session == "" {
		return nil
	}
	a := s.auth
	if a.store == nil {
		return &cloud.Error{Code: cloud.CodeUnauthorized, Message: "the bearer token is not valid"}
	}
	now := s.now()
	a.mu.RLock()
	seen, ok := a.alive[c.Session]
	a.mu.RUnlock()
	if ok && now.Sub(seen) < a.checkTTL && !now.Before(seen) {
		return nil
	}
	alive, err := a.store.SessionAlive(ctx, c.Session)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !alive {
		delete(a.alive, c.Session)
		return &cloud.Error{Code: cloud.CodeUnauthorized, Message: "this session has ended (signed out or revoked): sign in again with a new link from the hub"}
	}
	if len(a.alive) >= maxAliveEntries {
		clear(a.alive)
	}
	a.alive[c.Session] = now
	return nil
}

// forget drops a session from the cache of checked ones.
func (a *auth) forget(id string) {
	a.mu.Lock()
	delete(a.alive, id)
	a.mu.Unlock()
}

// allowSignIn takes a token from the client address's sign-in bucket, or
// answers 429.
func (s *Server) allowSignIn(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := s.auth.signIns.Allow(httpx.ClientIP(r, s.proxies), s.now())
	if !ok {
		s.writeRateLimited(w, r, wait, "too many sign-in attempts from this address")
	}
	return ok
}

// sessionJSON is the answer to an exchange or a refresh.
type sessionJSON struct {
	AccessToken string    `json:"access_token"`
	ExpiresAt   time.Time `json:"expires_at"`
	FamilyID    uuid.UUID `json:"family_id"`
	MemberID    uuid.UUID `json:"member_id,omitzero"`
	Role        Role      `json:"role"`
	SessionID   string    `json:"session_id"`
}

// grantSession answers with a new access token of sess and sets the
// refresh cookie.
func (s *Server) grantSession(w http.ResponseWriter, r *http.Request, sess cloud.Session, refresh string) error {
	c := Claims{Family: sess.Family, Role: Role(sess.Role), Session: sess.ID, ID: uuid.NewString(), Subject: "session:" + sess.ID}
	if c.Role == RoleMember {
		c.Subject = sess.Member.String()
	}
	now := s.now()
	tok, err := IssueToken(s.secret, c, AccessTokenTTL, now)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: refresh, Path: "/v1/auth",
		MaxAge: int(cloud.SessionLifetime / time.Second), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, sessionJSON{AccessToken: tok, ExpiresAt: now.Add(AccessTokenTTL).UTC().Truncate(time.Second),
		FamilyID: sess.Family, MemberID: sess.Member, Role: c.Role, SessionID: sess.ID})
	return nil
}

// clearRefresh deletes the refresh cookie.
func clearRefresh(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: RefreshCookie, Value: "", Path: "/v1/auth", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func (s *Server) postExchange(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	w.Header().Set("Cache-Control", "no-store")
	if !s.allowSignIn(w, r) {
		return nil
	}
	if s.auth.store == nil {
		return errNoSessions
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAuthBody))
	if err != nil {
		return httpx.Errorf(httpx.CodeTooLarge, "the body is over "+strconv.Itoa(maxAuthBody)+" bytes")
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return invalid("send {\"code\": \"...\"}, the code of a sign-in link (after #/signin/)",
			[]httpx.Problem{{Code: "malformed", Rule: "the body must be a JSON object with a string code"}})
	}
	if req.Code == "" {
		return invalid("send {\"code\": \"...\"}, the code of a sign-in link (after #/signin/)",
			[]httpx.Problem{{Code: "invalid", Path: "code", Rule: "required"}})
	}
	sess, refresh, err := s.auth.auth.Exchange(r.Context(), req.Code)
	if err != nil {
		return err
	}
	return s.grantSession(w, r, sess, refresh)
}

func (s *Server) postRefresh(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	w.Header().Set("Cache-Control", "no-store")
	if !s.allowAddr(w, r) {
		return nil
	}
	if s.auth.store == nil {
		return errNoSessions
	}
	ck, err := r.Cookie(RefreshCookie)
	if err != nil || ck.Value == "" {
		return &cloud.Error{Code: cloud.CodeUnauthorized, Message: "no session here: sign in with a link from the hub at home"}
	}
	sess, refresh, err := s.auth.auth.Refresh(r.Context(), ck.Value)
	if err != nil {
		if cloud.CodeOf(err) == cloud.CodeUnauthorized {
			clearRefresh(w, r)
			if id, _, ok := strings.Cut(ck.Value, "."); ok {
				s.auth.forget(id)
			}
		}
		return err
	}
	return s.grantSession(w, r, sess, refresh)
}

// postSignOut ends the session named by the refresh cookie, or by the
// bearer token's sid; either way the cookie is cleared.
func (s *Server) postSignOut(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	w.Header().Set("Cache-Control", "no-store")
	if !s.allowAddr(w, r) {
		return nil
	}
	if s.auth.store == nil {
		return errNoSessions
	}
	clearRefresh(w, r)
	var id string
	if ck, err := r.Cookie(RefreshCookie); err == nil && ck.Value != "" {
		sess, err := s.auth.auth.SessionOfRefresh(r.Context(), ck.Value)
		if err != nil && !errors.Is(err, cloud.ErrNoSession) {
			return err
		}
		id = sess.ID
	}
	if id == "" && r.Header.Get("Authorization") != "" {
		if c, err := s.authenticate(r); err == nil {
			id = c.Session
		}
	}
	if id != "" {
		if err := s.auth.store.RevokeSession(r.Context(), id); err != nil {
			return err
		}
		s.auth.forget(id)
	}
	writeJSON(w, http.StatusOK, map[string]bool{"signed_out": id != ""})
	return nil
}

// sessionItem is one session as a guardian sees it.
type sessionItem struct {
	ID         string    `json:"id"`
	Role       Role      `json:"role"`
	MemberID   uuid.UUID `json:"member_id,omitzero"`
	Device     string    `json:"device"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

// sessionFamily checks that c may manage the sessions of the path's
// family: a guardian of it, or an admin.
func (s *Server) sessionFamily(r *http.Request, c *Claims) (uuid.UUID, error) {
	family, err := pathID(r, "family", c)
	if err != nil {
		return uuid.Nil, err
	}
	if !canReadFamily(c, family) {
		return uuid.Nil, errForbidden
	}
	if s.auth.store == nil {
		return uuid.Nil, errNoSessions
	}
	return family, nil
}

func (s *Server) getSessions(w http.ResponseWriter, r *http.Request, c *Claims) error {
	family, err := s.sessionFamily(r, c)
	if err != nil {
		return err
	}
	list, err := s.auth.store.FamilySessions(r.Context(), family)
	if err != nil {
		return err
	}
	out := make([]sessionItem, 0, len(list))
	for _, x := range list {
		out = append(out, sessionItem{ID: x.ID, Role: Role(x.Role), MemberID: x.Member, Device: x.Device,
			CreatedAt: x.Created.UTC().Truncate(time.Second), LastUsedAt: x.LastUsed.UTC().Truncate(time.Second),
			ExpiresAt: x.Expires.UTC().Truncate(time.Second), Current: x.ID == c.Session})
	}
	slices.SortFunc(out, func(a, b sessionItem) int { return b.LastUsedAt.Compare(a.LastUsedAt) }) // the latest first
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, c *Claims) error {
	family, err := s.sessionFamily(r, c)
	if err != nil {
		return err
	}
	id := r.PathValue("session")
	sess, err := s.auth.store.Session(r.Context(), id)
	if errors.Is(err, cloud.ErrNoSession) || err == nil && sess.Family != family {
		return &cloud.Error{Code: cloud.CodeNotFound, Message: "no session " + id + " in this family (it may have ended already)"}
	}
	if err != nil {
		return err
	}
	if err := s.auth.store.RevokeSession(r.Context(), id); err != nil {
		return err
	}
	s.auth.forget(id)
	writeJSON(w, http.StatusOK, map[string]string{"revoked": id})
	return nil
}
