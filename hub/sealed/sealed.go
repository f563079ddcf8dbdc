// Package sealed keeps small files encrypted and authenticated with the
// hub's store key: what the hub must keep across restarts that the event
// log cannot give back (its settings, the pairing token's hash), when the
// family's data is to be unreadable at rest.
//
// Each write derives a fresh key from the store key and a random salt
// (HKDF-SHA256), seals the contents with ChaCha20-Poly1305 or AES-256-GCM,
// binds them to the file's purpose (a file sealed as one thing does not
// open as another), and replaces the file atomically: temporary file,
// fsync, rename, fsync of the directory.
package sealed

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// Cipher is the AEAD a file is sealed with.
type Cipher byte

// The ciphers, as written in a file's header.
const (
	ChaCha Cipher = 1 // ChaCha20-Poly1305
	AES    Cipher = 2 // AES-256-GCM
)

// ParseCipher reads the -store-cipher names: "chacha" (or "") and "aes".
func ParseCipher(s string) (Cipher, error) {
	switch s {
	case "chacha", "":
		return ChaCha, nil
	case "aes":
		return AES, nil
	}
	return 0, fmt.Errorf("store cipher %q: use chacha or aes", s)
}

// ErrWrongKey is returned when a file does not open with the key: the key
// is wrong, or the file was altered or sealed for another purpose.
var ErrWrongKey = errors.New("cannot be opened with this store key (the key is wrong, or the file was altered)")

// magic starts every sealed file; the next byte is the format version.
const magic = "zoner-sealed"

const (
	version  = 1
	saltSize = 32
	// header is magic, version, cipher, salt; the nonce follows.
	headerSize = len(magic) + 2 + saltSize
)

// Key is the store key, as given to the hub.
type Key struct {
	secret []byte
	cipher Cipher
}

// NewKey keeps the store key and the cipher new writes use. An empty key
// is refused: without one there is nothing to seal with.
func NewKey(secret string, c Cipher) (*Key, error) {
	if secret == "" {
		return nil, errors.New("sealed: empty store key")
	}
	if c != ChaCha && c != AES {
		return nil, fmt.Errorf("sealed: unknown cipher %d", c)
	}
	return &Key{secret: []byte(secret), cipher: c}, nil
}

func (k *Key) aead(c Cipher, salt []byte, purpose string) (cipher.AEAD, error) {
	sub, err := hkdf.Key(sha256.New, k.secret, salt, "zoner-hub sealed file v1: "+purpose, 32)
	if err != nil {
		return nil, err
	}
	switch c {
	case ChaCha:
		return chacha20poly1305.New(sub)
	case AES:
		b, err := aes.NewCipher(sub)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	}
	return nil, fmt.Errorf("unknown cipher %d", c)
}

// Seal encrypts plaintext for purpose.
func (k *Key) Seal(purpose string, plaintext []byte) ([]byte, error) {
	header := make([]byte, headerSize, headerSize+12+len(plaintext)+16)
	copy(header, magic)
	header[len(magic)] = version
	header[len(magic)+1] = byte(k.cipher)
	if _, err := rand.Read(header[len(magic)+2:]); err != nil {
		return nil, err
	}
	aead, err := k.aead(k.cipher, header[len(magic)+2:], purpose)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append(header, nonce...)
	return aead.Seal(out, nonce, plaintext, aad(header, purpose)), nil
}

// Open decrypts what Seal made for purpose.
func (k *Key) Open(purpose string, sealed []byte) ([]byte, error) {
	return k.open(purpose, sealed, false)
}

// open is Open; inPlace decrypts over the ciphertext in sealed, for a
// large file read only to be opened.
func (k *Key) open(purpose string, sealed []byte, inPlace bool) ([]byte, error) {
	if len(sealed) < headerSize || !bytes.HasPrefix(sealed, []byte(magic)) {
		return nil, errors.New("not a sealed file")
	}
	if v := sealed[len(magic)]; v != version {
		return nil, fmt.Errorf("sealed file version %d, this build reads %d", v, version)
	}
	header := sealed[:headerSize]
	aead, err := k.aead(Cipher(sealed[len(magic)+1]), header[len(magic)+2:], purpose)
	if err != nil {
		return nil, err
	}
	rest := sealed[headerSize:]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrWrongKey
	}
	nonce, ciphertext := rest[:aead.NonceSize()], rest[aead.NonceSize():]
	var dst []byte
	if inPlace {
		dst = ciphertext[:0]
	}
	plain, err := aead.Open(dst, nonce, ciphertext, aad(header, purpose))
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}

func aad(header []byte, purpose string) []byte {
	return append(append([]byte(nil), header...), purpose...)
}

// ReadFile opens the sealed file at path; fs.ErrNotExist when there is
// none.
func (k *Key) ReadFile(path, purpose string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	plain, err := k.open(purpose, b, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return plain, nil
}

// WriteFile seals data for purpose and replaces the file at path with it,
// atomically and durably.
func (k *Key) WriteFile(path, purpose string, data []byte) error {
	b, err := k.Seal(purpose, data)
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, there is nothing to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		// Not every system can sync a directory; the rename is done either way.
		d.Sync()
		d.Close()
	}
	return nil
}

// Map is a small set of string values kept in one sealed file, rewritten
// whole on every change. One process writes it at a time.
type Map struct {
	key     *Key
	path    string
	purpose string
	mu      sync.Mutex
	values  map[string]string
}

// OpenMap reads the map sealed at path, empty when there is no file yet.
func OpenMap(k *Key, path, purpose string) (*Map, error) {
	m := &Map{key: k, path: path, purpose: purpose, values: map[string]string{}}
	b, err := k.ReadFile(path, purpose)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m.values); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Get is the value of key, "" and false when unset.
func (m *Map) Get(key string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[key]
	return v, ok
}

// Set keeps value for key and writes the file; a value already kept is
// not written again.
func (m *Map) Set(key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.values[key]; ok && old == value {
		return nil
	}
	next := make(map[string]string, len(m.values)+1)
	for k, v := range m.values {
		next[k] = v
	}
	next[key] = value
	b, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if err := m.key.WriteFile(m.path, m.purpose, b); err != nil {
		return fmt.Errorf("save %s: %w", m.path, err)
	}
	m.values = next
	return nil
}
