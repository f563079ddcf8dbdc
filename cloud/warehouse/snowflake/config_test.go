package snowflake

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sf "github.com/snowflakedb/gosnowflake"
)

const secret = "hunter2-Sup3r-S3cret"

func testConfig() Config {
	return Config{
		Account: "myorg-myaccount", User: "ZONER_INGEST", Database: "ZONER", Schema: "PUBLIC",
		Warehouse: "ZONER_WH", Role: "ZONER_WRITER", Password: secret,
	}
}

// writeKey writes an RSA key as PEM of the given block type to a file in
// a temporary directory, and returns the key and the file's path.
func writeKey(t *testing.T, blockType string) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var der []byte
	switch blockType {
	case "PRIVATE KEY":
		if der, err = x509.MarshalPKCS8PrivateKey(key); err != nil {
			t.Fatal(err)
		}
	case "RSA PRIVATE KEY":
		der = x509.MarshalPKCS1PrivateKey(key)
	default:
		der = []byte("not a key")
	}
	path := filepath.Join(t.TempDir(), "rsa_key.p8")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return key, path
}

func TestConfigHidesSecrets(t *testing.T) {
	key, path := writeKey(t, "PRIVATE KEY")
	keyPEM, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The key's base64 body, and its modulus in decimal and hex.
	keyBody := strings.Split(string(keyPEM), "\n")[1]
	secrets := []string{secret, keyBody, key.N.String(), fmt.Sprintf("%x", key.N)}

	withKey := testConfig()
	withKey.PrivateKeyPath = path
	for name, cfg := range map[string]Config{"password": testConfig(), "key pair": withKey} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			slog.New(slog.NewTextHandler(&logs, nil)).Info("open", "snowflake", cfg, "ptr", &cfg)
			slog.New(slog.NewJSONHandler(&logs, nil)).Info("open", "snowflake", cfg)
			outputs := map[string]string{
				"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
				"%s": fmt.Sprintf("[%s]", cfg), "%v of a pointer": fmt.Sprintf("%v", &cfg),
				"%+v in a struct":  fmt.Sprintf("%+v", struct{ Warehouse Config }{cfg}),
				"%#v of a pointer": fmt.Sprintf("%#v", &cfg),
				"slog":             logs.String(),
			}
			for verb, out := range outputs {
				for _, s := range secrets {
					if strings.Contains(out, s) {
						t.Errorf("%s shows a secret: %s", verb, out)
					}
				}
				if !strings.Contains(out, "ZONER_INGEST") || !strings.Contains(out, "myorg-myaccount") {
					t.Errorf("%s does not show the account and user: %s", verb, out)
				}
			}
			if want := "auth=" + name; !strings.Contains(outputs["%v"], want) {
				t.Errorf("%%v = %s, want it to say %s", outputs["%v"], want)
			}
			if name == "password" && !strings.Contains(outputs["%#v"], `Password:"[REDACTED]"`) {
				t.Errorf("%%#v = %s, want the password shown as set", outputs["%#v"])
			}
		})
	}
}

func TestSFConfigPassword(t *testing.T) {
	cfg, err := testConfig().sfConfig(false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Authenticator != sf.AuthTypeSnowflake || cfg.Password != secret || cfg.PrivateKey != nil {
		t.Errorf("password auth: authenticator %v, password set %t, key %v", cfg.Authenticator, cfg.Password != "", cfg.PrivateKey != nil)
	}
	if cfg.Account != "myorg-myaccount" || cfg.User != "ZONER_INGEST" || cfg.Database != "ZONER" || cfg.Schema != "PUBLIC" ||
		cfg.Warehouse != "ZONER_WH" || cfg.Role != "ZONER_WRITER" || cfg.Protocol != "https" || cfg.LogQueryParameters {
		t.Errorf("sfConfig = %+v", cfg)
	}
	// The driver takes it: its DSN parses back to the same place.
	dsn, err := sf.DSN(cfg)
	if err != nil {
		t.Fatalf("DSN: %v", err)
	}
	back, err := sf.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("ParseDSN: %v", err)
	}
	if back.Account != cfg.Account || back.Database != "ZONER" || back.Schema != "PUBLIC" ||
		back.Host != "myorg-myaccount.snowflakecomputing.com" || back.Port != 443 || back.Password != secret {
		t.Errorf("DSN round trip = account %q db %q schema %q host %q port %d", back.Account, back.Database, back.Schema, back.Host, back.Port)
	}
	if c := sf.NewConnector(sf.SnowflakeDriver{}, *cfg); c == nil {
		t.Error("NewConnector = nil")
	}

	boot, err := testConfig().sfConfig(true)
	if err != nil {
		t.Fatal(err)
	}
	if boot.Database != "" || boot.Schema != "" || boot.Account != cfg.Account {
		t.Errorf("bootstrap config names database %q schema %q", boot.Database, boot.Schema)
	}
}

func TestSFConfigEmulator(t *testing.T) {
	c := testConfig()
	c.Account, c.Host, c.Port, c.Protocol = "fakesnow", "127.0.0.1", 23456, "http"
	cfg, err := c.sfConfig(false)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 checks what config.go sets
	telemetryOff := cfg.DisableTelemetry
	if cfg.Protocol != "http" || cfg.Host != "127.0.0.1" || cfg.Port != 23456 || !telemetryOff {
		t.Errorf("emulator config = protocol %q host %q port %d telemetry off %t", cfg.Protocol, cfg.Host, cfg.Port, telemetryOff)
	}
}

func TestSFConfigKeyPair(t *testing.T) {
	for _, blockType := range []string{"PRIVATE KEY", "RSA PRIVATE KEY"} {
		t.Run(blockType, func(t *testing.T) {
			key, path := writeKey(t, blockType)
			c := testConfig()
			c.PrivateKeyPath = path
			cfg, err := c.sfConfig(false)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Authenticator != sf.AuthTypeJwt || cfg.Password != "" || cfg.PrivateKey == nil || !cfg.PrivateKey.Equal(key) {
				t.Errorf("key pair: authenticator %v, password set %t, same key %t", cfg.Authenticator, cfg.Password != "", cfg.PrivateKey != nil && cfg.PrivateKey.Equal(key))
			}
			if _, err := sf.DSN(cfg); err != nil {
				t.Errorf("DSN: %v", err)
			}
		})
	}
}

func TestSFConfigErrors(t *testing.T) {
	_, garbage := writeKey(t, "PRIVATE KEY")
	if err := os.WriteFile(garbage, []byte("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, encrypted := writeKey(t, "ENCRYPTED PRIVATE KEY")
	notPEM := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(notPEM, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no account", func(c *Config) { c.Account = "" }, "need an account"},
		{"no schema", func(c *Config) { c.Schema = "" }, "need a database and a schema"},
		{"no secret", func(c *Config) { c.Password = "" }, "need a password or a private key"},
		{"protocol", func(c *Config) { c.Protocol = "ftp" }, `protocol "ftp"`},
		{"missing key", func(c *Config) { c.PrivateKeyPath = filepath.Join(t.TempDir(), "none") }, "read private key"},
		{"not PEM", func(c *Config) { c.PrivateKeyPath = notPEM }, "no PEM block"},
		{"bad key", func(c *Config) { c.PrivateKeyPath = garbage }, "not a PKCS#8 key"},
		{"encrypted", func(c *Config) { c.PrivateKeyPath = encrypted }, "encrypted keys are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			tt.edit(&c)
			_, err := c.sfConfig(false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("sfConfig = %v, want an error with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestValidIdent(t *testing.T) {
	for s, want := range map[string]bool{
		"ZONER": true, "zoner_test": true, "_X1$": true, "T_ABC234": true,
		"": false, "1ABC": false, "$A": false, "A-B": false, "A B": false, `A"B`: false, "A;DROP": false, "Ö": false,
	} {
		if got := validIdent(s); got != want {
			t.Errorf("validIdent(%q) = %t, want %t", s, got, want)
		}
	}
}

func TestMigrations(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || SchemaVersion() != len(ms) {
		t.Fatalf("%d migrations, SchemaVersion %d", len(ms), SchemaVersion())
	}
	first := ms[0].statements
	if len(first) != 3 {
		t.Fatalf("migration 1 has %d statements, want 3: %q", len(first), first)
	}
	for i, table := range []string{"RAW_EVENTS", "MEMBER_DAILY_METRICS", "TRIP_OUTCOMES"} {
		if !strings.HasPrefix(first[i], "CREATE TABLE IF NOT EXISTS "+table+" (") || strings.HasSuffix(first[i], ";") {
			t.Errorf("statement %d = %q", i, first[i])
		}
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements("-- a comment; with a semicolon\nCREATE TABLE A (\n  X INT -- trailing\n);\n\n  SELECT 1 ;  \nSELECT 2")
	want := []string{"CREATE TABLE A (\n  X INT -- trailing\n)", "SELECT 1", "SELECT 2"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("splitStatements = %q, want %q", got, want)
	}
}
