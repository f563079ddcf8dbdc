// Package http serves the hub's API to the household: writes of events,
// the family's state and plans, a today view, iCalendar feeds, live
// notices over Server-Sent Events, health and metrics. Every error is
// internal/httpx's JSON shape, {"code","message","problems"}, with a
// message that says what to fix; a client's mistake is always a 4xx, and
// a dependency's error text is logged, never sent.
package http

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

// MaxBodyBytes is the largest request body accepted, but for a sleep
// export's (MaxImportBytes).
const MaxBodyBytes = 4 << 20

// Limits are per-client (per IP address) token buckets, one for writes
// and one for reads; zero rates mean the defaults.
type Limits struct {
	WritesPerSecond float64
	WriteBurst      int
	ReadsPerSecond  float64
	ReadBurst       int
	// MaxClients is how many clients' buckets each limit holds at most
	// (httpx.DefaultMaxKeys for 0); past that, clients that find no room
	// share one bucket.
	MaxClients int
}

func (l Limits) withDefaults() Limits {
	if l.WritesPerSecond <= 0 {
		l.WritesPerSecond, l.WriteBurst = 20, 100
	}
	if l.ReadsPerSecond <= 0 {
		l.ReadsPerSecond, l.ReadBurst = 50, 200
	}
	return l
}

//go:embed openapi.json
var openAPI []byte

// Server is the hub's HTTP API.
type Server struct {
	Store     hub.Store
	Log       hub.Log
	Projector *hub.Projector
	Broker    *hub.Broker
	Metrics   *hub.Metrics
	Logger    *slog.Logger
	// Pairing, when set, requires the household token, or a paired
	// browser's session cookie, on every /api/v1 request (the hub serves
	// the LAN). Nil on localhost.
	Pairing *hub.Pairing
	// PairCommand is the command that makes a new pairing token for this
	// hub, as its owner would type it (like "zoner-hub pair", or "go tool
	// task run -- pair" in a checkout), for the messages; "" for
	// "zoner-hub pair".
	PairCommand string
	// LANCommand is the command that starts this hub for the local
	// network, like "zoner-hub -lan"; "" for that one.
	LANCommand string
	// LinkBase is the hub's address on the network, like
	// http://192.168.1.20:8080, for the pairing links of a request made
	// on a loopback name (no phone could open those); "" to use the
	// request's host.
	LinkBase string
	// Feeds holds the calendar feed links' secrets; nil keeps them in
	// memory only.
	Feeds *hub.Feeds
	// Hosts are the addresses the hub answers to, as host:port (a name,
	// an IPv4 address or a bracketed IPv6 one). A request naming any other
	// host in its Host header is refused, so that a web page whose name
	// was pointed at the hub (DNS rebinding) cannot read it. Empty means
	// the loopback names, on any port.
	Hosts []string
	// Limits are the per-client rate limits; zero values mean defaults.
	Limits Limits
	// Now is the clock for the today view; nil means time.Now.
	Now func() time.Time
	// Static serves everything outside /api (the web UI); nil for none.
	Static http.Handler
	// Clocks says what the hub learned of each member's body clock, for
	// GET /api/v1/members/{id}/clock; nil: nothing learned.
	Clocks ClockSource
	// Importer reads sleep exports for POST /api/v1/members/{id}/imports;
	// nil answers that route 404.
	Importer SleepImporter
	// ImportDir holds uploaded sleep exports (zips) while they are read,
	// each removed after; the hub's data directory. "" means the system's
	// temporary directory.
	ImportDir string
	// MaxImportBytes is the largest sleep export taken, far above
	// MaxBodyBytes; DefaultMaxImportBytes when zero.
	MaxImportBytes int64

	hosts         map[string]bool
	writer        atomic.Pointer[hub.Writer]
	syncer        atomic.Pointer[hub.Syncer]
	signIn        atomic.Pointer[CloudSignIn]
	reads, writes *httpx.Limiter
	mux           *http.ServeMux
}

// Linked reports the hub's link to the cloud in /api/v1/sync.
func (s *Server) Linked(sy *hub.Syncer) { s.syncer.Store(sy) }

// Ready opens the write path: until it is called writes answer 503 and
// /readyz says the hub is starting.
func (s *Server) Ready(w *hub.Writer) { s.writer.Store(w) }

type route struct {
	method, pattern string
	handler         func(http.ResponseWriter, *http.Request) error
	write           bool // counts against the write rate limit
	open            bool // needs no pairing token
	// public routes hold nothing of the family's and answer whatever
	// the Host header says: health, readiness, the API's description.
	public bool
	// json routes take a JSON body and refuse any other Content-Type.
	json bool
}

func (s *Server) routes() []route {
	return []route{
		{method: "GET", pattern: "/healthz", handler: s.healthz, open: true, public: true},
		{method: "GET", pattern: "/readyz", handler: s.readyz, open: true, public: true},
		{method: "GET", pattern: "/api/openapi.json", handler: s.openapi, open: true, public: true},
		{method: "GET", pattern: "/api/v1/family", handler: s.getFamily},
		{method: "POST", pattern: "/api/v1/setup", handler: s.postSetup, write: true, json: true},
		{method: "POST", pattern: "/api/v1/events", handler: s.postEvents, write: true, json: true},
		{method: "GET", pattern: "/api/v1/events", handler: s.getEvents},
		{method: "GET", pattern: "/api/v1/export", handler: s.getExport},
		{method: "GET", pattern: "/api/v1/members", handler: s.getMembers},
		{method: "GET", pattern: "/api/v1/members/{id}", handler: s.getMember},
		{method: "GET", pattern: "/api/v1/members/{id}/plans", handler: s.getMemberPlans},
		{method: "GET", pattern: "/api/v1/members/{id}/log", handler: s.getMemberLog},
		{method: "GET", pattern: "/api/v1/members/{id}/clock", handler: s.getMemberClock},
		{method: "GET", pattern: "/api/v1/members/{id}/calendar.ics", handler: s.getCalendar},
		{method: "POST", pattern: "/api/v1/members/{id}/feeds", handler: s.postFeed, write: true},
		{method: "POST", pattern: "/api/v1/members/{id}/feeds/revoke", handler: s.postFeedsRevoke, write: true},
		{method: "POST", pattern: "/api/v1/members/{id}/imports", handler: s.postImport, write: true},
		// Open: a calendar app sends no token or cookie. The link's
		// secret is the credential, and it opens one member's calendar.
		{method: "GET", pattern: "/api/v1/feeds/{file}", handler: s.getFeed, open: true},
		{method: "GET", pattern: "/api/v1/trips", handler: s.getTrips},
		{method: "GET", pattern: "/api/v1/trips/{id}", handler: s.getTrip},
		{method: "GET", pattern: "/api/v1/trips/{id}/plan", handler: s.getTripPlan},
		{method: "GET", pattern: "/api/v1/today", handler: s.getToday},
		{method: "GET", pattern: "/api/v1/sync", handler: s.getSync},
		{method: "POST", pattern: "/api/v1/cloud/signin-links", handler: s.postCloudSignIn, write: true, json: true},
		{method: "GET", pattern: "/api/v1/stream", handler: s.getStream},
		// Open: the pairing screen reads how to get a code before it
		// has one. It holds nothing of the family's.
		{method: "GET", pattern: "/api/v1/pairing", handler: s.getPairing, open: true},
		{method: "POST", pattern: "/api/v1/pairing/rotate", handler: s.postRotate, write: true},
		{method: "POST", pattern: "/api/v1/pairing/invites", handler: s.postInvite, write: true},
		// Open, so a phone can trade the token, or an invite's code, for
		// the cookie; counted as a write, so guessing is slow (and both
		// are 160 random bits).
		{method: "POST", pattern: "/api/v1/pairing/session", handler: s.postSession, write: true, open: true, json: true},
	}
}

// Routes maps "METHOD pattern" of every API route to whether it is open
// (needs no pairing token on the LAN), for the OpenAPI check.
func (s *Server) Routes() map[string]bool {
	out := map[string]bool{}
	for _, r := range s.routes() {
		out[r.method+" "+r.pattern] = r.open
	}
	return out
}

// Handler returns the hub's HTTP handler.
func (s *Server) Handler() http.Handler {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	l := s.Limits.withDefaults()
	s.reads = httpx.NewLimiter(httpx.Rate{PerSecond: l.ReadsPerSecond, Burst: l.ReadBurst}, l.MaxClients, 10*time.Minute)
	s.writes = httpx.NewLimiter(httpx.Rate{PerSecond: l.WritesPerSecond, Burst: l.WriteBurst}, l.MaxClients, 10*time.Minute)
	if s.Feeds == nil {
		s.Feeds, _ = hub.NewFeeds(nil, nil)
	}
	sweepImports(s.ImportDir)
	s.hosts = map[string]bool{}
	for _, h := range s.Hosts {
		s.hosts[hostKey(h, false)] = true
	}
	s.mux = http.NewServeMux()
	for _, r := range s.routes() {
		s.mux.Handle(r.method+" "+r.pattern, s.wrap(r))
	}
	s.mux.Handle("GET /metrics", s.timed("/metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.Metrics.WritePrometheus(w)
	})))
	s.mux.Handle("/api/", s.wrap(route{pattern: "/api/", public: true, handler: func(w http.ResponseWriter, r *http.Request) error {
		return httpx.Errorf(httpx.CodeNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path+" (see /api/openapi.json)")
	}}))
	if s.Static != nil {
		s.mux.Handle("/", s.Static)
	}
	return http.HandlerFunc(s.serve)
}

// serve answers a request whose path is a route's but whose method is
// not with 405 and the route's methods in Allow; the rest goes through
// the mux.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "/api/" || pattern == "/" || pattern == "" {
		if allow := s.allowed(r); len(allow) > 0 {
			s.timed(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				methodNotAllowed(w, r, allow)
			})).ServeHTTP(w, r)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// allowed lists the methods the routes serve on r's path (HEAD with GET,
// as the mux serves it); none when the path is no route's.
func (s *Server) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{"GET", "HEAD", "POST"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/api/" && pattern != "/" && pattern != "" {
			out = append(out, m)
		}
	}
	return out
}

// methodNotAllowed answers 405 with the methods allowed in Allow and the
// usual JSON error.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow []string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	httpx.WriteError(w, httpx.Errorf(httpx.CodeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", ")))
}

func (s *Server) timed(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &httpx.StatusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		s.Metrics.HTTP(name, r.Method, sw.Code, time.Since(start))
	})
}

func (s *Server) wrap(rt route) http.Handler {
	return s.timed(rt.pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("handler panic", "route", rt.pattern, "panic", fmt.Sprint(v))
				s.writeError(w, r, errors.New("handler panic"), false)
			}
		}()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		lim := s.reads
		if rt.write {
			lim = s.writes
		}
		if ok, wait := lim.Allow(httpx.ClientIP(r, nil), time.Now()); !ok {
			secs := httpx.RetryAfterSeconds(wait)
			s.writeError(w, r, &httpx.Error{Code: httpx.CodeRateLimited, RetryAfter: wait,
				Message: fmt.Sprintf("too many requests from this device; retry in %d s", secs)}, false)
			return
		}
		if err := s.checkOrigin(r, rt); err != nil {
			s.writeError(w, r, err, false)
			return
		}
		if s.Pairing != nil && !rt.open && !s.authorized(r) {
			s.writeError(w, r, httpx.Errorf(httpx.CodeUnauthorized, "this hub serves the local network: send the household pairing token as \"Authorization: Bearer <token>\" (printed by the hub when it was made; `"+s.pairCommand()+"` makes a new one), or pair this browser"), false)
			return
		}
		if rt.json {
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				s.writeError(w, r, httpx.Errorf(httpx.CodeUnsupportedMediaType, "send the body as JSON, with \"Content-Type: application/json\""), false)
				return
			}
		}
		if err := rt.handler(w, r); err != nil {
			s.writeError(w, r, err, false)
		}
	}))
}

// pairCommand is the command that makes a new pairing token.
func (s *Server) pairCommand() string {
	if s.PairCommand == "" {
		return "zoner-hub pair"
	}
	return s.PairCommand
}

// SessionCookie names the cookie of a paired browser's session.
const SessionCookie = "zoner_session"

// authorized reports whether r carries the pairing token as a bearer
// token, or a live session's cookie.
func (s *Server) authorized(r *http.Request) bool {
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return s.Pairing.Check(v)
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return s.Pairing.CheckSession(c.Value)
	}
	return false
}

// writeError answers with err in the one error shape. An *httpx.Error
// goes out as it is; a *hub.Error is mapped through the status table,
// its problems numbered by event when the request was a batch, and its
// cause logged; any other error is logged and answered with a fixed
// message, its text never sent.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, batch bool) {
	var out *httpx.Error
	if he, ok := errors.AsType[*httpx.Error](err); ok {
		out = he
	} else if he, ok := errors.AsType[*hub.Error](err); ok {
		if he.Err != nil {
			s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", he.Code, "err", he.Err)
		}
		out = apiError(he, batch)
	} else if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	} else {
		s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		out = httpx.Errorf(httpx.CodeInternal, "the hub failed to answer; the error is in its log")
	}
	httpx.WriteError(w, out)
}

// apiError is he on the wire. Problems carry their event's index only in
// answer to a batch. A refusal whose every problem is an event over the
// size limit is too_large.
func apiError(he *hub.Error, batch bool) *httpx.Error {
	out := &httpx.Error{Code: httpx.Code(he.Code), Message: he.Message}
	allTooLarge := len(he.Problems) > 0
	for _, p := range he.Problems {
		q := httpx.Problem{Code: string(p.Code), Path: p.Path, Rule: p.Rule}
		if batch {
			q.Index = httpx.At(p.Index)
		}
		out.Problems = append(out.Problems, q)
		allTooLarge = allTooLarge && p.Code == syncproto.CodeTooLarge
	}
	if out.Code == httpx.CodeInvalid && allTooLarge {
		out.Code = httpx.CodeTooLarge
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, v) }
