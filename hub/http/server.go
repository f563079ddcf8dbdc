// Package http serves the hub's API to the household: writes of events,
// the family's state and plans, a today view, iCalendar feeds, live
// notices over Server-Sent Events, health and metrics. Errors are JSON
// with a code and a message that says what to fix; a client's mistake is
// always a 4xx.
package http

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/internal/httpx"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 4 << 20

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
	// Pairing, when set, requires the household token on every /api/v1
	// request (the hub serves the LAN). Nil on localhost.
	Pairing *hub.Pairing
	// Limits are the per-client rate limits; zero values mean defaults.
	Limits Limits
	// Now is the clock for the today view; nil means time.Now.
	Now func() time.Time
	// Static serves everything outside /api (the web UI); nil for none.
	Static http.Handler

	writer  atomic.Pointer[hub.Writer]
	syncer  atomic.Pointer[hub.Syncer]
	limiter *limiter
	mux     *http.ServeMux
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
}

func (s *Server) routes() []route {
	return []route{
		{method: "GET", pattern: "/healthz", handler: s.healthz, open: true},
		{method: "GET", pattern: "/readyz", handler: s.readyz, open: true},
		{method: "GET", pattern: "/api/openapi.json", handler: s.openapi, open: true},
		{method: "GET", pattern: "/api/v1/family", handler: s.getFamily},
		{method: "POST", pattern: "/api/v1/setup", handler: s.postSetup, write: true},
		{method: "POST", pattern: "/api/v1/events", handler: s.postEvents, write: true},
		{method: "GET", pattern: "/api/v1/events", handler: s.getEvents},
		{method: "GET", pattern: "/api/v1/members", handler: s.getMembers},
		{method: "GET", pattern: "/api/v1/members/{id}", handler: s.getMember},
		{method: "GET", pattern: "/api/v1/members/{id}/plans", handler: s.getMemberPlans},
		{method: "GET", pattern: "/api/v1/members/{id}/calendar.ics", handler: s.getCalendar},
		{method: "GET", pattern: "/api/v1/trips", handler: s.getTrips},
		{method: "GET", pattern: "/api/v1/trips/{id}", handler: s.getTrip},
		{method: "GET", pattern: "/api/v1/trips/{id}/plan", handler: s.getTripPlan},
		{method: "GET", pattern: "/api/v1/today", handler: s.getToday},
		{method: "GET", pattern: "/api/v1/sync", handler: s.getSync},
		{method: "GET", pattern: "/api/v1/stream", handler: s.getStream},
		{method: "POST", pattern: "/api/v1/pairing/rotate", handler: s.postRotate, write: true},
		// Open, so a phone can trade the token for the cookie; counted as
		// a write, so guessing is slow (and the token is 160 random bits).
		{method: "POST", pattern: "/api/v1/pairing/session", handler: s.postSession, write: true, open: true},
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
	s.limiter = newLimiter(s.Limits)
	s.mux = http.NewServeMux()
	for _, r := range s.routes() {
		s.mux.Handle(r.method+" "+r.pattern, s.wrap(r))
	}
	s.mux.Handle("GET /metrics", s.timed("/metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.Metrics.WritePrometheus(w)
	})))
	s.mux.Handle("/api/", s.wrap(route{pattern: "/api/", handler: func(w http.ResponseWriter, r *http.Request) error {
		return hub.Errorf(hub.CodeNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path+" (see /api/openapi.json)")
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
	var body errorJSON
	body.Error.Code = "method_not_allowed"
	body.Error.Message = r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + strings.Join(allow, ", ")
	writeJSON(w, http.StatusMethodNotAllowed, body)
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
				s.writeError(w, r, fmt.Errorf("internal error"))
			}
		}()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !s.limiter.allow(clientKey(r), rt.write) {
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, hub.Errorf(hub.CodeRateLimited, "too many requests from this device; wait a second and retry"))
			return
		}
		if s.Pairing != nil && !rt.open && !s.Pairing.Check(token(r)) {
			s.writeError(w, r, hub.Errorf(hub.CodeUnauthorized, "this hub serves the local network: send the household pairing token as \"Authorization: Bearer <token>\" (printed by the hub when it was made; rotate with zoner-hub pair)"))
			return
		}
		if err := rt.handler(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}))
}

func token(r *http.Request) string {
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return v
	}
	if c, err := r.Cookie("zoner_token"); err == nil {
		return c.Value
	}
	return ""
}

func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// statusOf maps error codes to HTTP status codes, in one place.
func statusOf(code hub.ErrorCode) int {
	switch code {
	case hub.CodeInvalid:
		return http.StatusBadRequest
	case hub.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case hub.CodeNotFound:
		return http.StatusNotFound
	case hub.CodeConflict, hub.CodeNoFamily:
		return http.StatusConflict
	case hub.CodeUnauthorized:
		return http.StatusUnauthorized
	case hub.CodeRateLimited:
		return http.StatusTooManyRequests
	case hub.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

type problemJSON struct {
	hub.Problem
	Text string `json:"text"`
}

type errorJSON struct {
	Error struct {
		Code     hub.ErrorCode `json:"code"`
		Message  string        `json:"message"`
		Problems []problemJSON `json:"problems,omitempty"`
	} `json:"error"`
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var body errorJSON
	var he *hub.Error
	switch {
	case errors.As(err, &he):
		body.Error.Code, body.Error.Message = he.Code, he.Message
		for _, p := range he.Problems {
			body.Error.Problems = append(body.Error.Problems, problemJSON{Problem: p, Text: p.Text()})
		}
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client went away
	default:
		s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error.Code, body.Error.Message = "internal", "the hub failed to answer; the error is in its log"
	}
	if body.Error.Code == hub.CodeInvalid && allTooLarge(he.Problems) {
		body.Error.Code = hub.CodeTooLarge
	}
	status := statusOf(body.Error.Code)
	writeJSON(w, status, body)
}

func allTooLarge(ps []hub.Problem) bool {
	for _, p := range ps {
		if p.Code != "too_large" {
			return false
		}
	}
	return len(ps) > 0
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"encode response"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
