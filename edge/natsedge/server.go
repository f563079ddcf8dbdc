// Package natsedge runs the cloud's edge on NATS: the cloud's NATS server,
// embedded for one machine and for tests, with its ingest stream, that
// accepts the hubs' leaf-node links with per-family credentials and the
// cloud's services by password; the auth callout that admits the hubs with
// the same rule (edge.Admit) where the cloud's NATS is a configured
// cluster; and the fetch server that gives a family's hubs the family's
// events from the ingest stream.
package natsedge

import (
	"context"
	"crypto/hmac"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/syncproto"
)

// ServerConfig says how to run the embedded server.
type ServerConfig struct {
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
	// OperatorAddr, when set, opens the client port there for the
	// operator alone (host:port; no host is 127.0.0.1, port 0 a free
	// one), who may read the streams' and consumers' state and nothing
	// else; Port must then be negative. The operator's password is made
	// at each start and written to OperatorFile.
	OperatorAddr string
	// OperatorFile is where the operator's password is written, mode
	// 0600 (default StoreDir/OperatorPasswordFile).
	OperatorFile string
}

// Server is the cloud's NATS server, embedded.
type Server struct {
	ns       *server.Server
	cfg      ServerConfig
	leafPort int
}

// Start runs the server and makes sure the ingest stream exists.
func Start(ctx context.Context, cfg ServerConfig, logger *slog.Logger) (*Server, error) {
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
	a := &auth{secret: cfg.Secret, service: cfg.ServicePassword, logger: logger}
	if cfg.OperatorAddr != "" {
		if cfg.Port >= 0 {
			return nil, errors.New("cloud nats: the operator's port is the client port: the services' client port must be off (Port < 0)")
		}
		host, port, err := operatorListen(cfg.OperatorAddr)
		if err != nil {
			return nil, err
		}
		cfg.Host, cfg.Port = host, port
		if cfg.OperatorFile == "" {
			cfg.OperatorFile = filepath.Join(cfg.StoreDir, OperatorPasswordFile)
		}
		if a.operator, err = newOperatorPassword(cfg.OperatorFile); err != nil {
			return nil, err
		}
	}
	opts := &server.Options{
		ServerName:             "zoner-cloud",
		Host:                   cfg.Host,
		Port:                   clientPort(cfg.Port),
		DontListen:             cfg.Port < 0,
		JetStream:              true,
		JetStreamDomain:        syncproto.CloudDomain,
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
		CustomClientAuthentication: a,
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
	c := &Server{ns: ns, cfg: cfg, leafPort: opts.LeafNode.Port}
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
	if err := EnsureIngest(ctx, nc, cfg.Duplicates, 1); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// clientPort is port as the server's options take it: 0 there is the
// default port (4222), RANDOM_PORT a free one.
func clientPort(port int) int {
	switch {
	case port < 0:
		return 0 // no listener
	case port == 0:
		return server.RANDOM_PORT
	}
	return port
}

// EnsureIngest makes (or updates) the ingest stream, kept on replicas
// servers (1 when 0 or less; 3 on a production cluster, so that losing a
// server loses no event). Updating an existing stream to more replicas
// copies it to the new servers.
func EnsureIngest(ctx context.Context, nc *nats.Conn, duplicates time.Duration, replicas int) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if duplicates <= 0 {
		duplicates = time.Hour
	}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        syncproto.IngestStream,
		Description: "Every family's events as their hubs sent them, and those the cloud made for them.",
		Subjects:    []string{syncproto.IngestRoot + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxMsgSize:  syncproto.MaxEnvelopeBytes + 4096,
		Duplicates:  duplicates,
		Replicas:    max(replicas, 1),
		AllowDirect: true,
		// No RePublish to ring the hubs: it halved the stream's ingest
		// rate (measured); whoever stores events rings instead.
	})
	if err != nil {
		return fmt.Errorf("ingest stream: %w", err)
	}
	return nil
}

// Close stops the server.
func (c *Server) Close() {
	c.ns.Shutdown()
	c.ns.WaitForShutdown()
}

// Server is the embedded server, for tests that inspect it.
func (c *Server) Server() *server.Server { return c.ns }

// ClientURL is the client URL, "" when the server listens on none.
func (c *Server) ClientURL() string {
	if c.ns.Addr() == nil {
		return ""
	}
	return c.ns.ClientURL()
}

// OperatorURL is where the operator connects, "" without the operator's
// port.
func (c *Server) OperatorURL() string {
	if c.cfg.OperatorAddr == "" || c.ns.Addr() == nil {
		return ""
	}
	return c.ns.ClientURL()
}

// OperatorFile is the file that holds the operator's password, "" without
// the operator's port.
func (c *Server) OperatorFile() string {
	if c.cfg.OperatorAddr == "" {
		return ""
	}
	return c.cfg.OperatorFile
}

// LeafURL is where hubs link in.
func (c *Server) LeafURL() string {
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
func (c *Server) Connect(name string) (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.InProcessServer(c.ns), nats.Name(name),
		nats.UserInfo(edge.ServiceUser, c.cfg.ServicePassword), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to cloud nats: %w", err)
	}
	return nc, nil
}

// Credentials are the credentials of a family's hubs.
func (c *Server) Credentials(family uuid.UUID) syncproto.Credentials {
	return edge.Credentials(c.cfg.Secret, family)
}

// familyPermissions are edge.FamilySubjects as the server applies them.
func familyPermissions(family uuid.UUID) *server.Permissions {
	s := edge.FamilySubjects(family)
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: s.Publish},
		Subscribe: &server.SubjectPermission{Allow: s.Subscribe},
	}
}

// Ring tells a family's hubs that the cloud stored new events for them;
// a cloud service calls it after storing (a flight update, say).
func Ring(nc *nats.Conn, family uuid.UUID) error {
	return nc.Publish(syncproto.RingSubject(family), []byte(syncproto.RingFromCloud))
}

// auth admits the cloud's services by password and each family's hubs by
// their derived secret, with the family's permissions; with the operator's
// port, the operator there by the operator's password, and no family.
type auth struct {
	secret  []byte
	service string
	// operator is the operator's password: the client port is the
	// operator's. "" when there is no operator's port.
	operator string
	logger   *slog.Logger
}

func (a *auth) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	if o.Username == OperatorUser {
		if a.operator != "" && c.Kind() == server.CLIENT && hmac.Equal([]byte(o.Password), []byte(a.operator)) {
			c.RegisterUser(&server.User{Username: OperatorUser, Permissions: operatorPermissions()})
			return true
		}
		a.logger.Warn("cloud nats: refused an operator login", "remote", remote(c))
		return false
	}
	if o.Username == edge.ServiceUser {
		if hmac.Equal([]byte(o.Password), []byte(a.service)) {
			c.RegisterUser(&server.User{Username: edge.ServiceUser})
			return true
		}
		a.logger.Warn("cloud nats: refused a service login with a wrong password", "remote", remote(c))
		return false
	}
	family, err := edge.Admit(a.secret, o.Username, o.Password)
	if err == nil && a.operator != "" && c.Kind() == server.CLIENT {
		err = errOperatorPort
	}
	if err != nil {
		logRefusal(a.logger, err, family, remote(c))
		return false
	}
	c.RegisterUser(&server.User{Username: family.String(), Permissions: familyPermissions(family)})
	return true
}

// errOperatorPort refuses a family on the operator's port: hubs link in on
// the leaf port.
var errOperatorPort = errors.New("a family on the operator's port")

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
