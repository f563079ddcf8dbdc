// Package sqlite keeps the hub's state in SQLite (modernc.org/sqlite, pure
// Go): the fold of the event log, and the plans made from it. The database
// is a projection that can always be rebuilt from the log, so Open sets a
// missing, corrupt or differently-versioned file aside and starts empty
// rather than failing.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zoner-family/zoner/syncproto"
	"modernc.org/sqlite" // also the database/sql driver "sqlite"
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
	// memory is set for a store that keeps its state in memory only, in
	// the one connection of db (see openMemory).
	memory bool
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
	if err := s.openMemory(ctx, nil); err != nil {
		return nil, err
	}
	return s, nil
}

// openMemory makes the in-memory database, empty or, with image, opened
// from a database that Snapshot made. It lives in one connection that
// stays open for the store's life (an in-memory database ends with its
// connection), so the image is deserialized straight into it: no second
// copy of the state. Should the pool ever lose that connection, the store
// fails with errMemoryLost rather than going on with an empty database.
func (s *Store) openMemory(ctx context.Context, image []byte) error {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "foreign_keys(ON)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db := sql.OpenDB(&memConnector{dsn: "file::memory:?" + q.Encode(), image: image})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s.db = db
	if image != nil {
		if err := s.checkImage(ctx, len(image)); err != nil {
			db.Close()
			return err
		}
		return nil
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return err
	}
	return nil
}

// errMemoryLost is returned by an in-memory store whose connection, and so
// its database, was closed.
var errMemoryLost = errors.New("state database: the in-memory database's connection was closed and its content is gone; restart the hub to rebuild it")

// memConnector opens the one connection of an in-memory database, and
// refuses to open another: a second would be a new, empty database.
type memConnector struct {
	dsn    string
	mu     sync.Mutex
	image  []byte
	opened bool
}

func (c *memConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opened {
		return nil, errMemoryLost
	}
	conn, err := c.Driver().Open(c.dsn)
	if err != nil {
		return nil, fmt.Errorf("open state database: %w", err)
	}
	if c.image != nil {
		d, ok := conn.(deserializer)
		if !ok {
			conn.Close()
			return nil, fmt.Errorf("the driver's connection (%T) cannot deserialize", conn)
		}
		if err := d.Deserialize(c.image); err != nil {
			conn.Close()
			return nil, fmt.Errorf("open the image: %w", err)
		}
		c.image = nil
	}
	c.opened = true
	return conn, nil
}

func (c *memConnector) Driver() driver.Driver { return &sqlite.Driver{} }

// Reset empties the database, for a rebuild from the log.
func (s *Store) Reset(ctx context.Context) error {
	s.targets = nil
	if s.memory {
		if err := s.Close(); err != nil {
			return err
		}
		s.Rebuilt = "rebuild requested"
		return s.openMemory(ctx, nil)
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

// Close closes the database; an in-memory one is gone. A database file
// closed without error is marked as closed cleanly (see cleanSuffix).
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil || s.memory {
		return err
	}
	mark, err := cleanMark(s.path)
	if err != nil {
		return nil // nothing to mark: the next Open checks the whole file
	}
	if err := os.WriteFile(s.path+cleanSuffix, []byte(mark), 0o600); err != nil {
		return fmt.Errorf("mark the state database as closed cleanly: %w", err)
	}
	return nil
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

// cleanSuffix names the file, beside the database, that a clean Close
// leaves: the database's size and modification time then. A start that
// finds the database as that file says skips the full integrity check;
// Open removes it, so a crash, or a change to the database while the hub
// was stopped, means a full check at the next start.
const cleanSuffix = ".clean"

// closedCleanly reports whether the database at path is as a clean Close
// left it, and removes the marker that says so. A marker that cannot be
// read or removed counts as none.
func closedCleanly(path string) bool {
	marker, err := os.ReadFile(path + cleanSuffix)
	if err != nil || os.Remove(path+cleanSuffix) != nil {
		return false
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	mark, err := cleanMark(path)
	return err == nil && mark == string(marker)
}

// cleanMark is what the marker of a clean Close holds for the database at
// path: its size and modification time.
func cleanMark(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %d\n", info.Size(), info.ModTime().UnixNano()), nil
}

// unusable opens the existing file and says why it cannot be used, or ""
// when it can. The whole file is checked (PRAGMA quick_check) unless the
// hub closed it cleanly and nothing changed it since: then the header,
// the schema and its version are what is read.
func (s *Store) unusable(ctx context.Context) string {
	clean := closedCleanly(s.path)
	db, err := openDB(s.path)
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	if clean {
		var tables int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
			return "corrupt: " + err.Error()
		}
	} else {
		var check string
		if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
			return "corrupt: " + err.Error()
		}
		if check != "ok" {
			return "corrupt: " + check
		}
	}
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return "corrupt: " + err.Error()
	}
	if version != SchemaVersion() {
		return fmt.Sprintf("schema version %d, this build uses %d", version, SchemaVersion())
	}
	if _, err := appliedSeq(ctx, db); err != nil {
		return "corrupt: " + err.Error()
	}
	// Through the partial index events_unsupported: few rows, most often
	// none.
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
