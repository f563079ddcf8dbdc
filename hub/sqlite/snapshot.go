package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"modernc.org/sqlite"
)

// The driver connection's methods a snapshot uses (modernc.org/sqlite's
// conn, reached through (*sql.Conn).Raw).
type (
	serializer interface {
		Serialize() ([]byte, error)
	}
	deserializer interface {
		Deserialize(image []byte) error
	}
	backuper interface {
		NewBackup(dstURI string) (*sqlite.Backup, error)
	}
)

// ErrNotInMemory is returned by Snapshot for a store that keeps its state
// in a file: the file is its own snapshot.
var ErrNotInMemory = errors.New("state snapshot: the state is kept in a file, not in memory")

// Snapshot is an image of the in-memory database, byte for byte what SQLite
// would write to a file, and the sequence of the last event it holds
// applied. It is taken inside a write transaction, so no write is half in
// it. The image holds the family's data in plain text: seal it before it
// goes anywhere.
func (s *Store) Snapshot(ctx context.Context) (image []byte, applied uint64, err error) {
	if !s.memory || s.pin == nil {
		return nil, 0, ErrNotInMemory
	}
	// The pinned connection is idle otherwise: taking it leaves the
	// pool's connection to readers while the image is copied. The
	// transaction (BEGIN IMMEDIATE) keeps writers out until it is.
	tx, err := s.pin.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("state snapshot: %w", err)
	}
	defer tx.Rollback()
	if applied, err = appliedSeq(ctx, tx); err != nil {
		return nil, 0, fmt.Errorf("state snapshot: %w", err)
	}
	err = s.pin.Raw(func(dc any) error {
		c, ok := dc.(serializer)
		if !ok {
			return fmt.Errorf("the driver's connection (%T) cannot serialize", dc)
		}
		image, err = c.Serialize()
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("state snapshot: %w", err)
	}
	if len(image) == 0 {
		return nil, 0, errors.New("state snapshot: the database serialized to nothing")
	}
	return image, applied, tx.Commit()
}

// OpenMemorySnapshot is OpenMemory started from image, a database that
// Snapshot made, instead of empty: the projector then catches up from the
// image's applied sequence. An image that is not a whole SQLite database,
// or is of another schema version, is refused with an error and nothing is
// opened; the caller rebuilds from the log. The image is trusted to be
// what Snapshot made (the caller authenticates it): SQLite meets a damaged
// one with errors, never a crash, but would find the damage only as it
// reads.
func OpenMemorySnapshot(ctx context.Context, image []byte, settings Settings, logger *slog.Logger) (*Store, error) {
	s := &Store{logger: logger, memory: true, settings: settings}
	if err := s.openMemory(ctx); err != nil {
		return nil, err
	}
	if err := s.restore(ctx, image); err != nil {
		s.Close()
		return nil, fmt.Errorf("state snapshot: %w", err)
	}
	return s, nil
}

// restore replaces the content of the store's in-memory database with
// image. SQLite deserializes into a connection's private database, so the
// image is opened in a connection of its own, checked, then copied page
// by page (SQLite's backup) into the database the store's connections
// share.
func (s *Store) restore(ctx context.Context, image []byte) error {
	if len(image) == 0 {
		return errors.New("empty image")
	}
	src, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return err
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	c, err := src.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		d, ok := dc.(deserializer)
		if !ok {
			return fmt.Errorf("the driver's connection (%T) cannot deserialize", dc)
		}
		return d.Deserialize(image)
	})
	if err != nil {
		return fmt.Errorf("open the image: %w", err)
	}
	if err := checkImage(ctx, c, len(image)); err != nil {
		return err
	}
	return c.Raw(func(dc any) error {
		b, ok := dc.(backuper)
		if !ok {
			return fmt.Errorf("the driver's connection (%T) cannot copy a database", dc)
		}
		bk, err := b.NewBackup("file:" + s.memName + "?vfs=memdb")
		if err != nil {
			return fmt.Errorf("copy the image: %w", err)
		}
		for more := true; more && err == nil; {
			more, err = bk.Step(-1)
		}
		if ferr := bk.Finish(); err == nil {
			err = ferr
		}
		if err != nil {
			return fmt.Errorf("copy the image: %w", err)
		}
		return nil
	})
}

// checkImage says why the database open in c, deserialized from size
// bytes, is not a whole database of this build's schema; nil when it is.
func checkImage(ctx context.Context, c *sql.Conn, size int) error {
	var pageSize, pages, version int
	if err := c.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		return fmt.Errorf("not a database: %w", err)
	}
	if err := c.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return fmt.Errorf("not a database: %w", err)
	}
	if pageSize <= 0 || pages*pageSize != size {
		return fmt.Errorf("not a whole database: %d pages of %d bytes in %d bytes", pages, pageSize, size)
	}
	if err := c.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("not a database: %w", err)
	}
	if version != SchemaVersion() {
		return fmt.Errorf("schema version %d, this build uses %d", version, SchemaVersion())
	}
	var tables int
	if err := c.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables); err != nil {
		return fmt.Errorf("not a database: %w", err)
	}
	return nil
}
