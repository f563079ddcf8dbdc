//go:build integration

package main

// End-to-end tests of the whole path a family's events take to Kafka: real
// zoner-hub processes linked (through a proxy that can cut the link) to
// the cloud's NATS, a real zoner-bridge process, and a real Kafka broker
// (KAFKA_BROKERS, started by `go tool task test`; the broker-restart test
// starts its own with deploy/local/kafka.sh).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/bridge/kafkasink"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/netproxy"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

func brokers(t testing.TB) string {
	t.Helper()
	return proctest.Service(t, "KAFKA_BROKERS")
}

// bridgePkg is the program under test.
const bridgePkg = "github.com/zoner-family/zoner/bridge/cmd/zoner-bridge"

func port(t testing.TB, addr string) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(addr)
	var n int
	fmt.Sscan(p, &n)
	return n
}

// linkProxy stands between a hub and the cloud's leaf port: Cut drops the
// link and refuses it until Mend.
type linkProxy struct{ *netproxy.Proxy }

func newLinkProxy(tb testing.TB, target string) *linkProxy {
	tb.Helper()
	p, err := netproxy.Start(target)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	return &linkProxy{p}
}

func (p *linkProxy) URL() string { return "nats-leaf://" + p.Addr() }

// pipeline is one family's hub, the cloud's NATS (in the test process, so
// that it can be restarted in place), a bridge process and a set of topics
// of its own on the broker.
type pipeline struct {
	t        testing.TB
	brokers  string
	cloudDir string
	natsAddr string
	leafAddr string
	cloud    *natsedge.Server
	proxy    *linkProxy
	hub      *proctest.Proc
	hubURL   string
	bridge   *proctest.Proc
	topics   bridge.Topics
	family   uuid.UUID
	member   uuid.UUID
	clock    *syncproto.Clock
	seen     *seen
}

const cloudSecret = "the end-to-end test's cloud secret"

func newPipeline(t testing.TB, brokers string) *pipeline {
	t.Helper()
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	p := &pipeline{t: t, brokers: brokers, cloudDir: t.TempDir(), natsAddr: proctest.FreeAddr(t), leafAddr: proctest.FreeAddr(t),
		topics: bridge.Topics{Sleep: "sleep_events_" + suffix, Meal: "meal_events_" + suffix, Light: "light_exposure_" + suffix, Trip: "trip_events_" + suffix},
		family: syncproto.NewID(), member: syncproto.NewID(), clock: syncproto.NewClock(time.Now)}
	p.startCloud()
	t.Cleanup(func() {
		if p.cloud != nil {
			p.cloud.Close()
		}
	})
	p.proxy = newLinkProxy(t, p.leafAddr)
	return p
}

func (p *pipeline) startCloud() {
	p.t.Helper()
	var err error
	p.cloud, err = natsedge.Start(context.Background(), natsedge.ServerConfig{
		StoreDir: p.cloudDir, Port: port(p.t, p.natsAddr), LeafPort: port(p.t, p.leafAddr),
		Secret: []byte(cloudSecret), ServicePassword: "svc",
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		p.t.Fatal(err)
	}
}

func (p *pipeline) restartCloud() {
	p.cloud.Close()
	p.cloud = nil
	time.Sleep(time.Second)
	p.startCloud()
}

// startBridge runs a bridge process and returns its metrics URL.
func (p *pipeline) startBridge(extra ...string) string {
	p.t.Helper()
	addr := proctest.FreeAddr(p.t)
	args := append([]string{
		"-nats-url", p.cloud.ClientURL(), "-kafka-brokers", p.brokers, "-http", addr, "-log-format", "json",
		"-topic-sleep", p.topics.Sleep, "-topic-meal", p.topics.Meal, "-topic-light", p.topics.Light, "-topic-trip", p.topics.Trip,
		"-partitions", "3", "-batch", "500", "-ack-wait", "5s"}, extra...)
	p.bridge = proctest.Start(p.t, "zoner-bridge", proctest.Build(p.t, bridgePkg), []string{"ZONER_NATS_PASSWORD=svc"}, args...)
	proctest.WaitHTTP(p.t, "http://"+addr+"/readyz")
	return "http://" + addr + "/metrics"
}

// forwarded reads a bridge's zoner_bridge_forwarded_total.
func forwarded(t testing.TB, metricsURL string) int {
	t.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "zoner_bridge_forwarded_total "); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	t.Fatalf("no zoner_bridge_forwarded_total in:\n%s", b)
	return 0
}

func (p *pipeline) startHub() {
	p.t.Helper()
	b, _ := json.Marshal(p.cloud.Credentials(p.family))
	creds := filepath.Join(p.t.TempDir(), "family.creds")
	if err := os.WriteFile(creds, b, 0o600); err != nil {
		p.t.Fatal(err)
	}
	p.startHubWith(creds)
}

// startHubWith runs a hub linked with the credentials file creds, and
// sets its family up.
func (p *pipeline) startHubWith(creds string) {
	p.t.Helper()
	addr := proctest.FreeAddr(p.t)
	p.hubURL = "http://" + addr
	p.hub = proctest.Start(p.t, "zoner-hub", proctest.Build(p.t, "github.com/zoner-family/zoner/hub/cmd/zoner-hub"), nil,
		"-data", p.t.TempDir(), "-http", addr, "-log-format", "json", "-write-rate", "100000", "-read-rate", "100000",
		"-cloud-url", p.proxy.URL(), "-cloud-creds", creds, "-cloud-reconnect", "250ms")
	proctest.WaitHTTP(p.t, p.hubURL+"/readyz")
	la := "America/Los_Angeles"
	p.post("/api/v1/setup", []syncproto.Envelope{
		p.event(uuid.Nil, &syncproto.FamilyUpserted{Name: "The Testers", HomeTZ: la}),
		p.event(p.member, &syncproto.MemberUpserted{DisplayName: "Ada", AgeBand: syncproto.AgeAdult, HomeTZ: la,
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}),
	})
}

func (p *pipeline) event(member uuid.UUID, data syncproto.Payload) syncproto.Envelope {
	return syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: p.family, MemberID: member,
		Origin: "web:e2e", Type: data.Type(), Start: time.Now().Add(-time.Hour).Truncate(time.Second), TZ: "America/Los_Angeles",
		HLC: p.clock.Now(), V: syncproto.CurrentVersion}, Data: data}
}

func (p *pipeline) post(path string, es []syncproto.Envelope) {
	p.t.Helper()
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, e := range es {
		b, err := syncproto.Marshal(e)
		if err != nil {
			p.t.Fatal(err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	resp, err := http.Post(p.hubURL+path, "application/json", &buf)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		p.t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
}

// write logs n events for the member — sleeps, meals and light, so every
// topic gets some — in batches of 500.
func (p *pipeline) write(n int) {
	p.t.Helper()
	for n > 0 {
		k := min(n, 500)
		es := make([]syncproto.Envelope, k)
		for i := range es {
			switch i % 3 {
			case 0:
				es[i] = p.event(p.member, &syncproto.Meal{Kind: syncproto.MealSnack})
			case 1:
				e := p.event(p.member, &syncproto.Sleep{Nap: true})
				e.End = e.Start.Add(30 * time.Minute)
				es[i] = e
			default:
				e := p.event(p.member, &syncproto.LightExposure{Level: syncproto.LevelOutdoorDaylight})
				e.End = e.Start.Add(15 * time.Minute)
				es[i] = e
			}
		}
		p.post("/api/v1/events", es)
		n -= k
	}
}

// seen counts the ids that reached the topics.
type seen struct {
	mu      sync.Mutex
	ids     map[string]int
	total   int
	waiters []beyond
	cancel  context.CancelFunc
	done    chan struct{}
}

// beyond is closed once more than n distinct ids are seen.
type beyond struct {
	n  int
	ch chan struct{}
}

func (p *pipeline) consume() *seen {
	p.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(p.brokers, ",")...),
		kgo.ConsumeTopics(p.topics.All()...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.MetadataMinAge(250*time.Millisecond))
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &seen{ids: map[string]int{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				for _, h := range r.Headers {
					if h.Key == kafkasink.HeaderID {
						s.mu.Lock()
						s.ids[string(h.Value)]++
						s.total++
						s.wake()
						s.mu.Unlock()
					}
				}
			})
		}
	}()
	p.t.Cleanup(func() { cancel(); <-s.done })
	p.seen = s
	return s
}

// wake closes the channels of the waiters whose count is passed; s.mu
// is held.
func (s *seen) wake() {
	s.waiters = slices.DeleteFunc(s.waiters, func(w beyond) bool {
		if len(s.ids) > w.n {
			close(w.ch)
			return true
		}
		return false
	})
}

// beyond returns a channel closed once more than n distinct ids are seen.
func (s *seen) beyond(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := beyond{n, make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.wake()
	return w.ch
}

func (s *seen) counts() (distinct, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids), s.total
}

// consumer is the bridges' consumer on the cloud's ingest stream, as the
// server counts it now.
func (p *pipeline) consumer() *jetstream.ConsumerInfo {
	p.t.Helper()
	nc, err := p.cloud.Connect("test-inspect")
	if err != nil {
		p.t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	cons, err := js.Consumer(context.Background(), syncproto.IngestStream, "bridge")
	if err != nil {
		p.t.Fatal(err)
	}
	return cons.CachedInfo()
}

// ackPending counts the events bridges fetched and did not acknowledge.
func (p *pipeline) ackPending() int { return p.consumer().NumAckPending }

// stored counts the events in the cloud's ingest stream.
func (p *pipeline) stored() uint64 {
	p.t.Helper()
	nc, err := p.cloud.Connect("test-inspect")
	if err != nil {
		p.t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := js.Stream(context.Background(), syncproto.IngestStream)
	if err != nil {
		p.t.Fatal(err)
	}
	return stream.CachedInfo().State.Msgs
}

// records counts the records the pipeline's topics hold, from their end
// offsets (the bridge's producer is idempotent, not transactional: one
// offset per record).
func (p *pipeline) records() int64 {
	p.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(p.brokers, ",")...))
	if err != nil {
		p.t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), p.topics.All()...)
	if err != nil {
		p.t.Fatalf("end offsets: %v", err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition): // never written to
		case o.Err != nil:
			p.t.Fatalf("end offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
		default:
			n += o.Offset
		}
	})
	return n
}

// waitMoreThan waits until more than n distinct events reached Kafka: the
// bridge is busy. It returns as soon as the test's consumer sees the
// event, not at the next poll, to catch the bridge mid-stream.
func (p *pipeline) waitMoreThan(n int) {
	p.t.Helper()
	select {
	case <-p.seen.beyond(n):
	case <-time.After(time.Minute):
		d, _ := p.seen.counts()
		p.t.Fatalf("after a minute, %d events in Kafka, not more than %d", d, n)
	}
}

// waitFor waits until want distinct events reached Kafka, and reports how
// many arrived twice.
func (p *pipeline) waitFor(want int, limit time.Duration) {
	p.t.Helper()
	wait.Until(p.t, limit, fmt.Sprintf("%d events in Kafka", want), func() (bool, string) {
		d, total := p.seen.counts()
		return d >= want, fmt.Sprintf("%d of %d events are in Kafka (%d records)", d, want, total)
	})
	d, total := p.seen.counts()
	if d != want {
		p.t.Fatalf("%d distinct events in Kafka, more than the %d written", d, want)
	}
	if total > d {
		p.t.Logf("%d of %d events reached Kafka twice (a redelivery after a crash or a lost ack; consumers drop them by id)", total-d, d)
	}
}

// TestBacklogReachesKafka: a hub offline with thousands of events, then
// the link comes up: every event reaches its topic.
func TestBacklogReachesKafka(t *testing.T) {
	p := newPipeline(t, brokers(t))
	p.proxy.Cut()
	p.startHub()
	p.write(6000)
	metrics := p.startBridge()
	p.consume()
	// The hub, holding the events, tried to link and was refused; then
	// the cloud holds none of them, and the bridge (ready) sent none on.
	tries := p.proxy.Refused()
	wait.Until(t, time.Minute, "the hub's link refused", func() (bool, string) {
		return p.proxy.Refused() > tries, "no attempt to link yet"
	})
	if n := p.stored(); n != 0 {
		t.Fatalf("the cloud stored %d events while the hub was offline", n)
	}
	if n := forwarded(t, metrics); n != 0 {
		t.Fatalf("the bridge forwarded %d events while the hub was offline", n)
	}
	if d, _ := p.seen.counts(); d != 0 {
		t.Fatalf("%d events in Kafka while the hub was offline", d)
	}
	start := time.Now()
	p.proxy.Mend()
	p.waitFor(6002, 2*time.Minute)
	t.Logf("6,002 events from an offline hub reached Kafka %s after the link came up", time.Since(start).Round(time.Millisecond))
}

// TestBridgeKilledMidBatch: kill -9 the bridge while it forwards; a new
// one picks up where it left, and nothing is lost.
func TestBridgeKilledMidBatch(t *testing.T) {
	p := newPipeline(t, brokers(t))
	p.startHub()
	p.write(20000) // waits in the cloud's stream: no bridge yet
	p.consume()
	// Killed mid-batch: holding events it fetched and did not acknowledge.
	// A kill that lands between batches is tried again, a little later.
	held, d := 0, 0
	for attempt := 1; held == 0; attempt++ {
		p.startBridge()
		p.waitMoreThan(3000 * attempt)
		p.bridge.Kill9()
		d, _ = p.seen.counts()
		if d >= 20002 {
			t.Fatalf("the bridge had forwarded everything (%d) before it was killed: the test proves nothing", d)
		}
		if held = p.ackPending(); held == 0 && attempt == 3 {
			t.Fatal("three kills landed between batches: the test proves less than it says")
		}
	}
	t.Logf("bridge killed holding %d unacknowledged events, with %d of 20,002 in Kafka", held, d)
	p.write(1000)
	p.startBridge()
	p.waitFor(21002, 2*time.Minute)
}

// TestBridgeDrainsOnSIGTERM: a bridge told to stop mid-stream finishes
// and acknowledges what it holds, so its successor sends nothing twice.
func TestBridgeDrainsOnSIGTERM(t *testing.T) {
	p := newPipeline(t, brokers(t))
	p.startHub()
	p.write(20000)
	p.consume()
	// Small batches, one at a time: slow enough to be stopped mid-stream.
	p.startBridge("-batch", "20", "-workers", "1")
	p.waitMoreThan(1000)
	p.bridge.Stop()
	if code := p.bridge.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the bridge exited with %d after SIGTERM", code)
	}
	// Everything it had fetched it acknowledged before it went, and it
	// had not fetched everything.
	info := p.consumer()
	if info.NumAckPending != 0 {
		t.Fatalf("%d events fetched by the stopped bridge are still unacknowledged", info.NumAckPending)
	}
	if info.NumPending == 0 {
		t.Fatal("the bridge had forwarded everything before it was stopped: the test proves nothing")
	}
	t.Logf("bridge stopped with %d of 20,002 events not yet handed out", info.NumPending)
	p.startBridge()
	p.waitFor(20002, 2*time.Minute)
	// Every event acknowledged, so none can come back; and the test's
	// consumer has read every record the topics hold.
	wait.Until(t, time.Minute, "every event acknowledged", func() (bool, string) {
		info := p.consumer()
		return info.NumPending == 0 && info.NumAckPending == 0, fmt.Sprintf("%d waiting, %d not acknowledged", info.NumPending, info.NumAckPending)
	})
	records := p.records()
	wait.Until(t, time.Minute, "every record read", func() (bool, string) {
		_, total := p.seen.counts()
		return int64(total) >= records, fmt.Sprintf("%d of %d records read", total, records)
	})
	if d, total := p.seen.counts(); total != d {
		t.Fatalf("%d records for %d events: a graceful stop left work to be done again", total, d)
	}
}

// TestBridgeReplicasShareTheWork: two bridges on one consumer split the
// stream between them, and together forward every event.
func TestBridgeReplicasShareTheWork(t *testing.T) {
	p := newPipeline(t, brokers(t))
	p.startHub()
	p.write(20000)
	p.consume()
	a, b := p.startBridge(), p.startBridge()
	p.waitFor(20002, 2*time.Minute)
	na, nb := forwarded(t, a), forwarded(t, b)
	t.Logf("replica A forwarded %d, replica B %d", na, nb)
	if na == 0 || nb == 0 || na+nb < 20002 {
		t.Fatalf("replicas forwarded %d and %d of 20,002", na, nb)
	}
}

// TestLinkFlaps: the hub's link goes down every few seconds for a minute
// while the family keeps logging; everything arrives.
func TestLinkFlaps(t *testing.T) {
	p := newPipeline(t, brokers(t))
	p.startHub()
	p.startBridge()
	p.consume()
	written := 2
	end := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(end); i++ {
		p.proxy.Cut()
		p.write(300)
		written += 300
		time.Sleep(time.Duration(1000+i%3*700) * time.Millisecond)
		p.proxy.Mend()
		p.write(300)
		written += 300
		time.Sleep(time.Duration(1500+i%2*1000) * time.Millisecond)
	}
	p.waitFor(written, 2*time.Minute)
	t.Logf("%d events through a link that flapped for a minute", written)
}

// TestCloudNATSRestarts: the cloud's NATS restarts while events flow;
// the hub and the bridge reconnect and nothing is lost.
func TestCloudNATSRestarts(t *testing.T) {
	p := newPipeline(t, brokers(t))
	p.startHub()
	p.startBridge()
	p.consume()
	p.write(5000)
	p.restartCloud()
	p.write(5000)
	p.restartCloud()
	p.waitFor(10002, 2*time.Minute)
}

// TestKafkaBrokerRestarts: the broker stops mid-stream and comes back; the
// bridge retries and nothing is lost. The test runs a broker of its own so
// that the other tests' broker stays up.
func TestKafkaBrokerRestarts(t *testing.T) {
	brokers(t)
	script, err := filepath.Abs("../../../deploy/local/kafka.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	startBroker := func() string {
		out, err := exec.Command(script, "start", dir).Output()
		if err != nil {
			t.Fatalf("kafka.sh start: %v", err)
		}
		return strings.TrimPrefix(strings.TrimSpace(string(out)), "KAFKA_BROKERS=")
	}
	stopBroker := func() {
		if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
			t.Fatalf("kafka.sh stop: %v\n%s", err, out)
		}
	}
	addr := startBroker()
	t.Cleanup(stopBroker)
	p := newPipeline(t, addr)
	p.startHub()
	p.startBridge()
	p.consume()
	p.write(5000)
	p.waitMoreThan(500)
	stopBroker()
	p.write(5000)
	time.Sleep(3 * time.Second)
	if again := startBroker(); again != addr {
		t.Fatalf("the broker came back on %s, not %s", again, addr)
	}
	p.waitFor(10002, 3*time.Minute)
}

// TestEmbeddedCloud: the single-machine form. `zoner-bridge -embed` runs
// the cloud's NATS itself; `zoner-bridge creds` makes a family's
// credentials file; a hub linked with it syncs to Kafka.
func TestEmbeddedCloud(t *testing.T) {
	p := newPipeline(t, brokers(t))
	p.cloud.Close() // the bridge runs the cloud here
	p.cloud = nil
	bin := proctest.Build(t, bridgePkg)
	secret := []string{"ZONER_CLOUD_SECRET=" + cloudSecret}
	out, err := exec.Command(bin, "creds", "-family", p.family.String()).CombinedOutput()
	if err == nil {
		t.Fatalf("creds without the secret: %s", out)
	}
	cmd := exec.Command(bin, "creds", "-family", p.family.String())
	cmd.Env = append(os.Environ(), secret...)
	creds, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	credsFile := filepath.Join(t.TempDir(), "family.creds")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := proctest.FreeAddr(t)
	p.bridge = proctest.Start(t, "zoner-bridge", bin, secret, "-embed", "-embed-dir", t.TempDir(), "-leaf", p.leafAddr,
		"-kafka-brokers", p.brokers, "-http", addr, "-log-format", "json",
		"-topic-sleep", p.topics.Sleep, "-topic-meal", p.topics.Meal, "-topic-light", p.topics.Light, "-topic-trip", p.topics.Trip)
	proctest.WaitHTTP(t, "http://"+addr+"/readyz")
	p.startHubWith(credsFile)
	p.consume()
	p.write(1000)
	p.waitFor(1002, time.Minute)
}
