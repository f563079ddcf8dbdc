package http

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/httpx"
)

var (
	testSecret        = []byte("0123456789abcdef0123456789abcdef-test-only")
	testWebhookSecret = []byte("webhook-secret-for-tests")
	testStart         = time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC)

	familyA = uuid.MustParse("0193f000-0000-7000-8000-00000000000a")
	familyB = uuid.MustParse("0193f000-0000-7000-8000-00000000000b")
	familyC = uuid.MustParse("0193f000-0000-7000-8000-00000000000c") // exists nowhere
	memberA = uuid.MustParse("0193f000-0000-7000-8000-0000000000a1")
	memberX = uuid.MustParse("0193f000-0000-7000-8000-0000000000a2") // A's other member
	memberB = uuid.MustParse("0193f000-0000-7000-8000-0000000000b1")
)

// fakeBackend serves from memory and records what it was asked.
type fakeBackend struct {
	mu        sync.Mutex
	recs      map[[2]uuid.UUID][]byte
	summaries map[uuid.UUID]*cloud.FamilySummary
	analytics *cloud.Analytics
	statuses  []cloud.FlightStatus
	result    cloud.FlightResult
	calls     []string
	readyErr  error
	err       error // returned by every read when set
	panicMsg  string
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		recs: map[[2]uuid.UUID][]byte{
			{familyA, memberA}: []byte(`{"version":1,"family_id":"` + familyA.String() + `","member_id":"` + memberA.String() + `","name":"Ada"}`),
			{familyA, memberX}: []byte(`{"version":1,"family_id":"` + familyA.String() + `","member_id":"` + memberX.String() + `","name":"Ben"}`),
			{familyB, memberB}: []byte(`{"version":1,"family_id":"` + familyB.String() + `","member_id":"` + memberB.String() + `","name":"Cai"}`),
		},
		summaries: map[uuid.UUID]*cloud.FamilySummary{
			familyA: {Family: familyA, Name: "The As", Members: []cloud.MemberSummary{}, Trips: []cloud.TripSummary{}},
			familyB: {Family: familyB, Name: "The Bs", Members: []cloud.MemberSummary{}, Trips: []cloud.TripSummary{}},
		},
		analytics: &cloud.Analytics{Events: 42, Families: 2},
		result:    cloud.FlightResult{Events: []uuid.UUID{uuid.MustParse("0193f000-0000-7000-8000-0000000000e1")}, Trips: 1},
	}
}

func (f *fakeBackend) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	return f.err
}

func (f *fakeBackend) Recommendation(ctx context.Context, family, member uuid.UUID) ([]byte, error) {
	if err := f.record("Recommendation"); err != nil {
		return nil, err
	}
	b, ok := f.recs[[2]uuid.UUID{family, member}]
	if !ok {
		return nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "no such member"}
	}
	return b, nil
}

// FamilyEvents answers a family of the summaries with one event line (an
// indented one, which the export puts on one line).
func (f *fakeBackend) FamilyEvents(ctx context.Context, family uuid.UUID) ([][]byte, error) {
	if err := f.record("FamilyEvents"); err != nil {
		return nil, err
	}
	if _, ok := f.summaries[family]; !ok {
		return nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "no family " + family.String()}
	}
	return [][]byte{[]byte("{\n  \"id\": \"0193f000-0000-7000-8000-0000000000e2\",\n  \"family_id\": \"" + family.String() + "\"\n}")}, nil
}

func (f *fakeBackend) FamilySummary(ctx context.Context, family uuid.UUID) (*cloud.FamilySummary, error) {
	if err := f.record("FamilySummary"); err != nil {
		return nil, err
	}
	s, ok := f.summaries[family]
	if !ok {
		return nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "no such family"}
	}
	return s, nil
}

func (f *fakeBackend) Analytics(ctx context.Context) (*cloud.Analytics, error) {
	if err := f.record("Analytics"); err != nil {
		return nil, err
	}
	return f.analytics, nil
}

func (f *fakeBackend) FlightStatus(ctx context.Context, s cloud.FlightStatus) (cloud.FlightResult, error) {
	if err := f.record("FlightStatus"); err != nil {
		return cloud.FlightResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses = append(f.statuses, s)
	return f.result, nil
}

func (f *fakeBackend) Ready(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readyErr
}

func (f *fakeBackend) callCount(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == name {
			n++
		}
	}
	return n
}

func (f *fakeBackend) lastStatus(tb testing.TB) cloud.FlightStatus {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.statuses) == 0 {
		tb.Fatal("the backend got no flight status")
	}
	return f.statuses[len(f.statuses)-1]
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testServer is a Server on a fake clock with a fake backend.
type testServer struct {
	*Server
	backend *fakeBackend
	clock   *clock
	metrics *metrics.Set
	logs    *bytes.Buffer
}

// mustOpenServer makes a test server; cfg's Backend, secrets, metrics and
// logger are filled in when unset.
func mustOpenServer(tb testing.TB, cfg Config) *testServer {
	tb.Helper()
	fb := newFakeBackend()
	if cfg.Backend == nil {
		cfg.Backend = fb
	}
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	if cfg.WebhookSecret == nil {
		cfg.WebhookSecret = testWebhookSecret
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewSet()
	}
	logs := &bytes.Buffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, nil))
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	c := &clock{t: testStart}
	s.now = c.now
	return &testServer{Server: s, backend: fb, clock: c, metrics: cfg.Metrics, logs: logs}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// token issues a token at the test clock's time, valid for an hour.
func (ts *testServer) token(tb testing.TB, role Role, family uuid.UUID, sub string) string {
	tb.Helper()
	return mustToken(tb, Claims{Role: role, Family: family, Subject: sub}, ts.clock.now())
}

func mustToken(tb testing.TB, c Claims, now time.Time) string {
	tb.Helper()
	t, err := IssueToken(testSecret, c, time.Hour, now)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// response is an answered request.
type response struct {
	code   int
	header http.Header
	body   []byte
}

// errorBody decodes the error JSON, failing the test when it is not one.
func (r response) errorBody(tb testing.TB) httpx.Error {
	tb.Helper()
	var e httpx.Error
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Code == "" || e.Message == "" {
		tb.Fatalf("not an error JSON (%v): %s", err, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("error Content-Type %q", ct)
	}
	return e
}

// do sends a request to the handler from addr (host:port).
func (ts *testServer) do(method, target, token string, body []byte, header ...string) response {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.RemoteAddr = "192.0.2.1:1234"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "RemoteAddr") {
			req.RemoteAddr = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	ts.Handler().ServeHTTP(rec, req)
	return response{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func recPath(family, member uuid.UUID) string {
	return "/v1/families/" + family.String() + "/members/" + member.String() + "/recommendation"
}

func summaryPath(family uuid.UUID) string {
	return "/v1/families/" + family.String() + "/summary"
}
