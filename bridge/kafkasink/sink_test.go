package kafkasink

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/syncproto"
)

// mustCluster starts a one-broker kfake cluster; topics are not
// auto-created.
func mustCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// mustSink connects a sink to brokers, with cfg's zero fields defaulted
// for tests (topics, a shorter delivery timeout).
func mustSink(t testing.TB, brokers []string, cfg Config) *Sink {
	t.Helper()
	cfg.Brokers = brokers
	if cfg.Topics == (bridge.Topics{}) {
		cfg.Topics = bridge.DefaultTopics()
	}
	if cfg.DeliveryTimeout == 0 {
		// Longer than franz-go's MetadataMinAge (5 s): a real broker may
		// answer NOT_LEADER for a topic just created, and the retry
		// waits for the next metadata refresh.
		cfg.DeliveryTimeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := New(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(tWriter{t}, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func mustEnsureTopics(t testing.TB, s *Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.EnsureTopics(ctx); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}
}

// mustAdmin is an admin client of its own, to look at what the sink did.
func mustAdmin(t testing.TB, brokers []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// consume reads n records from the start of topics, failing after 10 s.
func consume(t testing.TB, brokers []string, topics []string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records before the deadline", len(out), n)
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("consume %s/%d: %v", topic, p, err)
		})
		out = append(out, fs.Records()...)
	}
	return out
}

// testEvents has an event of every type, member-level or family-level as
// the hub writes them, with a body of about size bytes.
func testEvents(size int) []bridge.Event {
	family := uuid.New()
	member := uuid.New()
	var out []bridge.Event
	for i, typ := range syncproto.Types() {
		e := bridge.Event{ID: uuid.New(), Type: typ, Family: family, V: 1 + i%2}
		if typ != syncproto.TypeFamilyUpserted && typ != syncproto.TypeTripUpserted && typ != syncproto.TypeTripRemoved {
			e.Member = member
		}
		e.Raw = testBody(e, size)
		out = append(out, e)
	}
	return out
}

// testBody is a JSON body of about size bytes that does not compress.
func testBody(e bridge.Event, size int) []byte {
	body := `{"id":"` + e.ID.String() + `","type":"` + string(e.Type) + `","pad":"`
	pad := make([]byte, max(0, size-len(body)-2)*3/4)
	rand.Read(pad)
	return []byte(body + base64.StdEncoding.EncodeToString(pad) + `"}`)
}

// checkRecord compares a consumed record with the event it came from.
func checkRecord(t testing.TB, topics bridge.Topics, e bridge.Event, r *kgo.Record) {
	t.Helper()
	if want := topics.For(e.Type); r.Topic != want {
		t.Errorf("event %s (%s): topic %q, want %q", e.ID, e.Type, r.Topic, want)
	}
	wantKey := e.Member.String()
	if e.Member == uuid.Nil {
		wantKey = e.Family.String()
	}
	if string(r.Key) != wantKey {
		t.Errorf("event %s (%s): key %q, want %q", e.ID, e.Type, r.Key, wantKey)
	}
	if !bytes.Equal(r.Value, e.Raw) {
		t.Errorf("event %s (%s): value %q, want %q", e.ID, e.Type, r.Value, e.Raw)
	}
	want := map[string]string{
		HeaderID:     e.ID.String(),
		HeaderType:   string(e.Type),
		HeaderFamily: e.Family.String(),
		HeaderV:      strconv.Itoa(e.V),
	}
	if e.Member != uuid.Nil {
		want[HeaderMember] = e.Member.String()
	}
	got := map[string]string{}
	for _, h := range r.Headers {
		if _, dup := got[h.Key]; dup {
			t.Errorf("event %s: header %q twice", e.ID, h.Key)
		}
		got[h.Key] = string(h.Value)
	}
	if len(got) != len(want) {
		t.Errorf("event %s (%s): headers %v, want %v", e.ID, e.Type, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("event %s (%s): header %s = %q, want %q", e.ID, e.Type, k, got[k], v)
		}
	}
}

// produce runs Produce with a deadline well past the sink's own.
func produce(t testing.TB, s *Sink, events []bridge.Event) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := s.Produce(ctx, events)
	if len(errs) != len(events) {
		t.Fatalf("Produce returned %d results for %d events", len(errs), len(events))
	}
	return errs
}

func TestNew(t *testing.T) {
	// A port nothing listens on: connections are refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	for _, tc := range []struct {
		name    string
		brokers []string
		want    string
	}{
		{"no brokers", nil, "no brokers configured"},
		{"unreachable", []string{closed}, "no broker reachable at " + closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := New(ctx, Config{Brokers: tc.brokers, Topics: bridge.DefaultTopics()}, testLogger(t))
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestEnsureTopics(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing map[string]int32 // topics there before, with partitions
	}{
		{"empty cluster", nil},
		{"some exist", map[string]int32{"meal_events": 1, "trip_events": 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCluster(t)
			for topic, n := range tc.existing {
				if err := c.CreateTopic(topic, n, nil); err != nil {
					t.Fatal(err)
				}
			}
			s := mustSink(t, c.ListenAddrs(), Config{Partitions: 3})
			mustEnsureTopics(t, s)
			mustEnsureTopics(t, s) // again: nothing to do, no error

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			details, err := mustAdmin(t, c.ListenAddrs()).ListTopics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := bridge.DefaultTopics().All()
			if got := details.Names(); len(got) != len(want) {
				t.Errorf("topics %v, want %v", got, want)
			}
			for _, topic := range want {
				d, ok := details[topic]
				if !ok || d.Err != nil {
					t.Errorf("topic %s: missing (%v)", topic, d.Err)
					continue
				}
				wantN, ok := tc.existing[topic]
				if !ok {
					wantN = 3
				}
				if n := int32(len(d.Partitions)); n != wantN {
					t.Errorf("topic %s: %d partitions, want %d", topic, n, wantN)
				}
			}
		})
	}
}

func TestProduceRouting(t *testing.T) {
	c := mustCluster(t)
	s := mustSink(t, c.ListenAddrs(), Config{})
	mustEnsureTopics(t, s)

	// Two rounds so each key has several records, in order.
	events := append(testEvents(300), testEvents(300)...)
	for i, err := range produce(t, s, events) {
		if err != nil {
			t.Errorf("event %d (%s): %v", i, events[i].Type, err)
		}
	}
	topics := bridge.DefaultTopics()
	recs := consume(t, c.ListenAddrs(), topics.All(), len(events))
	byID := map[string]*kgo.Record{}
	for _, r := range recs {
		for _, h := range r.Headers {
			if h.Key == HeaderID {
				byID[string(h.Value)] = r
			}
		}
	}
	if len(byID) != len(events) || len(recs) != len(events) {
		t.Fatalf("consumed %d records (%d ids), want %d", len(recs), len(byID), len(events))
	}
	for _, e := range events {
		t.Run(string(e.Type), func(t *testing.T) {
			r := byID[e.ID.String()]
			if r == nil {
				t.Fatalf("event %s not consumed", e.ID)
			}
			checkRecord(t, topics, e, r)
		})
	}
	// A key's records are on one partition, in the order produced.
	type pos struct {
		partition int32
		offset    int64
	}
	last := map[string]pos{}
	for _, e := range events {
		r := byID[e.ID.String()]
		k := r.Topic + "/" + string(r.Key)
		if p, ok := last[k]; ok && (p.partition != r.Partition || p.offset >= r.Offset) {
			t.Errorf("%s: record at %d/%d after %d/%d", k, r.Partition, r.Offset, p.partition, p.offset)
		}
		last[k] = pos{r.Partition, r.Offset}
	}
}

func TestProducePermanent(t *testing.T) {
	const limit, big = 4 << 10, 8 << 10
	for _, tc := range []struct {
		name  string
		cfg   Config
		topic map[string]string // light topic created with these configs
		fault *kerr.Error       // on produce requests to the light topic
		big   bool              // add an event too large for the limit
		want  string            // in the failed event's error
	}{
		{name: "larger than MaxRecordBytes", cfg: Config{MaxRecordBytes: limit}, big: true, want: "MESSAGE_TOO_LARGE"},
		{
			name:  "larger than the topic's max.message.bytes",
			topic: map[string]string{"max.message.bytes": strconv.Itoa(limit)},
			big:   true, want: "MESSAGE_TOO_LARGE",
		},
		{name: "broker says too large", fault: kerr.MessageTooLarge, want: "MESSAGE_TOO_LARGE"},
		{name: "invalid record", fault: kerr.InvalidRecord, want: "INVALID_RECORD"},
		{name: "corrupt message", fault: kerr.CorruptMessage, want: "CORRUPT_MESSAGE"},
		{name: "record list too large", fault: kerr.RecordListTooLarge, want: "RECORD_LIST_TOO_LARGE"},
		{name: "invalid topic", fault: kerr.InvalidTopicException, want: "INVALID_TOPIC_EXCEPTION"},
		{name: "no topic for the type", cfg: Config{Topics: bridge.Topics{Sleep: "sleep_events", Meal: "meal_events", Trip: "trip_events"}}, want: "no topic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCluster(t)
			if tc.topic != nil {
				if err := c.CreateTopic("light_exposure", 2, tc.topic); err != nil {
					t.Fatal(err)
				}
			}
			s := mustSink(t, c.ListenAddrs(), tc.cfg)
			mustEnsureTopics(t, s)
			if tc.fault != nil {
				c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "light_exposure", Err: tc.fault, Count: -1})
			}
			events := testEvents(300)
			bad := func(e bridge.Event) bool { return e.Type == syncproto.TypeLightExposure }
			if tc.big {
				// The same member's light exposure: same partition,
				// same batch as the small one that has to succeed.
				var e bridge.Event
				for _, e = range events {
					if e.Type == syncproto.TypeLightExposure {
						break
					}
				}
				e.ID = uuid.New()
				e.Raw = testBody(e, big)
				events = append(events[:3:3], append([]bridge.Event{e}, events[3:]...)...)
				bad = func(x bridge.Event) bool { return x.ID == e.ID }
			}
			for i, err := range produce(t, s, events) {
				e := events[i]
				switch {
				case !bad(e):
					if err != nil {
						t.Errorf("event %d (%s, %d bytes): %v", i, e.Type, len(e.Raw), err)
					}
				case err == nil:
					t.Errorf("event %d (%s, %d bytes) was produced", i, e.Type, len(e.Raw))
				case !errors.Is(err, bridge.ErrPermanent):
					t.Errorf("event %d: error %q is not permanent", i, err)
				case !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), e.ID.String()):
					t.Errorf("event %d: error %q does not name %q and the event", i, err, tc.want)
				default:
					t.Logf("%v", err)
				}
			}
		})
	}
}

func TestProduceUnavailable(t *testing.T) {
	const timeout = time.Second
	for _, tc := range []struct {
		name string
		fail func(t *testing.T, c *kfake.Cluster)
	}{
		{"cluster closed", func(_ *testing.T, c *kfake.Cluster) { c.Close() }},
		{"broker never answers", func(t *testing.T, c *kfake.Cluster) {
			// Produce requests are held until the test ends: the
			// client has sent them, so it may not fail them.
			stop := make(chan struct{})
			var once sync.Once
			t.Cleanup(func() { once.Do(func() { close(stop) }) })
			c.ControlKey(kmsg.Produce.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
				c.SleepControl(func() { <-stop })
				return nil, nil, false
			})
		}},
		{"transient broker error", func(_ *testing.T, c *kfake.Cluster) {
			c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: -1})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := mustCluster(t)
			s := mustSink(t, c.ListenAddrs(), Config{DeliveryTimeout: timeout})
			mustEnsureTopics(t, s)
			// The client knows the partitions and their leader.
			for i, err := range produce(t, s, testEvents(100)) {
				if err != nil {
					t.Fatalf("before: event %d: %v", i, err)
				}
			}
			tc.fail(t, c)
			start := time.Now()
			errs := produce(t, s, testEvents(100))
			took := time.Since(start)
			if took > timeout+time.Second {
				t.Errorf("Produce took %v with a delivery timeout of %v", took, timeout)
			}
			t.Logf("Produce returned after %v", took.Round(time.Millisecond))
			for i, err := range errs {
				switch {
				case err == nil:
					t.Errorf("event %d produced", i)
				case errors.Is(err, bridge.ErrPermanent):
					t.Errorf("event %d: %q is permanent", i, err)
				}
			}
			sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
			t.Logf("first error: %v", errs[0])
		})
	}
}

func TestProduceContextCancelled(t *testing.T) {
	c := mustCluster(t)
	s := mustSink(t, c.ListenAddrs(), Config{})
	mustEnsureTopics(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	events := testEvents(100)
	errs := s.Produce(ctx, events)
	for i, err := range errs {
		if err == nil || errors.Is(err, bridge.ErrPermanent) || !errors.Is(err, context.Canceled) {
			t.Errorf("event %d: %v, want a transient context.Canceled", i, err)
		}
	}
	if errs := s.Produce(ctx, nil); len(errs) != 0 {
		t.Errorf("no events: %v", errs)
	}
}

func TestEnsureTopicsError(t *testing.T) {
	c := mustCluster(t)
	s := mustSink(t, c.ListenAddrs(), Config{Replication: 3}) // one broker
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.EnsureTopics(ctx)
	if err == nil {
		t.Fatal("EnsureTopics succeeded with a replication factor above the broker count")
	}
	if !strings.Contains(err.Error(), "sleep_events") || !errors.Is(err, kerr.InvalidReplicationFactor) {
		t.Errorf("error %q does not name the topic and INVALID_REPLICATION_FACTOR", err)
	}
}
