// Package sqlite keeps the hub's state in SQLite (modernc.org/sqlite, pure
// Go): the fold of the event log, and the plans made from it. The database
// is a projection that can always be rebuilt from the log, so Open sets a
// missing, corrupt or differently-versioned file aside and starts empty
// rather than failing.
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
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SchemaVersion is the number of embedded migrations: a database at any
// other version is rebuilt.
func SchemaVersion() int {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	return len(names)
}

// Store is the hub's state in one SQLite database. It implements
// hub.Store.
type Store struct {
	db     *sql.DB
	path   string
	logger *slog.Logger
	// memory is set for a store that keeps its state in memory only; pin
	// is a connection held open for the store's life, since an in-memory
	// database ends with its last connection.
	memory bool
	pin    *sql.Conn
	// memName is the in-memory database's name in SQLite's memdb VFS.
	memName string
	// settings, when set, keeps what Setting and SetSetting read and
	// write instead of the database.
	settings Settings
	// Rebuilt says why Open started from an empty database ("" when it
	// opened the existing one): the projector then replays the whole log.
	Rebuilt string
	// Now is the hub's clock, for the fold's horizon: stamps more than
	// family.StampHorizon after it lose to any plausible version of the
	// same thing, and for how long the JSON of applied events is kept.
	// Nil: every stamp is plausible, and the JSON ages by the real time.
	Now func() time.Time
	// log reads the JSON of the events the state does not keep (SetLog);
	// durable and rawTail say which it keeps.
	log     RawReader
	durable uint64
	rawTail time.Duration
	// targets are kept across batches for the fold (loaded by the first
	// Apply; dropped with the database).
	targets *targets
	// stmts are the fold's statements, prepared once for the database.
	stmts stmtCache
}

// Open opens the database at path, creating it when missing. A file that
// is corrupt, of another schema version, or holds events this build can
// now read but could not when it stored them, is renamed aside
// (path.broken-<time>) and replaced by an empty database.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	s := &Store{path: path, logger: logger}
	_, statErr := os.Stat(path)
	if errors.Is(statErr, fs.ErrNotExist) {
		s.Rebuilt = "no state database yet"
	} else if reason := s.unusable(ctx); reason != "" {
		aside := fmt.Sprintf("%s.broken-%s", path, time.Now().UTC().Format("20060102T150405Z"))
		logger.Warn("state database unusable: setting it aside and rebuilding from the event log", "reason", reason, "moved_to", aside)
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(path+suffix, aside+suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("set aside %s: %w", path+suffix, err)
			}
		}
		s.Rebuilt = reason
	}
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	s.db = db
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.BuildIndexes(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Settings keeps values beside the state (Store.Setting): the hub's id,
// its position in the cloud's stream.
type Settings interface {
	Get(key string) (string, bool)
	Set(key, value string) error
}

// OpenMemory makes an empty database that lives in memory only, for a
// hub that must write nothing about the family in plain files: the
// projector builds it from the (encrypted) log at every start. Nothing
// goes to disk, temporary tables and sorts included; settings are kept by
// settings instead.
func OpenMemory(ctx context.Context, settings Settings, logger *slog.Logger) (*Store, error) {
	s := &Store{logger: logger, memory: true, settings: settings,
		Rebuilt: "the state is kept in memory only: built from the encrypted event log at every start"}
	if err := s.openMemory(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// openMemory makes a fresh in-memory database: SQLite's memdb VFS, under
// a name of its own. One connection does the work, so nothing waits on
// SQLite's locks (memdb has no WAL: a writer would block readers and
// could be starved by them); a second, pinned and idle, keeps the
// database alive should the pool replace the first.
func (s *Store) openMemory(ctx context.Context) error {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "foreign_keys(ON)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	q.Set("vfs", "memdb")
	s.memName = "/zoner-hub-" + uuid.NewString()
	db, err := sql.Open("sqlite", "file:"+s.memName+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open state database: %w", err)
	}
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	pin, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return fmt.Errorf("open state database: %w", err)
	}
	s.db, s.pin = db, pin
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return err
	}
	return nil
}

// Reset empties the database, for a rebuild from the log.
func (s *Store) Reset(ctx context.Context) error {
	s.targets = nil
	if s.memory {
		if err := s.Close(); err != nil {
			return err
		}
		s.Rebuilt = "rebuild requested"
		return s.openMemory(ctx)
	}
	if err := s.db.Close(); err != nil {
		return err
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(s.path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", s.path+suffix, err)
		}
	}
	db, err := openDB(s.path)
	if err != nil {
		return err
	}
	s.db = db
	s.Rebuilt = "rebuild requested"
	return s.migrate(ctx)
}

// Close closes the database; an in-memory one is gone.
func (s *Store) Close() error {
	if s.pin != nil {
		s.pin.Close()
		s.pin = nil
	}
	return s.db.Close()
}

// InMemory reports whether the state lives in memory only.
func (s *Store) InMemory() bool { return s.memory }

func openDB(path string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open state database: %w", err)
	}
	db.SetMaxOpenConns(4)
	return db, nil
}

// unusable opens the existing file read-only-ish and says why it cannot be
// used, or "" when it can.
func (s *Store) unusable(ctx context.Context) string {
	db, err := openDB(s.path)
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return "corrupt: " + err.Error()
	}
	if check != "ok" {
		return "corrupt: " + check
	}
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return "corrupt: " + err.Error()
	}
	if version != SchemaVersion() {
		return fmt.Sprintf("schema version %d, this build uses %d", version, SchemaVersion())
	}
	var readable int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE status = 'unsupported' AND v <= ?", syncproto.CurrentVersion).Scan(&readable)
	if err != nil {
		return "corrupt: " + err.Error()
	}
	if readable > 0 {
		return fmt.Sprintf("%d events of a newer schema version are now readable", readable)
	}
	return ""
}

func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for i := version; i < len(names); i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", strings.TrimPrefix(names[i], "migrations/"), err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", names[i], err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", names[i], err)
		}
	}
	return nil
}

// ReadSettings reads the settings kept in the database file at path (nil
// when there is none), so they can move elsewhere before the file is
// removed.
func ReadSettings(ctx context.Context, path string) (map[string]string, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT key, value FROM meta WHERE key LIKE 'setting.%'")
	if err != nil {
		return nil, fmt.Errorf("read settings from %s: %w", path, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(k, "setting.")] = v
	}
	return out, rows.Err()
}
