package natsedge_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// testSecret is the cloud's secret in tests.
var testSecret = []byte("a test secret of enough bytes")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// mustStart runs an embedded cloud server in a temp dir.
func mustStart(tb testing.TB) *natsedge.Server {
	tb.Helper()
	c, err := natsedge.Start(context.Background(), natsedge.ServerConfig{
		StoreDir:        tb.TempDir(),
		Port:            -1,
		Secret:          testSecret,
		ServicePassword: "service-password",
	}, quiet())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// leafServer is a bare leaf-node server, with the count of its attempts
// to link that ended.
type leafServer struct {
	*server.Server
	log *leafLog
}

// Ended counts the leaf's connections to the cloud that have closed so
// far: each one refused (or timed out waiting for an answer) proves that
// an attempt to link reached the cloud and was turned down.
func (l leafServer) Ended() int64 { return l.log.ended.Load() }

// leafLog is a leaf server's log, which counts its closed connections
// ("… - Leafnode connection closed: …") and drops the rest.
type leafLog struct{ ended atomic.Int64 }

func (l *leafLog) Noticef(format string, v ...any) {
	if strings.Contains(fmt.Sprintf(format, v...), " - Leafnode connection closed: ") {
		l.ended.Add(1)
	}
}
func (*leafLog) Errorf(string, ...any) {}
func (*leafLog) Warnf(string, ...any)  {}
func (*leafLog) Fatalf(string, ...any) {}
func (*leafLog) Debugf(string, ...any) {}
func (*leafLog) Tracef(string, ...any) {}

// startLeaf runs a bare leaf-node server that links to leafURL as user,
// as a hub does, retrying every 100 ms; it does not wait for the link.
func startLeaf(tb testing.TB, leafURL, user, password string) leafServer {
	tb.Helper()
	u, err := url.Parse(leafURL)
	if err != nil {
		tb.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	ns, err := server.NewServer(&server.Options{
		ServerName: "leaf-" + uuid.NewString()[:8], DontListen: true, NoSigs: true, NoLog: true,
		LeafNode: server.LeafNodeOpts{Remotes: []*server.RemoteLeafOpts{{URLs: []*url.URL{u}}}, ReconnectInterval: 100 * time.Millisecond},
	})
	if err != nil {
		tb.Fatal(err)
	}
	log := &leafLog{}
	ns.SetLogger(log, false, false)
	ns.Start()
	tb.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		tb.Fatal("leaf not ready")
	}
	return leafServer{ns, log}
}

// leaf is a bare leaf-node server linked to the cloud with a family's
// credentials, as a hub is, and a client of it that uses the family's
// inbox prefix.
func leaf(tb testing.TB, leafURL string, creds syncproto.Credentials) *nats.Conn {
	tb.Helper()
	ns := startLeaf(tb, leafURL, creds.FamilyID.String(), creds.Secret)
	nc, err := nats.Connect("", nats.InProcessServer(ns.Server), nats.CustomInboxPrefix(syncproto.ReplyPrefix(creds.FamilyID)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	wait.Until(tb, 15*time.Second, "the leaf linked", func() (bool, string) {
		return ns.NumLeafNodes() == 1, fmt.Sprintf("%d links, %d attempts ended", ns.NumLeafNodes(), ns.Ended())
	})
	return nc
}

// mustServeDownlink connects as the cloud's services and serves the
// downlink on that connection, which it returns.
func mustServeDownlink(tb testing.TB, cloud *natsedge.Server) *nats.Conn {
	tb.Helper()
	svc, err := cloud.Connect("test-service")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(svc.Close)
	down, err := natsedge.ServeFetches(context.Background(), svc, quiet())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(down.Close)
	return svc
}

// dialer connects to url as a plain client, quietly: permission
// violations are what the tests look for.
func dialer(url string) func(user, password string, opts ...nats.Option) (*nats.Conn, error) {
	return func(user, password string, opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(url, append([]nats.Option{nats.UserInfo(user, password), nats.NoReconnect(),
			nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})}, opts...)...)
	}
}

func event(family uuid.UUID) *nats.Msg {
	id := uuid.Must(uuid.NewV7())
	m := nats.NewMsg(syncproto.IngestSubject(family, syncproto.TypeMeal))
	m.Data = []byte(`{"id":"` + id.String() + `"}`)
	m.Header.Set(jetstream.MsgIDHeader, id.String())
	m.Header.Set(syncproto.HeaderID, id.String())
	return m
}

// TestFamilyIsolation runs the isolation checks against the embedded
// server, whose Go check admits the families (TestCalloutFamilyIsolation
// runs them against a configured server with the auth callout).
func TestFamilyIsolation(t *testing.T) {
	t.Parallel()
	// A client port too, for families' plain clients: an in-process
	// connection refused ends as a closed pipe, not as unauthorized.
	cloud, err := natsedge.Start(context.Background(), natsedge.ServerConfig{
		StoreDir: t.TempDir(), Secret: testSecret, ServicePassword: "service-password",
	}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cloud.Close)
	checkIsolation(t, cloudUnderTest{
		leafURL: cloud.LeafURL(),
		secret:  testSecret,
		svc:     mustServeDownlink(t, cloud),
		dial:    dialer(cloud.ClientURL()),
	})
}
