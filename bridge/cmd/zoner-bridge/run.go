package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/bridge/kafkasink"
	"github.com/zoner-family/zoner/bridge/natssource"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/cli"
	"github.com/zoner-family/zoner/internal/httpx"
)

// Main is the program; its exported fields are the configuration, so a
// test can run the real program in-process.
type Main struct {
	// Command is "serve", "creds", "callout" or "callout-keys".
	Command string

	// NATSConn, when set, is the connection to the cloud's NATS, made by
	// the caller (a program that runs the bridge beside its own server);
	// NATSURL and Embed are then unused, and Close leaves it open.
	NATSConn *nats.Conn
	// NATSURL is the cloud's NATS; unused with Embed.
	NATSURL      string
	NATSUser     string
	NATSPassword string
	// Embed runs the cloud's NATS server in this process, keeping its
	// files in EmbedDir and accepting hubs on LeafAddr.
	Embed    bool
	EmbedDir string
	LeafAddr string
	// LeafTLSCert and LeafTLSKey make the leaf port speak TLS.
	LeafTLSCert, LeafTLSKey string
	// NATSOperatorAddr, when set, is where the embedded server accepts
	// the operator, who may read the streams' and consumers' state (the
	// nats CLI); the password is written to EmbedDir.
	NATSOperatorAddr string
	// Secret derives each family's credentials (embedded server, creds).
	Secret []byte
	// Family is the family whose credentials creds prints.
	Family uuid.UUID
	// IssuerSeed is the account nkey seed that signs the callout's
	// answers (callout); IssuerSeedFile is where callout-keys writes a new
	// one.
	IssuerSeed     []byte
	IssuerSeedFile string

	Kafka    kafkasink.Config
	Consumer string
	// AckWait is how long an event fetched by a replica that died stays
	// out before it is handed to another (default 30 s).
	AckWait time.Duration
	// StreamReplicas is how many NATS servers keep each of the cloud's
	// streams (1; 3 on a production cluster).
	StreamReplicas int
	Workers        int
	Batch          int
	// Downlink serves the families' hubs their events (default on).
	Downlink bool
	// HTTPAddr serves /metrics, /healthz and /readyz; "" for none.
	HTTPAddr string
	Logger   *slog.Logger
	Stdout   io.Writer

	// LeafURL is where hubs link in, once Run has returned (Embed only).
	LeafURL string
	// NATSOperatorURL is where the operator connects and NATSOperatorFile
	// holds the operator's password, once Run has returned (with
	// NATSOperatorAddr).
	NATSOperatorURL, NATSOperatorFile string
	// MetricsURL is the HTTP server's base URL once Run has returned.
	MetricsURL string
	Metrics    *bridge.Metrics
	// CalloutMetrics are the callout's (callout only).
	CalloutMetrics *natsedge.CalloutMetrics

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	server   *natsedge.Server
	nc       *nats.Conn
	sink     *kafkasink.Sink
	downlink *natsedge.FetchServer
	callout  *natsedge.Callout
	httpSrv  *http.Server
}

// Serves reports whether Run started a server (the serve command).
func (m *Main) Serves() bool { return m.Command == "serve" || m.Command == "callout" }

// NewMain returns a Main with the defaults.
func NewMain() *Main {
	return &Main{Command: "serve", NATSUser: edge.ServiceUser, LeafAddr: "127.0.0.1:7422", Consumer: natssource.DefaultConsumer,
		Workers: 2, Batch: 1000, Downlink: true, HTTPAddr: "127.0.0.1:9464", Stdout: os.Stdout,
		Kafka: kafkasink.Config{Topics: bridge.DefaultTopics()}}
}

// ParseFlags reads the command line, with ZONER_* environment variables as
// fallbacks for every flag.
func (m *Main) ParseFlags(ctx context.Context, args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		m.Command, args = args[0], args[1:]
	}
	switch m.Command {
	case "serve", "creds", "callout-keys":
	case "callout":
		m.calloutDefaults()
	default:
		return fmt.Errorf("unknown command %q: use serve, creds, callout or callout-keys", m.Command)
	}
	fs := flag.NewFlagSet("zoner-bridge "+m.Command, flag.ContinueOnError)
	fs.StringVar(&m.NATSURL, "nats-url", cli.Env("ZONER_NATS_URL", "nats://127.0.0.1:4222"), "the cloud's NATS (env ZONER_NATS_URL)")
	fs.StringVar(&m.NATSUser, "nats-user", cli.Env("ZONER_NATS_USER", m.NATSUser), "NATS user of the cloud's services (env ZONER_NATS_USER)")
	natsPassFile := fs.String("nats-password-file", cli.Env("ZONER_NATS_PASSWORD_FILE", ""), "file holding the services' NATS password (env ZONER_NATS_PASSWORD_FILE, or the password in ZONER_NATS_PASSWORD)")
	fs.BoolVar(&m.Embed, "embed", cli.EnvBool("ZONER_EMBED_NATS", false), "run the cloud's NATS server in this process (one machine) (env ZONER_EMBED_NATS)")
	fs.StringVar(&m.EmbedDir, "embed-dir", cli.Env("ZONER_EMBED_DIR", "zoner-cloud-nats"), "where the embedded server keeps its streams (env ZONER_EMBED_DIR)")
	fs.StringVar(&m.LeafAddr, "leaf", cli.Env("ZONER_LEAF_ADDR", m.LeafAddr), "where the embedded server accepts hubs' leaf-node links (env ZONER_LEAF_ADDR)")
	fs.StringVar(&m.LeafTLSCert, "leaf-tls-cert", cli.Env("ZONER_LEAF_TLS_CERT", ""), "PEM certificate: hubs link over TLS (env ZONER_LEAF_TLS_CERT)")
	fs.StringVar(&m.NATSOperatorAddr, "nats-operator", cli.Env("ZONER_NATS_OPERATOR_ADDR", ""), "with -embed: where the embedded server accepts the operator, who may read its streams' and consumers' state with the nats CLI, such as 127.0.0.1:4223 (no host: loopback); the password is written to the -embed-dir as "+natsedge.OperatorPasswordFile+"; empty for none (env ZONER_NATS_OPERATOR_ADDR)")
	fs.StringVar(&m.LeafTLSKey, "leaf-tls-key", cli.Env("ZONER_LEAF_TLS_KEY", ""), "PEM key for -leaf-tls-cert (env ZONER_LEAF_TLS_KEY)")
	secretFile := fs.String("secret-file", cli.Env("ZONER_CLOUD_SECRET_FILE", ""), "file holding the secret that derives the families' credentials (env ZONER_CLOUD_SECRET_FILE, or the secret in ZONER_CLOUD_SECRET)")
	family := fs.String("family", "", "creds: the family id")
	seedFile := fs.String("issuer-seed-file", cli.Env("ZONER_CALLOUT_ISSUER_SEED_FILE", ""), "callout: file holding the account seed that signs its answers (env ZONER_CALLOUT_ISSUER_SEED_FILE, or the seed in ZONER_CALLOUT_ISSUER_SEED); callout-keys: where to write a new one")
	brokers := fs.String("kafka-brokers", cli.Env("ZONER_KAFKA_BROKERS", ""), "Kafka bootstrap brokers, comma-separated (env ZONER_KAFKA_BROKERS)")
	fs.StringVar(&m.Kafka.Topics.Sleep, "topic-sleep", cli.Env("ZONER_TOPIC_SLEEP", m.Kafka.Topics.Sleep), "topic for sleep and naps (env ZONER_TOPIC_SLEEP)")
	fs.StringVar(&m.Kafka.Topics.Meal, "topic-meal", cli.Env("ZONER_TOPIC_MEAL", m.Kafka.Topics.Meal), "topic for meals (env ZONER_TOPIC_MEAL)")
	fs.StringVar(&m.Kafka.Topics.Light, "topic-light", cli.Env("ZONER_TOPIC_LIGHT", m.Kafka.Topics.Light), "topic for light exposure (env ZONER_TOPIC_LIGHT)")
	fs.StringVar(&m.Kafka.Topics.Trip, "topic-trip", cli.Env("ZONER_TOPIC_TRIP", m.Kafka.Topics.Trip), "topic for every other event: family, members, trips, flights (env ZONER_TOPIC_TRIP)")
	partitions := fs.Int("partitions", cli.EnvInt("ZONER_TOPIC_PARTITIONS", 6), "partitions of a topic the bridge creates (env ZONER_TOPIC_PARTITIONS)")
	replication := fs.Int("replication", cli.EnvInt("ZONER_TOPIC_REPLICATION", 1), "replication of a topic the bridge creates; -1 for the broker's default (env ZONER_TOPIC_REPLICATION)")
	fs.StringVar(&m.Consumer, "consumer", cli.Env("ZONER_BRIDGE_CONSUMER", m.Consumer), "the durable consumer every replica shares (env ZONER_BRIDGE_CONSUMER)")
	fs.IntVar(&m.StreamReplicas, "stream-replicas", cli.EnvInt("ZONER_STREAM_REPLICAS", 1), "servers that keep each of the cloud's streams, made or updated at start; 3 on a production cluster, so that losing a server loses no event (env ZONER_STREAM_REPLICAS)")
	fs.DurationVar(&m.AckWait, "ack-wait", cli.EnvDuration("ZONER_BRIDGE_ACK_WAIT", 30*time.Second), "how long an event fetched by a replica that died stays out before another gets it (env ZONER_BRIDGE_ACK_WAIT)")
	fs.IntVar(&m.Workers, "workers", cli.EnvInt("ZONER_BRIDGE_WORKERS", m.Workers), "batches in flight at once (env ZONER_BRIDGE_WORKERS)")
	fs.IntVar(&m.Batch, "batch", cli.EnvInt("ZONER_BRIDGE_BATCH", m.Batch), "most events in one batch (env ZONER_BRIDGE_BATCH)")
	fs.BoolVar(&m.Downlink, "downlink", cli.EnvBool("ZONER_DOWNLINK", true), "serve the families' hubs their events (env ZONER_DOWNLINK)")
	fs.StringVar(&m.HTTPAddr, "http", cli.Env("ZONER_HTTP", m.HTTPAddr), "address for /metrics, /healthz and /readyz; empty for none (env ZONER_HTTP)")
	logFormat := fs.String("log-format", cli.Env("ZONER_LOG_FORMAT", "auto"), "log format: text, json or auto (env ZONER_LOG_FORMAT)")
	logLevel := fs.String("log-level", cli.Env("ZONER_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env ZONER_LOG_LEVEL)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	var err error
	if m.NATSPassword, err = cli.Secret(*natsPassFile, "ZONER_NATS_PASSWORD"); err != nil {
		return err
	}
	s, err := cli.Secret(*secretFile, "ZONER_CLOUD_SECRET")
	if err != nil {
		return err
	}
	m.Secret = []byte(s)
	if *brokers != "" {
		m.Kafka.Brokers = strings.Split(*brokers, ",")
	}
	m.Kafka.Partitions, m.Kafka.Replication = int32(*partitions), int16(*replication)
	if m.Command == "creds" {
		if m.Family, err = uuid.Parse(*family); err != nil {
			return fmt.Errorf("-family: a family id is needed: %w", err)
		}
	}
	if err := m.calloutFlags(*seedFile); err != nil {
		return err
	}
	if m.Logger == nil {
		if m.Logger, err = cli.NewLogger(*logFormat, *logLevel); err != nil {
			return err
		}
	}
	return nil
}

// Run starts the bridge (for creds, prints and returns). It returns once
// forwarding has started; Close drains and stops it.
func (m *Main) Run(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	if m.Command == "creds" {
		if len(m.Secret) < 16 {
			return errors.New("creds: the cloud's secret (-secret-file or ZONER_CLOUD_SECRET, at least 16 bytes) is needed")
		}
		b, _ := json.MarshalIndent(struct {
			FamilyID uuid.UUID `json:"family_id"`
			Secret   string    `json:"secret"`
		}{m.Family, edge.FamilySecret(m.Secret, m.Family)}, "", "  ")
		fmt.Fprintf(m.Stdout, "%s\n", b)
		return nil
	}
	switch m.Command {
	case "callout-keys":
		return m.writeCalloutKeys()
	case "callout":
		return m.runCallout(ctx)
	}
	if len(m.Kafka.Brokers) == 0 {
		return errors.New("no Kafka brokers: set -kafka-brokers or ZONER_KAFKA_BROKERS")
	}
	startCtx := ctx
	ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := m.connect(startCtx); err != nil {
		return err
	}
	var err error
	if m.sink, err = kafkasink.New(startCtx, m.Kafka, m.Logger); err != nil {
		return err
	}
	if err := m.sink.EnsureTopics(startCtx); err != nil {
		return err
	}
	source, err := natssource.OpenSource(startCtx, m.nc, natssource.SourceConfig{Consumer: m.Consumer, AckWait: m.AckWait, Replicas: m.StreamReplicas})
	if err != nil {
		return err
	}
	if m.Downlink {
		if m.downlink, err = natsedge.ServeFetches(startCtx, m.nc, m.Logger); err != nil {
			return err
		}
	}
	if m.Metrics == nil {
		m.Metrics = bridge.NewMetrics()
	}
	ready := func(context.Context) error {
		if m.nc == nil || !m.nc.IsConnected() {
			return errors.New("not connected to NATS")
		}
		return nil
	}
	if err := m.serveHTTP(m.Metrics.WritePrometheus, ready); err != nil {
		return err
	}
	f := &bridge.Forwarder{Source: source, Sink: m.sink, Dead: source, Metrics: m.Metrics, Logger: m.Logger, Workers: m.Workers, Batch: m.Batch}
	m.goRun(func() { f.Run(ctx) })
	m.goRun(func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			if lag, err := source.Lag(ctx); err == nil {
				m.Metrics.Lag(lag)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	m.Logger.Info("bridge forwarding", "nats", m.natsName(), "kafka", m.Kafka.Brokers, "topics", m.Kafka.Topics.All(), "workers", m.Workers, "batch", m.Batch, "leaf", m.LeafURL)
	return nil
}

func (m *Main) natsName() string {
	if m.Embed {
		return "embedded"
	}
	return m.NATSURL
}

// connect reaches the cloud's NATS, starting it first with Embed.
func (m *Main) connect(ctx context.Context) error {
	if m.NATSConn != nil {
		m.nc = m.NATSConn
		return natsedge.EnsureIngest(ctx, m.nc, 0, m.StreamReplicas)
	}
	if !m.Embed && m.NATSOperatorAddr != "" {
		return errors.New("-nats-operator opens the embedded server to the operator: it needs -embed")
	}
	if !m.Embed {
		nc, err := nats.Connect(m.NATSURL, nats.Name("zoner-bridge"), nats.UserInfo(m.NATSUser, m.NATSPassword),
			nats.MaxReconnects(-1), nats.ReconnectWait(time.Second), nats.RetryOnFailedConnect(true),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { m.Logger.Warn("nats disconnected", "err", err) }),
			nats.ReconnectHandler(func(*nats.Conn) { m.Logger.Info("nats reconnected") }))
		if err != nil {
			return fmt.Errorf("connect to %s: %w", m.NATSURL, err)
		}
		m.nc = nc
		return natsedge.EnsureIngest(ctx, nc, 0, m.StreamReplicas)
	}
	host, portStr, err := net.SplitHostPort(m.LeafAddr)
	if err != nil {
		return fmt.Errorf("-leaf %q: %w", m.LeafAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("-leaf %q: the port is not a number", m.LeafAddr)
	}
	var leafTLS *tls.Config
	if m.LeafTLSCert != "" || m.LeafTLSKey != "" {
		cert, err := tls.LoadX509KeyPair(m.LeafTLSCert, m.LeafTLSKey)
		if err != nil {
			return fmt.Errorf("load the leaf TLS certificate and key: %w", err)
		}
		leafTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if len(m.Secret) < 16 {
		return errors.New("-embed needs the cloud's secret, which derives the families' credentials: -secret-file or ZONER_CLOUD_SECRET, at least 16 bytes")
	}
	if m.NATSPassword == "" {
		m.NATSPassword = rand.Text() // only this process connects
	}
	m.server, err = natsedge.Start(ctx, natsedge.ServerConfig{
		StoreDir: m.EmbedDir, Port: -1, LeafHost: host, LeafPort: port, LeafTLS: leafTLS,
		Secret: m.Secret, ServicePassword: m.NATSPassword, OperatorAddr: m.NATSOperatorAddr,
	}, m.Logger)
	if err != nil {
		return err
	}
	m.LeafURL = m.server.LeafURL()
	if m.NATSOperatorURL, m.NATSOperatorFile = m.server.OperatorURL(), m.server.OperatorFile(); m.NATSOperatorURL != "" {
		m.Logger.Info("the cloud's NATS accepts the operator", "url", m.NATSOperatorURL, "user", natsedge.OperatorUser, "password_file", m.NATSOperatorFile)
	}
	m.nc, err = m.server.Connect("zoner-bridge")
	return err
}

// serveHTTP serves /metrics from metrics, /healthz, and /readyz from
// ready on HTTPAddr.
func (m *Main) serveHTTP(metrics func(io.Writer), ready func(context.Context) error) error {
	if m.HTTPAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.HTTPAddr, err)
	}
	m.MetricsURL = "http://" + ln.Addr().String()
	mux := httpx.OpsMux(metrics, ready, m.Logger)
	m.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.goRun(func() {
		if err := m.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server", "err", err)
		}
	})
	return nil
}

func (m *Main) goRun(f func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// Close drains: the forwarder finishes the batches in flight, then the
// producer flushes, then the connections close.
func (m *Main) Close() error {
	if m.cancel != nil {
		m.cancel()
	}
	if m.httpSrv != nil {
		m.httpSrv.Close()
	}
	m.wg.Wait()
	if m.downlink != nil {
		m.downlink.Close()
	}
	if m.sink != nil {
		m.sink.Close()
	}
	if m.nc != nil {
		m.nc.FlushTimeout(2 * time.Second) // the last acks
		if m.nc != m.NATSConn {
			m.nc.Close()
		}
	}
	if m.server != nil {
		m.server.Close()
	}
	return nil
}
