package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/hub/ics"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

// healthz says the process is alive: 200 always, with status "degraded"
// and the reason when the hub serves reads but takes no writes (its log is
// damaged, or its disk is full), for whoever watches it.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	if reason := s.notReady(); reason != nil && s.writer.Load() != nil {
		writeJSON(w, http.StatusOK, map[string]string{"status": "degraded", "reason": reason.Message})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz says whether the hub takes writes: 503 with the reason while it
// starts, while its log is damaged, and while its disk is full.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if reason := s.notReady(); reason != nil {
		return reason
	}
	if s.writer.Load() == nil {
		return httpx.Errorf(httpx.CodeUnavailable, "the hub is starting: applying the event log to its state")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

// spaceChecker is a log that can tell whether its disk has room.
type spaceChecker interface{ CheckSpace() error }

// notReady is why writes are refused for now, beyond starting: nil when
// they are not.
func (s *Server) notReady() *httpx.Error {
	if s.Projector != nil {
		if f := s.Projector.Fault(); f != nil {
			return httpx.Errorf(httpx.CodeUnavailable, f.Message)
		}
	}
	if c, ok := s.Log.(spaceChecker); ok {
		if err := c.CheckSpace(); err != nil {
			if errors.Is(err, hub.ErrStorageFull) {
				return httpx.Errorf(httpx.CodeUnavailable, "the hub's disk is full: it takes no writes until its owner frees some space")
			}
			return httpx.Errorf(httpx.CodeUnavailable, "the hub's event log stopped: its owner must restart the hub (the log says why)")
		}
	}
	return nil
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
	return nil
}

type familyJSON struct {
	SetupRequired bool         `json:"setup_required"`
	Family        *hub.Family  `json:"family,omitempty"`
	Members       []hub.Member `json:"members"`
}

func (s *Server) getFamily(w http.ResponseWriter, r *http.Request) error {
	f, err := s.Store.Family(r.Context())
	if err != nil {
		return err
	}
	out := familyJSON{SetupRequired: f == nil, Family: f, Members: []hub.Member{}}
	if f != nil {
		if out.Members, err = s.liveMembers(r, false); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) liveMembers(r *http.Request, removed bool) ([]hub.Member, error) {
	all, err := s.Store.Members(r.Context())
	if err != nil {
		return nil, err
	}
	out := []hub.Member{}
	for _, m := range all {
		if removed || !m.Removed {
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *Server) postSetup(w http.ResponseWriter, r *http.Request) error { return s.write(w, r, true) }
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) error {
	return s.write(w, r, false)
}

// bodyTimeout is how long a client may take to send a write's body.
const bodyTimeout = 30 * time.Second

type resultsJSON struct {
	Results []hub.Written `json:"results"`
}

// write takes one event (a JSON object) or a batch (a JSON array).
func (s *Server) write(w http.ResponseWriter, r *http.Request, setup bool) error {
	wr := s.writer.Load()
	if wr == nil {
		return httpx.Errorf(httpx.CodeUnavailable, "the hub is starting: applying the event log to its state; retry in a moment")
	}
	// A body must arrive in reasonable time. (Not a server-wide read
	// timeout: that would also cut the long-lived event streams.)
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return httpx.Errorf(httpx.CodeTooLarge, "request body over "+strconv.Itoa(MaxBodyBytes>>20)+" MiB: send fewer events at a time")
		}
		if r.Context().Err() != nil {
			return r.Context().Err() // the client went away
		}
		return httpx.Errorf(httpx.CodeInvalid, "the request body was cut short or too slow to arrive; nothing was stored: send it again")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	var raws [][]byte
	batch := len(trimmed) > 0 && trimmed[0] == '['
	if batch {
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return &httpx.Error{Code: httpx.CodeInvalid, Message: "events refused; none were stored", Problems: []httpx.Problem{{Code: string(syncproto.CodeMalformed), Rule: "the body must be one event (a JSON object) or a JSON array of events: " + err.Error()}}}
		}
		for _, it := range items {
			raws = append(raws, it)
		}
	} else {
		raws = [][]byte{body}
	}
	out, err := wr.Write(r.Context(), raws, setup)
	if err != nil {
		s.writeError(w, r, err, batch)
		return nil
	}
	if batch {
		writeJSON(w, http.StatusOK, resultsJSON{Results: out})
	} else {
		writeJSON(w, http.StatusOK, out[0])
	}
	return nil
}

type eventsJSON struct {
	Events []hub.StoredEvent `json:"events"`
	// Next is the "after" of the next page; equal to the request's when
	// there is nothing more yet.
	Next uint64 `json:"next"`
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) error {
	q := hub.EventQuery{Limit: 100}
	v := r.URL.Query()
	var problems []httpx.Problem
	bad := func(name, rule string) {
		problems = append(problems, httpx.Problem{Code: string(syncproto.CodeInvalid), Path: name, Rule: rule})
	}
	for _, name := range []string{"after", "limit", "member", "type"} {
		if v.Has(name) && v.Get(name) == "" {
			bad(name, "must not be empty: leave the parameter out instead")
		}
	}
	if a := v.Get("after"); a != "" {
		n, err := strconv.ParseUint(a, 10, 63) // the log counts in int64
		if err != nil {
			bad("after", "must be a sequence number from 0 to 9223372036854775807")
		}
		q.After = n
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			bad("limit", "must be a whole number from 1 to 1000")
		}
		q.Limit = n
	}
	if m := v.Get("member"); m != "" {
		id, err := syncproto.ParseID(m)
		if err != nil {
			bad("member", "must be a member id: "+err.Error())
		}
		q.Member = id
	}
	if t := v.Get("type"); t != "" {
		q.Type = syncproto.Type(t)
	}
	if len(problems) > 0 {
		return &httpx.Error{Code: httpx.CodeInvalid, Message: "bad query", Problems: problems}
	}
	evs, err := s.Store.Events(r.Context(), q)
	if err != nil {
		return err
	}
	out := eventsJSON{Events: evs, Next: q.After}
	if len(evs) > 0 {
		out.Next = evs[len(evs)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func pathID(r *http.Request, what string) (uuid.UUID, error) {
	id, err := syncproto.ParseID(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, httpx.Errorf(httpx.CodeNotFound, "no "+what+" "+strconv.Quote(r.PathValue("id"))+": ids are lowercase UUIDs")
	}
	return id, nil
}

func (s *Server) getMembers(w http.ResponseWriter, r *http.Request) error {
	removed, err := queryBool(r, "removed")
	if err != nil {
		return err
	}
	ms, err := s.liveMembers(r, removed)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": ms})
	return nil
}

func (s *Server) member(r *http.Request) (*hub.Member, error) {
	return lookup(r, "member", s.Store.Member)
}

// lookup finds the entity named by the path's id, or answers not_found.
func lookup[T any](r *http.Request, what string, find func(context.Context, uuid.UUID) (*T, error)) (*T, error) {
	id, err := pathID(r, what)
	if err != nil {
		return nil, err
	}
	v, err := find(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, httpx.Errorf(httpx.CodeNotFound, "no "+what+" "+id.String()+" in this family")
	}
	return v, nil
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.member(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

type plansJSON struct {
	Plans []hub.StoredPlan `json:"plans"`
}

func (s *Server) getMemberPlans(w http.ResponseWriter, r *http.Request) error {
	m, err := s.member(r)
	if err != nil {
		return err
	}
	return s.writePlans(w, r, uuid.Nil, m.ID)
}

type logJSON struct {
	Facts []hub.LoggedFact `json:"facts"`
}

// getMemberLog answers with a member's logged facts that count, newest
// first: those of the last days (3 by default, at most 60).
func (s *Server) getMemberLog(w http.ResponseWriter, r *http.Request) error {
	m, err := s.member(r)
	if err != nil {
		return err
	}
	days := 3
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 60 {
			return &httpx.Error{Code: httpx.CodeInvalid, Message: "bad query", Problems: []httpx.Problem{{Code: string(syncproto.CodeInvalid), Path: "days", Rule: "must be a whole number of days from 1 to 60"}}}
		}
		days = n
	}
	facts, err := s.Store.Logged(r.Context(), m.ID, s.Now().Add(-time.Duration(days)*24*time.Hour))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, logJSON{Facts: facts})
	return nil
}

// writePlans answers with the stored plans of a trip, a member, or both.
func (s *Server) writePlans(w http.ResponseWriter, r *http.Request, trip, member uuid.UUID) error {
	ps, err := s.Store.Plans(r.Context(), trip, member)
	if err != nil {
		return err
	}
	// The re-planner's clock is exact to the nanosecond, which its own
	// timing needs; the API gives whole seconds.
	for i := range ps {
		ps[i].ComputedAt = ps[i].ComputedAt.Truncate(time.Second)
	}
	writeJSON(w, http.StatusOK, plansJSON{Plans: ps})
	return nil
}

func (s *Server) getCalendar(w http.ResponseWriter, r *http.Request) error {
	m, err := s.member(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="zoner-`+m.ID.String()+`.ics"`)
	return s.writeCalendar(w, r, m)
}

// writeCalendar answers with a member's plans as an iCalendar feed.
func (s *Server) writeCalendar(w http.ResponseWriter, r *http.Request, m *hub.Member) error {
	ps, err := s.Store.Plans(r.Context(), uuid.Nil, m.ID)
	if err != nil {
		return err
	}
	cal := ics.Calendar{Name: "Zoner", Alarm: 10 * time.Minute}
	if m.Data != nil {
		cal.Name = "Zoner: " + m.Data.DisplayName
	}
	for _, sp := range ps {
		if len(sp.Plan) == 0 {
			continue
		}
		tp := ics.TripPlan{TripID: sp.TripID}
		if err := json.Unmarshal(sp.Plan, &tp.Plan); err != nil {
			return err
		}
		if t, err := s.Store.Trip(r.Context(), sp.TripID); err == nil && t != nil && t.Data != nil {
			tp.TripName = t.Data.Name
		}
		cal.Trips = append(cal.Trips, tp)
		if sp.ComputedAt.After(cal.Stamp) {
			cal.Stamp = sp.ComputedAt
		}
	}
	if cal.Stamp.IsZero() {
		cal.Stamp = s.Now()
	}
	var buf bytes.Buffer
	if err := ics.Write(&buf, cal); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Write(buf.Bytes())
	return nil
}

// feedPrefix is where the calendar feed links live.
const feedPrefix = "/api/v1/feeds/"

type feedJSON struct {
	// Path is the link's path; URL and Webcal are the whole link as the
	// request named the hub, for a browser and for a calendar app.
	Path   string `json:"path"`
	URL    string `json:"url"`
	Webcal string `json:"webcal"`
}

// postFeed makes a new calendar feed link for a member: a URL a calendar
// app can subscribe to without the pairing token.
func (s *Server) postFeed(w http.ResponseWriter, r *http.Request) error {
	m, err := s.member(r)
	if err != nil {
		return err
	}
	secret, err := s.Feeds.New(m.ID)
	if err != nil {
		return err
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := feedPrefix + secret + ".ics"
	writeJSON(w, http.StatusOK, feedJSON{Path: path, URL: scheme + "://" + r.Host + path, Webcal: "webcal://" + r.Host + path})
	return nil
}

// postFeedsRevoke ends every calendar feed link of a member.
func (s *Server) postFeedsRevoke(w http.ResponseWriter, r *http.Request) error {
	m, err := s.member(r)
	if err != nil {
		return err
	}
	n, err := s.Feeds.Revoke(m.ID)
	if err != nil {
		return err
	}
	if n > 0 {
		s.Logger.Info("calendar feed links revoked", "member", m.ID, "links", n)
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	return nil
}

// getFeed answers a calendar feed link with its member's calendar, and
// anything else with not_found.
func (s *Server) getFeed(w http.ResponseWriter, r *http.Request) error {
	secret, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	id, found := s.Feeds.Member(secret)
	if !ok || !found {
		return httpx.Errorf(httpx.CodeNotFound, "no such calendar feed: the link was revoked or is mistyped; make a new one on the Sync screen")
	}
	m, err := s.Store.Member(r.Context(), id)
	if err != nil {
		return err
	}
	if m == nil {
		return httpx.Errorf(httpx.CodeNotFound, "no such calendar feed: the link was revoked or is mistyped; make a new one on the Sync screen")
	}
	// A link in a page's address bar or a log is a credential: ask
	// caches and referrers to keep it to themselves.
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("Referrer-Policy", "no-referrer")
	return s.writeCalendar(w, r, m)
}

func (s *Server) getTrips(w http.ResponseWriter, r *http.Request) error {
	removed, err := queryBool(r, "removed")
	if err != nil {
		return err
	}
	all, err := s.Store.Trips(r.Context())
	if err != nil {
		return err
	}
	out := []hub.Trip{}
	for _, t := range all {
		if removed || !t.Removed {
			out = append(out, t)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"trips": out})
	return nil
}

func (s *Server) trip(r *http.Request) (*hub.Trip, error) {
	return lookup(r, "trip", s.Store.Trip)
}

func (s *Server) getTrip(w http.ResponseWriter, r *http.Request) error {
	t, err := s.trip(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *Server) getTripPlan(w http.ResponseWriter, r *http.Request) error {
	t, err := s.trip(r)
	if err != nil {
		return err
	}
	return s.writePlans(w, r, t.ID, uuid.Nil)
}

type todayJSON struct {
	At      time.Time       `json:"at"`
	Members []hub.MemberNow `json:"members"`
}

// getToday answers with every member's advice at a moment, to the second,
// and what their log says they are doing then.
func (s *Server) getToday(w http.ResponseWriter, r *http.Request) error {
	at := s.Now()
	if q := r.URL.Query(); q.Has("at") {
		v := q.Get("at")
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return &httpx.Error{Code: httpx.CodeInvalid, Message: "bad query", Problems: []httpx.Problem{{Code: string(syncproto.CodeInvalid), Path: "at", Rule: "must be an RFC 3339 time with a UTC offset, like 2026-12-20T07:30:00Z"}}}
		}
		at = t
	}
	at = at.Truncate(time.Second)
	ms, err := s.liveMembers(r, false)
	if err != nil {
		return err
	}
	news, err := s.Store.NewsHLC(r.Context())
	if err != nil {
		return err
	}
	out := todayJSON{At: at, Members: []hub.MemberNow{}}
	for _, m := range ms {
		ps, err := s.Store.Plans(r.Context(), uuid.Nil, m.ID)
		if err != nil {
			return err
		}
		cloud, err := s.Store.Advice(r.Context(), m.ID)
		if err != nil {
			return err
		}
		facts, err := s.Store.Logged(r.Context(), m.ID, at.Add(-hub.StateLookback))
		if err != nil {
			return err
		}
		mn := hub.Today(m, ps, cloud, news, at)
		mn.State = hub.StateAt(facts, at)
		out.Members = append(out.Members, mn)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type syncJSON struct {
	LogSeq     uint64 `json:"log_seq"`
	AppliedSeq uint64 `json:"applied_seq"`
	// Cloud is the state of the link to the cloud.
	Cloud hub.SyncStatus `json:"cloud"`
}

func (s *Server) getSync(w http.ResponseWriter, r *http.Request) error {
	last, err := s.Log.LastSeq(r.Context())
	if err != nil {
		return err
	}
	out := syncJSON{LogSeq: last, AppliedSeq: s.Projector.Applied()}
	if sy := s.syncer.Load(); sy != nil {
		out.Cloud = sy.Status(r.Context())
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type pairingJSON struct {
	// LAN says whether the hub serves the local network, and so asks
	// each browser to pair.
	LAN bool `json:"lan"`
	// PairCommand makes a new pairing token, as the hub's owner types it
	// where the hub runs.
	PairCommand string `json:"pair_command"`
	// LANCommand starts the hub for the local network.
	LANCommand string `json:"lan_command"`
}

// getPairing says whether browsers pair with this hub, and how its owner
// makes a new token: what the pairing screen tells a person with no code.
func (s *Server) getPairing(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, pairingJSON{LAN: s.Pairing != nil, PairCommand: s.pairCommand(), LANCommand: s.serveCommand()})
	return nil
}

type inviteJSON struct {
	// URL opens the web UI with the invite's code in its fragment, which
	// a browser never sends to a server.
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	// QRSVG is the URL as a QR code, an SVG image.
	QRSVG string `json:"qr_svg"`
}

// postInvite makes a single-use pairing link for one more phone, which
// works for hub.InviteTTL.
func (s *Server) postInvite(w http.ResponseWriter, r *http.Request) error {
	if s.Pairing == nil {
		return httpx.Errorf(httpx.CodeConflict, "this hub serves only this device (localhost), so phones cannot reach it: start it with -lan ("+s.serveCommand()+")")
	}
	code, exp := s.Pairing.NewInvite(s.Now())
	base := s.LinkBase
	if base == "" || !isLoopbackHost(r.Host) {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	url := base + "/#/pair/" + code
	svg, err := qrSVG(url)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inviteJSON{URL: url, ExpiresAt: exp.UTC().Truncate(time.Second), QRSVG: svg})
	return nil
}

// serveCommand is the command that starts this hub for phones.
func (s *Server) serveCommand() string {
	if s.LANCommand == "" {
		return "zoner-hub -lan"
	}
	return s.LANCommand
}

// isLoopbackHost reports whether a Host header names this device only.
func isLoopbackHost(host string) bool {
	h, _, err := net.SplitHostPort(hostKey(host, false))
	if err != nil {
		return false
	}
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

func (s *Server) postRotate(w http.ResponseWriter, r *http.Request) error {
	if s.Pairing == nil {
		return httpx.Errorf(httpx.CodeConflict, "this hub serves only this device (localhost) and needs no pairing token")
	}
	tok, err := s.Pairing.Rotate()
	if err != nil {
		return err
	}
	s.Logger.Info("pairing token rotated; the old token and every paired browser's session no longer work")
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
	return nil
}

// sessionCookieAge is how long a phone stays paired: the longest a
// browser keeps a cookie (400 days).
const sessionCookieAge = 400 * 24 * time.Hour

// postSession checks the pairing token, or uses up an invite's code, and
// starts a session for this browser, in the zoner_session cookie, which the browser then sends with
// every request, event streams included (an EventSource cannot set an
// Authorization header). The cookie holds a random session id, never the
// token; rotating the token ends every session.
func (s *Server) postSession(w http.ResponseWriter, r *http.Request) error {
	if s.Pairing == nil {
		return httpx.Errorf(httpx.CodeConflict, "this hub serves only this device (localhost) and needs no pairing token")
	}
	var in struct {
		Token string `json:"token"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<10))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		return &httpx.Error{Code: httpx.CodeInvalid, Message: "bad request", Problems: []httpx.Problem{{Code: string(syncproto.CodeMalformed), Path: "token", Rule: "send {\"token\": \"<the pairing token>\"}"}}}
	}
	if !s.Pairing.Check(in.Token) {
		switch err := s.Pairing.Redeem(in.Token, s.Now()); {
		case errors.Is(err, hub.ErrInviteUsed), errors.Is(err, hub.ErrInviteExpired):
			return httpx.Errorf(httpx.CodeUnauthorized, err.Error()+". On a phone that is already paired, open Sync, then Add another phone, for a new link; or enter the household's pairing code")
		case err != nil:
			return httpx.Errorf(httpx.CodeUnauthorized, "that is not this household's pairing code, nor a live pairing link: check it against the code the hub printed (`"+s.pairCommand()+"` makes a new one where the hub runs)")
		}
	}
	id, err := s.Pairing.NewSession()
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/",
		MaxAge: int(sessionCookieAge.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	writeJSON(w, http.StatusOK, map[string]bool{"paired": true})
	return nil
}

// queryBool reads a boolean query parameter: true or false, false when
// absent. Anything else, empty included, is refused.
func queryBool(r *http.Request, name string) (bool, error) {
	q := r.URL.Query()
	switch v := q.Get(name); {
	case !q.Has(name) || v == "false":
		return false, nil
	case v == "true":
		return true, nil
	}
	return false, &hub.Error{Code: hub.CodeInvalid, Message: "bad query", Problems: []hub.Problem{{Code: syncproto.CodeInvalid, Path: name, Rule: "must be true or false"}}}
}
