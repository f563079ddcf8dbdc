// Package natsjs is the bridge's side of NATS: the cloud's ingest stream
// as a bridge.Source, the dead-letter stream, the downlink that serves a
// family's events to its hubs, and — for one machine and for tests — the
// cloud's NATS server itself, embedded, accepting the hubs' leaf-node links
// with per-family credentials; in production, where the cloud's NATS is a
// configured cluster, the auth callout applies the same rule.
package natsjs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/syncproto"
)

// The cloud's names.
const (
	// Domain is the cloud's JetStream domain (the hubs' is "hub").
	Domain = "cloud"
	// IngestStream keeps every family's events: syncproto.IngestRoot.>.
	IngestStream = "INGEST"
	// DeadLetterStream keeps what the bridge could never forward.
	DeadLetterStream = "DEADLETTER"
	DeadLetterRoot   = "zoner.deadletter"
	// ServiceUser is the user the cloud's own services connect as.
	ServiceUser = "zoner-service"
)

// CloudConfig says how to run the embedded cloud server.
type CloudConfig struct {
	// StoreDir is where JetStream keeps its files.
	StoreDir string
	Host     string // default 127.0.0.1
	// Port is the client port for the cloud's services: 0 picks a free
	// one, negative listens on none (in-process only).
	Port int
	// LeafHost and LeafPort are where hubs link in: 0 picks a free port.
	LeafHost string
	LeafPort int
	// LeafTLS, when set, makes the leaf port speak TLS only.
	LeafTLS *tls.Config
	// Secret derives each family's credentials (FamilySecret); keep it
	// like a signing key.
	Secret []byte
	// ServicePassword is the cloud services' password.
	ServicePassword string
	// Duplicates is how long the ingest stream remembers ids to drop a
	// repeat (a hub that resends after a lost PubAck). Default 1 h.
	Duplicates time.Duration
	SyncAlways bool
}

// Cloud is the embedded cloud server.
type Cloud struct {
	ns       *server.Server
	cfg      CloudConfig
	leafPort int
}

// StartCloud runs the server and makes sure its streams exist.
func StartCloud(ctx context.Context, cfg CloudConfig, logger *slog.Logger) (*Cloud, error) {
	if len(cfg.Secret) < 16 {
		return nil, errors.New("cloud nats: the credentials secret must be at least 16 bytes")
	}
	if cfg.ServicePassword == "" {
		return nil, errors.New("cloud nats: a service password is required")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.LeafHost == "" {
		cfg.LeafHost = cfg.Host
	}
	opts := &server.Options{
		ServerName:             "zoner-cloud",
		Host:                   cfg.Host,
		Port:                   max(cfg.Port, 0),
		DontListen:             cfg.Port < 0,
		JetStream:              true,
		JetStreamDomain:        Domain,
		StoreDir:               cfg.StoreDir,
		SyncAlways:             cfg.SyncAlways,
		NoSigs:                 true,
		NoLog:                  true,
		DisableJetStreamBanner: true,
		MaxPayload:             1 << 20,
		LeafNode: server.LeafNodeOpts{
			Host:      cfg.LeafHost,
			Port:      cfg.LeafPort,
			TLSConfig: cfg.LeafTLS,
		},
		CustomClientAuthentication: &auth{secret: cfg.Secret, service: cfg.ServicePassword, logger: logger},
	}
	if cfg.LeafPort == 0 {
		opts.LeafNode.Port = server.RANDOM_PORT
	}
	if cfg.LeafTLS != nil {
		opts.LeafNode.TLSTimeout = 5
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cloud nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("cloud nats: not ready after 30 s (are the leaf-node port %s:%d and the store %s free to use?)", cfg.LeafHost, cfg.LeafPort, cfg.StoreDir)
	}
	// The server writes the port it picked back into its options.
	c := &Cloud{ns: ns, cfg: cfg, leafPort: opts.LeafNode.Port}
	if c.leafPort <= 0 {
		c.Close()
		return nil, errors.New("cloud nats: the leaf-node port is unknown")
	}
	nc, err := c.Connect("zoner-cloud-setup")
	if err != nil {
		c.Close()
		return nil, err
	}
	defer nc.Close()
	if err := EnsureStreams(ctx, nc, cfg.Duplicates, 1); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// EnsureStreams makes (or updates) the ingest and dead-letter streams,
// each kept on replicas servers (1 when 0 or less; 3 on a production
// cluster, so that losing a server loses no event). Updating an existing
// stream to more replicas copies it to the new servers.
func EnsureStreams(ctx context.Context, nc *nats.Conn, duplicates time.Duration, replicas int) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if duplicates <= 0 {
		duplicates = time.Hour
	}
	replicas = max(replicas, 1)
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        IngestStream,
		Description: "Every family's events as their hubs sent them, and those the cloud made for them.",
		Subjects:    []string{syncproto.IngestRoot + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxMsgSize:  syncproto.MaxEnvelopeBytes + 4096,
		Duplicates:  duplicates,
		Replicas:    replicas,
		AllowDirect: true,
		// No RePublish to ring the hubs: it halved the stream's ingest
		// rate (measured); whoever stores events rings instead.
	})
	if err != nil {
		return fmt.Errorf("ingest stream: %w", err)
	}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        DeadLetterStream,
		Description: "Events the bridge could never forward, with the reason in the Zoner-Dead-Reason header.",
		Subjects:    []string{DeadLetterRoot + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		Replicas:    replicas,
	})
	if err != nil {
		return fmt.Errorf("dead-letter stream: %w", err)
	}
	return nil
}

// Close stops the server.
func (c *Cloud) Close() {
	c.ns.Shutdown()
	c.ns.WaitForShutdown()
}

// Server is the embedded server, for tests that inspect it.
func (c *Cloud) Server() *server.Server { return c.ns }

// ClientURL is the client URL, "" when the server listens on none.
func (c *Cloud) ClientURL() string {
	if c.ns.Addr() == nil {
		return ""
	}
	return c.ns.ClientURL()
}

// LeafURL is where hubs link in.
func (c *Cloud) LeafURL() string {
	scheme := "nats-leaf"
	if c.cfg.LeafTLS != nil {
		scheme = "tls"
	}
	host := c.cfg.LeafHost
	if host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(c.leafPort))
}

// Connect connects in-process as the cloud's service user.
func (c *Cloud) Connect(name string) (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.InProcessServer(c.ns), nats.Name(name),
		nats.UserInfo(ServiceUser, c.cfg.ServicePassword), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to cloud nats: %w", err)
	}
	return nc, nil
}

// Credentials are the credentials of a family's hubs.
func (c *Cloud) Credentials(family uuid.UUID) syncproto.Credentials {
	return syncproto.Credentials{FamilyID: family, Secret: FamilySecret(c.cfg.Secret, family)}
}

// FamilySecret derives a family's secret from the cloud's: nothing per
// family is stored, and a family's secret reveals nothing of another's.
func FamilySecret(secret []byte, family uuid.UUID) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("zoner family link\x00"))
	m.Write(family[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// FamilyPermissions are what a family's hubs may do, from the hub's side
// of the link: publish its events, ask for them back and ring its other
// hubs, and receive replies and rings of its own family only.
func FamilyPermissions(family uuid.UUID) *server.Permissions {
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			syncproto.IngestRoot + "." + family.String() + ".>",
			syncproto.FetchSubject(family),
			syncproto.RingSubject(family),
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{
			syncproto.ReplyPrefix(family) + ".>",
			syncproto.RingSubject(family),
		}},
	}
}

// Ring tells a family's hubs that the cloud stored new events for them;
// a cloud service calls it after storing (a flight update, say).
func Ring(nc *nats.Conn, family uuid.UUID) error {
	return nc.Publish(syncproto.RingSubject(family), []byte("cloud"))
}

// auth admits the cloud's services by password and each family's hubs by
// their derived secret, with the family's permissions.
type auth struct {
	secret  []byte
	service string
	logger  *slog.Logger
}

func (a *auth) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if o.Username == ServiceUser {
		if hmac.Equal([]byte(o.Password), []byte(a.service)) {
			c.RegisterUser(&server.User{Username: ServiceUser})
			return true
		}
		a.logger.Warn("cloud nats: refused a service login with a wrong password", "remote", remote(c))
		return false
	}
	family, err := admit(a.secret, o.Username, o.Password)
	if err != nil {
		logRefusal(a.logger, err, family, remote(c))
		return false
	}
	c.RegisterUser(&server.User{Username: family.String(), Permissions: FamilyPermissions(family)})
	return true
}

// Why a family's login is refused; the reasons are safe to log and to
// tell the server (they hold no secret).
var (
	errServiceUser = errors.New("the service user is not a family")
	errNotFamily   = errors.New("the user is not a family id")
	errWrongSecret = errors.New("wrong secret for the family")
)

// admit is the one rule for a family's hubs, used by the embedded server
// (auth) and by the auth callout (Callout), so the two cannot drift: the
// user is a family id, not the nil uuid, and the password is the family's
// secret derived from the cloud's. The service user is never a family.
// With a wrong secret it still returns the family, for the log.
func admit(secret []byte, user, password string) (uuid.UUID, error) {
	if user == ServiceUser {
		return uuid.Nil, errServiceUser
	}
	family, err := uuid.Parse(user)
	if err != nil || family == uuid.Nil {
		return uuid.Nil, errNotFamily
	}
	if !hmac.Equal([]byte(password), []byte(FamilySecret(secret, family))) {
		return family, errWrongSecret
	}
	return family, nil
}

// logRefusal logs a refused family login with its reason and where it
// came from, never the password.
func logRefusal(logger *slog.Logger, reason error, family uuid.UUID, remote string, attrs ...any) {
	attrs = append(attrs, "reason", reason.Error(), "remote", remote)
	if family != uuid.Nil {
		attrs = append(attrs, "family", family)
	}
	logger.Warn("cloud nats: refused a login", attrs...)
}

func remote(c server.ClientAuthentication) string {
	if a := c.RemoteAddress(); a != nil {
		return a.String()
	}
	return ""
}
