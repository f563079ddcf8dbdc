package snowflake

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	sf "github.com/snowflakedb/gosnowflake"
	"github.com/zoner-family/zoner/cloud"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Pool sizes. A Snowflake session takes a login round trip to make, so
// idle ones are kept; each MergeEvents holds one for its batch.
const (
	maxOpenConns    = 8
	maxIdleConns    = 4
	connMaxLifetime = time.Hour
)

// Warehouse is cloud.Warehouse on Snowflake. It is safe for concurrent use.
type Warehouse struct {
	db     *sql.DB
	logger *slog.Logger
	chunk  int // rows a staging INSERT binds at most
}

var _ cloud.Warehouse = (*Warehouse)(nil)

// Open connects to the warehouse cfg names, creates its database and
// schema first when cfg.CreateDatabase is set, and applies the migrations
// the schema has not had yet. It fails when the schema is newer than this
// build knows. A nil logger discards.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Warehouse, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	scfg, err := cfg.sfConfig(false)
	if err != nil {
		return nil, fmt.Errorf("open warehouse: %w", err)
	}
	if cfg.CreateDatabase {
		if err := createDatabase(ctx, cfg); err != nil {
			return nil, fmt.Errorf("open warehouse: %w", err)
		}
	}
	db := sql.OpenDB(sf.NewConnector(sf.SnowflakeDriver{}, *scfg))
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxLifetime(connMaxLifetime)
	w := &Warehouse{db: db, logger: logger, chunk: stageChunk}
	if err := w.checkSchema(ctx, cfg); err != nil {
		db.Close()
		return nil, fmt.Errorf("open warehouse: %w", err)
	}
	if err := w.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	logger.Info("warehouse open", "snowflake", cfg)
	return w, nil
}

// createDatabase creates cfg's database and schema if they are missing,
// in a session of its own that names neither (Snowflake would not make a
// missing one current at login).
func createDatabase(ctx context.Context, cfg Config) error {
	if !validIdent(cfg.Database) || !validIdent(cfg.Schema) {
		return fmt.Errorf("create database: %q.%q: want plain identifiers (letters, digits, _ and $)", cfg.Database, cfg.Schema)
	}
	scfg, err := cfg.sfConfig(true)
	if err != nil {
		return err
	}
	db := sql.OpenDB(sf.NewConnector(sf.SnowflakeDriver{}, *scfg))
	defer db.Close()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + cfg.Database,
		"CREATE SCHEMA IF NOT EXISTS " + cfg.Database + "." + cfg.Schema,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	return nil
}

// checkSchema fails clearly when the session has no current schema: the
// login names a database or schema that is missing, or that the role may
// not use (Snowflake lets such a login in, and every query would fail).
func (w *Warehouse) checkSchema(ctx context.Context, cfg Config) error {
	var db, schema sql.NullString
	if err := w.db.QueryRowContext(ctx, "SELECT CURRENT_DATABASE(), CURRENT_SCHEMA()").Scan(&db, &schema); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if !db.Valid || !schema.Valid {
		return fmt.Errorf("connect: schema %s.%s does not exist or role %q may not use it", cfg.Database, cfg.Schema, cfg.Role)
	}
	return nil
}

// Close closes the pool and its sessions.
func (w *Warehouse) Close() error {
	return w.db.Close()
}

// Ping runs a query that needs no virtual warehouse.
func (w *Warehouse) Ping(ctx context.Context) error {
	var one int
	if err := w.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping warehouse: %w", err)
	}
	return nil
}

// Stats counts RAW_EVENTS rows and distinct ids.
func (w *Warehouse) Stats(ctx context.Context) (rows, ids int64, err error) {
	err = w.db.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT ID) FROM RAW_EVENTS").Scan(&rows, &ids)
	if err != nil {
		return 0, 0, fmt.Errorf("stats: %w", err)
	}
	return rows, ids, nil
}

// migration is one embedded schema change.
type migration struct {
	version    int
	name       string
	statements []string
}

// migrations returns the embedded migrations in order. Their file names
// start with their versions, which run 1, 2, 3… without gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names { // Glob sorts
		base := path.Base(name)
		prefix, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(prefix)
		if err != nil || v != len(ms)+1 {
			return nil, fmt.Errorf("migration %s: want version %d in its name", base, len(ms)+1)
		}
		body, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, statements: splitStatements(string(body))})
	}
	return ms, nil
}

// splitStatements splits a migration into its statements, which end with a
// semicolon at the end of a line, and drops whole-line comments. The driver
// sends one statement a request (fakesnow takes no multi-statement
// requests), so a migration cannot go as one.
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.Lines(body) {
		line = strings.TrimRight(line, " \t\r\n")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		stmt, end := strings.CutSuffix(line, ";")
		cur.WriteString(stmt + "\n")
		if end {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// SchemaVersion is the newest schema version this build knows.
func SchemaVersion() int {
	ms, _ := migrations()
	return len(ms)
}

// migrate applies the migrations the schema has not had. Snowflake commits
// each DDL statement by itself, so a migration is not atomic: its
// statements are idempotent instead, and a migration is recorded only once
// all of them ran. Two processes migrating at once both run the idempotent
// statements and record the version once (MERGE).
func (w *Warehouse) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// The version is read first: a service's role may read
	// SCHEMA_MIGRATIONS but not create tables (admin/), so the table is
	// made only when it cannot be read.
	const readVersion = "SELECT COALESCE(MAX(VERSION), 0) FROM SCHEMA_MIGRATIONS"
	var version int64
	if err := w.db.QueryRowContext(ctx, readVersion).Scan(&version); err != nil {
		_, err = w.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS SCHEMA_MIGRATIONS (
			VERSION    NUMBER(10, 0) NOT NULL PRIMARY KEY,
			NAME       VARCHAR NOT NULL,
			APPLIED_AT TIMESTAMP_NTZ(9) NOT NULL
		)`)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if err := w.db.QueryRowContext(ctx, readVersion).Scan(&version); err != nil {
			return fmt.Errorf("migrate: read schema version: %w", err)
		}
	}
	if version > int64(len(ms)) {
		return fmt.Errorf("migrate: warehouse schema version %d is newer than this build knows (%d): run a newer zoner-cloud", version, len(ms))
	}
	for _, m := range ms[version:] {
		for _, q := range m.statements {
			if _, err := w.db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("migration %s: %w (a service's role may not change the schema: run zoner-cloud migrate -admin as the warehouse's administrator)", m.name, err)
			}
		}
		_, err := w.db.ExecContext(ctx, `MERGE INTO SCHEMA_MIGRATIONS T
			USING (SELECT ? AS VERSION, ? AS NAME, ? AS APPLIED_AT) S ON T.VERSION = S.VERSION
			WHEN NOT MATCHED THEN INSERT (VERSION, NAME, APPLIED_AT) VALUES (S.VERSION, S.NAME, S.APPLIED_AT)`,
			m.version, m.name, time.Now().UTC())
		if err != nil {
			return fmt.Errorf("migration %s: record it: %w", m.name, err)
		}
	}
	if version < int64(len(ms)) {
		w.logger.Info("warehouse schema migrated", "from", version, "to", len(ms))
	}
	return nil
}
