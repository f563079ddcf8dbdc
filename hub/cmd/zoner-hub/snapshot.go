package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/zoner-family/zoner/hub/sealed"
	"github.com/zoner-family/zoner/hub/sqlite"
	"github.com/zoner-family/zoner/syncproto"
)

// With a store key, the state kept in memory is saved, sealed with the
// key, at a clean stop and after every snapshotEvery applied events, so a
// start opens it and catches up from its applied sequence instead of
// rebuilding the state from the whole log.
const (
	// snapshotFile is the sealed image of the in-memory state database.
	snapshotFile = "state.sealed"
	// snapshotEvery is how many applied events make a new snapshot while
	// the hub runs: at most that many to catch up after a crash.
	snapshotEvery = 5000
	// snapshotCheck is how often the hub looks whether it is due.
	snapshotCheck = 30 * time.Second
)

// snapshotPurpose binds a snapshot to the event version of the build that
// wrote it: a build that reads newer events than the one that folded them
// (and kept them unapplied) must rebuild, so it cannot open the file.
var snapshotPurpose = fmt.Sprintf("state snapshot, events up to version %d", syncproto.CurrentVersion)

// openSnapshot opens the state from its sealed snapshot; nil when there is
// none or it is unusable (a wrong key, altered or truncated, another
// schema), which is said in the log: the state is then rebuilt from the
// log and nothing is lost.
func (m *Main) openSnapshot(ctx context.Context, key *sealed.Key, settings sqlite.Settings) *sqlite.Store {
	path := filepath.Join(m.DataDir, snapshotFile)
	image, err := key.ReadFile(path, snapshotPurpose)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		m.Logger.Warn("ignoring the state snapshot: rebuilding the state from the event log", "file", snapshotFile, "err", err)
		return nil
	}
	s, err := sqlite.OpenMemorySnapshot(ctx, image, settings, m.Logger)
	// The image is now in the store: its copy read from the file goes back
	// to the system rather than staying in the heap.
	debug.FreeOSMemory()
	if err != nil {
		m.Logger.Warn("ignoring the state snapshot: rebuilding the state from the event log", "file", snapshotFile, "err", err)
		return nil
	}
	applied, err := s.AppliedSeq(ctx)
	if err != nil {
		s.Close()
		m.Logger.Warn("ignoring the state snapshot: rebuilding the state from the event log", "file", snapshotFile, "err", err)
		return nil
	}
	m.snapApplied = applied
	m.Logger.Info("opened the state from its snapshot: catching up with the event log from there", "applied", applied)
	return s
}

// saveSnapshot seals the in-memory state into the data directory, unless
// the last snapshot holds it already. Without a store key there is none
// to save: the state database is a file.
func (m *Main) saveSnapshot(ctx context.Context) error {
	if m.store == nil || !m.store.InMemory() {
		return nil
	}
	key, err := m.sealKey()
	if err != nil || key == nil {
		return err
	}
	if applied, err := m.store.AppliedSeq(ctx); err != nil || applied == m.snapApplied {
		return err
	}
	start := time.Now()
	image, applied, err := m.store.Snapshot(ctx)
	if err != nil {
		return err
	}
	size := len(image)
	err = key.WriteLargeFile(filepath.Join(m.DataDir, snapshotFile), snapshotPurpose, image)
	// The image was the one copy of the state a snapshot takes: it goes
	// back to the system now rather than staying in the heap.
	debug.FreeOSMemory()
	if err != nil {
		return fmt.Errorf("save the state snapshot: %w", err)
	}
	m.snapApplied = applied
	m.Logger.Info("saved the state snapshot", "applied", applied, "bytes", size, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// removeSnapshot removes the snapshot, for a rebuild: the next one is of
// the rebuilt state.
func (m *Main) removeSnapshot() error {
	err := os.Remove(filepath.Join(m.DataDir, snapshotFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the state snapshot: %w", err)
	}
	m.snapApplied = 0
	return nil
}

// snapshotLoop saves a snapshot whenever snapshotEvery events were applied
// since the last one, until ctx ends.
func (m *Main) snapshotLoop(ctx context.Context) {
	t := time.NewTicker(snapshotCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m.projector.Applied() < m.snapApplied+snapshotEvery {
			continue
		}
		if err := m.saveSnapshot(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Warn("cannot save the state snapshot; a restart after a crash catches up from the last one", "err", err)
		}
	}
}
