package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/bridge"
	bkafka "github.com/zoner-family/zoner/bridge/kafkasink"
	"github.com/zoner-family/zoner/bridge/natssource"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/cloud"
	chttp "github.com/zoner-family/zoner/cloud/http"
	ckafka "github.com/zoner-family/zoner/cloud/kafka"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/cloud/natspub"
	"github.com/zoner-family/zoner/cloud/redis"
	"github.com/zoner-family/zoner/cloud/warehouse/snowflake"
	"github.com/zoner-family/zoner/cloud/warehouse/sqlite"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

func (m *Main) openWarehouse(ctx context.Context) (cloud.Warehouse, error) {
	switch m.Warehouse {
	case "sqlite":
		path := m.SQLitePath
		if path == "" {
			if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
				return nil, fmt.Errorf("make %s: %w", m.DataDir, err)
			}
			path = filepath.Join(m.DataDir, "warehouse.db")
		}
		return sqlite.Open(ctx, path, m.Logger)
	case "snowflake":
		if m.Snowflake.LoginTimeout == 0 {
			// Ingest retries on its own; the driver's 300 s of login
			// retries would only hide an outage.
			m.Snowflake.LoginTimeout = time.Minute
		}
		m.Logger.Info("opening the Snowflake warehouse", "config", m.Snowflake)
		return snowflake.Open(ctx, m.Snowflake, m.Logger)
	}
	return nil, fmt.Errorf("-warehouse %q: use sqlite or snowflake", m.Warehouse)
}

func (m *Main) openCache(ctx context.Context) (cloud.Cache, error) {
	switch m.Cache {
	case "memory":
		return memcache.New(memcache.Config{MaxEntries: 1 << 20}), nil
	case "redis":
		if m.RedisAddr == "" {
			return nil, errors.New("-cache redis needs -redis-addr (or ZONER_REDIS_ADDR)")
		}
		cfg := redis.Config{Addr: m.RedisAddr, Password: m.RedisPassword, DB: m.RedisDB}
		if m.RedisTLS {
			cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		return redis.New(ctx, cfg, m.Logger)
	}
	return nil, fmt.Errorf("-cache %q: use memory or redis", m.Cache)
}

func (m *Main) kafkaConfig(group string) ckafka.Config {
	return ckafka.Config{Brokers: m.KafkaBrokers, Group: group, Topics: m.Topics, ClientID: "zoner-cloud-" + m.Command,
		DeadLetterTopic: m.DeadLetterTopic, Partitions: m.Partitions, Replication: m.Replication, SessionTimeout: m.SessionTimeout}
}

// connectNATS reaches the cloud's NATS for sending events down; nil when
// none is configured.
func (m *Main) connectNATS() (*nats.Conn, error) {
	if m.NATSConn != nil {
		return m.NATSConn, nil
	}
	if m.NATSURL == "" {
		return nil, nil
	}
	nc, err := nats.Connect(m.NATSURL, nats.Name("zoner-cloud-"+m.Command), nats.UserInfo(m.NATSUser, m.NATSPassword),
		nats.MaxReconnects(-1), nats.ReconnectWait(time.Second), nats.RetryOnFailedConnect(true))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", m.NATSURL, err)
	}
	m.onClose(nc.Close)
	return nc, nil
}

func (m *Main) downlink(nc *nats.Conn) (cloud.Downlink, error) {
	if nc == nil {
		return nil, nil
	}
	d, err := natspub.New(nc, syncproto.CloudDomain)
	if err != nil {
		return nil, err
	}
	m.live = natspub.NewNotices(nc)
	return d, nil
}

// startIngest runs the ingest consumer group.
func (m *Main) startIngest(startCtx, ctx context.Context, w cloud.Warehouse) error {
	cfg := m.kafkaConfig(m.IngestGroup)
	c, err := ckafka.NewConsumer(startCtx, cfg, m.Logger)
	if err != nil {
		return err
	}
	m.onClose(c.Close)
	dead, err := ckafka.NewDeadLetters(startCtx, cfg, m.Logger)
	if err != nil {
		return err
	}
	m.onClose(dead.Close)
	in := &cloud.Ingest{Consumer: c, Dead: dead, Store: &cloud.Store{W: w, Now: time.Now, Logger: m.Logger},
		Logger: m.Logger, Metrics: m.Metrics, WriteTimeout: m.WarehouseTimeout}
	m.goRun("ingest", func() error { return in.Run(ctx) })
	m.watchLag(ctx, "ingest lag", c.Lag, m.Metrics.SetLag)
	return nil
}

// watchLag reads a consumer group's lag every 5 s into a gauge, on its own
// clock: a consumer stuck on a batch (the warehouse down) still shows its
// lag growing.
func (m *Main) watchLag(ctx context.Context, name string, lag func(context.Context) (int64, error), set func(int64)) {
	m.goRun(name, func() error {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			if n, err := lag(ctx); err == nil {
				set(n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
}

// startRecommender runs the recommender consumer group.
func (m *Main) startRecommender(startCtx, ctx context.Context, r *cloud.Recommender) error {
	c, err := ckafka.NewConsumer(startCtx, m.kafkaConfig(m.RecommenderGroup), m.Logger)
	if err != nil {
		return err
	}
	m.onClose(c.Close)
	if err := m.startNotifier(ctx, r); err != nil {
		return err
	}
	m.goRun("recommender", func() error { return r.Run(ctx, c) })
	m.watchLag(ctx, "recommender lag", c.Lag, m.Metrics.SetRecommenderLag)
	return nil
}

func (m *Main) recommender(w cloud.Warehouse, c cloud.Cache, down cloud.Downlink) *cloud.Recommender {
	r := &cloud.Recommender{Planner: &circadian.Planner{}, Warehouse: w, Cache: c, Down: down, Now: m.Now,
		Logger: m.Logger, Metrics: m.Metrics, TTL: m.RecommendTTL, Refresh: m.RefreshEvery}
	if m.live != nil {
		r.Notify = m.live
	}
	return r
}

// startAPI serves the API.
func (m *Main) startAPI(ctx context.Context, svc *cloud.Service) error {
	if len(m.TokenSecret) == 0 {
		return errors.New("api: the token signing secret is needed: -token-secret-file or ZONER_TOKEN_SECRET")
	}
	if len(m.WebhookSecret) == 0 {
		return errors.New("api: the webhook secret is needed: -webhook-secret-file or ZONER_WEBHOOK_SECRET")
	}
	if m.live != nil {
		svc.Notices = m.live
		m.wg.Go(func() {
			<-ctx.Done()
			m.live.Close() // the live streams end, so the server can shut down
		})
	}
	srv, err := chttp.New(chttp.Config{Backend: m.apiBackend(svc), Secret: m.TokenSecret, WebhookSecret: m.WebhookSecret,
		Logger: m.Logger, Metrics: m.Metrics.Set(), RatePerSecond: m.RatePerSecond, Burst: m.Burst,
		TrustedProxies: m.TrustedProxies, Sessions: m.sessions})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", m.APIAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.APIAddr, err)
	}
	scheme := "http"
	if m.TLSCert != "" {
		scheme = "https"
	}
	m.APIURL = scheme + "://" + ln.Addr().String()
	if err := m.serveSignIns(); err != nil {
		ln.Close()
		return err
	}
	if err := m.servePriors(svc.Warehouse); err != nil {
		ln.Close()
		return err
	}
	m.goRun("api", func() error { return srv.Serve(ctx, ln, m.TLSCert, m.TLSKey) })
	return nil
}

// serveHTTP serves /metrics, /healthz and /readyz (ingest, recommender).
func (m *Main) serveHTTP(ctx context.Context, ready func(context.Context) error) error {
	if m.HTTPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.HTTPAddr, err)
	}
	m.MetricsURL = "http://" + ln.Addr().String()
	mux := httpx.OpsMux(func(w io.Writer) {
		m.Metrics.WritePrometheus(w)
		if m.BridgeMetrics != nil {
			m.BridgeMetrics.WriteSet(w)
		}
	}, ready, m.Logger)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.wg.Go(func() {
		<-ctx.Done()
		srv.Close()
	})
	m.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server", "err", err)
		}
	})
	return nil
}

func (m *Main) runIngest(startCtx, ctx context.Context) error {
	if len(m.KafkaBrokers) == 0 {
		return errors.New("ingest: no Kafka brokers: set -kafka-brokers or ZONER_KAFKA_BROKERS")
	}
	w, err := m.openWarehouse(startCtx)
	if err != nil {
		return err
	}
	m.onClose(func() { w.Close() })
	if err := m.startIngest(startCtx, ctx, w); err != nil {
		return err
	}
	m.Logger.Info("ingest running", "kafka", m.KafkaBrokers, "group", m.IngestGroup, "warehouse", m.Warehouse)
	return m.serveHTTP(ctx, w.Ping)
}

func (m *Main) runRecommender(startCtx, ctx context.Context) error {
	if len(m.KafkaBrokers) == 0 {
		return errors.New("recommender: no Kafka brokers: set -kafka-brokers or ZONER_KAFKA_BROKERS")
	}
	w, c, down, err := m.openShared(startCtx)
	if err != nil {
		return err
	}
	if err := m.startRecommender(startCtx, ctx, m.recommender(w, c, down)); err != nil {
		return err
	}
	m.Logger.Info("recommender running", "kafka", m.KafkaBrokers, "group", m.RecommenderGroup, "cache", m.Cache, "downlink", down != nil)
	return m.serveHTTP(ctx, func(ctx context.Context) error {
		if err := w.Ping(ctx); err != nil {
			return err
		}
		return c.Ping(ctx)
	})
}

func (m *Main) runAPI(startCtx, ctx context.Context) error {
	w, c, down, err := m.openShared(startCtx)
	if err != nil {
		return err
	}
	svc := cloud.NewService(m.recommender(w, c, down), down)
	if err := m.startAPI(ctx, svc); err != nil {
		return err
	}
	m.Logger.Info("api serving", "url", m.APIURL, "warehouse", m.Warehouse, "cache", m.Cache, "flight_status", down != nil)
	return nil
}

// openShared opens the warehouse, the cache and the downlink.
func (m *Main) openShared(ctx context.Context) (cloud.Warehouse, cloud.Cache, cloud.Downlink, error) {
	w, err := m.openWarehouse(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	m.onClose(func() { w.Close() })
	c, err := m.openCache(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	m.onClose(func() { c.Close() })
	m.sessions = m.sessionStore(c)
	if err := m.openPush(c); err != nil {
		return nil, nil, nil, err
	}
	nc, err := m.connectNATS()
	if err != nil {
		return nil, nil, nil, err
	}
	m.nc = nc
	down, err := m.downlink(nc)
	if err != nil {
		return nil, nil, nil, err
	}
	return w, c, down, nil
}

// runAll runs the whole cloud in this process: the cloud's NATS (hubs link
// to LeafAddr), the bridge into Kafka (kfake unless brokers are given),
// ingest, the recommender and the API.
func (m *Main) runAll(startCtx, ctx context.Context) error {
	for _, s := range []struct {
		dst  *[]byte
		name string
	}{{&m.Secret, "cloud-secret"}, {&m.TokenSecret, "token-secret"}, {&m.WebhookSecret, "webhook-secret"}} {
		if err := m.secret(s.dst, s.name); err != nil {
			return err
		}
	}
	fake := len(m.KafkaBrokers) == 0
	if fake {
		brokers, stop, err := ckafka.StartFake(startCtx, m.Partitions, m.Logger)
		if err != nil {
			return err
		}
		m.onClose(stop)
		m.KafkaBrokers = brokers
		m.Logger.Warn("Kafka is kfake, in memory: for one machine and development only")
	}
	host, portStr, err := net.SplitHostPort(m.LeafAddr)
	if err != nil {
		return fmt.Errorf("-leaf %q: %w", m.LeafAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("-leaf %q: the port is not a number", m.LeafAddr)
	}
	if m.NATSPassword == "" {
		m.NATSPassword = rand.Text() // only this process connects as the service
	}
	cl, err := natsedge.Start(startCtx, natsedge.ServerConfig{StoreDir: filepath.Join(m.DataDir, "nats"), Port: -1,
		LeafHost: host, LeafPort: port, Secret: m.Secret, ServicePassword: m.NATSPassword,
		OperatorAddr: m.NATSOperatorAddr, OperatorFile: filepath.Join(m.DataDir, natsedge.OperatorPasswordFile)}, m.Logger)
	if err != nil {
		return err
	}
	m.onClose(func() { cl.Close() })
	m.LeafURL = cl.LeafURL()
	if m.NATSOperatorURL, m.NATSOperatorFile = cl.OperatorURL(), cl.OperatorFile(); m.NATSOperatorURL != "" {
		m.Logger.Info("the cloud's NATS accepts the operator", "url", m.NATSOperatorURL, "user", natsedge.OperatorUser, "password_file", m.NATSOperatorFile)
	}
	nc, err := cl.Connect("zoner-cloud")
	if err != nil {
		return err
	}
	m.onClose(nc.Close)
	m.NATSConn = nc
	if fake {
		// kfake forgets everything on a restart, events the bridge had
		// forwarded but ingest had not yet stored included. The ingest
		// stream still holds them: forward it all again (the warehouse
		// keeps each event once).
		if err := resetBridge(startCtx, nc); err != nil {
			return err
		}
	}
	if err := m.startBridge(startCtx, ctx, nc); err != nil {
		return err
	}
	w, c, down, err := m.openShared(startCtx)
	if err != nil {
		return err
	}
	if err := m.startIngest(startCtx, ctx, w); err != nil {
		return err
	}
	r := m.recommender(w, c, down)
	if err := m.startRecommender(startCtx, ctx, r); err != nil {
		return err
	}
	if err := m.startAPI(ctx, cloud.NewService(r, down)); err != nil {
		return err
	}
	if err := m.serveHTTP(ctx, func(ctx context.Context) error {
		if !nc.IsConnected() {
			return errors.New("not connected to NATS")
		}
		return w.Ping(ctx)
	}); err != nil {
		return err
	}
	m.Logger.Info("zoner-cloud all running", "leaf", m.LeafURL, "api", m.APIURL, "metrics", m.MetricsURL,
		"kafka", m.KafkaBrokers, "warehouse", m.Warehouse, "data", m.DataDir)
	return nil
}

// startBridge forwards the ingest stream into Kafka and serves the hubs'
// downlink, as zoner-bridge does.
func (m *Main) startBridge(startCtx, ctx context.Context, nc *nats.Conn) error {
	sink, err := bkafka.New(startCtx, bkafka.Config{Brokers: m.KafkaBrokers, Topics: bridge.DefaultTopics(),
		Partitions: m.Partitions, Replication: m.Replication, ClientID: "zoner-cloud-bridge"}, m.Logger)
	if err != nil {
		return err
	}
	m.onClose(sink.Close)
	if err := sink.EnsureTopics(startCtx); err != nil {
		return err
	}
	source, err := natssource.OpenSource(startCtx, nc, natssource.SourceConfig{Consumer: natssource.DefaultConsumer})
	if err != nil {
		return err
	}
	dl, err := natsedge.ServeFetches(startCtx, nc, m.Logger)
	if err != nil {
		return err
	}
	m.onClose(dl.Close)
	if m.BridgeMetrics == nil {
		m.BridgeMetrics = bridge.NewMetrics()
	}
	f := &bridge.Forwarder{Source: source, Sink: sink, Dead: source, Metrics: m.BridgeMetrics, Logger: m.Logger,
		Workers: 2, Batch: 1000}
	m.goRun("bridge", func() error { f.Run(ctx); return nil })
	return nil
}

// resetBridge deletes the bridge's durable consumer, so that the next one
// starts at the beginning of the ingest stream.
func resetBridge(ctx context.Context, nc *nats.Conn) error {
	js, err := jetstream.NewWithDomain(nc, syncproto.CloudDomain)
	if err != nil {
		return err
	}
	if err := js.DeleteConsumer(ctx, syncproto.IngestStream, natssource.DefaultConsumer); err != nil &&
		!errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("reset the bridge's consumer: %w", err)
	}
	return nil
}
