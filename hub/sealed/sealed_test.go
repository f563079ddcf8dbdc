package sealed

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func mustKey(t *testing.T, secret string, c Cipher) *Key {
	t.Helper()
	k, err := NewKey(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A sealed file opens with its key and purpose only, and any change to it
// is noticed.
func TestSealOpen(t *testing.T) {
	for _, c := range []Cipher{ChaCha, AES} {
		k := mustKey(t, "correct horse", c)
		plain := []byte(`{"hub.id":"Zephyrine"}`)
		b, err := k.Seal("settings", plain)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("Zephyrine")) {
			t.Fatalf("cipher %d: the sealed bytes hold the plaintext", c)
		}
		if got, err := k.Open("settings", b); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("cipher %d: open: %q, %v", c, got, err)
		}
		// A file sealed with one cipher opens whatever the key's cipher for new writes.
		other := mustKey(t, "correct horse", AES+ChaCha-c)
		if _, err := other.Open("settings", b); err != nil {
			t.Errorf("cipher %d: opening with the other cipher configured: %v", c, err)
		}
		if _, err := mustKey(t, "wrong", c).Open("settings", b); !errors.Is(err, ErrWrongKey) {
			t.Errorf("cipher %d: wrong key: %v", c, err)
		}
		if _, err := k.Open("pairing", b); !errors.Is(err, ErrWrongKey) {
			t.Errorf("cipher %d: wrong purpose: %v", c, err)
		}
		for _, i := range []int{len(magic) + 2, headerSize + 1, len(b) - 1} {
			bad := bytes.Clone(b)
			bad[i] ^= 1
			if _, err := k.Open("settings", bad); err == nil {
				t.Errorf("cipher %d: a change at byte %d went unnoticed", c, i)
			}
		}
		b2, _ := k.Seal("settings", plain)
		if bytes.Equal(b, b2) {
			t.Errorf("cipher %d: two seals of the same contents are equal", c)
		}
	}
	if _, err := NewKey("", ChaCha); err == nil {
		t.Error("an empty key was accepted")
	}
}

// A map's values survive reopening, and its file holds them sealed.
func TestMap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.sealed")
	k := mustKey(t, "k", ChaCha)
	m, err := OpenMap(k, path, "settings")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get("hub.id"); ok {
		t.Fatal("a new map has a value")
	}
	for _, v := range []string{"Zephyrine", "Quillfeather"} {
		if err := m.Set("hub.id", v); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Set("sync.position", "42"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("Quillfeather")) || bytes.Contains(raw, []byte("sync.position")) {
		t.Error("the file holds plaintext")
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v", info.Mode().Perm())
	}
	m, err = OpenMap(k, path, "settings")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get("hub.id"); v != "Quillfeather" {
		t.Errorf("after reopening: %q", v)
	}
	if v, _ := m.Get("sync.position"); v != "42" {
		t.Errorf("after reopening: %q", v)
	}
	if _, err := OpenMap(mustKey(t, "other", ChaCha), path, "settings"); !errors.Is(err, ErrWrongKey) {
		t.Errorf("wrong key: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// A large file, sealed in chunks, opens as it was written, with its key
// and purpose only; a change, a dropped, moved or added chunk is noticed.
func TestLargeFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []Cipher{ChaCha, AES} {
		k := mustKey(t, "correct horse", c)
		for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2*chunkSize + chunkSize/2} {
			data := bytes.Repeat([]byte("Zephyrine slept "), size/16+1)[:size]
			path := filepath.Join(dir, "state.sealed")
			if err := k.WriteLargeFile(path, "state", data); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if size > 0 && bytes.Contains(raw, []byte("Zephyrine")) {
				t.Fatalf("cipher %d, %d bytes: the file holds the plaintext", c, size)
			}
			if got, err := k.ReadFile(path, "state"); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("cipher %d, %d bytes: read back %d bytes, %v", c, size, len(got), err)
			}
			if got, err := k.Open("state", raw); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("cipher %d, %d bytes: Open: %d bytes, %v", c, size, len(got), err)
			}
			if _, err := mustKey(t, "wrong", c).ReadFile(path, "state"); !errors.Is(err, ErrWrongKey) {
				t.Errorf("cipher %d, %d bytes: wrong key: %v", c, size, err)
			}
			if _, err := k.ReadFile(path, "settings"); !errors.Is(err, ErrWrongKey) {
				t.Errorf("cipher %d, %d bytes: wrong purpose: %v", c, size, err)
			}
			sealedChunk := chunkSize + 16
			damaged := map[string][]byte{
				"flipped last byte": append(bytes.Clone(raw[:len(raw)-1]), raw[len(raw)-1]^1),
				"flipped salt":      append(append(bytes.Clone(raw[:len(magic)+2]), raw[len(magic)+2]^1), raw[len(magic)+3:]...),
				"a byte added":      append(bytes.Clone(raw), 0),
				"truncated":         raw[:len(raw)-1],
			}
			if size > chunkSize {
				damaged["last chunk dropped"] = raw[:chunkedHeaderSize+sealedChunk]
			}
			if size > 2*chunkSize {
				swapped := bytes.Clone(raw)
				copy(swapped[chunkedHeaderSize:], raw[chunkedHeaderSize+sealedChunk:chunkedHeaderSize+2*sealedChunk])
				copy(swapped[chunkedHeaderSize+sealedChunk:], raw[chunkedHeaderSize:chunkedHeaderSize+sealedChunk])
				damaged["chunks swapped"] = swapped
			}
			for name, bad := range damaged {
				if err := os.WriteFile(path, bad, 0o600); err != nil {
					t.Fatal(err)
				}
				if _, err := k.ReadFile(path, "state"); err == nil {
					t.Errorf("cipher %d, %d bytes: %s went unnoticed", c, size, name)
				}
			}
		}
	}
	// A small file written by WriteFile still opens.
	k := mustKey(t, "correct horse", ChaCha)
	path := filepath.Join(dir, "settings.sealed")
	if err := k.WriteFile(path, "settings", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if got, err := k.ReadFile(path, "settings"); err != nil || string(got) != "{}" {
		t.Errorf("a file of WriteFile: %q, %v", got, err)
	}
}
