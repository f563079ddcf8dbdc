package http

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// fakeIntake is a backend that also takes events and serves notices.
type fakeIntake struct {
	*fakeBackend
	imu     sync.Mutex
	posts   []fakePost
	postErr error
	subErr  error
	feed    chan cloud.Notice // nil: each stream gets a closed channel
	cancels int
}

type fakePost struct {
	family uuid.UUID
	who    cloud.Author
	raws   [][]byte
}

func newFakeIntake() *fakeIntake { return &fakeIntake{fakeBackend: newFakeBackend()} }

func (f *fakeIntake) PostEvents(_ context.Context, family uuid.UUID, who cloud.Author, raws [][]byte) ([]cloud.Posted, error) {
	f.imu.Lock()
	defer f.imu.Unlock()
	f.posts = append(f.posts, fakePost{family, who, raws})
	if f.postErr != nil {
		return nil, f.postErr
	}
	out := make([]cloud.Posted, len(raws))
	for i := range raws {
		out[i] = cloud.Posted{ID: syncproto.NewID(), Type: syncproto.TypeSleep, HLC: "0000019b3d2e1a00-0000"}
	}
	return out, nil
}

func (f *fakeIntake) Subscribe(context.Context, uuid.UUID) (<-chan cloud.Notice, func(), error) {
	f.imu.Lock()
	defer f.imu.Unlock()
	if f.subErr != nil {
		return nil, nil, f.subErr
	}
	ch := f.feed
	if ch == nil {
		c := make(chan cloud.Notice)
		close(c)
		ch = c
	}
	return ch, func() { f.imu.Lock(); f.cancels++; f.imu.Unlock() }, nil
}

func eventsPath(f uuid.UUID) string { return "/v1/families/" + f.String() + "/events" }
func streamPath(f uuid.UUID) string { return "/v1/families/" + f.String() + "/stream" }

const oneEvent = `{"v":1,"id":"0193f000-0000-7000-8000-0000000000e1","type":"sleep"}`

// Who may post and follow: a family's guardian and members, on their own
// family's routes only; the answer to another family is 403 whether or
// not it exists.
func TestIntakeAccess(t *testing.T) {
	fi := newFakeIntake()
	ts := mustOpenServer(t, Config{Backend: fi})
	guardian := ts.token(t, RoleGuardian, familyA, "user-1")
	member := ts.token(t, RoleMember, familyA, memberA.String())
	for _, c := range []struct {
		tok    string
		family uuid.UUID
		want   int
	}{
		{guardian, familyA, 200}, {member, familyA, 200},
		{guardian, familyB, 403}, {guardian, familyC, 403}, {member, familyB, 403},
		{ts.token(t, RoleAnalyst, uuid.Nil, "a"), familyA, 403},
		{ts.token(t, RoleAdmin, uuid.Nil, "ops"), familyA, 403},
		{"", familyA, 401},
	} {
		if got := ts.do("POST", eventsPath(c.family), c.tok, []byte(oneEvent)); got.code != c.want {
			t.Errorf("POST %s: %d, want %d: %s", c.family, got.code, c.want, got.body)
		}
	}
	if len(fi.posts) != 2 || fi.posts[0].who.Member != uuid.Nil || fi.posts[1].who.Member != memberA {
		t.Errorf("posts %+v", fi.posts)
	}
	for _, c := range []struct {
		tok    string
		family uuid.UUID
		want   int
	}{
		{guardian, familyA, 200}, {member, familyA, 200}, {ts.token(t, RoleAdmin, uuid.Nil, "ops"), familyA, 200},
		{guardian, familyB, 403}, {member, familyC, 403}, {"", familyA, 401},
	} {
		if got := ts.do("GET", streamPath(c.family), c.tok, nil); got.code != c.want {
			t.Errorf("GET stream %s: %d, want %d: %s", c.family, got.code, c.want, got.body)
		}
	}
}

// A refusal comes in the hub's error shape: problems with an index for a
// batch, without for a single event; a conflict is 409.
func TestIntakeErrorShape(t *testing.T) {
	fi := newFakeIntake()
	ts := mustOpenServer(t, Config{Backend: fi})
	tok := ts.token(t, RoleGuardian, familyA, "user-1")
	fi.postErr = &cloud.IntakeError{Code: cloud.CodeInvalid, Message: "events refused; none were stored",
		Problems: []cloud.Problem{{Index: 1, Code: syncproto.CodeInvalid, Path: "member_id", Rule: "no member"}}}
	r := ts.do("POST", eventsPath(familyA), tok, []byte("["+oneEvent+","+oneEvent+"]"))
	e := r.errorBody(t)
	if r.code != 400 || len(e.Problems) != 1 || e.Problems[0].Index == nil || *e.Problems[0].Index != 1 || e.Problems[0].Path != "member_id" {
		t.Errorf("%d %s", r.code, r.body)
	}
	if len(fi.posts[0].raws) != 2 {
		t.Errorf("a batch of %d", len(fi.posts[0].raws))
	}
	r = ts.do("POST", eventsPath(familyA), tok, []byte(oneEvent))
	if e := r.errorBody(t); r.code != 400 || e.Problems[0].Index != nil {
		t.Errorf("%d %s", r.code, r.body)
	}
	fi.postErr = &cloud.IntakeError{Code: cloud.CodeConflict, Message: "conflict", Problems: []cloud.Problem{{Code: syncproto.CodeInvalid, Path: "id", Rule: cloud.IntakeConflictRule}}}
	if r := ts.do("POST", eventsPath(familyA), tok, []byte(oneEvent)); r.code != 409 || r.errorBody(t).Code != "conflict" {
		t.Errorf("%d %s", r.code, r.body)
	}
	fi.postErr = nil
	if r := ts.do("POST", eventsPath(familyA), tok, []byte(`[{"v":1}`)); r.code != 400 || r.errorBody(t).Problems[0].Code != "malformed" {
		t.Errorf("%d %s", r.code, r.body)
	}
	if r := ts.do("POST", eventsPath(familyA), tok, bytes.Repeat([]byte(" "), MaxEventsBodyBytes+1)); r.code != 413 {
		t.Errorf("%d %s", r.code, r.body)
	}
	// A backend without intake.
	plain := mustOpenServer(t, Config{})
	if r := plain.do("POST", eventsPath(familyA), tok, []byte(oneEvent)); r.code != 503 {
		t.Errorf("%d %s", r.code, r.body)
	}
}

// The stream says hello, passes notices on as the hub's event kinds,
// sends heartbeats, and ends when the feed ends (the API shutting down).
func TestStream(t *testing.T) {
	old := streamHeartbeat
	streamHeartbeat = 20 * time.Millisecond
	defer func() { streamHeartbeat = old }()
	fi := newFakeIntake()
	fi.feed = make(chan cloud.Notice, 4)
	ts := mustOpenServer(t, Config{Backend: fi})
	ts.now = time.Now
	tok := mustToken(t, Claims{Role: RoleMember, Family: familyA, Subject: memberA.String()}, time.Now())
	srv := httptest.NewServer(ts.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+streamPath(familyA), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("%d %q", resp.StatusCode, ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	id := memberA
	fi.feed <- cloud.Notice{Kind: "plan", MemberID: &id, BasedOn: "x"}
	rd := bufio.NewReader(resp.Body)
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	pings := 0
	for time.Now().Before(deadline) && (len(got) < 2 || pings == 0) {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "event: "):
			got = append(got, strings.TrimPrefix(line, "event: "))
		case line == ": ping":
			pings++
		case strings.HasPrefix(line, "data: ") && len(got) == 2:
			if want := `{"kind":"plan","member_id":"` + memberA.String() + `","based_on":"x"}`; strings.TrimPrefix(line, "data: ") != want {
				t.Errorf("data %s, want %s", line, want)
			}
		}
	}
	if strings.Join(got, ",") != "hello,plan" || pings == 0 {
		t.Fatalf("events %v, %d pings", got, pings)
	}
	close(fi.feed) // shutdown
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := rd.ReadString('\n'); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) && err.Error() != "EOF" {
			t.Logf("stream ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end with its feed")
	}
	fi.imu.Lock()
	defer fi.imu.Unlock()
	if fi.cancels != 1 {
		t.Errorf("%d cancels", fi.cancels)
	}
}

// oaIntakeFlow exercises the intake's routes for
// TestOpenAPIResponsesConform.
func oaIntakeFlow(t *testing.T, v *oaValidator) {
	openapi3filter.RegisterBodyDecoder("text/event-stream", sseFirstEvent)
	fi := newFakeIntake()
	ts := mustOpenServer(t, Config{Backend: fi})
	guardian := ts.token(t, RoleGuardian, familyA, "user-1")
	member := ts.token(t, RoleMember, familyA, memberA.String())
	other := ts.token(t, RoleGuardian, familyB, "user-2")
	ev, st := eventsPath(familyA), streamPath(familyA)
	v.do(ts, false, 200, "POST", ev, guardian, []byte(oneEvent))
	v.do(ts, false, 200, "POST", ev, member, []byte("["+oneEvent+"]"))
	v.do(ts, false, 200, "GET", st, guardian, nil)
	v.do(ts, false, 200, "GET", st, member, nil)
	admin := ts.token(t, RoleAdmin, uuid.Nil, "ops-1")
	v.do(ts, false, 200, "GET", st, admin, nil)
	v.do(ts, true, 404, "GET", "/v1/families/the-as/stream", admin, nil)
	v.do(ts, true, 404, "POST", "/v1/families/the-as/events", admin, []byte(oneEvent))
	for _, p := range []string{ev, st} {
		method := map[string]string{ev: "POST", st: "GET"}[p]
		var body []byte
		if method == "POST" {
			body = []byte(oneEvent)
		}
		v.do(ts, false, 401, method, p, "", body)
		v.do(ts, false, 403, method, strings.Replace(p, familyA.String(), familyB.String(), 1), guardian, body)
		v.do(ts, false, 403, method, p, other, body)
	}
	for code, e := range map[int]error{
		400: &cloud.IntakeError{Code: cloud.CodeInvalid, Message: "events refused; none were stored", Problems: []cloud.Problem{{Code: syncproto.CodeInvalid, Path: "member_id", Rule: "no member"}}},
		404: &cloud.IntakeError{Code: cloud.CodeNotFound, Message: "no family"},
		409: &cloud.IntakeError{Code: cloud.CodeConflict, Message: "conflict", Problems: []cloud.Problem{{Code: syncproto.CodeInvalid, Path: "id", Rule: cloud.IntakeConflictRule}}},
		413: &cloud.IntakeError{Code: cloud.CodeTooLarge, Message: "too many"},
		503: &cloud.IntakeError{Code: cloud.CodeUnavailable, Message: "retry"},
		500: errors.New("nats: boom"),
	} {
		fi.postErr = e
		v.do(ts, false, code, "POST", ev, guardian, []byte("["+oneEvent+"]"))
	}
	fi.postErr = nil
	v.do(ts, false, 413, "POST", ev, guardian, append(bytes.Repeat([]byte(" "), MaxEventsBodyBytes), oneEvent...))
	fi.subErr = &cloud.Error{Code: cloud.CodeUnavailable, Message: "no NATS"}
	v.do(ts, false, 503, "GET", st, guardian, nil)
	fi.subErr = errors.New("nats: boom")
	v.do(ts, false, 500, "GET", st, guardian, nil)
	fi.subErr = nil

	tight := mustOpenServer(t, Config{Backend: newFakeIntake(), RatePerSecond: 0.001, Burst: 1})
	for _, p := range []string{ev, st} {
		method := map[string]string{ev: "POST", st: "GET"}[p]
		var body []byte
		if method == "POST" {
			body = []byte(oneEvent)
		}
		tok := tight.token(t, RoleGuardian, familyA, "user-"+p)
		v.do(tight, false, 200, method, p, tok, body)
		v.do(tight, false, 429, method, p, tok, body)
	}
}

// sseFirstEvent decodes a stream's first Server-Sent Event into the object
// the document describes (the flow's streams hold only their hello).
func sseFirstEvent(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	first, _, _ := strings.Cut(string(b), "\n\n")
	ev := map[string]any{}
	for _, line := range strings.Split(first, "\n") {
		k, v, _ := strings.Cut(line, ": ")
		switch k {
		case "retry":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, err
			}
			ev[k] = n
		case "event", "data":
			ev[k] = v
		}
	}
	return ev, nil
}
