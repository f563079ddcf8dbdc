package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/web"
)

// AppBackend is what the web UI's reads need; the cloud service implements
// it. A backend without it answers those routes with unavailable.
type AppBackend interface {
	State(ctx context.Context, family uuid.UUID) (*cloud.AppState, error)
	Today(ctx context.Context, family uuid.UUID, at time.Time) (*cloud.AppToday, error)
	TripPlans(ctx context.Context, family, trip uuid.UUID) (*cloud.AppPlans, error)
	MemberLog(ctx context.Context, family, member uuid.UUID, since time.Time) (*cloud.AppLog, error)
}

// appRoutes are the web UI's: its configuration and the family's reads, in
// the shapes of the hub's API.
func (s *Server) appRoutes() []route {
	return []route{
		{"GET", "/v1/app-config", open, s.getAppConfig},
		{"GET", "/v1/families/{family}/state", bearer, s.getAppState},
		{"GET", "/v1/families/{family}/today", bearer, s.getAppToday},
		{"GET", "/v1/families/{family}/trips/{trip}/plan", bearer, s.getAppTripPlan},
		{"GET", "/v1/families/{family}/members/{member}/log", bearer, s.getAppMemberLog},
	}
}

// webPaths are where the web UI's files are served: the page at / and the
// files beside it, outside /v1. (The UI's own routes live in the URL's
// fragment, which never reaches a server.)
var webPaths = []string{"/{$}", "/index.html", "/sw.js", "/app.css", "/icon.svg", "/manifest.webmanifest", "/js/"}

// BackendCookie tells the web UI, without a request, that the cloud
// served it: the page's script reads it (so it is not HttpOnly), and a
// hub sets no such cookie. It stays for a year, for an offline start from
// the service worker's copy.
const BackendCookie = "zoner_backend"

const backendCookieAge = 365 * 24 * 60 * 60

// mountWeb serves the web UI (package web, as a hub serves it, with its
// Content-Security-Policy and service worker) beside the API.
func (s *Server) mountWeb() {
	h := web.Handler()
	m := s.routeMetrics("web")
	for _, p := range webPaths {
		s.mux.Handle("GET "+p, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			start := time.Now()
			w := &httpx.StatusWriter{ResponseWriter: rw}
			http.SetCookie(w, &http.Cookie{Name: BackendCookie, Value: "cloud", Path: "/", MaxAge: backendCookieAge,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			h.ServeHTTP(w, r)
			m.observe(w.Code, time.Since(start))
		}))
	}
}

// appConfigJSON tells a client it is served by the cloud and where its
// routes are (a hub answers this path with 404). The web UI itself needs
// no request for that: it reads BackendCookie.
type appConfigJSON struct {
	Backend string `json:"backend"`
	// API is the prefix of the cloud's routes.
	API string `json:"api"`
	// Refresh is where a session's access token is renewed.
	Refresh string `json:"refresh"`
	// SignIn is the UI's route for signing in with a link from the hub.
	SignIn string `json:"signin"`
}

func (s *Server) getAppConfig(w http.ResponseWriter, r *http.Request, _ *Claims) error {
	writeJSON(w, http.StatusOK, appConfigJSON{Backend: "cloud", API: "/v1", Refresh: "/v1/auth/refresh", SignIn: "#/signin"})
	return nil
}

// canReadApp reports whether c may read family through the UI's routes: a
// guardian or a member of the family (the UI shows the whole family to
// each of its members), or an admin.
func canReadApp(c *Claims, family uuid.UUID) bool {
	return canReadFamily(c, family) || c.Role == RoleMember && c.Family == family
}

// appFamily checks the token against the path's family and returns it
// with the app backend.
func (s *Server) appFamily(r *http.Request, c *Claims) (AppBackend, uuid.UUID, error) {
	f, err := pathID(r, "family", c)
	if err != nil {
		return nil, uuid.Nil, err
	}
	if !canReadApp(c, f) {
		return nil, uuid.Nil, errForbidden
	}
	b, ok := s.backend.(AppBackend)
	if !ok {
		return nil, uuid.Nil, &cloud.Error{Code: cloud.CodeUnavailable, Message: "this API does not serve the web UI's reads"}
	}
	return b, f, nil
}

// appPathID parses a trip or member id of the path: an id that is no
// UUID names nothing in the family, so it is not found.
func appPathID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil || id == uuid.Nil {
		return uuid.Nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "no " + name + " " + strconv.Quote(r.PathValue(name)) + ": ids are UUIDs"}
	}
	return id, nil
}

func badQuery(name, rule string) error {
	return invalid("bad query", []httpx.Problem{{Code: "invalid", Path: name, Rule: rule}})
}

func (s *Server) getAppState(w http.ResponseWriter, r *http.Request, c *Claims) error {
	b, f, err := s.appFamily(r, c)
	if err != nil {
		return err
	}
	out, err := b.State(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getAppToday(w http.ResponseWriter, r *http.Request, c *Claims) error {
	b, f, err := s.appFamily(r, c)
	if err != nil {
		return err
	}
	at := s.now()
	if q := r.URL.Query(); q.Has("at") {
		t, err := time.Parse(time.RFC3339, q.Get("at"))
		if err != nil {
			return badQuery("at", "must be an RFC 3339 time with a UTC offset, like 2026-12-20T07:30:00Z")
		}
		at = t
	}
	out, err := b.Today(r.Context(), f, at)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getAppTripPlan(w http.ResponseWriter, r *http.Request, c *Claims) error {
	b, f, err := s.appFamily(r, c)
	if err != nil {
		return err
	}
	trip, err := appPathID(r, "trip")
	if err != nil {
		return err
	}
	out, err := b.TripPlans(r.Context(), f, trip)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getAppMemberLog answers with a member's logged facts that count, newest
// first: those of the last days (3 by default, at most 60).
func (s *Server) getAppMemberLog(w http.ResponseWriter, r *http.Request, c *Claims) error {
	b, f, err := s.appFamily(r, c)
	if err != nil {
		return err
	}
	member, err := appPathID(r, "member")
	if err != nil {
		return err
	}
	days := 3
	if q := r.URL.Query(); q.Has("days") {
		n, err := strconv.Atoi(q.Get("days"))
		if err != nil || n < 1 || n > 60 {
			return badQuery("days", "must be a whole number of days from 1 to 60")
		}
		days = n
	}
	out, err := b.MemberLog(r.Context(), f, member, s.now().Add(-time.Duration(days)*24*time.Hour))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
