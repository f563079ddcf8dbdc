package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	hubhttp "github.com/zoner-family/zoner/hub/http"
	"github.com/zoner-family/zoner/internal/history"
	"github.com/zoner-family/zoner/syncproto"
)

// testNow is the hub's clock in tests: two days before the family flies.
var testNow = time.Date(2026, 12, 18, 17, 0, 0, 0, time.UTC)

// mustRun runs the real program on port 0 in dir and closes it at the end
// of the test.
func mustRun(tb testing.TB, dir string, configure ...func(*Main)) *Main {
	tb.Helper()
	m := NewMain()
	m.DataDir = dir
	m.HTTPAddr = "127.0.0.1:0"
	m.Stdout = io.Discard
	m.Logger = slog.New(slog.DiscardHandler)
	if os.Getenv("ZONER_TEST_LOG") != "" {
		m.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m.Now = func() time.Time { return testNow }
	m.Limits = hubhttp.Limits{WritesPerSecond: 1e6, WriteBurst: 1e6, ReadsPerSecond: 1e6, ReadBurst: 1e6}
	for _, c := range configure {
		c(m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Run(ctx); err != nil {
		m.Close()
		tb.Fatalf("run hub: %v", err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// family is a test household: ids and the events that set it up.
type family struct {
	tb       testing.TB
	id       uuid.UUID
	clock    *syncproto.Clock
	ada      uuid.UUID // adult
	kemi     uuid.UUID // toddler
	tobi     uuid.UUID // infant
	trip     uuid.UUID
	tripLegs []syncproto.Leg
}

func newFamily(tb testing.TB) *family {
	// Stamps never after testNow (the clock of a hub from mustRun) nor after
	// the real time (the clock of a hub run as a program): a hub refuses
	// stamps ahead of its clock.
	wall := func() time.Time {
		if now := time.Now(); now.Before(testNow) {
			return now
		}
		return testNow
	}
	return &family{tb: tb, id: syncproto.NewID(), clock: syncproto.NewClock(wall),
		ada: syncproto.NewID(), kemi: syncproto.NewID(), tobi: syncproto.NewID(), trip: syncproto.NewID()}
}

func (f *family) event(member uuid.UUID, start, end time.Time, tz string, data syncproto.Payload) syncproto.Envelope {
	return syncproto.Envelope{Header: syncproto.Header{
		ID: syncproto.NewID(), FamilyID: f.id, MemberID: member, Origin: "web:test-phone",
		Type: data.Type(), Start: start, End: end, TZ: tz, HLC: f.clock.Now(), V: syncproto.CurrentVersion,
	}, Data: data}
}

func (f *family) encode(es ...syncproto.Envelope) []byte {
	f.tb.Helper()
	var parts [][]byte
	for _, e := range es {
		b, err := syncproto.Marshal(e)
		if err != nil {
			f.tb.Fatalf("marshal %s: %v", e.Type, err)
		}
		parts = append(parts, bytes.TrimSpace(b))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return append(append([]byte("["), bytes.Join(parts, []byte(","))...), ']')
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func clock(h, m int) syncproto.ClockTime { return syncproto.ClockAt(h, m) }

// setup is the family and its three members.
func (f *family) setup() []syncproto.Envelope {
	la := "America/Los_Angeles"
	born := func(s string) syncproto.Date {
		d, err := syncproto.ParseDate(s)
		if err != nil {
			f.tb.Fatal(err)
		}
		return d
	}
	return []syncproto.Envelope{
		f.event(uuid.Nil, testNow, time.Time{}, la, &syncproto.FamilyUpserted{Name: "The Okafors", HomeTZ: la}),
		f.event(f.ada, testNow, time.Time{}, la, &syncproto.MemberUpserted{DisplayName: "Ada", AgeBand: syncproto.AgeAdult, HomeTZ: la,
			SleepTime: clock(23, 0), WakeTime: clock(7, 0), MelatoninAdvice: true, CaffeineAdvice: true}),
		f.event(f.kemi, testNow, time.Time{}, la, &syncproto.MemberUpserted{DisplayName: "Kemi", BirthDate: born("2024-05-02"), HomeTZ: la,
			SleepTime: clock(19, 30), WakeTime: clock(6, 30), Naps: []syncproto.Nap{{Start: clock(12, 30), DurationMin: 90}}}),
		f.event(f.tobi, testNow, time.Time{}, la, &syncproto.MemberUpserted{DisplayName: "Tobi", BirthDate: born("2026-07-19"), HomeTZ: la,
			SleepTime: clock(19, 0), WakeTime: clock(6, 0), Naps: []syncproto.Nap{{Start: clock(9, 0), DurationMin: 60}, {Start: clock(13, 0), DurationMin: 90}}}),
	}
}

// tripEvent is SFO → LHR on 20 December and back on 2 January.
func (f *family) tripEvent() syncproto.Envelope {
	f.tripLegs = []syncproto.Leg{
		{Flight: "BA286", From: "SFO", To: "LHR", FromTZ: "America/Los_Angeles", ToTZ: "Europe/London",
			Depart: mustTime(f.tb, "2026-12-20T16:40:00-08:00"), Arrive: mustTime(f.tb, "2026-12-21T10:55:00Z")},
		{Flight: "BA287", From: "LHR", To: "SFO", FromTZ: "Europe/London", ToTZ: "America/Los_Angeles",
			Depart: mustTime(f.tb, "2027-01-02T14:00:00Z"), Arrive: mustTime(f.tb, "2027-01-02T17:10:00-08:00")},
	}
	return f.event(uuid.Nil, testNow, time.Time{}, "America/Los_Angeles", &syncproto.TripUpserted{
		TripID: f.trip, Name: "Christmas in London", Legs: f.tripLegs, Travellers: []uuid.UUID{f.ada, f.kemi, f.tobi}})
}

// client talks to a hub over HTTP.
type client struct {
	tb    testing.TB
	base  string
	token string
	// cookie, when set, is sent as the session cookie, as a paired
	// browser does.
	cookie string
}

func (c *client) do(method, path string, body []byte) (int, []byte) {
	c.tb.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.tb.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: hubhttp.SessionCookie, Value: c.cookie})
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatal(err)
	}
	return resp.StatusCode, b
}

// json does a request that must answer want, and decodes the answer.
func (c *client) json(method, path string, body []byte, want int, out any) []byte {
	c.tb.Helper()
	code, b := c.do(method, path, body)
	if code != want {
		c.tb.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.tb.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return b
}

// sse is a Server-Sent Events subscription.
type sse struct {
	mu     sync.Mutex
	events []sseEvent
	notify chan struct{}
	cancel context.CancelFunc
}

type sseEvent struct {
	Name string
	Data map[string]any
}

func subscribe(tb testing.TB, c *client) *sse {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/stream", nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: hubhttp.SessionCookie, Value: c.cookie})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		tb.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sse{notify: make(chan struct{}, 1), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var name string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var d map[string]any
				json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d)
				s.mu.Lock()
				s.events = append(s.events, sseEvent{Name: name, Data: d})
				s.mu.Unlock()
				select {
				case s.notify <- struct{}{}:
				default:
				}
			}
		}
	}()
	tb.Cleanup(cancel)
	return s
}

// waitFor waits until an event matching ok has arrived.
func (s *sse) waitFor(tb testing.TB, what string, ok func(sseEvent) bool) sseEvent {
	tb.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		for _, e := range s.events {
			if ok(e) {
				s.mu.Unlock()
				return e
			}
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-deadline:
			tb.Fatalf("no %s over the event stream within 30 s", what)
		}
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// allEvents pages through the hub's log and counts each id.
func allEvents(c *client, limit int) (count map[uuid.UUID]int, order []uuid.UUID) {
	count = map[uuid.UUID]int{}
	after := uint64(0)
	for {
		var page struct {
			Events []struct {
				ID uuid.UUID `json:"id"`
			} `json:"events"`
			Next uint64 `json:"next"`
		}
		c.json("GET", fmt.Sprintf("/api/v1/events?after=%d&limit=%d", after, limit), nil, 200, &page)
		if len(page.Events) == 0 {
			return count, order
		}
		for _, e := range page.Events {
			count[e.ID]++
			order = append(order, e.ID)
		}
		after = page.Next
	}
}

// postHistory gives the hub at base a family's history made by
// internal/history: the family and its members as the hub's setup, then
// the rest (the trip and the logs) in batches of hub.MaxBatch. It returns
// the sequence of the last event.
func postHistory(tb testing.TB, base string, raws [][]byte) uint64 {
	tb.Helper()
	const setup = 6 // the family and its five members
	c := &client{tb: tb, base: base}
	c.json("POST", "/api/v1/setup", history.Array(raws[:setup]), 200, nil)
	var res resultsJSON
	for i := setup; i < len(raws); i += hub.MaxBatch {
		c.json("POST", "/api/v1/events", history.Array(raws[i:min(i+hub.MaxBatch, len(raws))]), 200, &res)
	}
	if len(res.Results) == 0 {
		return 0
	}
	return res.Results[len(res.Results)-1].Seq
}
