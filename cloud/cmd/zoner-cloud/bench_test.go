//go:build integration

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	chttp "github.com/zoner-family/zoner/cloud/http"
	"github.com/zoner-family/zoner/cloud/redis"
	"github.com/zoner-family/zoner/cloud/warehouse/snowflake"
	"github.com/zoner-family/zoner/cloud/warehouse/sqlite"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// rows turns events into warehouse rows as ingest does.
func rows(es []syncproto.Envelope) []cloud.Row {
	raws := cloudtest.Marshal(es)
	recs := make([]cloud.Record, len(es))
	for i := range es {
		recs[i] = cloud.Record{Topic: "bench", Partition: int32(i % 6), Offset: int64(i), Value: raws[i]}
	}
	out, poison := cloud.Decode(recs, time.Now())
	if len(poison) > 0 {
		panic(poison[0].Reason)
	}
	return out
}

// benchIngest measures the warehouse side of ingest: Store.Write of
// batches of 1,000 events (the merge into RAW_EVENTS, reading the
// families back and merging their daily metrics and trip outcomes).
func benchIngest(b *testing.B, w cloud.Warehouse) {
	_, es := families(40, 6) // about 4,000 events
	all := rows(es)
	st := &cloud.Store{W: w, Now: time.Now}
	ctx := context.Background()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		// Fresh ids each round, so every write is new.
		batch := all
		if n > 0 {
			_, es = families(40, 6)
			b.StopTimer()
			batch = rows(es)
			b.StartTimer()
		}
		for i := 0; i < len(batch); i += 1000 {
			if _, err := st.Write(ctx, batch[i:min(i+1000, len(batch))]); err != nil {
				b.Fatal(err)
			}
		}
		n += len(batch)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkIngest(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		w, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "w.db"), testLogger())
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		benchIngest(b, w)
	})
	b.Run("snowflake", func(b *testing.B) {
		s := realServices(b)
		w, err := snowflake.Open(context.Background(), s.snowflake(s.fakesnow), testLogger())
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		benchIngest(b, w)
	})
}

// percentiles reports p50 and p99 of ds in milliseconds.
func percentiles(b *testing.B, ds []time.Duration, unit string) {
	slices.Sort(ds)
	p := func(q float64) float64 {
		return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(p(0.50), "p50-"+unit)
	b.ReportMetric(p(0.99), "p99-"+unit)
	b.ReportMetric(float64(len(ds)), "samples")
}

// BenchmarkFreshness measures hub event → fresh recommendation in Redis:
// a sleep is written to a hub linked to zoner-cloud all (real Kafka, real
// Redis), and the clock stops when the member's key in Redis is based on
// it. Each iteration is one event; run with -benchtime 200x.
func BenchmarkFreshness(b *testing.B) {
	s := realServices(b)
	dir := b.TempDir()
	m := NewMain()
	m.DataDir, m.LeafAddr, m.APIAddr, m.HTTPAddr = dir, proctest.FreeAddr(b), "127.0.0.1:0", ""
	m.KafkaBrokers, m.Cache, m.RedisAddr, m.RedisDB = strings.Split(s.kafka, ","), "redis", s.redis, 4
	m.IngestGroup, m.RecommenderGroup = "ingest-"+s.schema, "rec-"+s.schema
	m.Logger = testLogger()
	if err := m.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	fam := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	hubURL := linkedHub(b, m, dir, fam, "-write-rate", "100000")

	rdb := goredis.NewClient(&goredis.Options{Addr: s.redis, DB: 4})
	defer rdb.Close()
	basedOn := func(member string) string {
		v, err := rdb.Get(context.Background(), "zoner:rec:"+fam.ID.String()+":"+member).Bytes()
		if err != nil {
			return ""
		}
		var rec cloud.Recommendation
		json.Unmarshal(v, &rec)
		return rec.BasedOn
	}
	// Wait for the set-up to be planned once.
	wait.Until(b, time.Minute, "a recommendation after set-up", func() (bool, string) {
		return basedOn(fam.Members[0].String()) != "", "none in Redis"
	})
	var ds []time.Duration
	nap := time.Now().Add(-3 * time.Hour)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		member := fam.Members[i%len(fam.Members)]
		e := fam.Event(member, nap.Add(time.Duration(i)*time.Second), cloudtest.Away, &syncproto.Sleep{Nap: true})
		e.End = e.Start.Add(20 * time.Minute)
		t0 := time.Now()
		postEvents(b, hubURL+"/api/v1/events", []syncproto.Envelope{e})
		for basedOn(member.String()) < e.HLC.String() {
			if time.Since(t0) > 30*time.Second {
				b.Fatalf("event %d never reached Redis", i)
			}
			time.Sleep(time.Millisecond)
		}
		ds = append(ds, time.Since(t0))
	}
	b.StopTimer()
	percentiles(b, ds, "ms")
}

// BenchmarkAPIRead measures a recommendation read through the API (GET
// with a bearer token on loopback, the recommendation in a real
// redis-server) beside a plain Redis GET of the same key on the same
// server, in the same run, with as many parallel clients. Each iteration
// is one API read and one Redis GET. It reports p50 and p99 of
// each in milliseconds and p99-ratio, the API's p99 over Redis's (the
// target is at most 10). Only redis-server is needed (REDIS_ADDR).
func BenchmarkAPIRead(b *testing.B) {
	addr := proctest.Service(b, "REDIS_ADDR")
	ctx := context.Background()
	c, err := redis.New(ctx, redis.Config{Addr: addr, DB: 5}, testLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "w.db"), testLogger())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	f, es := families(1, 2)
	if _, err := (&cloud.Store{W: w, Now: time.Now}).Write(ctx, rows(es)); err != nil {
		b.Fatal(err)
	}
	r := &cloud.Recommender{Planner: &circadian.Planner{}, Warehouse: w, Cache: c, Logger: testLogger()}
	svc := cloud.NewService(r, nil)
	secret := []byte(strings.Repeat("s", 32))
	srv, err := chttp.New(chttp.Config{Backend: svc, Secret: secret, WebhookSecret: secret, Logger: testLogger(),
		RatePerSecond: 1e9, Burst: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go srv.Serve(sctx, ln, "", "")
	tok, err := chttp.IssueToken(secret, chttp.Claims{Role: "guardian", Family: f[0].ID, Subject: "bench"}, time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	url := fmt.Sprintf("http://%s/v1/families/%s/members/%s/recommendation", ln.Addr(), f[0].ID, f[0].Members[0])
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	get := func(req *http.Request) time.Duration {
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("GET: %d", resp.StatusCode)
		}
		return time.Since(t0)
	}
	// The baseline: go-redis with its defaults, on the same server.
	rdb := goredis.NewClient(&goredis.Options{Addr: addr, DB: 5})
	defer rdb.Close()
	key := cloud.RecommendationKey(f[0].ID, f[0].Members[0])
	redisGet := func() time.Duration {
		t0 := time.Now()
		if _, err := rdb.Get(ctx, key).Bytes(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	newReq := func() *http.Request {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return req
	}
	get(newReq()) // computes once and caches
	// Warm both pools up, so that neither pays for dialling in the run.
	for range 200 {
		get(newReq())
		redisGet()
	}
	// Same run, same server, same concurrency: rounds of a block of Redis
	// GETs then a block of API reads, so that the machine's drift falls
	// on both alike and neither's load inflates the other's figures. One
	// client shows the latency of a read alone; 4 per CPU (as RunParallel
	// would) adds the queueing of a busy server.
	// A reader is client i's: it makes the function that reads once.
	viaRedis := func(int) func() time.Duration { return redisGet }
	viaHTTP := func(int) func() time.Duration {
		req := newReq()
		return func() time.Duration { return get(req) }
	}
	// The lean client writes a prepared request and reads the answer on
	// its own goroutine, as go-redis does with GET; net/http's client
	// hands each request to a writing and a reading goroutine of the
	// connection, which the API's figures include too.
	raw := fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
		strings.TrimPrefix(url, "http://"+ln.Addr().String()), ln.Addr(), tok)
	type leanConn struct {
		net.Conn
		br *bufio.Reader
	}
	var leanConns [64]*leanConn // by client; each kept for the whole run
	defer func() {
		for _, c := range leanConns {
			if c != nil {
				c.Close()
			}
		}
	}()
	viaLean := func(i int) func() time.Duration {
		if leanConns[i] == nil {
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			leanConns[i] = &leanConn{conn, bufio.NewReader(conn)}
		}
		conn, br := leanConns[i], leanConns[i].br
		return func() time.Duration {
			t0 := time.Now()
			if _, err := conn.Write(raw); err != nil {
				b.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("GET: %d", resp.StatusCode)
			}
			return time.Since(t0)
		}
	}
	for _, workers := range []int{1, 4 * runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("clients=%d", workers), func(b *testing.B) {
			const block = 100 // reads per client per phase
			var mu sync.Mutex
			var api, lean, red []time.Duration
			phase := func(n int, reader func(int) func() time.Duration, out *[]time.Duration) {
				var wg sync.WaitGroup
				for i := range workers {
					wg.Go(func() {
						read := reader(i)
						ds := make([]time.Duration, 0, n)
						for range n {
							ds = append(ds, read())
						}
						mu.Lock()
						*out = append(*out, ds...)
						mu.Unlock()
					})
				}
				wg.Wait()
			}
			b.ResetTimer()
			for left := b.N; left > 0; {
				n := min(block, (left+workers-1)/workers)
				phase(n, viaRedis, &red)
				phase(n, viaHTTP, &api)
				phase(n, viaLean, &lean)
				left -= n * workers
			}
			b.StopTimer()
			if len(api) == 0 || len(red) == 0 {
				return
			}
			ap50, ap99 := quantilesMs(api)
			lp50, lp99 := quantilesMs(lean)
			rp50, rp99 := quantilesMs(red)
			b.ReportMetric(ap50, "api-p50-ms")
			b.ReportMetric(ap99, "api-p99-ms")
			b.ReportMetric(lp50, "lean-p50-ms")
			b.ReportMetric(lp99, "lean-p99-ms")
			b.ReportMetric(lp99/rp99, "lean-p99-ratio")
			b.ReportMetric(rp50, "redis-p50-ms")
			b.ReportMetric(rp99, "redis-p99-ms")
			b.ReportMetric(ap99/rp99, "p99-ratio")
			b.ReportMetric(ap50/rp50, "p50-ratio")
			b.ReportMetric(float64(len(api)), "samples")
			b.ReportMetric(0, "ns/op") // mixed API and Redis reads: not one figure
			if b.N < 100 {
				return // the probe run before the measured one: too few for a p99
			}
			b.Logf("%d clients: API read p50 %.3f ms p99 %.3f ms (lean client: p50 %.3f ms p99 %.3f ms); Redis GET p50 %.3f ms p99 %.3f ms; p99 ratio %.1fx (lean client: %.1fx; target at most 10x)",
				workers, ap50, ap99, lp50, lp99, rp50, rp99, ap99/rp99, lp99/rp99)
		})
	}
}

// quantilesMs returns p50 and p99 of ds in milliseconds.
func quantilesMs(ds []time.Duration) (p50, p99 float64) {
	a, b := quantiles(ds)
	return float64(a) / float64(time.Millisecond), float64(b) / float64(time.Millisecond)
}
