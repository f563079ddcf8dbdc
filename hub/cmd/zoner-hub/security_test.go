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
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	hubhttp "github.com/zoner-family/zoner/hub/http"
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

	// A browser trades the token for a session cookie it cannot read
	// from script and that no other site's request carries.
	session := pairBrowser(t, m.URL, " "+tok+" ")
	if code, _ := (&client{tb: t, base: m.URL, cookie: session}).do("GET", "/api/v1/family", nil); code != 200 {
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
	if pairingToken.MatchString(shown.String()) {
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

// pairBrowser trades the pairing token for a session cookie as the web UI
// does, checks the cookie, and returns the session id it holds.
func pairBrowser(t *testing.T, base, tok string) string {
	t.Helper()
	resp, err := http.DefaultClient.Post(base+"/api/v1/pairing/session", "application/json", strings.NewReader(`{"token":"`+tok+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if resp.StatusCode != 200 || len(cs) != 1 || cs[0].Name != hubhttp.SessionCookie || !cs[0].HttpOnly ||
		cs[0].SameSite != http.SameSiteStrictMode || cs[0].Path != "/" || cs[0].MaxAge < 300*24*3600 {
		t.Fatalf("pairing session: %d %v", resp.StatusCode, resp.Header["Set-Cookie"])
	}
	if v := cs[0].Value; v == "" || strings.Contains(v, strings.TrimSpace(tok)) || len(v) < 32 {
		t.Fatalf("the session cookie is not a session id of its own: %q", v)
	}
	return cs[0].Value
}

// browserReq sends a request as a browser would, with the Host header and
// the other headers given, and returns the status and body.
func browserReq(t *testing.T, method, url, host string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Any web page the family opens could post to a hub on localhost: the hub
// refuses a write a browser marks as another site's, whatever its
// Content-Type, and a JSON write sent as anything but JSON.
func TestCrossSiteWritesRefused(t *testing.T) {
	m := mustRun(t, t.TempDir())
	c := &client{tb: t, base: m.URL}
	f := newFamily(t)
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	la := "America/Los_Angeles"
	sleep := func() string {
		return string(f.encode(f.event(f.ada, mustTime(t, "2026-12-17T07:00:00Z"), mustTime(t, "2026-12-17T15:00:00Z"), la, &syncproto.Sleep{})))
	}
	before := len(must(allEvents(c, 1000)))
	evil := map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
	for _, ct := range []string{"text/plain", "application/json", "application/x-www-form-urlencoded"} {
		h := map[string]string{"Content-Type": ct}
		maps.Copy(h, evil)
		if code, body := browserReq(t, "POST", m.URL+"/api/v1/events", "", h, sleep()); code != 403 || !strings.Contains(body, `"code":"forbidden"`) {
			t.Errorf("a cross-site POST as %s: %d %s, want 403 forbidden", ct, code, body)
		}
	}
	for name, h := range map[string]map[string]string{
		"another origin only":            {"Origin": "http://evil.example"},
		"another port of the same host":  {"Origin": strings.Replace(m.URL, "127.0.0.1:", "127.0.0.1:1", 1)},
		"an opaque origin":               {"Origin": "null"},
		"https for an http hub":          {"Origin": strings.Replace(m.URL, "http:", "https:", 1)},
		"Sec-Fetch-Site cross-site only": {"Sec-Fetch-Site": "cross-site"},
		"Sec-Fetch-Site same-site":       {"Sec-Fetch-Site": "same-site"},
	} {
		h["Content-Type"] = "application/json"
		if code, body := browserReq(t, "POST", m.URL+"/api/v1/events", "", h, sleep()); code != 403 {
			t.Errorf("%s: %d %s, want 403", name, code, body)
		}
	}
	if code, body := browserReq(t, "POST", m.URL+"/api/v1/setup", "", evil, string(f.encode(f.setup()...))); code != 403 {
		t.Errorf("a cross-site setup: %d %s", code, body)
	}
	if got := len(must(allEvents(c, 1000))); got != before {
		t.Fatalf("refused writes stored %d events", got-before)
	}
	// Not JSON: 415, even from a client that is not a browser.
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		if code, body := browserReq(t, "POST", m.URL+"/api/v1/events", "", map[string]string{"Content-Type": ct}, sleep()); code != 415 || !strings.Contains(body, "unsupported_media_type") {
			t.Errorf("a write as %q: %d %s, want 415", ct, code, body)
		}
	}
	// The hub's own page, a typed request, and a client that is not a
	// browser (no Origin) are accepted.
	for _, h := range []map[string]string{
		{"Origin": m.URL, "Sec-Fetch-Site": "same-origin"},
		{"Origin": strings.Replace(m.URL, "127.0.0.1", "localhost", 1), "Sec-Fetch-Site": "same-origin", "Host": "localhost"},
		{"Sec-Fetch-Site": "none"},
		{},
	} {
		h["Content-Type"] = "application/json; charset=utf-8"
		host := ""
		if h["Host"] != "" {
			host = strings.Replace(strings.TrimPrefix(m.URL, "http://"), "127.0.0.1", "localhost", 1)
			delete(h, "Host")
		}
		if code, body := browserReq(t, "POST", m.URL+"/api/v1/events", host, h, sleep()); code != 200 {
			t.Errorf("a write with %v: %d %s, want 200", h, code, body)
		}
	}
}

func must[T any](v T, _ ...any) T { return v }

// A page whose name was pointed at the hub's address (DNS rebinding) is
// same-origin with itself, not with the hub: the hub answers only to its
// own addresses and names.
func TestDNSRebindingRefused(t *testing.T) {
	m := mustRun(t, t.TempDir())
	c := &client{tb: t, base: m.URL}
	f := newFamily(t)
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	hostport := strings.TrimPrefix(m.URL, "http://")
	_, port, _ := net.SplitHostPort(hostport)
	for _, p := range []string{"/api/v1/family", "/api/v1/members", "/api/v1/members/" + f.kemi.String() + "/log", "/api/v1/events", "/api/v1/today", "/api/v1/stream"} {
		for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1:1" + port, "localhost.evil.example:" + port} {
			code, body := browserReq(t, "GET", m.URL+p, host, nil, "")
			if code != 403 || strings.Contains(body, "Okafor") || strings.Contains(body, "Kemi") {
				t.Errorf("GET %s with Host %s: %d %.200s, want 403 and nothing of the family", p, host, code, body)
			}
		}
	}
	for _, host := range []string{hostport, "localhost:" + port, "LOCALHOST:" + port, "[::1]:" + port} {
		if code, body := browserReq(t, "GET", m.URL+"/api/v1/family", host, nil, ""); code != 200 {
			t.Errorf("GET /api/v1/family with Host %s: %d %s", host, code, body)
		}
	}
	// Health and the API's description are nobody's secret.
	for _, p := range []string{"/healthz", "/readyz", "/api/openapi.json"} {
		if code, _ := browserReq(t, "GET", m.URL+p, "evil.example:"+port, nil, ""); code != 200 {
			t.Errorf("GET %s with another Host: %d, want 200", p, code)
		}
	}

	// On the LAN the hub answers to the machine's addresses and the
	// names given with -hosts too, and to nothing else, token or not.
	flags := NewMain()
	flags.Logger = newTestLogger(io.Discard)
	if err := flags.ParseFlags(context.Background(), []string{"-hosts", "hub.local, Zoner.Example,"}); err != nil {
		t.Fatal(err)
	}
	var shown bytes.Buffer
	lan := mustRun(t, t.TempDir(), func(m *Main) {
		m.HTTPAddr = "0.0.0.0:0"
		m.Stdout = &shown
		m.Hosts = flags.Hosts
	})
	tok := regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`).FindString(shown.String())
	_, port, _ = net.SplitHostPort(strings.TrimPrefix(lan.URL, "http://"))
	auth := map[string]string{"Authorization": "Bearer " + tok}
	hosts := []string{"127.0.0.1:" + port, "localhost:" + port, "hub.local:" + port, "zoner.example:" + port}
	if ip := lanIP(); ip != "" {
		hosts = append(hosts, net.JoinHostPort(ip, port))
	} else {
		t.Log("this machine has no LAN address to check")
	}
	for _, host := range hosts {
		if code, body := browserReq(t, "GET", lan.URL+"/api/v1/family", host, auth, ""); code != 200 {
			t.Errorf("LAN hub, Host %s: %d %s", host, code, body)
		}
	}
	if code, _ := browserReq(t, "GET", lan.URL+"/api/v1/family", "evil.example:"+port, auth, ""); code != 403 {
		t.Errorf("LAN hub, Host evil.example: %d, want 403", code)
	}
}

// lanIP is an address of this machine other than loopback, if it has one.
func lanIP() string {
	as, _ := net.InterfaceAddrs()
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return ""
}

// On the LAN the cookie holds a session of its own, not the household's
// token; another origin on the same address cannot write with it; rotating
// the token ends every session; sessions survive a restart.
func TestLANSessionCookie(t *testing.T) {
	dir := t.TempDir()
	var shown bytes.Buffer
	lanHub := func(m *Main) { m.HTTPAddr = "0.0.0.0:0"; m.Stdout = &shown }
	m := mustRun(t, dir, lanHub)
	tok := regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`).FindString(shown.String())
	f := newFamily(t)
	(&client{tb: t, base: m.URL, token: tok}).json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	session := pairBrowser(t, m.URL, tok)
	if data, _ := os.ReadFile(filepath.Join(dir, "pairing.sha256")); bytes.Contains(data, []byte(session)) || bytes.Contains(data, []byte(tok)) {
		t.Error("pairing.sha256 holds a token or a session id itself")
	}
	// The cookie is no token.
	if code, _ := (&client{tb: t, base: m.URL, token: session}).do("GET", "/api/v1/family", nil); code != 401 {
		t.Errorf("the session id works as a bearer token: %d", code)
	}
	if code, _ := (&client{tb: t, base: m.URL, cookie: tok}).do("GET", "/api/v1/family", nil); code != 401 {
		t.Errorf("the token works as a session cookie: %d", code)
	}

	// Another service on the same address (another port) posts with
	// the phone's cookie, which browsers send to every port of a host.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(m.URL, "http://"))
	other := "http://127.0.0.1:1" + port
	cookie := hubhttp.SessionCookie + "=" + session
	sleep := string(f.encode(f.event(f.ada, mustTime(t, "2026-12-17T07:00:00Z"), mustTime(t, "2026-12-17T15:00:00Z"), "America/Los_Angeles", &syncproto.Sleep{})))
	for _, p := range []string{"/api/v1/events", "/api/v1/pairing/rotate", "/api/v1/members/" + f.ada.String() + "/feeds"} {
		for _, site := range []string{"same-site", ""} {
			h := map[string]string{"Cookie": cookie, "Origin": other, "Content-Type": "application/json"}
			if site != "" {
				h["Sec-Fetch-Site"] = site
			}
			if code, body := browserReq(t, "POST", m.URL+p, "", h, sleep); code != 403 {
				t.Errorf("POST %s from %s with the cookie (Sec-Fetch-Site %q): %d %s, want 403", p, other, site, code, body)
			}
		}
	}
	(&client{tb: t, base: m.URL, token: tok}).json("GET", "/api/v1/family", nil, 200, nil) // not rotated
	// The hub's own page writes with it.
	h := map[string]string{"Cookie": cookie, "Origin": m.URL, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}
	if code, body := browserReq(t, "POST", m.URL+"/api/v1/events", "", h, sleep); code != 200 {
		t.Fatalf("a same-origin write with the cookie: %d %s", code, body)
	}

	// Sessions survive a restart; a rotation ends them all.
	m.Close()
	m = mustRun(t, dir, lanHub)
	browser := &client{tb: t, base: m.URL, cookie: session}
	browser.json("GET", "/api/v1/family", nil, 200, nil)
	second := pairBrowser(t, m.URL, tok)
	var rotated struct{ Token string }
	browser.json("POST", "/api/v1/pairing/rotate", nil, 200, &rotated)
	for _, s := range []string{session, second} {
		if code, _ := (&client{tb: t, base: m.URL, cookie: s}).do("GET", "/api/v1/family", nil); code != 401 {
			t.Errorf("a session outlived the rotation: %d", code)
		}
	}
	third := pairBrowser(t, m.URL, rotated.Token)
	(&client{tb: t, base: m.URL, cookie: third}).json("GET", "/api/v1/family", nil, 200, nil)
	// zoner-hub pair ends them too.
	m.Close()
	pair := NewMain()
	pair.Command, pair.DataDir, pair.Stdout = "pair", dir, io.Discard
	if err := pair.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	m = mustRun(t, dir, lanHub)
	if code, _ := (&client{tb: t, base: m.URL, cookie: third}).do("GET", "/api/v1/family", nil); code != 401 {
		t.Errorf("a session outlived zoner-hub pair: %d", code)
	}
}

// A calendar app subscribes to a member's feed link with no token or
// cookie; the link opens that calendar and nothing else, survives a
// restart, and stops working once revoked.
func TestCalendarFeedLink(t *testing.T) {
	dir := t.TempDir()
	var shown bytes.Buffer
	lanHub := func(m *Main) { m.HTTPAddr = "0.0.0.0:0"; m.Stdout = &shown }
	m := mustRun(t, dir, lanHub)
	tok := regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`).FindString(shown.String())
	paired := &client{tb: t, base: m.URL, token: tok}
	f := newFamily(t)
	paired.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	paired.json("POST", "/api/v1/events", f.encode(f.tripEvent()), 200, nil)
	waitPlans(t, paired, f.trip, 3)

	anon := &client{tb: t, base: m.URL}
	anon.json("POST", "/api/v1/members/"+f.ada.String()+"/feeds", nil, 401, nil)
	var link struct{ Path, URL, Webcal string }
	paired.json("POST", "/api/v1/members/"+f.ada.String()+"/feeds", nil, 200, &link)
	hostport := strings.TrimPrefix(m.URL, "http://")
	if !regexp.MustCompile(`^/api/v1/feeds/[a-z2-7]{32}\.ics$`).MatchString(link.Path) || link.URL != m.URL+link.Path || link.Webcal != "webcal://"+hostport+link.Path {
		t.Fatalf("feed link %+v", link)
	}
	feed := func(c *client, path string) (int, string) {
		code, b := c.do("GET", path, nil)
		return code, string(b)
	}
	if code, body := feed(anon, link.Path); code != 200 || !strings.HasPrefix(body, "BEGIN:VCALENDAR\r\n") || !strings.Contains(body, "Zoner: Ada") || !strings.Contains(body, "Christmas in London") {
		t.Fatalf("the feed without a token: %d %.300s", code, body)
	}
	// A calendar app fetches the link as given, with the hub's name.
	if code, _ := browserReq(t, "GET", link.URL, "", nil, ""); code != 200 {
		t.Errorf("GET %s: %d", link.URL, code)
	}
	secret := strings.TrimSuffix(strings.TrimPrefix(link.Path, "/api/v1/feeds/"), ".ics")
	for _, p := range []string{
		"/api/v1/feeds/" + secret, "/api/v1/feeds/" + strings.ToUpper(secret) + ".ics", "/api/v1/feeds/" + secret[:31] + "a.ics",
		"/api/v1/feeds/" + f.ada.String() + ".ics", "/api/v1/feeds/.ics",
	} {
		if code, body := feed(anon, p); code != 404 {
			t.Errorf("GET %s: %d %.200s, want 404", p, code, body)
		}
	}
	// The link opens nothing else.
	for _, p := range []string{"/api/v1/family", "/api/v1/members/" + f.ada.String() + "/calendar.ics", "/api/v1/members/" + f.ada.String() + "/plans"} {
		code, _ := browserReq(t, "GET", m.URL+p+"?key="+secret, "", map[string]string{"Authorization": "Bearer " + secret}, "")
		if code != 401 {
			t.Errorf("GET %s with the feed's secret: %d, want 401", p, code)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "feeds.sha256")); len(data) == 0 || bytes.Contains(data, []byte(secret)) {
		t.Errorf("feeds.sha256 (%d bytes) is missing or holds the secret itself", len(data))
	}
	// Kemi's link is Kemi's calendar.
	var kemi struct{ Path string }
	paired.json("POST", "/api/v1/members/"+f.kemi.String()+"/feeds", nil, 200, &kemi)
	if _, body := feed(anon, kemi.Path); !strings.Contains(body, "Zoner: Kemi") {
		t.Errorf("Kemi's feed is not hers: %.200s", body)
	}

	// A restart keeps the links; revoking Ada's ends hers only.
	m.Close()
	m = mustRun(t, dir, lanHub)
	anon, paired = &client{tb: t, base: m.URL}, &client{tb: t, base: m.URL, token: tok}
	if code, _ := feed(anon, link.Path); code != 200 {
		t.Fatalf("the feed link after a restart: %d", code)
	}
	var revoked struct{ Revoked int }
	paired.json("POST", "/api/v1/members/"+f.ada.String()+"/feeds/revoke", nil, 200, &revoked)
	if revoked.Revoked != 1 {
		t.Errorf("revoked %d links, want 1", revoked.Revoked)
	}
	if code, _ := feed(anon, link.Path); code != 404 {
		t.Errorf("the revoked feed: %d, want 404", code)
	}
	if code, _ := feed(anon, kemi.Path); code != 200 {
		t.Errorf("Kemi's feed after revoking Ada's: %d", code)
	}
	// A rotated pairing token leaves calendar links alone.
	paired.json("POST", "/api/v1/pairing/rotate", nil, 200, nil)
	if code, _ := feed(anon, kemi.Path); code != 200 {
		t.Errorf("Kemi's feed after a rotation: %d", code)
	}
}
