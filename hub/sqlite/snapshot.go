package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	if !s.memory {
		return nil, 0, ErrNotInMemory
	}
	// The store's one connection: readers wait while the image is
	// copied. The transaction (BEGIN IMMEDIATE) is no half-done write.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("state snapshot: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("state snapshot: %w", err)
	}
	defer tx.Rollback()
	if applied, err = appliedSeq(ctx, tx); err != nil {
		return nil, 0, fmt.Errorf("state snapshot: %w", err)
	}
	err = conn.Raw(func(dc any) error {
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
	if len(image) == 0 {
		return nil, errors.New("state snapshot: empty image")
	}
	s := &Store{logger: logger, memory: true, settings: settings}
	if err := s.openMemory(ctx, image); err != nil {
		return nil, fmt.Errorf("state snapshot: %w", err)
	}
	return s, nil
}

// checkImage says why the database just deserialized from size bytes is
// not a whole database of this build's schema; nil when it is.
func (s *Store) checkImage(ctx context.Context, size int) error {
	var pageSize, pages, version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		return fmt.Errorf("not a database: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return fmt.Errorf("not a database: %w", err)
	}
	if pageSize <= 0 || pages*pageSize != size {
		return fmt.Errorf("not a whole database: %d pages of %d bytes in %d bytes", pages, pageSize, size)
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("not a database: %w", err)
	}
	if version != SchemaVersion() {
		return fmt.Errorf("schema version %d, this build uses %d", version, SchemaVersion())
	}
	var tables int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables); err != nil {
		return fmt.Errorf("not a database: %w", err)
	}
	return nil
}
