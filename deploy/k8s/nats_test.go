package k8s

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/zoner-family/zoner/bridge/natssource"
	"github.com/zoner-family/zoner/edge"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The NATS configuration, as rendered, is one nats-server accepts (its own
// parser reads it, with the container's environment), listens on the
// container's ports, runs JetStream in the cloud's domain, routes to every
// replica of the StatefulSet, and uses only variables the container sets.
// Then a server runs from it and the real auth callout admits a family's
// hub, by client and by leaf-node link over TLS, and refuses a wrong
// secret: the authorization block works as written.
func checkNATS(t *testing.T, b *bundle) {
	w := b.workload("nats")
	if w == nil {
		t.Fatal("no nats workload")
	}
	spec := &w.pod.Spec
	c := &spec.Containers[slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == "nats" })]
	checkNATSImage(t, c.Image)

	// The configuration files, as the container sees them.
	confPath := c.Args[slices.Index(c.Args, "--config")+1]
	if _, err := b.fileIn(spec, c, confPath); err != nil {
		t.Fatalf("--config %s: %v", confPath, err)
	}
	var confMount string
	var files map[string]string
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && strings.HasPrefix(confPath, m.MountPath+"/") {
				confMount, files = m.MountPath, b.configMaps[v.ConfigMap.Name].Data
			}
		}
	}
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	writeCert(t, tlsDir)
	envUsed := map[string]bool{}
	fileRef := regexp.MustCompile(`(?m)^\s*(?:cert_file|key_file|ca_file)\s*:\s*"?([^"\s]+)`)
	for name, text := range files {
		for _, m := range fileRef.FindAllStringSubmatch(text, -1) {
			if kind, err := b.fileIn(spec, c, m[1]); err != nil || kind != "secret" {
				t.Errorf("%s names %s: %v (kind %s)", name, m[1], err, kind)
			}
			text = strings.ReplaceAll(text, m[1], filepath.Join(tlsDir, filepath.Base(m[1])))
		}
		for _, v := range natsVariables(text) {
			envUsed[v] = true
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// The container's environment, secrets made up.
	issuer, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	issuerPub, _ := issuer.PublicKey()
	issuerSeed, _ := issuer.Seed()
	for _, e := range c.Env {
		v := e.Value
		switch from := e.ValueFrom; {
		case from == nil:
		case from.FieldRef != nil && from.FieldRef.FieldPath == "metadata.name":
			v = w.name + "-0"
		case from.ResourceFieldRef != nil:
			v = "1073741824"
		case from.SecretKeyRef != nil && from.SecretKeyRef.Key == "issuer":
			v = issuerPub
		case from.SecretKeyRef != nil:
			v = "made-up-" + from.SecretKeyRef.Name + "-" + rand.Text()
		default:
			t.Errorf("env %s: a source this test does not know", e.Name)
		}
		t.Setenv(e.Name, v)
		delete(envUsed, e.Name)
	}
	for v := range envUsed {
		t.Errorf("the NATS configuration uses $%s, which the container does not set", v)
	}

	opts, err := server.ProcessConfigFile(filepath.Join(dir, strings.TrimPrefix(confPath, confMount+"/")))
	if err != nil {
		t.Fatalf("nats-server refuses the configuration: %v", err)
	}
	port := func(name string) int {
		p, ok := findPort(c.Ports, intstr.FromString(name))
		if !ok {
			t.Errorf("the nats container has no port %s", name)
		}
		return int(p.ContainerPort)
	}
	if opts.Port != port("client") || opts.HTTPPort != port("monitor") || opts.LeafNode.Port != port("leafnodes") {
		t.Errorf("NATS listens on %d (clients), %d (monitoring), %d (leaf nodes); the container declares client, monitor and leafnodes ports %d, %d, %d",
			opts.Port, opts.HTTPPort, opts.LeafNode.Port, port("client"), port("monitor"), port("leafnodes"))
	}
	if opts.LeafNode.TLSConfig == nil || !opts.LeafNode.NoAdvertise {
		t.Error("the leaf-node port must speak TLS (hubs link over the internet) and not advertise the pods' addresses")
	}
	if opts.JetStreamDomain != syncproto.CloudDomain || !opts.JetStream || opts.ServerName != w.name+"-0" {
		t.Errorf("JetStream %t in domain %q as %q; want the cloud's domain %q, server named after the pod", opts.JetStream, opts.JetStreamDomain, opts.ServerName, syncproto.CloudDomain)
	}
	if m := mountOf(c, opts.StoreDir); m == nil || !slices.ContainsFunc(w.claims, func(pvc corev1.PersistentVolumeClaim) bool { return pvc.Name == m.Name }) {
		t.Errorf("JetStream stores in %s, which is not on the StatefulSet's persistent volume", opts.StoreDir)
	}
	replicas := int(b.minReplicas(w))
	if replicas > 1 {
		var hosts []string
		for _, r := range opts.Routes {
			hosts = append(hosts, r.Hostname())
		}
		for i := range replicas {
			if want := w.name + "-" + strconv.Itoa(i) + "." + w.serviceName; !slices.Contains(hosts, want) {
				t.Errorf("no route to %s (routes %v)", want, hosts)
			}
		}
		if opts.Cluster.Port != port("cluster") {
			t.Errorf("cluster port %d; the container declares %d", opts.Cluster.Port, port("cluster"))
		}
	} else if opts.Cluster.Port != 0 || len(opts.Routes) > 0 {
		t.Errorf("one server, yet a cluster on port %d with routes %v", opts.Cluster.Port, opts.Routes)
	}
	if opts.AuthCallout == nil || opts.AuthCallout.Issuer != issuerPub {
		t.Fatalf("no auth callout with the issuer from the Secret: %+v", opts.AuthCallout)
	}
	passwords := map[string]string{}
	for _, u := range opts.Users {
		passwords[u.Username] = u.Password
	}
	for _, u := range []string{edge.ServiceUser, natsedge.CalloutUser} {
		if passwords[u] == "" || !slices.Contains(opts.AuthCallout.AuthUsers, u) {
			t.Errorf("user %s must have a password and be one of auth_callout's auth_users %v", u, opts.AuthCallout.AuthUsers)
		}
	}
	runNATS(t, opts, passwords, issuerSeed)
}

// natsVariables returns the $VARIABLES a NATS configuration uses, outside
// comments and quoted strings (where nats-server does not expand them).
func natsVariables(conf string) []string {
	conf = regexp.MustCompile(`"[^"]*"|#.*`).ReplaceAllString(conf, "")
	var out []string
	for _, m := range regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(conf, -1) {
		out = append(out, m[1])
	}
	return out
}

// The cloud runs the nats-server release the tests embed (go.mod).
func checkNATSImage(t *testing.T, image string) {
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`github.com/nats-io/nats-server/v2 v([0-9.]+)`).FindSubmatch(gomod)
	if _, tag, _ := parseImage(image); m == nil || !strings.HasPrefix(tag, string(m[1])+"-") {
		t.Errorf("NATS image %s; go.mod has nats-server %s", image, m[1])
	}
}

// runNATS starts a server from opts (on free ports, one server, a
// temporary store), runs the auth callout against it as zoner-auth, and
// checks who gets in.
func runNATS(t *testing.T, opts *server.Options, passwords map[string]string, issuerSeed []byte) {
	opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", server.RANDOM_PORT, 0
	opts.LeafNode.Host, opts.LeafNode.Port = "127.0.0.1", server.RANDOM_PORT
	opts.Cluster, opts.Routes = server.ClusterOpts{}, nil
	opts.StoreDir, opts.PidFile = t.TempDir(), ""
	opts.NoLog, opts.NoSigs = true, true
	cloud := startServer(t, opts)

	secret := []byte(rand.Text() + rand.Text())
	callout, err := natsedge.NewCallout(natsedge.CalloutConfig{Secret: secret, IssuerSeed: issuerSeed}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer callout.Close()
	auth := connect(t, cloud, natsedge.CalloutUser, passwords[natsedge.CalloutUser])
	if err := callout.Serve(auth); err != nil {
		t.Fatalf("the callout, as %s: %v", natsedge.CalloutUser, err)
	}
	if err := auth.Flush(); err != nil { // the server has the subscription
		t.Fatal(err)
	}
	// The service user: past the callout, and able to make the streams.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	svc := connect(t, cloud, edge.ServiceUser, passwords[edge.ServiceUser])
	if err := natsedge.EnsureIngest(ctx, svc, 0, 1); err != nil {
		t.Errorf("%s cannot make the ingest stream: %v", edge.ServiceUser, err)
	}
	if err := natssource.EnsureDeadLetters(ctx, svc, 1); err != nil {
		t.Errorf("%s cannot make the dead-letter stream: %v", edge.ServiceUser, err)
	}
	family := uuid.New()
	connect(t, cloud, family.String(), edge.FamilySecret(secret, family))
	if nc, err := nats.Connect(cloud.ClientURL(), nats.UserInfo(family.String(), "wrong"), nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Error("a wrong family secret was let in")
	}
	// A hub's leaf-node link, over TLS, with the family's credentials.
	u, _ := url.Parse("tls://127.0.0.1:" + strconv.Itoa(opts.LeafNode.Port))
	u.User = url.UserPassword(family.String(), edge.FamilySecret(secret, family))
	startServer(t, &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		LeafNode: server.LeafNodeOpts{ReconnectInterval: 100 * time.Millisecond, Remotes: []*server.RemoteLeafOpts{{
			URLs: []*url.URL{u}, TLS: true, TLSConfig: &tls.Config{InsecureSkipVerify: true}}}}}) // a made-up certificate
	wait.Until(t, 10*time.Second, "a hub's leaf-node link with its family's credentials admitted", func() (bool, string) {
		return cloud.NumLeafNodes() == 1, fmt.Sprintf("%d leaf-node links", cloud.NumLeafNodes())
	})
}

func startServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	return s
}

func connect(t *testing.T, s *server.Server, user, password string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.UserInfo(user, password), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// writeCert writes a self-signed tls.crt and tls.key into dir.
func writeCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{"tls.crt": {Type: "CERTIFICATE", Bytes: der}, "tls.key": {Type: "PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
