// Package sqlite is the embedded, single-machine warehouse: cloud.Warehouse
// on SQLite (modernc.org/sqlite, pure Go). It keeps RAW_EVENTS,
// MEMBER_DAILY_METRICS and TRIP_OUTCOMES in one file in WAL mode, with one
// writer connection and a small pool of readers, so reads never wait for an
// ingest batch to commit.
//
// Unlike the hub's state database, the warehouse is not a projection that
// can be rebuilt on a whim: Open migrates the schema forward with the
// embedded migrations and refuses a file whose schema is newer than this
// build knows.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/zoner-family/zoner/cloud"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// readers is the size of the read pool.
const readers = 4

// Warehouse is the warehouse in one SQLite file. It implements
// cloud.Warehouse and is safe for concurrent use.
type Warehouse struct {
	w      *sql.DB // one connection: every write, in IMMEDIATE transactions
	r      *sql.DB // read-only pool
	logger *slog.Logger
}

var _ cloud.Warehouse = (*Warehouse)(nil)

// Open opens the warehouse file at path, creating it when missing, and
// applies the migrations it has not had yet. It fails when the file's
// schema is newer than this build's. path is a file name: an in-memory
// database would not be shared between the writer and the readers.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Warehouse, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.Contains(path, "mode=memory") {
		return nil, fmt.Errorf("open warehouse: %q: need a file path, not an in-memory database", path)
	}
	w, err := openDB(path, 1, url.Values{
		"_pragma": {"journal_mode(WAL)", "synchronous(NORMAL)"},
		"_txlock": {"immediate"},
	})
	if err != nil {
		return nil, err
	}
	wh := &Warehouse{w: w, logger: logger}
	if err := wh.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openDB(path, readers, url.Values{"_pragma": {"query_only(1)"}})
	if err != nil {
		w.Close()
		return nil, err
	}
	wh.r = r
	if err := wh.Ping(ctx); err != nil {
		wh.Close()
		return nil, err
	}
	return wh, nil
}

// openDB opens a pool of up to conns connections to path, each with a busy
// timeout and the given DSN parameters.
func openDB(path string, conns int, q url.Values) (*sql.DB, error) {
	q["_pragma"] = append([]string{"busy_timeout(10000)"}, q["_pragma"]...)
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open warehouse: %w", err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}

// Close closes the database.
func (wh *Warehouse) Close() error {
	var err error
	if wh.r != nil {
		err = wh.r.Close()
	}
	return errors.Join(wh.w.Close(), err)
}

// Ping checks that the file can be read and written.
func (wh *Warehouse) Ping(ctx context.Context) error {
	if err := wh.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping warehouse: %w", err)
	}
	if err := wh.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping warehouse: %w", err)
	}
	return nil
}

// Stats counts RAW_EVENTS rows and distinct ids.
func (wh *Warehouse) Stats(ctx context.Context) (rows, ids int64, err error) {
	err = wh.r.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT id) FROM RAW_EVENTS").Scan(&rows, &ids)
	if err != nil {
		return 0, 0, fmt.Errorf("stats: %w", err)
	}
	return rows, ids, nil
}

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	body    string
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
		ms = append(ms, migration{version: v, name: base, body: string(body)})
	}
	return ms, nil
}

// SchemaVersion is the newest schema version this build knows.
func SchemaVersion() int {
	ms, _ := migrations()
	return len(ms)
}

// migrate applies the migrations the file has not had, all under one
// write lock so that two processes opening the file at once do not both
// apply them.
func (wh *Warehouse) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	tx, err := wh.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
	) STRICT`)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if version > len(ms) {
		return fmt.Errorf("migrate: warehouse schema version %d is newer than this build knows (%d): run a newer zoner-cloud", version, len(ms))
	}
	for _, m := range ms[version:] {
		if _, err := tx.ExecContext(ctx, m.body); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", m.version, m.name); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if version < len(ms) {
		wh.logger.Info("warehouse schema migrated", "from", version, "to", len(ms))
	}
	return nil
}
