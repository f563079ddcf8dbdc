//go:build integration

package main

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/hub"
	hubnats "github.com/zoner-family/zoner/hub/natsjs"
	"github.com/zoner-family/zoner/internal/history"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/syncproto"
)

// BenchmarkCatchUp measures the bridge's catch-up after a long outage: a
// hub's log of ZONER_BENCH_EVENTS events (default 1,000,000; a family's
// history from internal/history) → the cloud over the leaf link → Kafka,
// beside the raw rate of a JetStream fetch of the same log and of a
// franz-go produce of the same records, all in one run on one broker.
//
// It reports "events/s" (the catch-up), "raw-fetch-events/s",
// "raw-produce-events/s" and "ratio" = catch-up ÷ the slower raw rate:
// higher is better, the target is at least 0.5. ns/op is 0 (one run of
// the whole catch-up is not an operation). The uplink must not fail on the
// way ("uplink-errors" counts its failures; a stalled publisher fails the
// benchmark). Run it with `go tool task bench:bridge`.
func BenchmarkCatchUp(b *testing.B) {
	brokerList := brokers(b)
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("ZONER_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	var r catchUpResult
	for b.Loop() {
		r = catchUp(b, brokerList, n)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(r.catchUp, "events/s")
	b.ReportMetric(r.fetch, "raw-fetch-events/s")
	b.ReportMetric(r.produce, "raw-produce-events/s")
	b.ReportMetric(r.catchUp/min(r.fetch, r.produce), "ratio")
	b.ReportMetric(r.ingest, "ref-cloud-ingest-events/s")
	b.ReportMetric(r.cpuPerEvent, "cpu-µs/event")
	b.ReportMetric(float64(r.uplinkErrors), "uplink-errors")
}

// catchUpResult is one run's rates, in events per second.
type catchUpResult struct {
	catchUp, fetch, produce, ingest float64
	cpuPerEvent                     float64 // µs of CPU an event took in the catch-up
	uplinkErrors                    int
}

func catchUp(b *testing.B, brokerList string, n int) catchUpResult {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	// A hub whose cloud is not there yet: the backlog builds up.
	cloudDir, leafAddr := b.TempDir(), proctest.FreeAddr(b)
	secret := []byte(cloudSecret)
	events, family := benchEvents(b, n)
	creds := syncproto.Credentials{FamilyID: family, Secret: edge.FamilySecret(secret, family)}
	h, err := hubnats.Start(ctx, hubnats.Config{StoreDir: b.TempDir(), Port: -1, Name: "bench-hub",
		Link: &hubnats.Link{URL: "nats-leaf://" + leafAddr, Creds: creds, Reconnect: 50 * time.Millisecond}}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	var size int
	for i := 0; i < n; i += 1000 {
		if _, err := h.Append(ctx, events[i:min(i+1000, n)]); err != nil {
			b.Fatal(err)
		}
	}
	for _, e := range events[:1000] {
		size += len(e.Raw)
	}
	b.Logf("%d events of ~%d bytes in the hub's log", n, size/1000)

	// Raw rate 1: a JetStream fetch of the whole log, nothing else done.
	fetchRate := rawFetch(b, h, n)
	// Raw rate 2: a franz-go produce of the same records (acks all,
	// idempotent, keyed by member), nothing else done.
	produceRate := rawProduce(b, brokerList, events)
	// For reference, not part of the target: the cloud's stream taking the
	// same events from an in-process publisher (ids checked for repeats),
	// with no link, no hub and no bridge: a ceiling for any uplink.
	ingestRate := rawIngest(b, events)

	// The catch-up: the cloud comes up, the hub links, and its uplink and
	// the bridge run together until Kafka has acknowledged every event.
	cloud, err := natsedge.Start(ctx, natsedge.ServerConfig{StoreDir: cloudDir, Port: -1, LeafPort: port(b, leafAddr),
		Secret: secret, ServicePassword: "svc"}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer cloud.Close()
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	m := NewMain()
	m.HTTPAddr = ""
	m.Logger = quiet
	m.Kafka.Brokers = strings.Split(brokerList, ",")
	m.Kafka.Topics = bridge.Topics{Sleep: "bench_sleep_" + suffix, Meal: "bench_meal_" + suffix, Light: "bench_light_" + suffix, Trip: "bench_trip_" + suffix}
	m.Kafka.Partitions = 6
	if m.NATSConn, err = cloud.Connect("bench-bridge"); err != nil {
		b.Fatal(err)
	}
	defer m.NATSConn.Close()
	if err := m.Run(ctx); err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	up, err := h.OpenCloudLink(ctx, creds, "bench-hub")
	if err != nil {
		b.Fatal(err)
	}
	defer up.Close()
	upCtx, stopUp := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var uplinkErrs []error
	cpuStart := cpuTime()
	start := time.Now()
	wg.Go(func() {
		for upCtx.Err() == nil {
			if !up.Linked() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if _, err := up.Up(upCtx, 50000, 100*time.Millisecond); err != nil && upCtx.Err() == nil {
				uplinkErrs = append(uplinkErrs, err)
				b.Logf("uplink: %v", err)
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
	var uplinked time.Duration
	for m.Metrics.Forwarded() < uint64(n) {
		if uplinked == 0 {
			if p, err := up.Pending(ctx); err == nil && p == 0 {
				uplinked = time.Since(start)
			}
		}
		if time.Since(start) > 30*time.Minute {
			b.Fatalf("after 30 min, %d of %d events in Kafka", m.Metrics.Forwarded(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpuStart
	for uplinked == 0 && time.Since(start) < elapsed+10*time.Second {
		// Kafka had everything before the hub's log counted the last
		// acks: they are processed a moment after they are sent.
		if p, err := up.Pending(ctx); err == nil && p == 0 {
			uplinked = time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopUp()
	wg.Wait()
	catchRate := float64(n) / elapsed.Seconds()
	slower := min(fetchRate, produceRate)
	b.Logf("raw JetStream fetch %.0f events/s, raw franz-go produce %.0f events/s; catch-up hub → cloud → Kafka %.0f events/s (%.2f of the slower raw rate; target ≥ 0.5); the hub's uplink emptied after %s, Kafka had everything after %s; for reference, the cloud's stream alone takes %.0f events/s from an in-process publisher; %d uplink failures",
		fetchRate, produceRate, catchRate, catchRate/slower, uplinked.Round(time.Millisecond), elapsed.Round(time.Millisecond), ingestRate, len(uplinkErrs))
	b.Logf("the catch-up took %s of CPU (hub, cloud and bridge in this process): %.0f µs an event, %.2f cores busy on average",
		cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(n), cpu.Seconds()/elapsed.Seconds())
	if d := m.Metrics.DeadLettered(); d != 0 {
		b.Fatalf("%d events dead-lettered", d)
	}
	for _, err := range uplinkErrs {
		if strings.Contains(err.Error(), "stalled") {
			b.Fatalf("the uplink's publisher stalled: %v", err)
		}
	}
	return catchUpResult{catchUp: catchRate, fetch: fetchRate, produce: produceRate, ingest: ingestRate, uplinkErrors: len(uplinkErrs),
		cpuPerEvent: float64(cpu.Microseconds()) / float64(n)}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchEvents is a family's history of n events, as the hub logs them.
func benchEvents(b *testing.B, n int) ([]hub.Event, uuid.UUID) {
	b.Helper()
	f := history.New(uint64(time.Now().UnixNano()), time.Now())
	es := f.History(n)
	raws, err := history.Encode(es)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]hub.Event, n)
	for i, e := range es {
		out[i] = hub.Event{Header: e.Header, Raw: raws[i]}
	}
	return out, f.ID
}

func rawFetch(b *testing.B, h *hubnats.Server, n int) float64 {
	b.Helper()
	ctx := context.Background()
	js, err := jetstream.New(h.Conn())
	if err != nil {
		b.Fatal(err)
	}
	cons, err := js.CreateConsumer(ctx, hubnats.StreamName, jetstream.ConsumerConfig{AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for got := 0; got < n; {
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			b.Fatal(err)
		}
		for range batch.Messages() {
			got++
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

func rawIngest(b *testing.B, events []hub.Event) float64 {
	b.Helper()
	ctx := context.Background()
	cloud, err := natsedge.Start(ctx, natsedge.ServerConfig{StoreDir: b.TempDir(), Port: -1, Secret: []byte(cloudSecret), ServicePassword: "svc"},
		slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer cloud.Close()
	nc, err := cloud.Connect("bench-ingest")
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for _, e := range events {
		msg := nats.NewMsg(syncproto.IngestSubject(e.Header.FamilyID, e.Header.Type))
		msg.Data = e.Raw
		// A full window waits for room (a minute at most) rather than
		// failing after the client's default 200 ms.
		if _, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(e.Header.ID.String()), jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(10 * time.Minute):
		b.Fatal("the cloud's stream did not confirm in 10 min")
	}
	return float64(len(events)) / time.Since(start).Seconds()
}

func rawProduce(b *testing.B, brokerList string, events []hub.Event) float64 {
	b.Helper()
	topic := "bench_raw_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokerList, ",")...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DefaultProduceTopic(topic), kgo.MaxBufferedRecords(10000))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	// The topic exists (6 partitions, as the bridge's) and the client
	// knows its leaders before the clock starts.
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 6, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("warm-up")}).FirstErr(); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed error
	var mu sync.Mutex
	start := time.Now()
	for _, e := range events {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Key: []byte(e.Header.MemberID.String()), Value: e.Raw}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				failed = err
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	rate := float64(len(events)) / time.Since(start).Seconds()
	if failed != nil {
		b.Fatal(failed)
	}
	return rate
}
