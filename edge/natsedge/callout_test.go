package natsedge_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// calloutConfig is the cloud's NATS as operators configure it: static
// users for the services and the callout, everyone else asked of the auth
// callout. Filled in: the store dir, the two passwords, the issuer's
// public key.
const calloutConfig = `
server_name: zoner-cloud-test
listen: "127.0.0.1:-1"
max_payload: 1MB
jetstream { store_dir: %q, domain: cloud }
leafnodes { host: "127.0.0.1", port: -1 }
authorization {
  users: [ {user: zoner-service, password: %q}, {user: zoner-auth, password: %q} ]
  auth_callout { issuer: %q, auth_users: [ zoner-service, zoner-auth ] }
}
`

// calloutCloud is a nats-server run from calloutConfig.
type calloutCloud struct {
	ns                *server.Server
	clientURL         string
	leafURL           string
	servicePassword   string
	authPassword      string
	issuerSeed        []byte
	issuerPublicKey   string
	secret            []byte
	dial              func(user, password string, opts ...nats.Option) (*nats.Conn, error)
	serviceConnection *nats.Conn
}

// mustStartCalloutCloud writes calloutConfig to a temp dir, loads it as
// nats-server does and runs the server; the cloud's services (the
// streams, the downlink) run on a service connection.
func mustStartCalloutCloud(tb testing.TB) *calloutCloud {
	tb.Helper()
	issuer, err := nkeys.CreateAccount()
	if err != nil {
		tb.Fatal(err)
	}
	c := &calloutCloud{servicePassword: rand.Text(), authPassword: rand.Text(), secret: testSecret}
	c.issuerSeed, _ = issuer.Seed()
	c.issuerPublicKey, _ = issuer.PublicKey()
	dir := tb.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	text := fmt.Sprintf(calloutConfig, filepath.Join(dir, "store"), c.servicePassword, c.authPassword, c.issuerPublicKey)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		tb.Fatalf("the config operators deploy: %v", err)
	}
	opts.NoSigs, opts.NoLog = true, true
	c.ns, err = server.NewServer(opts)
	if err != nil {
		tb.Fatal(err)
	}
	c.ns.Start()
	tb.Cleanup(func() {
		// nats-server 2.15.2 panics (nil s.sys in newRespInbox) when a
		// connection that needs the callout is authenticated while it
		// shuts down: let the CONNECTs of leaves shut down just before
		// be processed first. (In production, lame-duck mode closes the
		// listeners before shutting down.)
		time.Sleep(100 * time.Millisecond)
		c.ns.Shutdown()
		c.ns.WaitForShutdown()
	})
	if !c.ns.ReadyForConnections(30 * time.Second) {
		tb.Fatal("the configured server is not ready")
	}
	c.clientURL = c.ns.ClientURL()
	c.leafURL = fmt.Sprintf("nats-leaf://127.0.0.1:%d", opts.LeafNode.Port)
	c.dial = dialer(c.clientURL)

	c.serviceConnection, err = c.dial(edge.ServiceUser, c.servicePassword, nats.MaxReconnects(-1))
	if err != nil {
		tb.Fatalf("the service user: %v", err)
	}
	tb.Cleanup(c.serviceConnection.Close)
	if err := natsedge.EnsureIngest(context.Background(), c.serviceConnection, 0, 1); err != nil {
		tb.Fatal(err)
	}
	return c
}

// mustServeCallout runs the callout as the callout user, until the test
// ends or stop is called.
func (c *calloutCloud) mustServeCallout(tb testing.TB, seed []byte) (m *natsedge.CalloutMetrics, stop func()) {
	tb.Helper()
	nc, err := c.dial(natsedge.CalloutUser, c.authPassword, nats.MaxReconnects(-1))
	if err != nil {
		tb.Fatalf("the callout user: %v", err)
	}
	m = natsedge.NewCalloutMetrics()
	co, err := natsedge.NewCallout(natsedge.CalloutConfig{Secret: c.secret, IssuerSeed: seed, Metrics: m}, quiet())
	if err != nil {
		tb.Fatal(err)
	}
	if err := co.Serve(nc); err != nil {
		tb.Fatal(err)
	}
	if err := nc.Flush(); err != nil { // the server knows the subscription
		tb.Fatal(err)
	}
	if err := co.Ready(); err != nil {
		tb.Fatal(err)
	}
	stop = func() {
		co.Close()
		nc.Close()
	}
	tb.Cleanup(stop)
	return m, stop
}

// TestCalloutFamilyIsolation runs the isolation checks against a server
// configured as in production, whose families the callout admits: hubs
// link as leaf nodes with user and password in the URL and reach their
// family's subjects only, exactly as on the embedded server.
func TestCalloutFamilyIsolation(t *testing.T) {
	t.Parallel()
	cloud := mustStartCalloutCloud(t)
	m, _ := cloud.mustServeCallout(t, cloud.issuerSeed)
	down, err := natsedge.ServeFetches(context.Background(), cloud.serviceConnection, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	checkIsolation(t, cloudUnderTest{
		leafURL: cloud.leafURL,
		secret:  cloud.secret,
		svc:     cloud.serviceConnection,
		dial:    cloud.dial,
	})
	// B's hub, A's hub, A's client; the refused logins.
	wait.Until(t, 15*time.Second, "counted by the callout", func() (bool, string) {
		admitted, refused := m.Requests(natsedge.CalloutAdmitted), m.Requests(natsedge.CalloutRefused)
		return admitted >= 3 && refused > 0, fmt.Sprintf("%d admitted, %d refused", admitted, refused)
	})
	if n := m.Requests(natsedge.CalloutError); n != 0 {
		t.Errorf("the callout counted %d errors", n)
	}
}

// TestCalloutServiceUsers: the services and the callout itself are static
// users (auth_users), admitted with no callout running, with full access.
func TestCalloutServiceUsers(t *testing.T) {
	t.Parallel()
	cloud := mustStartCalloutCloud(t) // its streams made by the service user already
	svc := cloud.serviceConnection
	for _, u := range []struct{ user, password string }{{edge.ServiceUser, cloud.servicePassword}, {natsedge.CalloutUser, cloud.authPassword}} {
		nc, err := cloud.dial(u.user, u.password)
		if err != nil {
			t.Fatalf("%s, with no callout running: %v", u.user, err)
		}
		nc.Close()
	}
	all, err := svc.SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	svc.Flush()
	family := uuid.New()
	for _, subj := range []string{syncproto.RingSubject(family), syncproto.ReplyPrefix(family) + ".x", "anything.at.all"} {
		if err := svc.Publish(subj, []byte("svc")); err != nil {
			t.Fatal(err)
		}
		msg, err := all.NextMsg(2 * time.Second)
		if err != nil || msg.Subject != subj {
			t.Fatalf("the service user, subscribed to >, published %s and got %v, %v", subj, msg, err)
		}
	}
	// And the JetStream API: a family's event stored and read back.
	mustStore(t, svc, family)
}

// TestCalloutDown: with no callout answering, the server refuses hubs and
// families' clients — it does not admit them with no permissions — and
// admits them once a callout answers; a callout signing with a key the
// server does not name as issuer admits no one.
func TestCalloutDown(t *testing.T) {
	t.Parallel()
	cloud := mustStartCalloutCloud(t)
	family := uuid.New()
	secret := edge.FamilySecret(cloud.secret, family)
	hub := startLeaf(t, cloud.leafURL, family.String(), secret)
	refused := func(t *testing.T, why string) {
		t.Helper()
		before := hub.Ended()
		// The server waits for an answer up to its auth timeout (2 s).
		nc, err := cloud.dial(family.String(), secret, nats.Timeout(5*time.Second))
		if err == nil {
			nc.Close()
			t.Fatalf("%s: a family's client was admitted", why)
		}
		if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Fatalf("%s: the client's login failed, but not as unauthorized: %v", why, err)
		}
		// The hub tries again after each refusal: the second attempt to
		// end from now on was made after this check began.
		wait.Until(t, 30*time.Second, why+": the hub's attempts turned down", func() (bool, string) {
			n := hub.Ended() - before
			return n >= 2, fmt.Sprintf("%d ended so far, %d links", n, hub.NumLeafNodes())
		})
		if n := hub.NumLeafNodes(); n != 0 {
			t.Fatalf("%s: the hub linked", why)
		}
	}

	refused(t, "no callout")

	t.Run("a callout with the wrong issuer key", func(t *testing.T) {
		other, _ := nkeys.CreateAccount()
		seed, _ := other.Seed()
		m, stop := cloud.mustServeCallout(t, seed)
		defer stop()
		refused(t, "the wrong issuer")
		// Counted once the answer is sent, maybe after the server refused.
		wait.Until(t, 15*time.Second, "the callout asked", func() (bool, string) {
			return m.Requests(natsedge.CalloutAdmitted) > 0, "no answer counted"
		})
	})

	t.Run("a callout answering", func(t *testing.T) {
		m, _ := cloud.mustServeCallout(t, cloud.issuerSeed)
		wait.Until(t, 15*time.Second, "the hub linked", func() (bool, string) {
			return hub.NumLeafNodes() == 1, fmt.Sprintf("%d links, %d attempts ended", hub.NumLeafNodes(), hub.Ended())
		})
		nc, err := cloud.dial(family.String(), secret)
		if err != nil {
			t.Fatal(err)
		}
		nc.Close()
		wait.Until(t, 15*time.Second, "the hub and the client counted", func() (bool, string) {
			n := m.Requests(natsedge.CalloutAdmitted)
			return n >= 2, fmt.Sprintf("%d admitted", n)
		})
	})
}
