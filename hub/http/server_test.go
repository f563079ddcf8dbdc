package http_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	hubhttp "github.com/zoner-family/zoner/hub/http"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

// secret is in every error the fake dependencies return: it must never
// reach a client.
const secret = "nats: jetstream store at /var/lib/zoner/js failed (fake-dependency-7731)"

// fakeStore is the hub's state, empty or failing. Methods the tests do
// not reach are left to the embedded nil interface.
type fakeStore struct {
	hub.Store
	family *hub.Family
	err    error // returned by every read
}

func (s *fakeStore) AppliedSeq(context.Context) (uint64, error)  { return 0, nil }
func (s *fakeStore) Family(context.Context) (*hub.Family, error) { return s.family, s.err }
func (s *fakeStore) Members(context.Context) ([]hub.Member, error) {
	return nil, s.err
}
func (s *fakeStore) Member(context.Context, uuid.UUID) (*hub.Member, error) { return nil, s.err }
func (s *fakeStore) Trip(context.Context, uuid.UUID) (*hub.Trip, error)     { return nil, s.err }
func (s *fakeStore) EventSeq(context.Context, uuid.UUID) (uint64, bool, error) {
	return 0, false, s.err
}
func (s *fakeStore) Events(context.Context, hub.EventQuery) ([]hub.StoredEvent, error) {
	return nil, s.err
}

// fakeLog is the event log; every append fails when err is set.
type fakeLog struct{ err error }

func (l *fakeLog) Append(_ context.Context, evs []hub.Event) ([]hub.Appended, error) {
	if l.err != nil {
		return nil, l.err
	}
	out := make([]hub.Appended, len(evs))
	for i := range evs {
		out[i].Seq = uint64(i + 1)
	}
	return out, nil
}
func (l *fakeLog) LastSeq(context.Context) (uint64, error) { return 0, nil }

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type testHub struct {
	handler http.Handler
	logs    *logBuffer
}

type options struct {
	store     *fakeStore
	log       *fakeLog
	limits    hubhttp.Limits
	pairing   *hub.Pairing
	starting  bool  // the write path is not open yet
	failStore error // the state's reads fail with this once the hub is up
}

func mustOpenHub(tb testing.TB, o options) *testHub {
	tb.Helper()
	if o.store == nil {
		o.store = &fakeStore{}
	}
	if o.log == nil {
		o.log = &fakeLog{}
	}
	if o.limits == (hubhttp.Limits{}) {
		o.limits = hubhttp.Limits{WritesPerSecond: 1e6, WriteBurst: 1e6, ReadsPerSecond: 1e6, ReadBurst: 1e6}
	}
	ctx := context.Background()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	m := hub.NewMetrics()
	p, err := hub.NewProjector(ctx, o.store, nil, o.log, logger, m, nil)
	if err != nil {
		tb.Fatal(err)
	}
	s := &hubhttp.Server{Store: o.store, Log: o.log, Projector: p, Broker: hub.NewBroker(), Metrics: m,
		Logger: logger, Limits: o.limits, Pairing: o.pairing}
	if !o.starting {
		w, err := hub.NewWriter(ctx, o.log, o.store, p, syncproto.NewClock(time.Now), m)
		if err != nil {
			tb.Fatal(err)
		}
		s.Ready(w)
	}
	o.store.err = o.failStore
	return &testHub{handler: s.Handler(), logs: logs}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (h *testHub) do(method, path string, body []byte, header ...string) answer {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.RemoteAddr = "192.0.2.10:5000"
	// A hub with no list of hosts answers to the loopback names only.
	req.Host = "127.0.0.1:8080"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// errorOf decodes an error answer strictly: the one shape, nothing more,
// with the status its code has in the table.
func (a answer) errorOf(tb testing.TB) httpx.Error {
	tb.Helper()
	var e httpx.Error
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Code == "" || e.Message == "" {
		tb.Fatalf("not an error answer (%v): %s", err, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type %q", ct)
	}
	if e.Code.Status() != a.status {
		tb.Errorf("status %d for code %s; the table says %d", a.status, e.Code, e.Code.Status())
	}
	return e
}

const familyEvent = `{"id":"01a2156f-95df-7121-a343-5b90bf6568aa","family_id":"01a2156f-95c5-7a2a-bb93-2b796a20f766",
"origin":"web:ada-phone","type":"family.upserted","start":"2026-11-20T10:04:12-08:00","tz":"America/Los_Angeles",
"hlc":"2026-11-20T18:04:12.331Z-0000","v":1,"data":{"name":"The Okafors","home_tz":"America/Los_Angeles"}}`

const sleepEvent = `{"id":"01a2156f-95fe-7e9e-a5ae-b7f610513d30","family_id":"01a2156f-95c5-7a2a-bb93-2b796a20f766",
"member_id":"01a2156f-95c8-7cde-b1b3-9a5db552d71d","origin":"web:ada-phone","type":"sleep",
"start":"2026-12-19T22:10:00Z","end":"2026-12-20T05:55:00Z","tz":"Europe/London","hlc":"2026-12-20T06:01:13.509Z-0000","v":1,"data":{}}`

func TestErrorAnswers(t *testing.T) {
	idx := func(i int) *int { return &i }
	for _, tc := range []struct {
		name         string
		opts         options
		method, path string
		body         string
		header       []string
		code         httpx.Code
		problems     []httpx.Problem // nil: not checked
	}{
		{name: "unknown API route", method: "GET", path: "/api/v1/nope", code: httpx.CodeNotFound},
		{name: "unknown member", method: "GET", path: "/api/v1/members/01a2156f-95c8-7cde-b1b3-9a5db552d71d", code: httpx.CodeNotFound},
		{name: "an id that is not a UUID", method: "GET", path: "/api/v1/trips/paris", code: httpx.CodeNotFound},
		{name: "bad query", method: "GET", path: "/api/v1/events?limit=0&after=x", code: httpx.CodeInvalid,
			problems: []httpx.Problem{
				{Code: "invalid", Path: "after", Rule: "must be a sequence number from 0 to 9223372036854775807"},
				{Code: "invalid", Path: "limit", Rule: "must be a whole number from 1 to 1000"},
			}},
		{name: "bad time", method: "GET", path: "/api/v1/today?at=tomorrow", code: httpx.CodeInvalid,
			problems: []httpx.Problem{{Code: "invalid", Path: "at", Rule: "must be an RFC 3339 time with a UTC offset, like 2026-12-20T07:30:00Z"}}},
		{name: "body not JSON", method: "POST", path: "/api/v1/events", body: `[{"id":`, code: httpx.CodeInvalid},
		{name: "one event: problems have no index", method: "POST", path: "/api/v1/events", body: `{"type":"sleep"}`, code: httpx.CodeInvalid},
		{name: "a batch: problems have their event's index", method: "POST", path: "/api/v1/events", body: `[` + sleepEvent + `, "x"]`, code: httpx.CodeInvalid,
			problems: []httpx.Problem{{Index: idx(1), Code: "malformed", Rule: "an envelope must be a JSON object, not a string"}}},
		{name: "empty batch", method: "POST", path: "/api/v1/events", body: `[]`, code: httpx.CodeInvalid},
		{name: "no family yet", method: "POST", path: "/api/v1/events", body: sleepEvent, code: httpx.CodeSetupRequired},
		{name: "setup twice", opts: options{store: &fakeStore{family: &hub.Family{ID: uuid.MustParse("01a2156f-95c5-7a2a-bb93-2b796a20f766")}}},
			method: "POST", path: "/api/v1/setup", body: familyEvent, code: httpx.CodeConflict},
		{name: "body over 4 MiB", method: "POST", path: "/api/v1/events", body: "[" + strings.Repeat(" ", hubhttp.MaxBodyBytes) + "]", code: httpx.CodeTooLarge},
		{name: "batch over the limit", method: "POST", path: "/api/v1/events", body: "[" + strings.Repeat("{},", hub.MaxBatch) + "{}]", code: httpx.CodeTooLarge},
		{name: "starting", opts: options{starting: true}, method: "POST", path: "/api/v1/events", body: sleepEvent, code: httpx.CodeUnavailable},
		{name: "starting, readyz", opts: options{starting: true}, method: "GET", path: "/readyz", code: httpx.CodeUnavailable},
		{name: "no pairing token", opts: options{pairing: hub.NewPairing(sum("tok"), nil)}, method: "GET", path: "/api/v1/family", code: httpx.CodeUnauthorized},
		{name: "wrong pairing token", opts: options{pairing: hub.NewPairing(sum("tok"), nil)}, method: "GET", path: "/api/v1/family", header: []string{"Authorization", "Bearer nope"}, code: httpx.CodeUnauthorized},
		{name: "session on localhost", method: "POST", path: "/api/v1/pairing/session", body: `{"token":"x"}`, code: httpx.CodeConflict},
		{name: "the state fails", opts: options{failStore: errors.New(secret)}, method: "GET", path: "/api/v1/family", code: httpx.CodeInternal},
		{name: "the state fails on a write", opts: options{failStore: errors.New(secret)}, method: "POST", path: "/api/v1/events", body: sleepEvent, code: httpx.CodeInternal},
		{name: "the event log fails", opts: options{log: &fakeLog{err: errors.New(secret)}}, method: "POST", path: "/api/v1/setup", body: familyEvent, code: httpx.CodeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustOpenHub(t, tc.opts)
			a := h.do(tc.method, tc.path, []byte(tc.body), tc.header...)
			e := a.errorOf(t)
			if e.Code != tc.code {
				t.Errorf("code %q, want %q: %s", e.Code, tc.code, a.body)
			}
			if tc.problems != nil {
				got, _ := json.Marshal(e.Problems)
				want, _ := json.Marshal(tc.problems)
				if !bytes.Equal(got, want) {
					t.Errorf("problems\n got %s\nwant %s", got, want)
				}
			}
			if !strings.HasPrefix(tc.body, "[") {
				for _, p := range e.Problems {
					if p.Index != nil {
						t.Errorf("a problem of a request that is not a batch has an index: %s", a.body)
					}
				}
			}
			if strings.Contains(string(a.body), "fake-dependency") || strings.Contains(string(a.body), "jetstream") {
				t.Errorf("a dependency's error text reached the client: %s", a.body)
			}
		})
	}
}

func sum(token string) []byte {
	s := sha256.Sum256([]byte(token))
	return s[:]
}

// When the event log fails, the client is told to retry, in fixed words;
// the log's own error text is in the hub's log.
func TestEventLogFailureIsLoggedNotSent(t *testing.T) {
	h := mustOpenHub(t, options{log: &fakeLog{err: errors.New(secret)}})
	a := h.do("POST", "/api/v1/setup", []byte(familyEvent))
	e := a.errorOf(t)
	if a.status != 503 || e.Code != httpx.CodeUnavailable || e.Message != hub.NotStoredMessage {
		t.Errorf("%d %s", a.status, a.body)
	}
	if strings.Contains(string(a.body), "fake-dependency-7731") {
		t.Errorf("the event log's error reached the client: %s", a.body)
	}
	if !strings.Contains(h.logs.String(), "fake-dependency-7731") {
		t.Errorf("the event log's error is not in the hub's log: %s", h.logs)
	}
}

// Each client has a read and a write bucket; an empty one is answered
// 429 with Retry-After the seconds until its next token.
func TestRateLimit(t *testing.T) {
	h := mustOpenHub(t, options{limits: hubhttp.Limits{ReadsPerSecond: 0.25, ReadBurst: 2, WritesPerSecond: 0.1, WriteBurst: 1}})
	for i := range 2 {
		if a := h.do("GET", "/healthz", nil); a.status != 200 {
			t.Fatalf("read %d: %d", i, a.status)
		}
	}
	a := h.do("GET", "/api/v1/nope", nil)
	if e := a.errorOf(t); e.Code != httpx.CodeRateLimited {
		t.Fatalf("third read: %s", a.body)
	}
	if got := a.header.Get("Retry-After"); got != "4" {
		t.Errorf("Retry-After %q, want 4 (one read every 4 s)", got)
	}
	// Writes have their own bucket.
	if a := h.do("POST", "/api/v1/events", []byte(`[]`)); a.status != 400 {
		t.Errorf("first write: %d %s", a.status, a.body)
	}
	a = h.do("POST", "/api/v1/events", []byte(`[]`))
	if e := a.errorOf(t); e.Code != httpx.CodeRateLimited || a.header.Get("Retry-After") != "10" {
		t.Errorf("second write: Retry-After %q: %s", a.header.Get("Retry-After"), a.body)
	}
	// Another device has buckets of its own.
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.RemoteAddr = "192.0.2.11:5000"
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("another device: %d", rec.Code)
	}
}
