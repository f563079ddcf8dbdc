package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	zfamily "github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/hub/natsjs"
	"github.com/zoner-family/zoner/internal/history"
	"github.com/zoner-family/zoner/syncproto"
)

// benchEvents is how many events a write benchmark writes per run:
// ZONER_BENCH_EVENTS, or def.
func benchEvents(def int) int {
	if n, err := strconv.Atoi(os.Getenv("ZONER_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return def
}

// benchHistory sets up a hub from mustRun with the test family of
// internal/history (its members and its trip, so that every write also
// re-plans) and returns the hub, the family and n logged facts in the
// order the family made them.
func benchHistory(b *testing.B, n int) (*Main, []syncproto.Envelope) {
	b.Helper()
	m := mustRun(b, b.TempDir())
	h := history.New(1, testNow)
	events := h.History(n + len(h.Setup()))
	setup := len(h.Setup())
	raws, err := history.Encode(events[:setup])
	if err != nil {
		b.Fatal(err)
	}
	c := &client{tb: b, base: m.URL}
	c.json("POST", "/api/v1/setup", history.Array(raws), 200, nil)
	return m, events[setup:]
}

// independent keeps the events that refer to no other event (no
// corrections, no undos): any order of them is valid.
func independent(es []syncproto.Envelope) []syncproto.Envelope {
	var out []syncproto.Envelope
	for _, e := range es {
		if e.Type == syncproto.TypeLogRetracted || zfamily.Supersedes(e.Data) != [16]byte{} {
			continue
		}
		out = append(out, e)
	}
	return out
}

// rawLog is a fresh embedded JetStream configured as the hub's log (the
// same Start, on its own directory), for the raw baseline.
func rawLog(b *testing.B) (*natsjs.Server, jetstream.JetStream) {
	b.Helper()
	s, err := natsjs.Start(context.Background(), natsjs.Config{StoreDir: b.TempDir(), Port: -1}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	js, err := jetstream.New(s.Conn())
	if err != nil {
		b.Fatal(err)
	}
	return s, js
}

// rawMsg is an event as the hub publishes it: the same subject, body and
// headers.
func rawMsg(e syncproto.Envelope, raw []byte) *nats.Msg {
	msg := nats.NewMsg(natsjs.Subject(e.Header))
	msg.Data = raw
	msg.Header.Set(jetstream.MsgIDHeader, e.ID.String())
	msg.Header.Set(syncproto.HeaderID, e.ID.String())
	msg.Header.Set(syncproto.HeaderType, string(e.Type))
	msg.Header.Set(syncproto.HeaderFamily, e.FamilyID.String())
	msg.Header.Set(syncproto.HeaderMember, e.MemberID.String())
	msg.Header.Set(syncproto.HeaderV, strconv.Itoa(e.V))
	return msg
}

// benchClient is an HTTP client that keeps a connection per writer.
func benchClient(writers int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: writers, MaxConnsPerHost: writers}}
}

func post(hc *http.Client, url string, body []byte) error {
	resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %s", resp.StatusCode, msg)
	}
	return nil
}

// inParallel runs do(i) for i in [0, n) on writers goroutines, each taking
// the next i, and returns the wall time.
func inParallel(b *testing.B, writers, n int, do func(i int) error) time.Duration {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := do(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return d
}

// BenchmarkWriteConcurrent is 8 clients each posting one event per request
// over HTTP to the real hub (answered once the event is stored and
// applied), beside raw embedded JetStream: 8 goroutines publishing the same
// messages synchronously to a fresh server set up as the hub's log. It
// reports "events/s" (the hub), "raw-events/s" and "ratio" = hub/raw,
// higher is better; the target is a ratio of at least 0.25. It writes
// ZONER_BENCH_EVENTS events per run (default 4000).
func BenchmarkWriteConcurrent(b *testing.B) {
	const writers = 8
	n := benchEvents(4000)
	m, all := benchHistory(b, 2*n*b.N)
	events := independent(all)
	if len(events) < n*b.N {
		b.Fatalf("%d independent events of %d", len(events), n*b.N)
	}
	raws, err := history.Encode(events)
	if err != nil {
		b.Fatal(err)
	}
	_, js := rawLog(b)
	hc := benchClient(writers)
	url := m.URL + "/api/v1/events"
	var hubTime, rawTime time.Duration
	b.ResetTimer()
	for it := range b.N {
		off := it * n
		hubTime += inParallel(b, writers, n, func(i int) error { return post(hc, url, raws[off+i]) })
		rawTime += inParallel(b, writers, n, func(i int) error {
			_, err := js.PublishMsg(context.Background(), rawMsg(events[off+i], raws[off+i]))
			return err
		})
	}
	b.StopTimer()
	hub := float64(n*b.N) / hubTime.Seconds()
	raw := float64(n*b.N) / rawTime.Seconds()
	b.ReportMetric(hub, "events/s")
	b.ReportMetric(raw, "raw-events/s")
	b.ReportMetric(hub/raw, "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWriteBatch500 is batches of 500 events per request, one request
// at a time, over HTTP to the real hub, beside raw embedded JetStream
// publishing the same 500 messages asynchronously and waiting for every
// acknowledgement, on a fresh server set up as the hub's log. It reports
// "ms/event" (the hub), "raw-ms/event" and "ratio" = raw/hub, higher is
// better (the write path was at 0.07; the aim is to raise it). It writes
// ZONER_BENCH_EVENTS events per run (default 10000).
func BenchmarkWriteBatch500(b *testing.B) {
	const size = 500
	batches := max(benchEvents(10000)/size, 1)
	n := batches * size
	m, events := benchHistory(b, n*b.N)
	raws, err := history.Encode(events)
	if err != nil {
		b.Fatal(err)
	}
	_, js := rawLog(b)
	hc := benchClient(1)
	url := m.URL + "/api/v1/events"
	var hubTime, rawTime time.Duration
	b.ResetTimer()
	for it := range b.N {
		for k := range batches {
			lo := it*n + k*size
			body := history.Array(raws[lo : lo+size])
			start := time.Now()
			if err := post(hc, url, body); err != nil {
				b.Fatal(err)
			}
			hubTime += time.Since(start)

			start = time.Now()
			futures := make([]jetstream.PubAckFuture, size)
			for j := range size {
				if futures[j], err = js.PublishMsgAsync(rawMsg(events[lo+j], raws[lo+j])); err != nil {
					b.Fatal(err)
				}
			}
			for _, f := range futures {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					b.Fatal(err)
				}
			}
			rawTime += time.Since(start)
		}
	}
	b.StopTimer()
	hub := float64(hubTime.Microseconds()) / 1000 / float64(n*b.N)
	raw := float64(rawTime.Microseconds()) / 1000 / float64(n*b.N)
	b.ReportMetric(hub, "ms/event")
	b.ReportMetric(raw, "raw-ms/event")
	b.ReportMetric(raw/hub, "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWriteOne is one event per request, over HTTP on loopback, from
// the request to the answer (which comes once JetStream has stored the
// event). It reports the latency percentiles; the target is p99 < 10 ms.
func BenchmarkWriteOne(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync-always=%v", sync), func(b *testing.B) {
			m := mustRun(b, b.TempDir(), func(m *Main) { m.SyncAlways = sync })
			c := &client{tb: b, base: m.URL}
			f := newFamily(b)
			c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
			bodies := make([][]byte, b.N)
			for i := range bodies {
				at := testNow.Add(-time.Duration(i+1) * time.Minute)
				bodies[i] = f.encode(f.event(f.ada, at, at.Add(30*time.Second), "America/Los_Angeles", &syncproto.LightExposure{Level: syncproto.LevelIndoor}))
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				postOK(b, m.URL+"/api/v1/events", bodies[i])
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			reportPercentiles(b, lat)
		})
	}
}

// postOK posts body and fails unless the hub answers 200.
func postOK(b *testing.B, url string, body []byte) {
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // the percentiles say it better
}
