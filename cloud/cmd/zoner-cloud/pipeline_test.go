//go:build integration

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/zoner-family/zoner/bridge"
	bkafka "github.com/zoner-family/zoner/bridge/kafkasink"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/cloud/warehouse/snowflake"
	"github.com/zoner-family/zoner/internal/netproxy"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// services is the real Kafka broker, redis-server and fakesnow.
type services struct {
	kafka, redis, fakesnow string
	topics                 bridge.Topics
	schema                 string
}

func realServices(t testing.TB) *services {
	t.Helper()
	s := &services{kafka: proctest.Service(t, "KAFKA_BROKERS"), redis: proctest.Service(t, "REDIS_ADDR"), fakesnow: proctest.Service(t, "FAKESNOW_ADDR")}
	// Topics and the schema are the test's own: other packages' tests
	// share the broker and the emulator.
	p := "t" + strings.ToLower(rand.Text()[:8]) + "_"
	s.topics = bridge.Topics{Sleep: p + "sleep_events", Meal: p + "meal_events", Light: p + "light_exposure", Trip: p + "trip_events"}
	s.schema = "S" + strings.ToUpper(rand.Text()[:10])
	return s
}

func (s *services) topicList() string {
	return strings.Join([]string{s.topics.Sleep, s.topics.Meal, s.topics.Light, s.topics.Trip}, ",")
}

// snowflake is the emulator's configuration, reached at addr (the
// emulator itself, or a proxy in front of it).
func (s *services) snowflake(addr string) snowflake.Config {
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return snowflake.Config{Account: "fakesnow", User: "zoner", Password: "unused", Database: "ZONER_TEST",
		Schema: s.schema, Host: host, Port: n, Protocol: "http", CreateDatabase: true}
}

func (s *services) snowflakeFlags(addr string) []string {
	c := s.snowflake(addr)
	return []string{"-warehouse", "snowflake", "-snowflake-account", c.Account, "-snowflake-user", c.User,
		"-snowflake-database", c.Database, "-snowflake-schema", c.Schema, "-snowflake-host", c.Host,
		"-snowflake-port", strconv.Itoa(c.Port), "-snowflake-protocol", "http", "-snowflake-create"}
}

// producer writes events to the test's topics as the bridge does.
func (s *services) producer(t testing.TB) *bkafka.Sink {
	t.Helper()
	sink, err := bkafka.New(context.Background(), bkafka.Config{Brokers: strings.Split(s.kafka, ","), Topics: s.topics,
		Partitions: 6, Replication: 1}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.EnsureTopics(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sink.Close)
	return sink
}

func produce(t testing.TB, sink *bkafka.Sink, es []syncproto.Envelope) {
	t.Helper()
	raws := cloudtest.Marshal(es)
	events := make([]bridge.Event, len(es))
	for i, e := range es {
		events[i] = bridge.Event{ID: e.ID, Type: e.Type, Family: e.FamilyID, Member: e.MemberID, V: e.V, Raw: raws[i]}
	}
	for i, err := range sink.Produce(context.Background(), events) {
		if err != nil {
			t.Fatalf("produce event %d: %v", i, err)
		}
	}
}

// families makes n families that landed in London a day and a half ago,
// with their set-up and days of logs.
func families(n, days int) ([]*cloudtest.Family, []syncproto.Envelope) {
	var fs []*cloudtest.Family
	var es []syncproto.Envelope
	for i := range n {
		f := cloudtest.NewFamily(time.Now().Add(-48*time.Hour).Truncate(time.Minute), fmt.Sprintf("BA%d", 100+i))
		fs = append(fs, f)
		es = append(es, f.Setup()...)
		for d := range days {
			es = append(es, f.Day(d)...)
		}
	}
	return fs, es
}

// metric reads one sample from a Prometheus text page.
func metric(t testing.TB, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") {
			v, _ := strconv.ParseFloat(strings.TrimPrefix(line, name+" "), 64)
			return v
		}
	}
	return -1
}

// The pipeline on the real services: ingest (a separate process, killed
// with -9 mid-stream, and cut off from the warehouse for two minutes), the
// recommender and the API in this process over Redis and fakesnow.
// Every event ends in RAW_EVENTS exactly once; a Redis flush is rebuilt.
func TestPipelineOnRealServices(t *testing.T) {
	s := realServices(t)
	snow, err := netproxy.Start(s.fakesnow)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(snow.Close)
	w, err := snowflake.Open(context.Background(), s.snowflake(s.fakesnow), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	sink := s.producer(t)

	bin := proctest.Build(t, "github.com/zoner-family/zoner/cloud/cmd/zoner-cloud")
	metricsAddr := proctest.FreeAddr(t)
	ingestArgs := append([]string{"ingest", "-kafka-brokers", s.kafka, "-topics", s.topicList(), "-http", metricsAddr,
		"-log-format", "json", "-ingest-group", "ingest-" + s.schema, "-warehouse-timeout", "10s", "-kafka-session-timeout", "8s"}, s.snowflakeFlags(snow.Addr())...)
	env := []string{"ZONER_SNOWFLAKE_PASSWORD=unused"} // fakesnow checks none
	ingest := proctest.Start(t, "ingest", bin, env, ingestArgs...)
	proctest.WaitHTTP(t, "http://"+metricsAddr+"/healthz")

	rec := NewMain()
	rec.Command, rec.Logger, rec.HTTPAddr = "recommender", testLogger(), ""
	rec.KafkaBrokers, rec.Topics, rec.RecommenderGroup = strings.Split(s.kafka, ","), strings.Split(s.topicList(), ","), "rec-"+s.schema
	rec.Warehouse, rec.Snowflake, rec.Cache, rec.RedisAddr, rec.RedisDB = "snowflake", s.snowflake(s.fakesnow), "redis", s.redis, 3
	rec.RefreshEvery = time.Second
	if err := rec.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })

	want := 0
	waitIngested := func(limit time.Duration) {
		t.Helper()
		wait.For(t, limit, "every event ingested", func() error {
			rows, ids, err := w.Stats(context.Background())
			if err != nil {
				return err
			}
			if rows != ids {
				t.Fatalf("RAW_EVENTS holds %d rows for %d ids: something was stored twice", rows, ids)
			}
			if ids != int64(want) {
				return fmt.Errorf("RAW_EVENTS holds %d of %d events", ids, want)
			}
			return nil
		})
	}

	// 1. A first lot, repeated: every event once.
	fams, es := families(6, 3)
	produce(t, sink, es)
	produce(t, sink, es[:50]) // the bridge may deliver twice
	want += len(es)
	waitIngested(2 * time.Minute)

	// 2. kill -9 of ingest in the middle of the second lot: as soon as it
	// has polled a batch of it, while it writes.
	url := "http://" + metricsAddr
	polled := metric(t, url, "zoner_cloud_ingest_records_total")
	_, es = families(10, 4)
	want += len(es)
	produce(t, sink, es)
	wait.For(t, time.Minute, "the second lot polled", func() error {
		if n := metric(t, url, "zoner_cloud_ingest_records_total"); n <= polled {
			return fmt.Errorf("ingest has not polled the second lot (%v records)", n)
		}
		return nil
	})
	ingest.Kill9()
	if n, _, _ := w.Stats(context.Background()); n == int64(want) {
		t.Log("ingest had written the whole second lot when it was killed (not committed: it comes again)")
	} else {
		t.Logf("killed with %d of %d events in the warehouse", n, want)
	}
	proctest.Start(t, "ingest-2", bin, env, ingestArgs...)
	proctest.WaitHTTP(t, "http://"+metricsAddr+"/healthz")
	waitIngested(2 * time.Minute)

	// 3. The warehouse unreachable for two minutes: ingest waits, its lag
	// grows, nothing is lost; it catches up when the warehouse is back.
	snow.Cut()
	_, es = families(4, 2)
	want += len(es)
	produce(t, sink, es)
	down := time.Now()
	wait.For(t, time.Minute, "ingest waiting for the warehouse", func() error {
		if v := metric(t, url, "zoner_cloud_ingest_waiting_for_warehouse"); v != 1 {
			return fmt.Errorf("ingest is not waiting for the warehouse (gauge %v, records %v, lag %v, warehouse errors %v)", v,
				metric(t, url, "zoner_cloud_ingest_records_total"), metric(t, url, "zoner_cloud_ingest_lag_records"),
				metric(t, url, "zoner_cloud_warehouse_errors_total"))
		}
		return nil
	})
	// The lag gauge is read on its own clock: stuck on the batch, ingest
	// still shows the lot as not committed.
	wait.For(t, 30*time.Second, "the lag shown", func() error {
		if v := metric(t, url, "zoner_cloud_ingest_lag_records"); v < float64(len(es)) {
			return fmt.Errorf("ingest's lag gauge says %v while %d events wait", v, len(es))
		}
		return nil
	})
	time.Sleep(time.Until(down.Add(2 * time.Minute)))
	if n, _, _ := w.Stats(context.Background()); n >= int64(want) {
		t.Fatalf("all events were stored while the warehouse was unreachable")
	}
	snow.Mend()
	waitIngested(3 * time.Minute)
	if v := metric(t, url, "zoner_cloud_ingest_waiting_for_warehouse"); v != 0 {
		t.Errorf("ingest still says it waits for the warehouse (%v)", v)
	}

	// 4. Every member of the first lot has a recommendation in Redis; a
	// flush is rebuilt by the recommender within a refresh or two.
	rdb := goredis.NewClient(&goredis.Options{Addr: s.redis, DB: 3})
	t.Cleanup(func() { rdb.Close() })
	keys := func() int {
		n := 0
		for _, f := range fams {
			for _, m := range f.Members {
				if rdb.Exists(context.Background(), cloud.RecommendationKey(f.ID, m)).Val() == 1 {
					n++
				}
			}
		}
		return n
	}
	all := len(fams) * len(fams[0].Members)
	wait.For(t, time.Minute, "a recommendation for every member", func() error {
		if n := keys(); n != all {
			return fmt.Errorf("%d of %d members have a recommendation in Redis", n, all)
		}
		return nil
	})
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if n := keys(); n == all {
		t.Fatal("FLUSHDB left the keys")
	}
	wait.For(t, time.Minute, "the recommendations back after a flush", func() error {
		if n := keys(); n != all {
			return fmt.Errorf("after a flush, %d of %d recommendations are back", n, all)
		}
		return nil
	})
}
