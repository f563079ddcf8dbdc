package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/hub/natsjs"
	"github.com/zoner-family/zoner/hub/sealed"
	"github.com/zoner-family/zoner/hub/sqlite"
)

// The files the hub keeps in its data directory, besides the event log
// (JetStream's directory "jetstream").
const (
	// stateFile is the state database, without a store key only.
	stateFile = "hub.db"
	// pairingFile is the pairing token's SHA-256, without a store key.
	pairingFile = "pairing.sha256"
	// With a store key: the settings (the hub's id, its position in the
	// cloud's stream) and the pairing token's SHA-256, sealed.
	sealedSettingsFile = "settings.sealed"
	sealedPairingFile  = "pairing.sealed"
	// feedsFile holds the calendar links' hashes, without a store key;
	// sealedFeedsFile the same, sealed.
	feedsFile       = "feeds.sha256"
	sealedFeedsFile = "feeds.sealed"
)

// errKeyNeeded is returned without a store key in a data directory
// written with one.
var errKeyNeeded = errors.New("this data directory was written with a store key: give the hub its key (-store-key-file, or ZONER_STORE_KEY)")

// sealKey is the store key for the hub's sealed files; nil without one.
func (m *Main) sealKey() (*sealed.Key, error) {
	if m.StoreKey == "" {
		return nil, nil
	}
	c, err := sealed.ParseCipher(m.StoreCipher)
	if err != nil {
		return nil, err
	}
	return sealed.NewKey(m.StoreKey, c)
}

// openStore opens the state. Without a store key it is the database file
// hub.db. With one, nothing about the family is written in plain files:
// the state lives in memory, opened from its sealed snapshot (see
// snapshot.go) or else built from the encrypted log; the few settings that
// the log cannot give back are sealed with the key, and plaintext left
// from before the key was set is removed.
func (m *Main) openStore(ctx context.Context) (*sqlite.Store, error) {
	key, err := m.sealKey()
	if err != nil {
		return nil, err
	}
	if key == nil {
		if exists(filepath.Join(m.DataDir, sealedSettingsFile)) {
			return nil, errKeyNeeded
		}
		return sqlite.Open(ctx, filepath.Join(m.DataDir, stateFile), m.Logger)
	}
	settings, err := sealed.OpenMap(key, filepath.Join(m.DataDir, sealedSettingsFile), "settings")
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	// A hub that ran without a key kept its settings in hub.db: they move
	// before the file goes. A database too damaged to read loses them, as
	// a rebuild would.
	old, err := sqlite.ReadSettings(ctx, filepath.Join(m.DataDir, stateFile))
	if err != nil {
		m.Logger.Warn("cannot read the settings of the plaintext state database; it is removed all the same", "err", err)
	}
	for k, v := range old {
		if _, ok := settings.Get(k); !ok {
			if err := settings.Set(k, v); err != nil {
				return nil, err
			}
		}
	}
	if err := m.removePlaintext(); err != nil {
		return nil, err
	}
	// A log written without a key is encrypted by JetStream, block by
	// block, at the first start with one; but its index (the stream's
	// state, which names each event's subject, so the family's id) is
	// rewritten only once the log changes. It is a cache JetStream
	// rebuilds from the blocks.
	stream := filepath.Join(m.DataDir, "jetstream", "$G", "streams", natsjs.StreamName)
	if exists(stream) && !exists(filepath.Join(stream, "meta.key")) {
		if err := shred(filepath.Join(stream, "msgs", "index.db")); err != nil {
			return nil, fmt.Errorf("remove the plaintext index of the event log: %w", err)
		}
	}
	if s := m.openSnapshot(ctx, key, settings); s != nil {
		return s, nil
	}
	return sqlite.OpenMemory(ctx, settings, m.Logger)
}

// removePlaintext removes the state database, its journal files, the
// copies set aside as broken and their journals: with a store key they
// would be the family's data in plain text. Each is overwritten with
// zeros first, which helps on a plain file system and not on flash or
// copy-on-write storage (see docs/hub.md).
func (m *Main) removePlaintext() error {
	entries, err := os.ReadDir(m.DataDir)
	if err != nil {
		return err
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, stateFile) && name != pairingFile+".tmp" && name != feedsFile+".tmp" {
			continue
		}
		if err := shred(filepath.Join(m.DataDir, name)); err != nil {
			return fmt.Errorf("remove the plaintext %s: %w", name, err)
		}
		removed = append(removed, name)
	}
	if len(removed) > 0 {
		m.Logger.Warn("removed the plaintext state left from before the store key was set; the state is rebuilt from the encrypted log", "files", removed)
	}
	return nil
}

// shred overwrites the file at path with zeros, syncs it and removes it.
func shred(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if err == nil {
		zeros := make([]byte, 64<<10)
		for left := info.Size(); left > 0 && err == nil; left -= int64(len(zeros)) {
			_, err = f.Write(zeros[:min(left, int64(len(zeros)))])
		}
	}
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return err
	}
	return os.Remove(path)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// pairing is the household's pairing: the token's SHA-256, then each
// paired browser's session's (see secretFile).
func (m *Main) pairing() (*hub.Pairing, error) {
	stored, save, err := m.secretFile(pairingFile, sealedPairingFile, "pairing")
	if err != nil {
		return nil, err
	}
	return hub.NewPairing(stored, save), nil
}

// feeds are the calendar feed links: each link's member id and the
// SHA-256 of its secret (see secretFile).
func (m *Main) feeds() (*hub.Feeds, error) {
	stored, save, err := m.secretFile(feedsFile, sealedFeedsFile, "feeds")
	if err != nil {
		return nil, err
	}
	return hub.NewFeeds(stored, save)
}

// secretFile reads a small file of hashes the hub keeps beside its log,
// and returns it with a function that replaces it atomically. Without a
// store key it is the plain file plainName; with one, sealedName, sealed
// with the key for purpose, and a plaintext copy left from before the key
// was set moves into it and is shredded.
func (m *Main) secretFile(plainName, sealedName, purpose string) ([]byte, func([]byte) error, error) {
	plain := filepath.Join(m.DataDir, plainName)
	key, err := m.sealKey()
	if err != nil {
		return nil, nil, err
	}
	if key == nil {
		if exists(filepath.Join(m.DataDir, sealedName)) {
			return nil, nil, errKeyNeeded
		}
		stored, err := os.ReadFile(plain)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("read %s: %w", plainName, err)
		}
		return stored, func(b []byte) error {
			tmp := plain + ".tmp"
			if err := os.WriteFile(tmp, b, 0o600); err != nil {
				return fmt.Errorf("save %s: %w", plainName, err)
			}
			return os.Rename(tmp, plain)
		}, nil
	}
	path := filepath.Join(m.DataDir, sealedName)
	save := func(b []byte) error {
		if err := key.WriteFile(path, purpose, b); err != nil {
			return fmt.Errorf("save %s: %w", sealedName, err)
		}
		return nil
	}
	stored, err := key.ReadFile(path, purpose)
	if errors.Is(err, fs.ErrNotExist) {
		if stored, err = os.ReadFile(plain); err == nil {
			if err := save(stored); err != nil {
				return nil, nil, err
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("read %s: %w", plainName, err)
		}
		if err := shred(plain); err != nil {
			return nil, nil, fmt.Errorf("remove the plaintext %s: %w", plainName, err)
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", sealedName, err)
	}
	return stored, save, nil
}
