package kafka

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zoner-family/zoner/cloud"
)

// testEnv is a cluster with the topics one test may use: its own kfake
// cluster in unit tests, topics of the test's own on the shared broker in
// integration tests.
type testEnv struct {
	brokers []string
	topics  []string // event topics
	dead    string   // dead-letter topic
}

// config is a consumer config of a group of the test's own, with a short
// session (heartbeats every 2 s, so rebalances start sooner).
func (e testEnv) config(group string) Config {
	return Config{
		Brokers:         e.brokers,
		Group:           group,
		Topics:          e.topics,
		DeadLetterTopic: e.dead,
		Partitions:      3,
		SessionTimeout:  6 * time.Second,
		FetchMaxWait:    500 * time.Millisecond,
	}
}

// fakeEnv starts a kfake cluster with StartFake (3 partitions a topic).
func fakeEnv(tb testing.TB) testEnv {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	brokers, stop, err := StartFake(ctx, 3, testLogger(tb))
	if err != nil {
		tb.Fatalf("StartFake: %v", err)
	}
	tb.Cleanup(stop)
	return testEnv{brokers: brokers, topics: DefaultTopics(), dead: DefaultDeadLetterTopic}
}

func testLogger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tWriter{tb}, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ tb testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// group is a group name of this test only; the group is deleted at the
// end, once the test's consumers have left it.
func (e testEnv) group(tb testing.TB) string {
	tb.Helper()
	name := "test-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	adm := kadm.NewClient(mustClient(tb, e.brokers))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := adm.DeleteGroup(ctx, name); err != nil {
			tb.Logf("delete group %s: %v", name, err)
		}
	})
	return name
}

// mustConsumer starts a consumer, closed at the end of the test.
func mustConsumer(tb testing.TB, cfg Config) *Consumer {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := NewConsumer(ctx, cfg, testLogger(tb))
	if err != nil {
		tb.Fatalf("NewConsumer: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// mustClient is a plain client of the test's own, to produce and look.
// A real broker may answer NOT_LEADER for a partition just created, a
// little after it lists its leader: the client then waits for its next
// metadata refresh, which a short MetadataMinAge brings sooner.
func mustClient(tb testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	tb.Helper()
	base := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.MetadataMinAge(250 * time.Millisecond)}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		tb.Fatalf("client: %v", err)
	}
	tb.Cleanup(cl.Close)
	return cl
}

// testRecords are n records as the bridge writes them, spread over the
// topics and, by key, over their partitions; each value is about 300
// bytes and holds the record's zoner-id.
func testRecords(topics []string, n int) []*kgo.Record {
	family := uuid.New()
	members := make([]uuid.UUID, 40)
	for i := range members {
		members[i] = uuid.New()
	}
	pad := make([]byte, 180)
	out := make([]*kgo.Record, n)
	for i := range out {
		id := uuid.New()
		member := members[(i/len(topics))%len(members)]
		rand.Read(pad)
		value := fmt.Sprintf(`{"id":%q,"n":%d,"pad":%q}`, id, i, base64.StdEncoding.EncodeToString(pad))
		out[i] = &kgo.Record{
			Topic: topics[i%len(topics)],
			Key:   []byte(member.String()),
			Value: []byte(value),
			Headers: []kgo.RecordHeader{
				{Key: "zoner-id", Value: []byte(id.String())},
				{Key: "zoner-type", Value: []byte("sleep")},
				{Key: "zoner-family", Value: []byte(family.String())},
				{Key: "zoner-member", Value: []byte(member.String())},
				{Key: "zoner-v", Value: []byte("1")},
			},
		}
	}
	return out
}

// produce writes records and waits for them.
func produce(tb testing.TB, cl *kgo.Client, recs []*kgo.Record) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		tb.Fatalf("produce: %v", err)
	}
}

// idOf is a record's zoner-id header.
func idOf(r cloud.Record) string { return r.Headers["zoner-id"] }

func idsOf(recs []*kgo.Record) map[string]*kgo.Record {
	out := make(map[string]*kgo.Record, len(recs))
	for _, r := range recs {
		for _, h := range r.Headers {
			if h.Key == "zoner-id" {
				out[string(h.Value)] = r
			}
		}
	}
	return out
}

// pollN polls, without committing, until it has n records; it fails the
// test on an error or after timeout.
func pollN(tb testing.TB, c *Consumer, n int, timeout time.Duration) []cloud.Record {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var out []cloud.Record
	for len(out) < n {
		if time.Now().After(deadline) {
			tb.Fatalf("polled %d of %d records in %v", len(out), n, timeout)
		}
		recs, err := pollFor(c, 500*time.Millisecond)
		if err != nil {
			tb.Fatalf("Poll: %v", err)
		}
		out = append(out, recs...)
	}
	return out
}

// pollFor is one Poll that waits d at most.
func pollFor(c *Consumer, d time.Duration) ([]cloud.Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.Poll(ctx)
}

func mustCommit(tb testing.TB, c *Consumer) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Commit(ctx); err != nil {
		tb.Fatalf("Commit: %v", err)
	}
}

// waitAssigned waits until the group is stable with the given number of
// members, each with some partitions.
func waitAssigned(tb testing.TB, brokers []string, group string, members int) {
	tb.Helper()
	waitGroup(tb, brokers, group, func(g kadm.DescribedGroup) bool {
		if len(g.Members) != members {
			return false
		}
		for _, m := range g.Members {
			if assigned(m) == 0 {
				return false
			}
		}
		return true
	})
}

// waitGroup waits until the group is stable and ok says it is as wanted.
func waitGroup(tb testing.TB, brokers []string, group string, ok func(kadm.DescribedGroup) bool) {
	tb.Helper()
	adm := kadm.NewClient(mustClient(tb, brokers))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var last string
	for {
		gs, err := adm.DescribeGroups(ctx, group)
		if err == nil {
			g := gs[group]
			last = fmt.Sprintf("state %s, %d members", g.State, len(g.Members))
			for _, m := range g.Members {
				last += fmt.Sprintf(", %s: %d partitions", m.ClientID, assigned(m))
			}
			if g.Err == nil && g.State == "Stable" && ok(g) {
				return
			}
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("group %s: not as wanted (%s, %v)", group, last, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// assigned counts a member's partitions.
func assigned(m kadm.DescribedGroupMember) int {
	c, ok := m.Assigned.AsConsumer()
	if !ok {
		return 0
	}
	n := 0
	for _, t := range c.Topics {
		n += len(t.Partitions)
	}
	return n
}

// checkRecord compares a polled record with the one produced.
func checkRecord(tb testing.TB, got cloud.Record, want *kgo.Record) {
	tb.Helper()
	if got.Topic != want.Topic || !bytes.Equal(got.Key, want.Key) || !bytes.Equal(got.Value, want.Value) {
		tb.Errorf("record %s/%d@%d: topic %q key %q value %q, want %q %q %q",
			got.Topic, got.Partition, got.Offset, got.Topic, got.Key, got.Value, want.Topic, want.Key, want.Value)
	}
	if len(got.Headers) != len(want.Headers) {
		tb.Errorf("record %s: headers %v, want %d", idOf(got), got.Headers, len(want.Headers))
	}
	for _, h := range want.Headers {
		if got.Headers[h.Key] != string(h.Value) {
			tb.Errorf("record %s: header %s = %q, want %q", idOf(got), h.Key, got.Headers[h.Key], h.Value)
		}
	}
	if got.Timestamp.IsZero() || time.Since(got.Timestamp) > time.Hour {
		tb.Errorf("record %s: timestamp %v", idOf(got), got.Timestamp)
	}
}

// memberPoll polls and commits in a loop until stop, and returns what it
// got; commit errors are counted, not fatal (a rebalance may fail one).
func memberPoll(t *testing.T, c *Consumer, stop <-chan struct{}, got func(cloud.Record)) (commitErrs int) {
	for {
		select {
		case <-stop:
			return commitErrs
		default:
		}
		recs, err := pollFor(c, 300*time.Millisecond)
		if err != nil {
			t.Errorf("Poll: %v", err)
			return commitErrs
		}
		for _, r := range recs {
			got(r)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.Commit(ctx); err != nil {
			t.Logf("Commit: %v", err)
			commitErrs++
		}
		cancel()
	}
}

// consumeShared runs the members until they have all of want between
// them, and returns who got what (by id, how many times).
func consumeShared(t *testing.T, members []*Consumer, want map[string]*kgo.Record) (got []map[string]int, commitErrs int) {
	var mu sync.Mutex
	got = make([]map[string]int, len(members))
	union := map[string]bool{}
	stop := make(chan struct{})
	var stopOnce sync.Once
	var wg sync.WaitGroup
	errs := make([]int, len(members))
	for i, c := range members {
		got[i] = map[string]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = memberPoll(t, c, stop, func(r cloud.Record) {
				mu.Lock()
				defer mu.Unlock()
				got[i][idOf(r)]++
				if _, ok := want[idOf(r)]; !ok {
					t.Errorf("member %d: unexpected record %s/%d@%d", i, r.Topic, r.Partition, r.Offset)
				}
				union[idOf(r)] = true
				if len(union) == len(want) {
					stopOnce.Do(func() { close(stop) })
				}
			})
		}()
	}
	timer := time.AfterFunc(30*time.Second, func() { stopOnce.Do(func() { close(stop) }) })
	wg.Wait()
	timer.Stop()
	if len(union) != len(want) {
		t.Errorf("members got %d of %d records", len(union), len(want))
	}
	for _, n := range errs {
		commitErrs += n
	}
	return got, commitErrs
}

func wantLag(t *testing.T, c *Consumer, want int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := c.Lag(ctx)
	if err != nil || got != want {
		t.Errorf("Lag = %d, %v; want %d", got, err, want)
	}
}
