// Package sealed keeps small files encrypted and authenticated with the
// hub's store key: what the hub must keep across restarts that the event
// log cannot give back (its settings, the pairing token's hash), when the
// family's data is to be unreadable at rest.
//
// Each write derives a fresh key from the store key and a random salt
// (HKDF-SHA256), seals the contents with ChaCha20-Poly1305 or AES-256-GCM,
// binds them to the file's purpose (a file sealed as one thing does not
// open as another), and replaces the file atomically: temporary file,
// fsync, rename, fsync of the directory. A large file (WriteLargeFile) is
// sealed in chunks as it is written, so sealing it takes no second copy of
// its contents in memory; ReadFile opens either kind, in place.
package sealed

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// The chunked format (WriteLargeFile): the header with version
// chunkedVersion, the chunk size (4 bytes, big-endian), then the chunks,
// each chunkSize bytes of contents (the last one fewer, possibly none)
// sealed with the nonce of its index, which also marks the last: so
// chunks cannot be dropped, moved or added.
const (
	chunkedVersion    = 2
	chunkedHeaderSize = headerSize + 4
	chunkSize         = 1 << 20
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
	return k.aeadFor(c, salt, "zoner-hub sealed file v1: "+purpose)
}

func (k *Key) aeadFor(c Cipher, salt []byte, info string) (cipher.AEAD, error) {
	sub, err := hkdf.Key(sha256.New, k.secret, salt, info, 32)
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

// Open decrypts what Seal made for purpose, or a file WriteLargeFile
// wrote; sealed is left as it was.
func (k *Key) Open(purpose string, sealed []byte) ([]byte, error) {
	if chunked(sealed) {
		return k.openChunks(purpose, bytes.Clone(sealed))
	}
	return k.open(purpose, sealed, false)
}

// chunked reports whether b is in the format of WriteLargeFile.
func chunked(b []byte) bool {
	return len(b) > len(magic) && bytes.HasPrefix(b, []byte(magic)) && b[len(magic)] == chunkedVersion
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

// ReadFile opens the sealed file at path, written by WriteFile or
// WriteLargeFile; fs.ErrNotExist when there is none. The contents are
// decrypted over the bytes read: no second copy.
func (k *Key) ReadFile(path, purpose string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var plain []byte
	if chunked(b) {
		plain, err = k.openChunks(purpose, b)
	} else {
		plain, err = k.open(purpose, b, true)
	}
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
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// WriteLargeFile is WriteFile for large contents: they are sealed chunk by
// chunk as the file is written, and data is left as it was. The file
// opens with ReadFile.
func (k *Key) WriteLargeFile(path, purpose string, data []byte) error {
	header := make([]byte, chunkedHeaderSize)
	copy(header, magic)
	header[len(magic)] = chunkedVersion
	header[len(magic)+1] = byte(k.cipher)
	if _, err := rand.Read(header[len(magic)+2 : headerSize]); err != nil {
		return err
	}
	binary.BigEndian.PutUint32(header[headerSize:], chunkSize)
	aead, err := k.chunkAEAD(k.cipher, header, purpose)
	if err != nil {
		return err
	}
	ad := aad(header, purpose)
	return writeAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(header); err != nil {
			return err
		}
		buf := make([]byte, 0, chunkSize+aead.Overhead())
		nonce := make([]byte, aead.NonceSize())
		for i := uint64(0); ; i++ {
			n := min(len(data), chunkSize)
			last := n == len(data)
			chunkNonce(nonce, i, last)
			if _, err := w.Write(aead.Seal(buf[:0], nonce, data[:n], ad)); err != nil {
				return err
			}
			if last {
				return nil
			}
			data = data[n:]
		}
	})
}

// chunkAEAD is the AEAD of a chunked file, from its header.
func (k *Key) chunkAEAD(c Cipher, header []byte, purpose string) (cipher.AEAD, error) {
	return k.aeadFor(c, header[len(magic)+2:headerSize], "zoner-hub sealed file v2, in chunks: "+purpose)
}

// chunkNonce is the nonce of chunk i: its index, and whether it is the
// last.
func chunkNonce(nonce []byte, i uint64, last bool) {
	clear(nonce)
	binary.BigEndian.PutUint64(nonce[len(nonce)-8:], i)
	if last {
		nonce[0] = 1
	}
}

// openChunks opens a file WriteLargeFile made, in place: each chunk is
// decrypted where it lies, then moved down after the previous one.
func (k *Key) openChunks(purpose string, b []byte) ([]byte, error) {
	if len(b) < chunkedHeaderSize {
		return nil, errors.New("not a sealed file")
	}
	header := b[:chunkedHeaderSize]
	size := int(binary.BigEndian.Uint32(header[headerSize:]))
	if size <= 0 || size > 64<<20 {
		return nil, ErrWrongKey
	}
	aead, err := k.chunkAEAD(Cipher(b[len(magic)+1]), header, purpose)
	if err != nil {
		return nil, err
	}
	ad := aad(header, purpose)
	nonce := make([]byte, aead.NonceSize())
	out, pos := 0, chunkedHeaderSize
	for i := uint64(0); ; i++ {
		n := min(len(b)-pos, size+aead.Overhead())
		last := pos+n == len(b)
		chunkNonce(nonce, i, last)
		plain, err := aead.Open(b[pos:pos], nonce, b[pos:pos+n], ad)
		if err != nil {
			return nil, ErrWrongKey
		}
		out += copy(b[out:], plain)
		pos += n
		if last {
			return b[:out:out], nil
		}
	}
}

// writeAtomic replaces the file at path with what write writes, through a
// temporary file synced to disk and renamed.
func writeAtomic(path string, write func(io.Writer) error) error {
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
	if err := write(f); err != nil {
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
