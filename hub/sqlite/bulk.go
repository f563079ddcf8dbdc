package sqlite

import (
	"context"
	"fmt"
	"strings"
)

// deferredPrefix marks, in meta, the definition of an index dropped for a
// rebuild and not built again yet.
const deferredPrefix = "deferred_index."

// DeferIndexes drops, from a state that has applied nothing yet, the
// indexes of events and facts that the fold does not read, and keeps
// their definitions: a rebuild then adds rows to fewer b-trees, and
// BuildIndexes builds each index at once from the finished table. Reads
// work meanwhile, by scanning. On a state that applied events it does
// nothing.
func (s *Store) DeferIndexes(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("defer indexes: %w", err)
	}
	defer tx.Rollback()
	if seq, err := appliedSeq(ctx, tx); err != nil || seq != 0 {
		return err
	}
	// The fold reads facts by id (the primary key's own index) and by
	// supersedes, and events by id (their unique index).
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema
		WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('events', 'facts') AND name != 'facts_supersedes'`)
	if err != nil {
		return fmt.Errorf("defer indexes: %w", err)
	}
	defs := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return fmt.Errorf("defer indexes: %w", err)
		}
		defs[name] = def
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("defer indexes: %w", err)
	}
	for name, def := range defs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", deferredPrefix+name, def); err != nil {
			return fmt.Errorf("defer index %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+strings.ReplaceAll(name, `"`, `""`)+`"`); err != nil {
			return fmt.Errorf("defer index %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("defer indexes: %w", err)
	}
	return nil
}

// BuildIndexes builds the indexes DeferIndexes dropped, if any: once the
// state has caught up with the log, or at the next Open should the hub
// have stopped before.
func (s *Store) BuildIndexes(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("build indexes: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT key, value FROM meta WHERE key LIKE ? ORDER BY key", deferredPrefix+"%")
	if err != nil {
		return fmt.Errorf("build indexes: %w", err)
	}
	var keys, defs []string
	for rows.Next() {
		var k, def string
		if err := rows.Scan(&k, &def); err != nil {
			rows.Close()
			return fmt.Errorf("build indexes: %w", err)
		}
		keys, defs = append(keys, k), append(defs, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("build indexes: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	for i, def := range defs {
		if _, err := tx.ExecContext(ctx, def); err != nil {
			return fmt.Errorf("build index %s: %w", strings.TrimPrefix(keys[i], deferredPrefix), err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM meta WHERE key = ?", keys[i]); err != nil {
			return fmt.Errorf("build index %s: %w", strings.TrimPrefix(keys[i], deferredPrefix), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("build indexes: %w", err)
	}
	return nil
}
