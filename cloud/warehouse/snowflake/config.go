// Package snowflake is the production warehouse: cloud.Warehouse on
// Snowflake, through github.com/snowflakedb/gosnowflake and database/sql.
//
// It keeps RAW_EVENTS, MEMBER_DAILY_METRICS, TRIP_OUTCOMES and
// MEMBER_CLOCKS in one schema. Open migrates that schema forward with the embedded, versioned
// migrations (recorded in SCHEMA_MIGRATIONS) and refuses a schema newer
// than this build knows.
//
// A write holds one session: it loads its rows into a temporary staging
// table with array binding (one bound slice per column), then MERGEs the
// staged rows, deduplicated, into the target table, so a batch is stored
// by one statement whatever its size. The role therefore needs, besides
// USAGE on the database, schema and virtual warehouse and SELECT, INSERT
// and UPDATE on the tables: CREATE TABLE on the schema (temporary tables)
// and CREATE STAGE (the driver uploads an array binding of more than
// CLIENT_STAGE_ARRAY_BINDING_THRESHOLD values, 65,280 by default, through
// a temporary stage). Open with CreateDatabase also needs CREATE DATABASE.
//
// Least privilege: admin/*.sql, run by Administer (zoner-cloud migrate
// -admin) as ZONER_ADMIN, make one role and one service user per cloud
// service (ServiceRole: ZONER_INGEST, ZONER_RECOMMENDER, ZONER_API; each
// process names its own with Config.Role and Config.User), ZONER_ANALYST
// for people, who read pseudonymous secure views only, and masking
// policies that take names and device names (for all but the recommender
// and the API) and birth dates (for all but those and ingest) out of
// RAW_EVENTS' payloads. With a service's role, Open only checks the
// schema's version: migrations need the owner's role. docs/privacy.md has
// the whole picture.
//
// Every payload is kept twice: as VARIANT (PAYLOAD, for queries such as
// FamiliesWithFlight) and as the text that came (PAYLOAD_TEXT), because a
// VARIANT hands back normalised JSON, not the bytes it was given.
//
// The same SQL runs on fakesnow, the DuckDB-based emulator the integration
// tests use (deploy/local/fakesnow.sh), with three differences that the
// code allows for: fakesnow keeps instants to the microsecond, not the
// nanosecond; it cannot take a null inside a typed array binding; and it
// sends a NULL TIMESTAMP_NTZ back as 1970-01-01. It also runs an
// array-bound INSERT as one statement per row, so loading is slow there
// (a few hundred rows a second) where Snowflake takes the array whole.
package snowflake

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	sf "github.com/snowflakedb/gosnowflake"
)

// Config says how to reach the warehouse. The zero values of the optional
// fields mean Snowflake's defaults. Its String, GoString and LogValue never
// show the password or the private key.
type Config struct {
	// Account is the account identifier ("myorg-myaccount"); "fakesnow"
	// for the emulator.
	Account string
	User    string
	// Database and Schema hold the warehouse's tables.
	Database string
	Schema   string
	// Warehouse is the virtual warehouse that runs queries; Role the role
	// to use: the service's own (ServiceRole), as its service user's
	// default. Both may be empty to take the user's defaults.
	Warehouse string
	Role      string
	// Password authenticates unless PrivateKeyPath is set.
	Password string `json:"-"`
	// PrivateKeyPath names an unencrypted PKCS#8 PEM file ("BEGIN PRIVATE
	// KEY") whose RSA key authenticates by key pair (JWT) instead of the
	// password.
	PrivateKeyPath string
	// Host and Port override the address derived from Account; Protocol is
	// "https" (the default) or "http" (the emulator).
	Host     string
	Port     int
	Protocol string
	// LoginTimeout bounds the driver's retries of a login (a new session,
	// as after a network outage), and ClientTimeout one request's round
	// trip; zero keeps the driver's defaults (300 s and 900 s). A caller
	// that retries on its own wants them short.
	LoginTimeout, ClientTimeout time.Duration
	// CreateDatabase makes Open create Database and Schema when they are
	// missing. Tests use it; production schemas are made by an
	// administrator, and the warehouse's role need not be allowed to.
	CreateDatabase bool
}

// String describes the configuration without its secrets.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("snowflake://")
	if c.User != "" {
		b.WriteString(c.User + "@")
	}
	b.WriteString(c.Account)
	if c.Host != "" {
		b.WriteString(" at " + c.protocol() + "://" + c.Host)
		if c.Port != 0 {
			b.WriteString(":" + strconv.Itoa(c.Port))
		}
	}
	b.WriteString(" " + c.Database + "." + c.Schema)
	if c.Warehouse != "" {
		b.WriteString(" warehouse=" + c.Warehouse)
	}
	if c.Role != "" {
		b.WriteString(" role=" + c.Role)
	}
	b.WriteString(" auth=" + c.auth())
	return b.String()
}

// GoString is what %#v prints: the fields, with the password replaced.
func (c Config) GoString() string {
	return fmt.Sprintf("snowflake.Config{Account:%q, User:%q, Database:%q, Schema:%q, Warehouse:%q, Role:%q, "+
		"Password:%q, PrivateKeyPath:%q, Host:%q, Port:%d, Protocol:%q, CreateDatabase:%t}",
		c.Account, c.User, c.Database, c.Schema, c.Warehouse, c.Role,
		redacted(c.Password), c.PrivateKeyPath, c.Host, c.Port, c.Protocol, c.CreateDatabase)
}

// LogValue logs the configuration as a group, without its secrets.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("account", c.Account),
		slog.String("user", c.User),
		slog.String("database", c.Database),
		slog.String("schema", c.Schema),
	}
	if c.Warehouse != "" {
		attrs = append(attrs, slog.String("warehouse", c.Warehouse))
	}
	if c.Role != "" {
		attrs = append(attrs, slog.String("role", c.Role))
	}
	if c.Host != "" {
		attrs = append(attrs, slog.String("host", c.Host), slog.Int("port", c.Port))
	}
	attrs = append(attrs, slog.String("protocol", c.protocol()), slog.String("auth", c.auth()))
	if c.PrivateKeyPath != "" {
		attrs = append(attrs, slog.String("private_key_path", c.PrivateKeyPath))
	}
	return slog.GroupValue(attrs...)
}

// redacted stands in for a secret: whether it is set, never what it is.
func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "[REDACTED]"
}

func (c Config) protocol() string {
	if c.Protocol == "" {
		return "https"
	}
	return c.Protocol
}

// auth names how the configuration authenticates.
func (c Config) auth() string {
	switch {
	case c.PrivateKeyPath != "":
		return "key pair"
	case c.Password != "":
		return "password"
	default:
		return "none"
	}
}

// sfConfig is the driver's configuration for c: for the warehouse's own
// database and schema when bootstrap is false, and for neither (to create
// them) when it is true.
func (c Config) sfConfig(bootstrap bool) (*sf.Config, error) {
	if c.Account == "" || c.User == "" {
		return nil, errors.New("snowflake config: need an account and a user")
	}
	if c.Database == "" || c.Schema == "" {
		return nil, errors.New("snowflake config: need a database and a schema")
	}
	switch c.Protocol {
	case "", "https", "http":
	default:
		return nil, fmt.Errorf("snowflake config: protocol %q: want https or http", c.Protocol)
	}
	cfg := &sf.Config{
		Account:   c.Account,
		User:      c.User,
		Database:  c.Database,
		Schema:    c.Schema,
		Warehouse: c.Warehouse,
		Role:      c.Role,
		Host:      c.Host,
		Port:      c.Port,
		Protocol:  c.protocol(),
		// The queries' text names no person, but their bindings do: keep
		// both out of the driver's logs.
		LogQueryText:       false,
		LogQueryParameters: false,
		Application:        "zoner-cloud",
	}
	// Deprecated in the driver ("timeouts may be reorganized"), but v1.19
	// has no other way to bound a login's retries.
	//lint:ignore SA1019 no replacement in this driver version
	cfg.LoginTimeout = c.LoginTimeout
	//lint:ignore SA1019 no replacement in this driver version
	cfg.ClientTimeout = c.ClientTimeout
	if c.Protocol == "http" {
		// The emulator serves no telemetry endpoint: the driver would log
		// an error for the 404. (v1.19 has no session parameter for it yet.)
		//lint:ignore SA1019 the replacement is not in this driver version
		cfg.DisableTelemetry = true
	}
	if bootstrap {
		cfg.Database, cfg.Schema = "", ""
	}
	switch {
	case c.PrivateKeyPath != "":
		key, err := readPrivateKey(c.PrivateKeyPath)
		if err != nil {
			return nil, fmt.Errorf("snowflake config: %w", err)
		}
		cfg.Authenticator = sf.AuthTypeJwt
		cfg.PrivateKey = key
	case c.Password != "":
		cfg.Authenticator = sf.AuthTypeSnowflake
		cfg.Password = c.Password
	default:
		return nil, errors.New("snowflake config: need a password or a private key path")
	}
	return cfg, nil
}

// readPrivateKey reads an RSA private key from a PEM file: PKCS#8 ("BEGIN
// PRIVATE KEY", what Snowflake's key-pair guide makes), or PKCS#1 ("BEGIN
// RSA PRIVATE KEY"). Errors name the file but never show its content.
func readPrivateKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	return parsePrivateKey(path, data)
}

func parsePrivateKey(path string, data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("private key %s: no PEM block", path)
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key %s: not a PKCS#8 key", path)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private key %s: a %T, want RSA", path, k)
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key %s: not a PKCS#1 key", path)
		}
		return k, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("private key %s: encrypted keys are not supported: decrypt it with openssl pkcs8 and protect the file instead", path)
	default:
		return nil, fmt.Errorf("private key %s: PEM block %q, want PRIVATE KEY", path, block.Type)
	}
}

// validIdent reports whether s is an unquoted Snowflake identifier: a
// letter or underscore, then letters, digits, underscores or dollars. Open
// puts Database and Schema into DDL only when they are.
func validIdent(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '$'):
		default:
			return false
		}
	}
	return true
}
