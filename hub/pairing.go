package hub

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// MaxSessions is how many paired browsers a household keeps; pairing one
// more forgets the oldest, which must pair again.
const MaxSessions = 64

// Pairing guards a hub served on the LAN: requests must carry the
// household's pairing token, or the session of a browser that was paired
// with it. Only SHA-256 hashes are kept, of the token and of each session;
// the token itself is shown once, when made, and never logged, and a
// session id lives only in its browser's cookie. Rotating the token ends
// every session: each phone pairs again with the new token.
type Pairing struct {
	mu       sync.Mutex
	hash     [sha256.Size]byte
	sessions [][sha256.Size]byte // oldest first
	save     func(stored []byte) error
	// invites are the pairing links of the last day, live or not, by
	// their code's SHA-256; kept in memory only, so a restart ends them.
	invites map[[sha256.Size]byte]*invite
}

type invite struct {
	made, expires time.Time
	used          bool
}

// NewPairing returns a pairing guard for what was stored (nil or empty
// when there is nothing yet): the token's hash followed by each session's.
// save persists the same layout after every change.
func NewPairing(stored []byte, save func(stored []byte) error) *Pairing {
	p := &Pairing{save: save}
	copy(p.hash[:], stored)
	for rest := stored[min(len(stored), sha256.Size):]; len(rest) >= sha256.Size; rest = rest[sha256.Size:] {
		p.sessions = append(p.sessions, [sha256.Size]byte(rest[:sha256.Size]))
	}
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
// token, and every session paired with it, stop working at once.
func (p *Pairing) Rotate() (string, error) {
	token := grouped(newSecret())
	sum := sha256.Sum256([]byte(token))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.save != nil {
		if err := p.save(sum[:]); err != nil {
			return "", err
		}
	}
	p.hash, p.sessions, p.invites = sum, nil, nil
	return token, nil
}

// NewSession starts a paired browser's session and returns its id, for the
// browser's cookie. The caller has checked the token.
func (p *Pairing) NewSession() (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(id))
	p.mu.Lock()
	defer p.mu.Unlock()
	sessions := append(p.sessions[max(0, len(p.sessions)-MaxSessions+1):len(p.sessions):len(p.sessions)], sum)
	if p.save != nil {
		if err := p.save(p.storedLocked(sessions)); err != nil {
			return "", err
		}
	}
	p.sessions = sessions
	return id, nil
}

// CheckSession reports whether id is a live session's, in constant time.
func (p *Pairing) CheckSession(id string) bool {
	if id == "" {
		return false
	}
	sum := sha256.Sum256([]byte(id))
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := 0
	for _, s := range p.sessions {
		ok |= subtle.ConstantTimeCompare(sum[:], s[:])
	}
	return ok == 1
}

func (p *Pairing) storedLocked(sessions [][sha256.Size]byte) []byte {
	out := append([]byte(nil), p.hash[:]...)
	for _, s := range sessions {
		out = append(out, s[:]...)
	}
	return out
}

// InviteTTL is how long a pairing invite works: long enough to scan a QR
// code and tap a button, short enough that a photo of it is soon useless.
const InviteTTL = 10 * time.Minute

// MaxInvites is how many live invites a household has at most; making one
// more ends the oldest.
const MaxInvites = 16

// inviteMemory is how long a used or expired invite is remembered, so
// that a second try is told why it fails.
const inviteMemory = 24 * time.Hour

// The reasons an invite does not pair.
var (
	ErrInviteUsed    = errors.New("this pairing link was already used (each link pairs one phone)")
	ErrInviteExpired = errors.New("this pairing link has expired (a link works for 10 minutes)")
	ErrInviteUnknown = errors.New("no such pairing link")
)

// NewInvite makes a single-use invite that pairs one more browser until
// InviteTTL after now, and returns its code and when it expires. Only the
// code's SHA-256 is kept, in memory: a restart or a rotation of the token
// ends every invite.
func (p *Pairing) NewInvite(now time.Time) (string, time.Time) {
	code := newSecret()
	exp := now.Add(InviteTTL)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pruneLocked(now)
	var live []*invite
	for _, iv := range p.invites {
		if !iv.used && now.Before(iv.expires) {
			live = append(live, iv)
		}
	}
	for len(live) >= MaxInvites {
		oldest := 0
		for i, iv := range live {
			if iv.made.Before(live[oldest].made) {
				oldest = i
			}
		}
		live[oldest].expires = now // ended early: told "expired"
		live = append(live[:oldest], live[oldest+1:]...)
	}
	if p.invites == nil {
		p.invites = map[[sha256.Size]byte]*invite{}
	}
	p.invites[sha256.Sum256([]byte(code))] = &invite{made: now, expires: exp}
	return code, exp
}

// Redeem uses up the invite code at now: nil when it pairs,
// ErrInviteUsed, ErrInviteExpired or ErrInviteUnknown when not.
func (p *Pairing) Redeem(code string, now time.Time) error {
	sum := sha256.Sum256([]byte(strings.TrimSpace(code)))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pruneLocked(now)
	iv := p.invites[sum]
	switch {
	case iv == nil:
		return ErrInviteUnknown
	case iv.used:
		return ErrInviteUsed
	case !now.Before(iv.expires):
		return ErrInviteExpired
	}
	iv.used = true
	return nil
}

// pruneLocked forgets the invites that ended over inviteMemory ago, and
// ended ones past the first thousand remembered.
func (p *Pairing) pruneLocked(now time.Time) {
	for k, iv := range p.invites {
		if now.Sub(iv.expires) > inviteMemory || (len(p.invites) > 1000 && (iv.used || !now.Before(iv.expires))) {
			delete(p.invites, k)
		}
	}
}

// newSecret is 160 random bits in lowercase base32 (32 characters).
func newSecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// grouped is s in groups of four, which are easier to read out and type on
// a phone.
func grouped(s string) string {
	var groups []string
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:min(i+4, len(s))])
	}
	return strings.Join(groups, "-")
}

// MaxFeedsPerMember is how many calendar feed links a member has at most;
// making one more forgets that member's oldest.
const MaxFeedsPerMember = 16

// Feeds holds the secrets of the calendar feed links. Each link opens one
// member's calendar and nothing else, with no token or cookie, so that a
// calendar app can subscribe to it; only the SHA-256 of its secret is
// kept. A member's links are revoked together.
type Feeds struct {
	mu   sync.Mutex
	keys []feedKey // oldest first
	save func(stored []byte) error
}

type feedKey struct {
	member uuid.UUID
	hash   [sha256.Size]byte
}

const feedRecord = 16 + sha256.Size

// NewFeeds returns the feed links for what was stored (nil or empty when
// there is nothing yet): records of a member id and a secret's hash. save
// persists the same layout after every change.
func NewFeeds(stored []byte, save func(stored []byte) error) (*Feeds, error) {
	if len(stored)%feedRecord != 0 {
		return nil, fmt.Errorf("the calendar feeds' file is damaged (%d bytes, not a multiple of %d): delete it to revoke every feed link", len(stored), feedRecord)
	}
	f := &Feeds{save: save}
	for ; len(stored) > 0; stored = stored[feedRecord:] {
		f.keys = append(f.keys, feedKey{member: uuid.UUID(stored[:16]), hash: [sha256.Size]byte(stored[16:feedRecord])})
	}
	return f, nil
}

// New makes a feed link's secret for member and returns it.
func (f *Feeds) New(member uuid.UUID) (string, error) {
	secret := newSecret()
	k := feedKey{member: member, hash: sha256.Sum256([]byte(secret))}
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []feedKey
	n := 0
	for _, o := range f.keys {
		if o.member == member {
			n++
		}
	}
	for _, o := range f.keys {
		if o.member == member && n >= MaxFeedsPerMember {
			n--
			continue
		}
		keys = append(keys, o)
	}
	if err := f.store(append(keys, k)); err != nil {
		return "", err
	}
	return secret, nil
}

// Member is the member whose calendar secret opens, if any.
func (f *Feeds) Member(secret string) (uuid.UUID, bool) {
	if secret == "" {
		return uuid.Nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keys {
		if subtle.ConstantTimeCompare(sum[:], k.hash[:]) == 1 {
			return k.member, true
		}
	}
	return uuid.Nil, false
}

// Revoke ends every feed link of member and says how many there were.
func (f *Feeds) Revoke(member uuid.UUID) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []feedKey
	for _, k := range f.keys {
		if k.member != member {
			keys = append(keys, k)
		}
	}
	n := len(f.keys) - len(keys)
	if n == 0 {
		return 0, nil
	}
	return n, f.store(keys)
}

func (f *Feeds) store(keys []feedKey) error {
	if f.save != nil {
		var out []byte
		for _, k := range keys {
			out = append(append(out, k.member[:]...), k.hash[:]...)
		}
		if err := f.save(out); err != nil {
			return err
		}
	}
	f.keys = keys
	return nil
}
