package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/cloud"
	chttp "github.com/zoner-family/zoner/cloud/http"
	"github.com/zoner-family/zoner/cloud/natspub"
	"github.com/zoner-family/zoner/cloud/warehouse/snowflake"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/cli"
)

// Main is the program; its exported fields are the configuration, so a
// test can run the real program in-process.
type Main struct {
	// Command is all, ingest, recommender, api, analytics, token, creds or
	// migrate.
	Command string

	// DataDir holds, for all, the embedded NATS streams, the SQLite
	// warehouse and the secrets made on first start.
	DataDir string

	// Warehouse is "sqlite" or "snowflake".
	Warehouse  string
	SQLitePath string
	Snowflake  snowflake.Config
	// Admin makes migrate, on Snowflake, also set up least privilege as
	// the warehouse's administrator (snowflake.Administer).
	Admin bool

	// Cache is "memory" or "redis".
	Cache         string
	RedisAddr     string
	RedisPassword string
	RedisTLS      bool
	RedisDB       int

	// KafkaBrokers are the brokers; empty with all runs kfake in-process
	// (dev only).
	KafkaBrokers []string
	// Topics are the event topics consumed (default the bridge's four).
	Topics           []string
	IngestGroup      string
	RecommenderGroup string
	DeadLetterTopic  string
	// SessionTimeout is how long the group waits for a member it no
	// longer hears from (a killed replica) before giving its partitions
	// to others.
	SessionTimeout time.Duration
	Partitions     int32
	Replication    int16

	// NATSURL reaches the cloud's NATS (recommender and api send events
	// down through it); empty for none. NATSConn, when set, is used
	// instead and left open by Close.
	NATSURL      string
	NATSUser     string
	NATSPassword string
	NATSConn     *nats.Conn
	// LeafAddr is where all's embedded NATS accepts hubs.
	LeafAddr string
	// NATSOperatorAddr, when set, is where all's embedded NATS accepts the
	// operator, who may read the streams' and consumers' state (the nats
	// CLI); the operator's password is written to DATA.
	NATSOperatorAddr string

	// Secret derives families' hub credentials (all, creds);
	// TokenSecret signs API tokens; WebhookSecret authenticates the
	// flight-status webhooks.
	Secret, TokenSecret, WebhookSecret []byte

	// APIAddr is where the API listens; TLSCert and TLSKey make it HTTPS.
	APIAddr         string
	TLSCert, TLSKey string
	RatePerSecond   float64
	Burst           int
	// TrustedProxies are the networks of the proxies in front of the API,
	// whose X-Forwarded-For is believed for per-address limits.
	TrustedProxies []netip.Prefix
	// PublicURL is where browsers reach the API and the web UI, for the
	// sign-in links hubs ask for; "" means the API's own address.
	PublicURL    string
	RecommendTTL time.Duration
	// WarehouseTimeout bounds one warehouse write of ingest.
	WarehouseTimeout time.Duration
	RefreshEvery     time.Duration
	// Push configures Web Push reminders.
	Push PushConfig
	// HTTPAddr serves /metrics, /healthz and /readyz for ingest and the
	// recommender ("" for none).
	HTTPAddr string

	// Token fields: the claims of the token command, and its lifetime.
	TokenFamily  uuid.UUID
	TokenMember  uuid.UUID
	TokenRole    string
	TokenSubject string
	TokenTTL     time.Duration
	// Family is the family whose credentials creds prints.
	Family uuid.UUID

	Logger *slog.Logger
	Stdout io.Writer

	// Set once Run has returned: where things listen, and the file that
	// holds the operator's NATS password.
	APIURL, MetricsURL, LeafURL       string
	NATSOperatorURL, NATSOperatorFile string
	Metrics                           *cloud.Metrics
	BridgeMetrics                     *bridge.Metrics
	// Now is the recommender's clock (default time.Now).
	Now func() time.Time

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	live    *natspub.Notices // the API's live streams and the recommender's notices; nil without NATS
	closers []func()
	// sessions and nc are the API's session store and NATS connection,
	// once openShared has opened them.
	sessions cloud.SessionStore
	nc       *nats.Conn
}

// NewMain returns a Main with the defaults.
func NewMain() *Main {
	return &Main{Command: "all", DataDir: "zoner-cloud-data", Warehouse: "sqlite", Cache: "memory",
		IngestGroup: "zoner-ingest", RecommenderGroup: "zoner-recommender", DeadLetterTopic: "dead_letters",
		Partitions: 6, Replication: 1, NATSUser: edge.ServiceUser, LeafAddr: "127.0.0.1:7422",
		APIAddr: "127.0.0.1:8480", HTTPAddr: "127.0.0.1:9465", TokenTTL: 24 * time.Hour, Stdout: os.Stdout}
}

var commands = []string{"all", "ingest", "recommender", "api", "analytics", "token", "creds", "migrate"}

// Serves reports whether Run started servers that run until a signal.
func (m *Main) Serves() bool {
	switch m.Command {
	case "all", "ingest", "recommender", "api":
		return true
	}
	return false
}

// ParseFlags reads the command line, with ZONER_* environment variables as
// fallbacks for every flag.
func (m *Main) ParseFlags(ctx context.Context, args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		m.Command, args = args[0], args[1:]
	}
	known := false
	for _, c := range commands {
		known = known || c == m.Command
	}
	if !known {
		return fmt.Errorf("unknown command %q: use one of %s", m.Command, strings.Join(commands, ", "))
	}
	fs := flag.NewFlagSet("zoner-cloud "+m.Command, flag.ContinueOnError)
	fs.StringVar(&m.DataDir, "data", cli.Env("ZONER_CLOUD_DATA", m.DataDir), "all: directory for the embedded NATS streams, the SQLite warehouse and generated secrets (env ZONER_CLOUD_DATA)")
	fs.StringVar(&m.Warehouse, "warehouse", cli.Env("ZONER_WAREHOUSE", m.Warehouse), "warehouse: sqlite or snowflake (env ZONER_WAREHOUSE)")
	fs.StringVar(&m.SQLitePath, "sqlite", cli.Env("ZONER_WAREHOUSE_SQLITE", ""), "SQLite warehouse file (default DATA/warehouse.db) (env ZONER_WAREHOUSE_SQLITE)")
	sfc := &m.Snowflake
	fs.StringVar(&sfc.Account, "snowflake-account", cli.Env("ZONER_SNOWFLAKE_ACCOUNT", ""), "Snowflake account identifier (env ZONER_SNOWFLAKE_ACCOUNT)")
	fs.StringVar(&sfc.User, "snowflake-user", cli.Env("ZONER_SNOWFLAKE_USER", ""), "Snowflake user (env ZONER_SNOWFLAKE_USER)")
	sfPassFile := fs.String("snowflake-password-file", cli.Env("ZONER_SNOWFLAKE_PASSWORD_FILE", ""), "file holding the Snowflake password (env ZONER_SNOWFLAKE_PASSWORD_FILE, or the password in ZONER_SNOWFLAKE_PASSWORD)")
	fs.StringVar(&sfc.PrivateKeyPath, "snowflake-private-key-file", cli.Env("ZONER_SNOWFLAKE_PRIVATE_KEY_FILE", ""), "PKCS#8 PEM key for key-pair authentication, instead of the password (env ZONER_SNOWFLAKE_PRIVATE_KEY_FILE)")
	fs.StringVar(&sfc.Database, "snowflake-database", cli.Env("ZONER_SNOWFLAKE_DATABASE", "ZONER"), "Snowflake database (env ZONER_SNOWFLAKE_DATABASE)")
	fs.StringVar(&sfc.Schema, "snowflake-schema", cli.Env("ZONER_SNOWFLAKE_SCHEMA", "PUBLIC"), "Snowflake schema (env ZONER_SNOWFLAKE_SCHEMA)")
	fs.StringVar(&sfc.Warehouse, "snowflake-warehouse", cli.Env("ZONER_SNOWFLAKE_WAREHOUSE", ""), "Snowflake virtual warehouse (env ZONER_SNOWFLAKE_WAREHOUSE)")
	fs.StringVar(&sfc.Role, "snowflake-role", cli.Env("ZONER_SNOWFLAKE_ROLE", ""), "Snowflake role (env ZONER_SNOWFLAKE_ROLE)")
	fs.StringVar(&sfc.Host, "snowflake-host", cli.Env("ZONER_SNOWFLAKE_HOST", ""), "Snowflake host, to override the account's (env ZONER_SNOWFLAKE_HOST)")
	fs.IntVar(&sfc.Port, "snowflake-port", cli.EnvInt("ZONER_SNOWFLAKE_PORT", 0), "Snowflake port (env ZONER_SNOWFLAKE_PORT)")
	fs.StringVar(&sfc.Protocol, "snowflake-protocol", cli.Env("ZONER_SNOWFLAKE_PROTOCOL", ""), "https (default) or http (the fakesnow emulator) (env ZONER_SNOWFLAKE_PROTOCOL)")
	fs.BoolVar(&m.Admin, "admin", cli.EnvBool("ZONER_MIGRATE_ADMIN", false), "migrate: as the Snowflake warehouse's administrator (role ZONER_ADMIN), also make the roles, service users, grants, masking policies and analyst views (docs/privacy.md) (env ZONER_MIGRATE_ADMIN)")
	fs.BoolVar(&sfc.CreateDatabase, "snowflake-create", cli.EnvBool("ZONER_SNOWFLAKE_CREATE", false), "create the database and schema when missing (env ZONER_SNOWFLAKE_CREATE)")
	fs.StringVar(&m.Cache, "cache", cli.Env("ZONER_CACHE", m.Cache), "recommendation cache: memory or redis (env ZONER_CACHE)")
	fs.StringVar(&m.RedisAddr, "redis-addr", cli.Env("ZONER_REDIS_ADDR", ""), "Redis host:port (env ZONER_REDIS_ADDR)")
	redisPassFile := fs.String("redis-password-file", cli.Env("ZONER_REDIS_PASSWORD_FILE", ""), "file holding the Redis password (env ZONER_REDIS_PASSWORD_FILE, or the password in ZONER_REDIS_PASSWORD)")
	fs.IntVar(&m.RedisDB, "redis-db", cli.EnvInt("ZONER_REDIS_DB", 0), "Redis database number (env ZONER_REDIS_DB)")
	fs.BoolVar(&m.RedisTLS, "redis-tls", cli.EnvBool("ZONER_REDIS_TLS", false), "reach Redis over TLS (env ZONER_REDIS_TLS)")
	brokers := fs.String("kafka-brokers", cli.Env("ZONER_KAFKA_BROKERS", ""), "Kafka brokers, comma-separated; all runs an in-process kfake when empty (dev only) (env ZONER_KAFKA_BROKERS)")
	topics := fs.String("topics", cli.Env("ZONER_TOPICS", ""), "event topics to consume, comma-separated (default sleep_events,meal_events,light_exposure,trip_events) (env ZONER_TOPICS)")
	fs.StringVar(&m.IngestGroup, "ingest-group", cli.Env("ZONER_INGEST_GROUP", m.IngestGroup), "consumer group of ingest (env ZONER_INGEST_GROUP)")
	fs.StringVar(&m.RecommenderGroup, "recommender-group", cli.Env("ZONER_RECOMMENDER_GROUP", m.RecommenderGroup), "consumer group of the recommender (env ZONER_RECOMMENDER_GROUP)")
	fs.DurationVar(&m.SessionTimeout, "kafka-session-timeout", cli.EnvDuration("ZONER_KAFKA_SESSION_TIMEOUT", 45*time.Second), "how long the consumer group waits for a member it no longer hears from (env ZONER_KAFKA_SESSION_TIMEOUT)")
	fs.StringVar(&m.DeadLetterTopic, "dead-letter-topic", cli.Env("ZONER_DEAD_LETTER_TOPIC", m.DeadLetterTopic), "topic for events that can never be ingested (env ZONER_DEAD_LETTER_TOPIC)")
	partitions := fs.Int("partitions", cli.EnvInt("ZONER_TOPIC_PARTITIONS", int(m.Partitions)), "partitions of topics created here (env ZONER_TOPIC_PARTITIONS)")
	replication := fs.Int("replication", cli.EnvInt("ZONER_TOPIC_REPLICATION", int(m.Replication)), "replication of topics created here (env ZONER_TOPIC_REPLICATION)")
	fs.StringVar(&m.NATSURL, "nats-url", cli.Env("ZONER_NATS_URL", ""), "the cloud's NATS, to send recommendations and flight updates down; empty for none (env ZONER_NATS_URL)")
	fs.StringVar(&m.NATSUser, "nats-user", cli.Env("ZONER_NATS_USER", m.NATSUser), "NATS user of the cloud's services (env ZONER_NATS_USER)")
	natsPassFile := fs.String("nats-password-file", cli.Env("ZONER_NATS_PASSWORD_FILE", ""), "file holding the services' NATS password (env ZONER_NATS_PASSWORD_FILE, or ZONER_NATS_PASSWORD)")
	fs.StringVar(&m.LeafAddr, "leaf", cli.Env("ZONER_LEAF_ADDR", m.LeafAddr), "all: where hubs link in (env ZONER_LEAF_ADDR)")
	fs.StringVar(&m.NATSOperatorAddr, "nats-operator", cli.Env("ZONER_NATS_OPERATOR_ADDR", ""), "all: where the cloud's NATS accepts the operator, who may read its streams' and consumers' state with the nats CLI, such as 127.0.0.1:4223 (no host: loopback); the password is written to DATA/"+natsedge.OperatorPasswordFile+"; empty for none (env ZONER_NATS_OPERATOR_ADDR)")
	secretFile := fs.String("secret-file", cli.Env("ZONER_CLOUD_SECRET_FILE", ""), "file holding the secret that derives families' hub credentials (env ZONER_CLOUD_SECRET_FILE, or ZONER_CLOUD_SECRET); all makes one in DATA when none is given")
	tokenSecretFile := fs.String("token-secret-file", cli.Env("ZONER_TOKEN_SECRET_FILE", ""), "file holding the API token signing secret, 32+ bytes (env ZONER_TOKEN_SECRET_FILE, or ZONER_TOKEN_SECRET); all makes one in DATA when none is given")
	webhookSecretFile := fs.String("webhook-secret-file", cli.Env("ZONER_WEBHOOK_SECRET_FILE", ""), "file holding the flight-status webhook secret, 16+ bytes (env ZONER_WEBHOOK_SECRET_FILE, or ZONER_WEBHOOK_SECRET); all makes one in DATA when none is given")
	m.Push.flags(fs)
	fs.StringVar(&m.APIAddr, "api", cli.Env("ZONER_API_ADDR", m.APIAddr), "where the API listens (env ZONER_API_ADDR)")
	fs.StringVar(&m.PublicURL, "public-url", cli.Env("ZONER_PUBLIC_URL", ""), "api, all: where browsers reach the API and web UI, like https://zoner.example, for the sign-in links hubs ask for (default the API's own address, http://127.0.0.1:8480 for all) (env ZONER_PUBLIC_URL)")
	fs.StringVar(&m.TLSCert, "tls-cert", cli.Env("ZONER_TLS_CERT", ""), "PEM certificate: the API speaks HTTPS (env ZONER_TLS_CERT)")
	fs.StringVar(&m.TLSKey, "tls-key", cli.Env("ZONER_TLS_KEY", ""), "PEM key for -tls-cert (env ZONER_TLS_KEY)")
	fs.Float64Var(&m.RatePerSecond, "rate", cli.EnvFloat("ZONER_API_RATE", 0), "API requests per second per token (default 10) (env ZONER_API_RATE)")
	proxies := fs.String("trusted-proxies", cli.Env("ZONER_TRUSTED_PROXIES", ""), "api: networks of the proxies in front of the API (an ingress controller), comma-separated CIDRs such as 10.0.0.0/8; their X-Forwarded-For names the client for per-address limits (env ZONER_TRUSTED_PROXIES)")
	fs.IntVar(&m.Burst, "burst", cli.EnvInt("ZONER_API_BURST", 0), "API burst per token (default 40) (env ZONER_API_BURST)")
	fs.DurationVar(&m.WarehouseTimeout, "warehouse-timeout", cli.EnvDuration("ZONER_WAREHOUSE_TIMEOUT", time.Minute), "ingest: longest wait for one warehouse write before it is retried (env ZONER_WAREHOUSE_TIMEOUT)")
	fs.DurationVar(&m.RecommendTTL, "recommendation-ttl", cli.EnvDuration("ZONER_RECOMMENDATION_TTL", 6*time.Hour), "how long a cached recommendation lives (env ZONER_RECOMMENDATION_TTL)")
	fs.DurationVar(&m.RefreshEvery, "refresh", cli.EnvDuration("ZONER_REFRESH", time.Minute), "how often active members are re-planned (env ZONER_REFRESH)")
	fs.StringVar(&m.HTTPAddr, "http", cli.Env("ZONER_HTTP", m.HTTPAddr), "address for /metrics, /healthz and /readyz of ingest and the recommender; empty for none (env ZONER_HTTP)")
	family := fs.String("family", "", "token, creds: the family id")
	member := fs.String("member", "", "token: the member id (role member)")
	fs.StringVar(&m.TokenRole, "role", "guardian", "token: guardian, member, analyst or admin")
	fs.StringVar(&m.TokenSubject, "subject", "", "token: the subject (default the member id, or the role)")
	fs.DurationVar(&m.TokenTTL, "ttl", m.TokenTTL, "token: how long the token is valid (at most 24h)")
	logFormat := fs.String("log-format", cli.Env("ZONER_LOG_FORMAT", "auto"), "log format: text, json or auto (env ZONER_LOG_FORMAT)")
	logLevel := fs.String("log-level", cli.Env("ZONER_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env ZONER_LOG_LEVEL)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	var err error
	if sfc.Password, err = cli.Secret(*sfPassFile, "ZONER_SNOWFLAKE_PASSWORD"); err != nil {
		return err
	}
	if m.RedisPassword, err = cli.Secret(*redisPassFile, "ZONER_REDIS_PASSWORD"); err != nil {
		return err
	}
	if m.NATSPassword, err = cli.Secret(*natsPassFile, "ZONER_NATS_PASSWORD"); err != nil {
		return err
	}
	for _, s := range []struct {
		file, env string
		dst       *[]byte
	}{{*secretFile, "ZONER_CLOUD_SECRET", &m.Secret}, {*tokenSecretFile, "ZONER_TOKEN_SECRET", &m.TokenSecret}, {*webhookSecretFile, "ZONER_WEBHOOK_SECRET", &m.WebhookSecret}} {
		v, err := cli.Secret(s.file, s.env)
		if err != nil {
			return err
		}
		*s.dst = []byte(v)
	}
	if *brokers != "" {
		m.KafkaBrokers = strings.Split(*brokers, ",")
	}
	for p := range strings.SplitSeq(*proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("-trusted-proxies: %q is not a network such as 10.0.0.0/8", p)
		}
		m.TrustedProxies = append(m.TrustedProxies, prefix.Masked())
	}
	if *topics != "" {
		m.Topics = strings.Split(*topics, ",")
	}
	m.Partitions, m.Replication = int32(*partitions), int16(*replication)
	if *family != "" {
		if m.TokenFamily, err = uuid.Parse(*family); err != nil {
			return fmt.Errorf("-family: %w", err)
		}
		m.Family = m.TokenFamily
	}
	if *member != "" {
		if m.TokenMember, err = uuid.Parse(*member); err != nil {
			return fmt.Errorf("-member: %w", err)
		}
	}
	if m.Command == "creds" && m.Family == uuid.Nil {
		return errors.New("creds: -family is needed")
	}
	if m.Logger == nil {
		if m.Logger, err = cli.NewLogger(*logFormat, *logLevel); err != nil {
			return err
		}
	}
	return nil
}

// Run starts the command's work; servers return once serving and stop on
// Close.
func (m *Main) Run(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	if m.Now == nil {
		m.Now = time.Now
	}
	if m.Metrics == nil {
		m.Metrics = cloud.NewMetrics()
	}
	startCtx := ctx
	ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	switch m.Command {
	case "token":
		return m.token()
	case "creds":
		return m.creds()
	case "migrate":
		if m.Admin {
			if m.Warehouse != "snowflake" {
				return fmt.Errorf("migrate -admin: needs -warehouse snowflake (SQLite has no roles)")
			}
			if err := snowflake.Administer(startCtx, m.Snowflake, m.Logger); err != nil {
				return err
			}
			fmt.Fprintln(m.Stdout, "the warehouse's schema, roles, grants, masking policies and analyst views are up to date")
			return nil
		}
		w, err := m.openWarehouse(startCtx)
		if err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, "the warehouse's schema is up to date")
		return w.Close()
	case "analytics":
		w, err := m.openWarehouse(startCtx)
		if err != nil {
			return err
		}
		defer w.Close()
		a, err := w.Analytics(startCtx)
		if err != nil {
			return fmt.Errorf("analytics: %w", err)
		}
		return cloud.WriteReport(m.Stdout, a)
	case "all":
		return m.runAll(startCtx, ctx)
	case "ingest":
		return m.runIngest(startCtx, ctx)
	case "recommender":
		return m.runRecommender(startCtx, ctx)
	case "api":
		return m.runAPI(startCtx, ctx)
	}
	return fmt.Errorf("unknown command %q", m.Command)
}

func (m *Main) token() error {
	if len(m.TokenSecret) == 0 {
		if b, err := os.ReadFile(filepath.Join(m.DataDir, "token-secret")); err == nil {
			m.TokenSecret = b
		}
	}
	if len(m.TokenSecret) == 0 {
		return errors.New("token: the signing secret is needed: -token-secret-file or ZONER_TOKEN_SECRET (or the one zoner-cloud all made in -data)")
	}
	c := chttp.Claims{Role: chttp.Role(m.TokenRole), Family: m.TokenFamily, Subject: m.TokenSubject}
	if c.Subject == "" {
		c.Subject = m.TokenRole
		if m.TokenMember != uuid.Nil {
			c.Subject = m.TokenMember.String()
		}
	}
	tok, err := chttp.IssueToken(m.TokenSecret, c, m.TokenTTL, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, tok)
	return nil
}

func (m *Main) creds() error {
	if len(m.Secret) == 0 {
		if b, err := os.ReadFile(filepath.Join(m.DataDir, "cloud-secret")); err == nil {
			m.Secret = b
		}
	}
	if len(m.Secret) < 16 {
		return errors.New("creds: the cloud's secret (-secret-file or ZONER_CLOUD_SECRET, at least 16 bytes, or the one zoner-cloud all made in -data) is needed")
	}
	fmt.Fprintf(m.Stdout, "{\n  \"family_id\": %q,\n  \"secret\": %q\n}\n", m.Family, edge.FamilySecret(m.Secret, m.Family))
	return nil
}

// secret returns *dst, or the secret kept in DATA/name, made there first
// if missing (the single-machine form needs no set-up).
func (m *Main) secret(dst *[]byte, name string) error {
	if len(*dst) > 0 {
		return nil
	}
	path := filepath.Join(m.DataDir, name)
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		*dst = b
		return nil
	}
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return fmt.Errorf("make %s: %w", m.DataDir, err)
	}
	b := []byte(rand.Text() + rand.Text())
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	m.Logger.Info("made a secret", "file", path)
	*dst = b
	return nil
}

func (m *Main) goRun(name string, f func() error) {
	m.wg.Go(func() {
		if err := f(); err != nil {
			m.Logger.Error(name+" stopped", "err", err)
		}
	})
}

// Close stops everything Run started, in reverse order of starting, after
// the loops have returned.
func (m *Main) Close() error {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	for i := len(m.closers) - 1; i >= 0; i-- {
		m.closers[i]()
	}
	m.closers = nil
	return nil
}

func (m *Main) onClose(f func()) { m.closers = append(m.closers, f) }
