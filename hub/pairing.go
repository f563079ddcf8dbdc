package hub

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"sync"
)

// Pairing guards a hub served on the LAN: requests must carry the
// household's pairing token. Only the token's SHA-256 is kept; the token
// itself is shown once, when made, and never logged.
type Pairing struct {
	mu   sync.Mutex
	hash [sha256.Size]byte
	save func(hash []byte) error
}

// NewPairing returns a pairing guard for a stored hash (nil or empty when
// there is none yet). save persists a new hash on rotation.
func NewPairing(hash []byte, save func(hash []byte) error) *Pairing {
	p := &Pairing{save: save}
	copy(p.hash[:], hash)
	return p
}

// HasToken reports whether a token has been made.
func (p *Pairing) HasToken() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hash != [sha256.Size]byte{}
}

// Check reports whether token is the household's token, in constant time.
func (p *Pairing) Check(token string) bool {
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hash == [sha256.Size]byte{} {
		return false
	}
	return subtle.ConstantTimeCompare(sum[:], p.hash[:]) == 1
}

// Rotate makes a new token, stores its hash and returns the token. The old
// token stops working at once.
func (p *Pairing) Rotate() (string, error) {
	b := make([]byte, 20)
	rand.Read(b)
	token := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	// Groups of four are easier to read out and type on a phone.
	var groups []string
	for i := 0; i < len(token); i += 4 {
		groups = append(groups, token[i:min(i+4, len(token))])
	}
	token = strings.Join(groups, "-")
	sum := sha256.Sum256([]byte(token))
	if p.save != nil {
		if err := p.save(sum[:]); err != nil {
			return "", err
		}
	}
	p.mu.Lock()
	p.hash = sum
	p.mu.Unlock()
	return token, nil
}
