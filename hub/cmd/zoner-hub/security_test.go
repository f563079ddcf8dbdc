package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// On the LAN every API request needs the pairing token, which is shown
// once, never logged, and can be rotated.
func TestLANPairing(t *testing.T) {
	dir := t.TempDir()
	var shown, logs bytes.Buffer
	m := mustRun(t, dir, func(m *Main) {
		m.HTTPAddr = "0.0.0.0:0"
		m.Stdout = &shown
		m.Logger = newTestLogger(&logs)
	})
	tok := regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`).FindString(shown.String())
	if tok == "" {
		t.Fatalf("no pairing token shown: %q", shown.String())
	}
	anon := &client{tb: t, base: m.URL}
	paired := &client{tb: t, base: m.URL, token: tok}
	f := newFamily(t)
	for _, path := range []string{"/api/v1/family", "/api/v1/events", "/api/v1/stream"} {
		if code, _ := anon.do("GET", path, nil); code != 401 {
			t.Errorf("GET %s without a token: %d, want 401", path, code)
		}
	}
	if code, _ := anon.do("POST", "/api/v1/setup", f.encode(f.setup()...)); code != 401 {
		t.Errorf("write without a token: %d", code)
	}
	wrong := &client{tb: t, base: m.URL, token: strings.Repeat("a", len(tok))}
	if code, _ := wrong.do("GET", "/api/v1/family", nil); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	if code, _ := anon.do("GET", "/healthz", nil); code != 200 {
		t.Errorf("healthz needs no token: %d", code)
	}
	paired.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)

	// A browser trades the token for a cookie it cannot read from script
	// and that no other site's request carries.
	resp, err := http.Post(m.URL+"/api/v1/pairing/session", "application/json", strings.NewReader(`{"token":" `+tok+` "}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); resp.StatusCode != 200 || len(cs) != 1 || cs[0].Name != "zoner_token" || cs[0].Value != tok ||
		!cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/" || cs[0].MaxAge < 300*24*3600 {
		t.Fatalf("pairing session: %d %v", resp.StatusCode, resp.Header["Set-Cookie"])
	}
	if code, _ := (&client{tb: t, base: m.URL, cookie: tok}).do("GET", "/api/v1/family", nil); code != 200 {
		t.Errorf("the cookie is not accepted: %d", code)
	}
	if code, _ := anon.do("POST", "/api/v1/pairing/session", []byte(`{"token":"`+strings.Repeat("a", len(tok))+`"}`)); code != 401 {
		t.Errorf("a wrong token was paired: %d", code)
	}

	var rotated struct{ Token string }
	paired.json("POST", "/api/v1/pairing/rotate", nil, 200, &rotated)
	if rotated.Token == "" || rotated.Token == tok {
		t.Fatalf("rotation gave %q", rotated.Token)
	}
	if code, _ := paired.do("GET", "/api/v1/family", nil); code != 401 {
		t.Errorf("the old token still works after rotation: %d", code)
	}
	renewed := &client{tb: t, base: m.URL, token: rotated.Token}
	renewed.json("GET", "/api/v1/family", nil, 200, nil)
	if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), rotated.Token) {
		t.Error("a pairing token appears in the log")
	}

	// A restart keeps the rotated token and shows none.
	m.Close()
	shown.Reset()
	m = mustRun(t, dir, func(m *Main) { m.HTTPAddr = "0.0.0.0:0"; m.Stdout = &shown })
	if shown.Len() != 0 {
		t.Errorf("a restart showed a token again: %q", shown.String())
	}
	(&client{tb: t, base: m.URL, token: rotated.Token}).json("GET", "/api/v1/family", nil, 200, nil)
}

// With a store key the event log is unreadable on disk, and the hub does
// not start with a wrong key.
func TestEncryptedLog(t *testing.T) {
	dir := t.TempDir()
	key := func(k string) func(*Main) { return func(m *Main) { m.StoreKey = k } }
	m := mustRun(t, dir, key("correct horse battery staple"))
	f := newFamily(t)
	c := &client{tb: t, base: m.URL}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	m.Close()

	if logHolds(dir, "The Okafors") || logHolds(dir, f.ada.String()) {
		t.Error("the encrypted event log holds plaintext")
	}
	// The same check finds the plaintext in a log written without a key.
	plain := t.TempDir()
	pm := mustRun(t, plain)
	(&client{tb: t, base: pm.URL}).json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	pm.Close()
	if !logHolds(plain, "The Okafors") {
		t.Error("the plaintext check does not find the family name in an unencrypted log")
	}

	m = mustRun(t, dir, key("correct horse battery staple"))
	var fam struct{ Members []any }
	(&client{tb: t, base: m.URL}).json("GET", "/api/v1/family", nil, 200, &fam)
	if len(fam.Members) != 3 {
		t.Errorf("after a restart with the key: %d members", len(fam.Members))
	}
	m.Close()

	bad := NewMain()
	bad.DataDir, bad.HTTPAddr, bad.StoreKey = dir, "127.0.0.1:0", "wrong key"
	bad.Logger, bad.Stdout = newTestLogger(&bytes.Buffer{}), &bytes.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := bad.Run(ctx)
	bad.Close()
	if err == nil {
		t.Fatal("the hub started with the wrong store key")
	}
	t.Logf("wrong key: %v", err)
}

// A corrupt or foreign state database is set aside and rebuilt from the
// log; the hub starts.
func TestCorruptStateIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	m := mustRun(t, dir)
	f := newFamily(t)
	c := &client{tb: t, base: m.URL}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	c.json("POST", "/api/v1/events", f.encode(f.tripEvent()), 200, nil)
	want := string(c.json("GET", "/api/v1/family", nil, 200, nil))
	m.Close()

	for name, damage := range map[string]func(path string){
		"garbage":   func(p string) { os.WriteFile(p, bytes.Repeat([]byte("not a database "), 1000), 0o600) },
		"truncated": func(p string) { os.Truncate(p, 1000) },
		"empty":     func(p string) { os.WriteFile(p, nil, 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			os.Remove(filepath.Join(dir, "hub.db-wal"))
			os.Remove(filepath.Join(dir, "hub.db-shm"))
			damage(filepath.Join(dir, "hub.db"))
			m := mustRun(t, dir)
			c := &client{tb: t, base: m.URL}
			if got := string(c.json("GET", "/api/v1/family", nil, 200, nil)); got != want {
				t.Errorf("rebuilt family differs:\n%s\n%s", got, want)
			}
			waitPlans(t, c, f.trip, 3)
			m.Close()
		})
	}
}

// zoner-hub rebuild builds the state anew and exits.
func TestRebuildCommand(t *testing.T) {
	dir := t.TempDir()
	m := mustRun(t, dir)
	f := newFamily(t)
	(&client{tb: t, base: m.URL}).json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	m.Close()

	var out bytes.Buffer
	r := NewMain()
	if err := r.ParseFlags(context.Background(), []string{"rebuild", "-data", dir}); err != nil {
		t.Fatal(err)
	}
	r.Stdout, r.Logger = &out, newTestLogger(&bytes.Buffer{})
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if !strings.Contains(out.String(), "from 4 events") {
		t.Errorf("rebuild said %q", out.String())
	}
}

// logHolds reports whether any file of the event log contains s.
func logHolds(dir, s string) bool {
	found := false
	filepath.WalkDir(filepath.Join(dir, "jetstream"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			found = found || bytes.Contains(b, []byte(s))
		}
		return nil
	})
	return found
}

// A hub closed straight after acknowledging a write, before applying it,
// applies it at the next start: encrypted or not, nothing waits for a
// redelivery timeout and nothing is lost.
func TestRestartRightAfterWrite(t *testing.T) {
	for _, key := range []string{"", "a key"} {
		dir := t.TempDir()
		f := newFamily(t)
		for i := range 8 {
			start := time.Now()
			m := mustRun(t, dir, func(m *Main) { m.StoreKey = key })
			c := &client{tb: t, base: m.URL}
			if i == 0 {
				c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
			} else {
				var fam struct{ Members []any }
				c.json("GET", "/api/v1/family", nil, 200, &fam)
				if len(fam.Members) != 3+i-1 {
					t.Fatalf("key %q, restart %d: %d members, want %d", key, i, len(fam.Members), 3+i-1)
				}
				e := f.event(syncproto.NewID(), testNow, time.Time{}, "America/Los_Angeles", &syncproto.MemberUpserted{
					DisplayName: fmt.Sprintf("Guest %d", i), AgeBand: syncproto.AgeAdult, HomeTZ: "America/Los_Angeles",
					SleepTime: clock(23, 0), WakeTime: clock(7, 0)})
				c.json("POST", "/api/v1/events", f.encode(e), 200, nil)
				if time.Since(start) > 5*time.Second {
					t.Errorf("restart %d: start, a read and a write took %v", i, time.Since(start))
				}
			}
			m.Close()
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// the two paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "zoner-hub test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// With a certificate the hub serves HTTPS (phones need it on the LAN for
// the web UI's offline start and notifications), and the pairing cookie is
// then sent over HTTPS only.
func TestHTTPS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	var shown bytes.Buffer
	m := mustRun(t, t.TempDir(), func(m *Main) {
		m.HTTPAddr = "0.0.0.0:0"
		m.Stdout = &shown
		m.TLSCert, m.TLSKey = certFile, keyFile
	})
	if !strings.HasPrefix(m.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %q", m.URL)
	}
	tok := regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`).FindString(shown.String())
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(m.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("<title>Zoner</title>")) {
		t.Fatalf("GET / over HTTPS: %d %.200s", resp.StatusCode, page)
	}
	resp, err = c.Post(m.URL+"/api/v1/pairing/session", "application/json", strings.NewReader(`{"token":"`+tok+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); resp.StatusCode != 200 || len(cs) != 1 || !cs[0].Secure {
		t.Errorf("pairing over HTTPS: %d %v", resp.StatusCode, resp.Header["Set-Cookie"])
	}
	// Plain HTTP to the HTTPS port gets no page.
	if resp, err := http.Get(strings.Replace(m.URL, "https://", "http://", 1) + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the HTTPS port answered plain HTTP")
		}
	}

	// A missing key file is named at start.
	bad := NewMain()
	bad.DataDir, bad.HTTPAddr, bad.Stdout = t.TempDir(), "127.0.0.1:0", io.Discard
	bad.TLSCert, bad.TLSKey = certFile, filepath.Join(t.TempDir(), "missing.pem")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = bad.Run(ctx)
	bad.Close()
	if err == nil || !strings.Contains(err.Error(), "TLS certificate") {
		t.Errorf("a missing key: %v", err)
	}
}
