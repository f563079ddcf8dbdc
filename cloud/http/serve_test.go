package http

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

// mustSelfSignedCert writes a self-signed certificate for 127.0.0.1 and
// its key to a temp dir, and returns their paths and a pool trusting it.
func mustSelfSignedCert(tb testing.TB) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "zoner-cloud test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		tb.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// mustServe runs Serve on a loopback listener until the test ends, and
// returns the address and a func that stops it and returns Serve's error.
func mustServe(tb testing.TB, s *Server, certFile, keyFile string) (addr string, stop func() error) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, certFile, keyFile) }()
	var stopped bool
	var serr error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case serr = <-done:
			case <-time.After(15 * time.Second):
				tb.Fatal("Serve did not return after its context ended")
			}
		}
		return serr
	}
	tb.Cleanup(func() { stop() })
	return ln.Addr().String(), stop
}

func TestServeTLS(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	ts.Server.now = time.Now
	certFile, keyFile, pool := mustSelfSignedCert(t)
	addr, stop := mustServe(t, ts.Server, certFile, keyFile)

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("status %d, TLS %+v", resp.StatusCode, resp.TLS)
	}

	// An authenticated read over TLS.
	req, _ := http.NewRequest("GET", "https://"+addr+recPath(familyA, memberA), nil)
	req.Header.Set("Authorization", "Bearer "+mustToken(t, Claims{Role: RoleGuardian, Family: familyA, Subject: "g"}, time.Now()))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(ts.backend.recs[[2]uuid.UUID{familyA, memberA}]) {
		t.Errorf("%d %s", resp.StatusCode, body)
	}

	// Plain HTTP to the TLS port gets no answer from the API.
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + addr + "/healthz"); err == nil {
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the TLS port")
		}
		resp.Body.Close()
	}

	// TLS 1.1 is refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}, Timeout: 5 * time.Second}
	if resp, err := old.Get("https://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("TLS 1.1 accepted")
	}

	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	addr, stop := mustServe(t, ts.Server, "", "")
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := client.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("still serving after the context ended")
	}
}

func TestServeRefuses(t *testing.T) {
	ts := mustOpenServer(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := ts.Serve(context.Background(), ln, "cert.pem", ""); err == nil {
		t.Error("served with a certificate and no key")
	}
	dir := t.TempDir()
	if err := ts.Serve(context.Background(), ln, filepath.Join(dir, "missing.pem"), filepath.Join(dir, "missing-key.pem")); err == nil {
		t.Error("served with missing certificate files")
	}
}
