package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	chttp "github.com/zoner-family/zoner/cloud/http"
	"github.com/zoner-family/zoner/cloud/warehouse/sqlite"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// sseClient reads a family's live stream: each notice on notices.
type sseClient struct {
	notices chan sseNotice
	cancel  context.CancelFunc
	done    chan struct{}
}

type sseNotice struct {
	kind string
	cloud.Notice
	at time.Time
}

// openStream connects to the family's stream with token and waits for its
// hello.
func openStream(tb testing.TB, api string, family uuid.UUID, token string) *sseClient {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", api+"/v1/families/"+family.String()+"/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		tb.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	c := &sseClient{notices: make(chan sseNotice, 1024), cancel: cancel, done: make(chan struct{})}
	hello := make(chan struct{})
	go func() {
		defer close(c.done)
		defer resp.Body.Close()
		rd := bufio.NewReader(resp.Body)
		kind := ""
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if kind == "hello" {
					close(hello)
					continue
				}
				n := sseNotice{kind: kind, at: time.Now()}
				json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &n.Notice)
				select {
				case c.notices <- n:
				default:
				}
			}
		}
	}()
	select {
	case <-hello:
	case <-time.After(10 * time.Second):
		tb.Fatal("no hello on the stream")
	}
	tb.Cleanup(c.close)
	return c
}

func (c *sseClient) close() { c.cancel(); <-c.done }

// waitPlan waits for a "plan" notice of member based on stamp hlc or a
// later one, and returns when it came.
func (c *sseClient) waitPlan(tb testing.TB, member uuid.UUID, hlc string, limit time.Duration) time.Time {
	tb.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		select {
		case n := <-c.notices:
			if n.kind == "plan" && n.MemberID != nil && *n.MemberID == member && n.BasedOn >= hlc {
				return n.at
			}
		case <-timer.C:
			tb.Fatalf("no plan notice for %s based on %s within %s", member, hlc, limit)
		}
	}
}

// postCloud posts events to the cloud's intake and returns the status
// and the body.
func postCloud(tb testing.TB, api string, family uuid.UUID, token string, es ...syncproto.Envelope) (int, []byte) {
	tb.Helper()
	var body []byte
	if len(es) == 1 {
		body, _ = syncproto.Marshal(es[0])
	} else {
		var parts [][]byte
		for _, e := range es {
			b, _ := syncproto.Marshal(e)
			parts = append(parts, b)
		}
		body = append(append([]byte("["), bytes.Join(parts, []byte(","))...), ']')
	}
	req, _ := http.NewRequest("POST", api+"/v1/families/"+family.String()+"/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// freshness posts n naps, one after the other, to the cloud's intake and
// measures each from the POST to the member's "plan" notice on the
// family's live stream (the advice is in the cache by then).
// It also returns how long each POST took.
func freshness(tb testing.TB, api string, fam *cloudtest.Family, token string, stream *sseClient, n int) (ds, posts []time.Duration) {
	tb.Helper()
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range n {
		member := fam.Members[i%len(fam.Members)]
		e := fam.Event(member, start.Add(-time.Duration(i)*30*time.Minute), cloudtest.Away, &syncproto.Sleep{Nap: true})
		e.End = e.Start.Add(20 * time.Minute)
		t0 := time.Now()
		if code, body := postCloud(tb, api, fam.ID, token, e); code != 200 {
			tb.Fatalf("POST nap %d: %d %s", i, code, body)
		}
		posts = append(posts, time.Since(t0))
		at := stream.waitPlan(tb, member, e.HLC.String(), 30*time.Second)
		ds = append(ds, at.Sub(t0))
	}
	return ds, posts
}

func quantiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(x float64) time.Duration { return s[min(len(s)-1, int(x*float64(len(s))))] }
	return q(0.50), q(0.99)
}

// kafkaCount counts the records of topic whose zoner-id header is id.
func kafkaCount(tb testing.TB, brokers []string, topic string, id uuid.UUID) int {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	n := 0
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if fs.IsClientClosed() || fs.NumRecords() == 0 {
			return n
		}
		fs.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == cloud.HeaderID && string(h.Value) == id.String() {
					n++
				}
			}
		})
	}
}

// The cloud's intake end to end in zoner-cloud all: a guardian away from
// the hub logs a nap through the API; a retry answers the same and stores
// one event (one in Kafka, one in the warehouse); the linked hub receives
// it; events that do not fit the family are refused in the hub's error
// shape; another family's route is 403; and the member's fresh advice is
// announced on the family's live stream, p99 under a second.
func TestIntakeAll(t *testing.T) {
	dir := t.TempDir()
	m := startAll(t, dir, "")
	fam := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	hubURL := linkedHub(t, m, dir, fam)
	guardian := strings.TrimSpace(run1(t, "token", "-data", dir, "-family", fam.ID.String(), "-role", "guardian"))
	recURL := fmt.Sprintf("%s/v1/families/%s/members/%s/recommendation", m.APIURL, fam.ID, fam.Members[2])
	wait.For(t, 30*time.Second, "the family in the cloud", func() error {
		if code := call(t, "GET", recURL, guardian, nil, nil); code != 200 {
			return fmt.Errorf("recommendation: %d", code)
		}
		// The intake checks against the warehouse: wait for ingest too.
		var sum cloud.FamilySummary
		if code := call(t, "GET", m.APIURL+"/v1/families/"+fam.ID.String()+"/summary", guardian, nil, &sum); code != 200 || len(sum.Members) < len(fam.Members) || len(sum.Trips) == 0 {
			return fmt.Errorf("summary: %d, %d members, %d trips", code, len(sum.Members), len(sum.Trips))
		}
		return nil
	})
	stream := openStream(t, m.APIURL, fam.ID, guardian)

	// A nap, and its retry.
	nap := fam.Event(fam.Members[2], time.Now().Add(-2*time.Hour).Truncate(time.Second), cloudtest.Away, &syncproto.Sleep{Nap: true})
	nap.End = nap.Start.Add(45 * time.Minute)
	code1, body1 := postCloud(t, m.APIURL, fam.ID, guardian, nap)
	code2, body2 := postCloud(t, m.APIURL, fam.ID, guardian, nap)
	if code1 != 200 || code2 != 200 || !bytes.Equal(body1, body2) {
		t.Fatalf("POST then retry: %d %s, %d %s", code1, body1, code2, body2)
	}
	stream.waitPlan(t, fam.Members[2], nap.HLC.String(), 10*time.Second)
	var rec cloud.Recommendation
	if code := call(t, "GET", recURL, guardian, nil, &rec); code != 200 || rec.BasedOn < nap.HLC.String() {
		t.Errorf("recommendation %d based on %s, before the nap %s", code, rec.BasedOn, nap.HLC)
	}
	// The same id with other content.
	other := nap
	other.End = nap.Start.Add(time.Hour)
	if code, body := postCloud(t, m.APIURL, fam.ID, guardian, other); code != 409 || !strings.Contains(string(body), `"conflict"`) {
		t.Errorf("other content: %d %s", code, body)
	}
	// The linked hub gets it.
	wait.For(t, 30*time.Second, "the nap on the hub", func() error {
		for _, raw := range hubEvents(t, hubURL, syncproto.TypeSleep) {
			if strings.Contains(string(raw), nap.ID.String()) {
				return nil
			}
		}
		return fmt.Errorf("not on the hub")
	})
	// One in the warehouse, one in Kafka.
	w, err := sqlite.Open(context.Background(), filepath.Join(dir, "warehouse.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	wait.For(t, 30*time.Second, "the nap in the warehouse", func() error {
		rows, err := w.Events(context.Background(), []uuid.UUID{fam.ID}, time.Time{})
		if err != nil {
			return err
		}
		n := 0
		for _, r := range rows {
			if r.ID == nap.ID {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%d rows of the nap", n)
		}
		return nil
	})
	if n := kafkaCount(t, m.KafkaBrokers, bridge.DefaultTopics().Sleep, nap.ID); n != 1 {
		t.Errorf("%d records of the nap in Kafka", n)
	}

	// Refusals in the hub's error shape.
	stranger := fam.Event(syncproto.NewID(), nap.Start, cloudtest.Away, &syncproto.Meal{Kind: syncproto.MealLunch})
	fix := fam.Event(fam.Members[0], nap.Start, cloudtest.Away, &syncproto.Sleep{Supersedes: syncproto.NewID()})
	fix.End = fix.Start.Add(time.Hour)
	code, body := postCloud(t, m.APIURL, fam.ID, guardian, stranger, fix)
	var e struct {
		Code     string `json:"code"`
		Problems []struct {
			Index *int   `json:"index"`
			Path  string `json:"path"`
		} `json:"problems"`
	}
	json.Unmarshal(body, &e)
	if code != 400 || e.Code != "invalid" || len(e.Problems) != 2 || *e.Problems[0].Index != 0 || e.Problems[0].Path != "member_id" ||
		*e.Problems[1].Index != 1 || e.Problems[1].Path != "data.supersedes" {
		t.Errorf("refused batch: %d %s", code, body)
	}
	// Another family's route.
	otherFam := syncproto.NewID()
	tok, err := chttp.IssueToken(m.TokenSecret, chttp.Claims{Role: chttp.RoleGuardian, Family: otherFam, Subject: "g"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := postCloud(t, m.APIURL, fam.ID, tok, nap); code != 403 {
		t.Errorf("another family's token: %d %s", code, body)
	}
	// A member's own token streams and posts about themself.
	memberTok, err := chttp.IssueToken(m.TokenSecret, chttp.Claims{Role: chttp.RoleMember, Family: fam.ID, Subject: fam.Members[1].String()}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	openStream(t, m.APIURL, fam.ID, memberTok)
	if code, body := postCloud(t, m.APIURL, fam.ID, memberTok, nap); code != 403 {
		t.Errorf("a member posting about another: %d %s", code, body)
	}

	ds, posts := freshness(t, m.APIURL, fam, guardian, stream, 60)
	p50, p99 := quantiles(ds)
	q50, q99 := quantiles(posts)
	t.Logf("freshness, POST to the plan notice on the stream, zoner-cloud all: p50 %s p99 %s, %d samples (the POST alone: p50 %s p99 %s)", p50, p99, len(ds), q50, q99)
	if p99 >= time.Second {
		t.Errorf("freshness p99 %s, want under 1 s", p99)
	}

	// A clean end on shutdown: the live streams end and the API stops at
	// once, not after the server's shutdown timeout.
	last := openStream(t, m.APIURL, fam.ID, guardian)
	t0 := time.Now()
	m.Close()
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("shutting down with a live stream took %s", d)
	}
	select {
	case <-last.done:
	case <-time.After(5 * time.Second):
		t.Error("the live stream outlived the API")
	}
}
