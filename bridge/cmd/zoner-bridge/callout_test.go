package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
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
)

// TestCalloutKeys: callout-keys writes an account seed, readable by its
// owner only, prints the public key the server's config names, and never
// writes over a seed.
func TestCalloutKeys(t *testing.T) {
	seedFile := filepath.Join(t.TempDir(), "issuer.seed")
	var out bytes.Buffer
	m := NewMain()
	m.Stdout = &out
	if err := m.ParseFlags(context.Background(), []string{"callout-keys", "-issuer-seed-file", seedFile}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	pub := strings.TrimSpace(out.String())
	if !nkeys.IsValidPublicAccountKey(pub) {
		t.Fatalf("printed %q, not an account public key", pub)
	}
	fi, err := os.Stat(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("the seed's mode is %v, want 0600", fi.Mode().Perm())
	}
	seed, _ := os.ReadFile(seedFile)
	kp, err := nkeys.FromSeed(bytes.TrimSpace(seed))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := kp.PublicKey(); got != pub {
		t.Fatalf("the seed's public key is %s, printed %s", got, pub)
	}
	if err := m.Run(context.Background()); err == nil {
		t.Fatal("wrote over a seed")
	}
	if again, _ := os.ReadFile(seedFile); !bytes.Equal(again, seed) {
		t.Fatal("the seed changed")
	}
}

// TestCalloutFlags: the callout command's own defaults, and the
// environment.
func TestCalloutFlags(t *testing.T) {
	for _, v := range []string{"ZONER_NATS_USER", "ZONER_HTTP", "ZONER_CALLOUT_ISSUER_SEED_FILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("ZONER_CALLOUT_ISSUER_SEED", "SAseed")
	t.Setenv("ZONER_CLOUD_SECRET", "the cloud's secret, 16+ bytes")
	m := NewMain()
	if err := m.ParseFlags(context.Background(), []string{"callout"}); err != nil {
		t.Fatal(err)
	}
	if m.NATSUser != natsedge.CalloutUser || m.HTTPAddr != "127.0.0.1:9466" || string(m.IssuerSeed) != "SAseed" ||
		string(m.Secret) != "the cloud's secret, 16+ bytes" || !m.Serves() {
		t.Fatalf("user %q http %q seed %q secret %q serves %v", m.NATSUser, m.HTTPAddr, m.IssuerSeed, m.Secret, m.Serves())
	}
	t.Setenv("ZONER_NATS_USER", "another-auth-user")
	m = NewMain()
	if err := m.ParseFlags(context.Background(), []string{"callout", "-http", ""}); err != nil {
		t.Fatal(err)
	}
	if m.NATSUser != "another-auth-user" || m.HTTPAddr != "" {
		t.Fatalf("user %q http %q", m.NATSUser, m.HTTPAddr)
	}
	// serve keeps its own defaults.
	m = NewMain()
	m.ParseFlags(context.Background(), []string{"serve"})
	if m.HTTPAddr != "127.0.0.1:9464" {
		t.Fatalf("serve's http: %q", m.HTTPAddr)
	}
}

// TestCalloutCommand runs the callout command against a server configured
// with the auth callout: ready once subscribed, a family admitted and
// counted, unready while the server is down, ready again once it is back,
// and closed cleanly.
func TestCalloutCommand(t *testing.T) {
	issuer, _ := nkeys.CreateAccount()
	seed, _ := issuer.Seed()
	pub, _ := issuer.PublicKey()
	authPassword := rand.Text()
	dir := t.TempDir()
	start := func(listen string) *server.Server {
		conf := filepath.Join(dir, "nats.conf")
		os.WriteFile(conf, []byte(fmt.Sprintf(`listen: %q
authorization {
  users: [ {user: zoner-service, password: "svc-%s"}, {user: zoner-auth, password: %q} ]
  auth_callout { issuer: %q, auth_users: [ zoner-service, zoner-auth ] }
}
`, listen, authPassword, authPassword, pub)), 0o600)
		opts, err := server.ProcessConfigFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		opts.NoSigs, opts.NoLog = true, true
		ns, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		t.Cleanup(ns.Shutdown)
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("server not ready")
		}
		return ns
	}
	ns := start("127.0.0.1:-1")
	addr := ns.Addr().String()

	secret := []byte("the cloud's secret, 16+ bytes")
	m := NewMain()
	m.Command, m.NATSURL, m.NATSUser, m.NATSPassword = "callout", ns.ClientURL(), natsedge.CalloutUser, authPassword
	m.Secret, m.IssuerSeed, m.HTTPAddr = secret, seed, "127.0.0.1:0"
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			m.Close()
		}
	})
	readyz := func() int {
		resp, err := http.Get(m.MetricsURL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	answers := func(want int) func() (bool, string) {
		return func() (bool, string) {
			got := readyz()
			return got == want, fmt.Sprintf("/readyz answers %d", got)
		}
	}
	wait.Until(t, 15*time.Second, "ready", answers(http.StatusOK))

	family := uuid.New()
	nc, err := nats.Connect(ns.ClientURL(), nats.UserInfo(family.String(), edge.FamilySecret(secret, family)))
	if err != nil {
		t.Fatalf("a family's login: %v", err)
	}
	nc.Close()
	// Counted once the answer is sent, maybe after the login completed.
	wait.Until(t, 15*time.Second, "the admission counted", func() (bool, string) {
		resp, err := http.Get(m.MetricsURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(body), `zoner_bridge_callout_requests_total{result="admitted"} 1`), "not counted in /metrics"
	})

	ns.Shutdown()
	ns.WaitForShutdown()
	wait.Until(t, 15*time.Second, "unready with the server down", answers(http.StatusServiceUnavailable))
	ns = start(addr)
	wait.Until(t, 15*time.Second, "ready again", answers(http.StatusOK))
	nc, err = nats.Connect(ns.ClientURL(), nats.UserInfo(family.String(), edge.FamilySecret(secret, family)))
	if err != nil {
		t.Fatalf("a family's login after the server's restart: %v", err)
	}
	nc.Close()

	done := make(chan struct{})
	go func() {
		m.Close()
		close(done)
	}()
	select {
	case <-done:
		closed = true
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}
