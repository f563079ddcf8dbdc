//go:build integration

package soak

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
	"github.com/zoner-family/zoner/cloud/warehouse/snowflake"
	"github.com/zoner-family/zoner/internal/netproxy"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/internal/wait"
)

// proc is one program of the cluster, which can be killed and started
// again with the same arguments (its data stays where it was).
type proc struct {
	t      *testing.T
	name   string
	bin    string
	env    []string
	args   []string
	ready  string // a URL that answers 200 once it is up; "" for none
	mu     sync.Mutex
	p      *proctest.Proc
	starts int
}

func (p *proc) start() error {
	p.mu.Lock()
	p.starts++
	p.p = proctest.Start(p.t, fmt.Sprintf("%s.%d", p.name, p.starts), p.bin, p.env, p.args...)
	p.mu.Unlock()
	if p.ready == "" {
		return nil
	}
	return waitOK(p.ready, 90*time.Second)
}

// kill ends the program at once, as a crash does.
func (p *proc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p.Kill9()
}

// waitOK waits until url answers 200.
func waitOK(url string, limit time.Duration) error {
	c := http.Client{Timeout: 5 * time.Second}
	err := wait.Poll(limit, func() error {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s not ready after %s: %w", url, limit, err)
	}
	return nil
}

// cluster is the production-shaped cloud on one machine: nats-server from
// a configuration file with the auth callout, zoner-bridge callout, two
// bridges, two ingest processes and the recommender, over the real Kafka
// broker, redis-server and fakesnow.
type cluster struct {
	t        *testing.T
	dir      string
	kafka    string
	redis    string
	redisDB  int
	fakesnow string
	prefix   string // of the run's topics, groups and schema
	schema   string

	natsAddr, leafAddr string
	secretFile         string

	nats, callout *proc
	bridges       []*proc
	ingests       []*proc
	recommender   *proc
	bridgeBin     string
	hubBin        string
}

func (c *cluster) topics() []string {
	return []string{c.prefix + "sleep_events", c.prefix + "meal_events", c.prefix + "light_exposure", c.prefix + "trip_events"}
}

func (c *cluster) snowflake() snowflake.Config {
	host, port, _ := net.SplitHostPort(c.fakesnow)
	n, _ := strconv.Atoi(port)
	return snowflake.Config{Account: "fakesnow", User: "zoner", Password: "unused", Database: "ZONER_SOAK",
		Schema: c.schema, Host: host, Port: n, Protocol: "http", CreateDatabase: true}
}

func (c *cluster) snowflakeFlags() []string {
	s := c.snowflake()
	return []string{"-warehouse", "snowflake", "-snowflake-account", s.Account, "-snowflake-user", s.User,
		"-snowflake-database", s.Database, "-snowflake-schema", s.Schema, "-snowflake-host", s.Host,
		"-snowflake-port", strconv.Itoa(s.Port), "-snowflake-protocol", "http", "-snowflake-create"}
}

func writeSecret(t *testing.T, dir, name, value string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startCluster starts every cloud process and waits until each is ready.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), kafka: proctest.Service(t, "KAFKA_BROKERS"), redis: proctest.Service(t, "REDIS_ADDR"),
		fakesnow: proctest.Service(t, "FAKESNOW_ADDR"), redisDB: 7}
	// Topics, groups and the schema are the run's own: other tests share
	// the broker and the emulator.
	c.prefix = "soak" + strings.ToLower(rand.Text()[:8]) + "_"
	c.schema = "SOAK_" + strings.ToUpper(rand.Text()[:10])

	natsBin := proctest.Build(t, "github.com/nats-io/nats-server/v2")
	c.bridgeBin = proctest.Build(t, "github.com/zoner-family/zoner/bridge/cmd/zoner-bridge")
	cloudBin := proctest.Build(t, "github.com/zoner-family/zoner/cloud/cmd/zoner-cloud")
	c.hubBin = proctest.Build(t, "github.com/zoner-family/zoner/hub/cmd/zoner-hub")

	secrets := filepath.Join(c.dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	c.secretFile = writeSecret(t, secrets, "cloud-secret", rand.Text()+rand.Text())
	servicePass := rand.Text()
	authPass := rand.Text()
	servicePassFile := writeSecret(t, secrets, "service-password", servicePass)
	authPassFile := writeSecret(t, secrets, "auth-password", authPass)
	issuer, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := issuer.Seed()
	issuerPub, _ := issuer.PublicKey()
	seedFile := writeSecret(t, secrets, "issuer-seed", string(seed))

	// The cloud's NATS, configured as deploy/k8s configures it (one node).
	c.natsAddr, c.leafAddr = proctest.FreeAddr(t), proctest.FreeAddr(t)
	mon := proctest.FreeAddr(t)
	conf := filepath.Join(c.dir, "nats.conf")
	err = os.WriteFile(conf, fmt.Appendf(nil, `server_name: soak
listen: %q
http: %q
max_payload: 1MB
jetstream { store_dir: %q, domain: cloud }
leafnodes { listen: %q }
authorization {
  users: [
    { user: zoner-service, password: %q }
    { user: zoner-auth, password: %q,
      permissions: { publish: { allow: ["$SYS._INBOX.>"] }, subscribe: { allow: ["$SYS.REQ.USER.AUTH"] } } }
  ]
  auth_callout { issuer: %q, auth_users: [ zoner-service, zoner-auth ] }
}
`, c.natsAddr, mon, filepath.Join(c.dir, "jetstream"), c.leafAddr, servicePass, authPass, issuerPub), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	c.nats = &proc{t: t, name: "nats-server", bin: natsBin, args: []string{"-c", conf}, ready: "http://" + mon + "/healthz"}

	natsURL := "nats://" + c.natsAddr
	calloutHTTP := proctest.FreeAddr(t)
	c.callout = &proc{t: t, name: "callout", bin: c.bridgeBin, ready: "http://" + calloutHTTP + "/readyz",
		args: []string{"callout", "-nats-url", natsURL, "-nats-user", "zoner-auth", "-nats-password-file", authPassFile,
			"-secret-file", c.secretFile, "-issuer-seed-file", seedFile, "-http", calloutHTTP, "-log-format", "json"}}

	service := []string{"-nats-url", natsURL, "-nats-user", "zoner-service", "-nats-password-file", servicePassFile}
	tp := c.topics()
	for i := range 2 {
		addr := proctest.FreeAddr(t)
		args := append([]string{"serve", "-kafka-brokers", c.kafka, "-topic-sleep", tp[0], "-topic-meal", tp[1],
			"-topic-light", tp[2], "-topic-trip", tp[3], "-partitions", "6", "-replication", "1",
			"-ack-wait", "5s", "-http", addr, "-log-format", "json"}, service...)
		c.bridges = append(c.bridges, &proc{t: t, name: fmt.Sprintf("bridge-%d", i+1), bin: c.bridgeBin, args: args,
			ready: "http://" + addr + "/readyz"})
	}
	env := []string{"ZONER_SNOWFLAKE_PASSWORD=unused"} // fakesnow checks none
	for i := range 2 {
		addr := proctest.FreeAddr(t)
		args := append([]string{"ingest", "-kafka-brokers", c.kafka, "-topics", strings.Join(tp, ","),
			"-ingest-group", c.prefix + "ingest", "-dead-letter-topic", c.prefix + "dead_letters",
			"-warehouse-timeout", "20s", "-kafka-session-timeout", "8s", "-http", addr, "-log-format", "json"},
			c.snowflakeFlags()...)
		c.ingests = append(c.ingests, &proc{t: t, name: fmt.Sprintf("ingest-%d", i+1), bin: cloudBin, env: env, args: args,
			ready: "http://" + addr + "/healthz"})
	}
	addr := proctest.FreeAddr(t)
	args := append([]string{"recommender", "-kafka-brokers", c.kafka, "-topics", strings.Join(tp, ","),
		"-recommender-group", c.prefix + "recommender", "-cache", "redis", "-redis-addr", c.redis,
		"-redis-db", strconv.Itoa(c.redisDB), "-refresh", "2s", "-kafka-session-timeout", "8s",
		"-http", addr, "-log-format", "json"}, append(service, c.snowflakeFlags()...)...)
	c.recommender = &proc{t: t, name: "recommender", bin: cloudBin, env: env, args: args, ready: "http://" + addr + "/healthz"}

	// Ingest first makes the schema (two at once would race to make it).
	for _, p := range append([]*proc{c.nats, c.callout, c.ingests[0]}, append(c.bridges, c.ingests[1], c.recommender)...) {
		if err := p.start(); err != nil {
			t.Fatalf("start %s: %v", p.name, err)
		}
	}
	return c
}

// all is every process the chaos may kill.
func (c *cluster) all() []*proc {
	return append([]*proc{c.nats, c.callout, c.recommender}, append(c.bridges, c.ingests...)...)
}

// hub is one family's hub, linked to the cloud through a proxy that can
// be cut to take the family offline.
type hub struct {
	*proc
	url   string
	proxy *netproxy.Proxy
}

func (c *cluster) startHub(family string) (*hub, error) {
	out, err := exec.Command(c.bridgeBin, "creds", "-secret-file", c.secretFile, "-family", family).Output()
	if err != nil {
		return nil, fmt.Errorf("zoner-bridge creds: %w", err)
	}
	creds := filepath.Join(c.dir, family+".creds")
	if err := os.WriteFile(creds, out, 0o600); err != nil {
		return nil, err
	}
	proxy, err := netproxy.Start(c.leafAddr)
	if err != nil {
		return nil, err
	}
	c.t.Cleanup(proxy.Close)
	addr := proctest.FreeAddr(c.t)
	h := &hub{url: "http://" + addr, proxy: proxy, proc: &proc{t: c.t, name: "hub-" + family[:8], bin: c.hubBin,
		ready: "http://" + addr + "/readyz",
		args: []string{"-data", filepath.Join(c.dir, "hub-"+family), "-http", addr, "-log-format", "json",
			"-cloud-url", "nats-leaf://" + proxy.Addr(), "-cloud-creds", creds, "-cloud-reconnect", "250ms"}}}
	if err := h.start(); err != nil {
		return nil, err
	}
	return h, nil
}
