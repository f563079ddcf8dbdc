package cloud

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// Sign-in away from the hub. A paired device asks its hub for a link; the
// hub asks the cloud over its link (syncproto.SignInSubject), and the
// cloud, which takes the family from the subject, mints a single-use code
// (NewSignInCode). The browser trades the code for a session
// (Exchange): an access token the API issues from it and a refresh token
// that Refresh rotates on every use. Only hashes of codes and refresh
// tokens are stored.

// Lifetimes of sign-in codes and sessions.
const (
	// SignInCodeTTL is how long a sign-in link works, once.
	SignInCodeTTL = 10 * time.Minute
	// SessionLifetime is how long a session lives after its last refresh:
	// each refresh moves its end this far ahead.
	SessionLifetime = 30 * 24 * time.Hour
	// MaxDeviceLabel is the longest device label kept, in characters.
	MaxDeviceLabel = 64
)

// SignInGrant is what a sign-in code grants: a session of Role in Family,
// for Member when the role is a member's.
type SignInGrant struct {
	Family uuid.UUID `json:"family"`
	Role   string    `json:"role"`
	Member uuid.UUID `json:"member,omitzero"`
	Device string    `json:"device,omitempty"`
}

// Session is one signed-in device. RefreshHash is the SHA-256, in hex, of
// the secret part of its current refresh token.
type Session struct {
	ID          string    `json:"id"`
	Family      uuid.UUID `json:"family"`
	Role        string    `json:"role"`
	Member      uuid.UUID `json:"member,omitzero"`
	Device      string    `json:"device,omitempty"`
	Created     time.Time `json:"created"`
	LastUsed    time.Time `json:"last_used"`
	Expires     time.Time `json:"expires"`
	RefreshHash string    `json:"refresh_hash"`
}

// SessionStore keeps sign-in codes and sessions: Redis in production, an
// in-process map on one machine. Every method is safe for concurrent use,
// across processes for a shared store.
type SessionStore interface {
	// PutCode stores a code's grant under the code's hash for ttl.
	PutCode(ctx context.Context, hash string, g SignInGrant, ttl time.Duration) error
	// TakeCode returns the grant under hash and deletes it, in one step:
	// of two takers, one gets it. ErrNoCode when there is none (never
	// made, taken, or expired).
	TakeCode(ctx context.Context, hash string) (SignInGrant, error)
	// CreateSession stores a new session until s.Expires.
	CreateSession(ctx context.Context, s Session) error
	// Session returns a live session, or ErrNoSession.
	Session(ctx context.Context, id string) (Session, error)
	// SessionAlive reports whether id names a live session; it is asked on
	// every request with a session's token, so it is one cheap look-up.
	SessionAlive(ctx context.Context, id string) (bool, error)
	// RotateRefresh replaces the session's refresh hash, last use and end
	// with next's, only if its hash is still old: ErrRefreshReused when
	// it is not (the session is left as it is), ErrNoSession when there
	// is no such session.
	RotateRefresh(ctx context.Context, id, old string, next Session) error
	// RevokeSession deletes a session; no error when there is none.
	RevokeSession(ctx context.Context, id string) error
	// FamilySessions lists the family's live sessions, in no order.
	FamilySessions(ctx context.Context, family uuid.UUID) ([]Session, error)
}

// The store's refusals.
var (
	ErrNoCode        = errors.New("no such sign-in code")
	ErrNoSession     = errors.New("no such session")
	ErrRefreshReused = errors.New("the refresh token was already used")
)

// Auth mints sign-in codes and runs sessions on a SessionStore.
type Auth struct {
	Store SessionStore
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (a *Auth) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// HashSecret is the hex SHA-256 of a code or a refresh secret: what the
// store keeps instead of the secret.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// newSecret is 256 random bits, base32 without padding (52 characters of
// A-Z and 2-7, safe in a URL).
func newSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

// CheckSignInRequest checks a hub's request and returns the grant it asks
// for in family, its device label trimmed to MaxDeviceLabel characters.
func CheckSignInRequest(family uuid.UUID, r syncproto.SignInRequest) (SignInGrant, error) {
	if family == uuid.Nil {
		return SignInGrant{}, &Error{Code: CodeInvalid, Message: "no family"}
	}
	switch r.Role {
	case syncproto.SignInMember:
		if r.MemberID == uuid.Nil {
			return SignInGrant{}, &Error{Code: CodeInvalid, Message: "a member's link needs the member's id"}
		}
	case syncproto.SignInGuardian:
		if r.MemberID != uuid.Nil {
			return SignInGrant{}, &Error{Code: CodeInvalid, Message: "a guardian's link is for the whole family: name no member"}
		}
	default:
		return SignInGrant{}, &Error{Code: CodeInvalid, Message: "the role must be member or guardian"}
	}
	return SignInGrant{Family: family, Role: r.Role, Member: r.MemberID, Device: deviceLabel(r.Device)}, nil
}

// deviceLabel keeps a label's printable characters, at most
// MaxDeviceLabel of them.
func deviceLabel(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(s) {
		if n == MaxDeviceLabel {
			break
		}
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			continue
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// NewSignInCode mints a single-use code for g, valid for SignInCodeTTL,
// and stores its hash only.
func (a *Auth) NewSignInCode(ctx context.Context, g SignInGrant) (code string, expires time.Time, err error) {
	code = newSecret()
	expires = a.now().Add(SignInCodeTTL)
	if err := a.Store.PutCode(ctx, HashSecret(code), g, SignInCodeTTL); err != nil {
		return "", time.Time{}, err
	}
	return code, expires, nil
}

// errCodeUsed answers a code that is unknown, used or expired: the three
// look alike to the store, and to a guesser.
var errCodeUsed = &Error{Code: CodeUnauthorized,
	Message: "this sign-in link has expired or was already used: ask the hub at home for a new one (links work once, for 10 minutes)"}

// errSessionEnded answers a refresh token whose session is gone.
var errSessionEnded = &Error{Code: CodeUnauthorized,
	Message: "this session has ended (signed out, revoked, or unused for 30 days): sign in again with a new link from the hub"}

// Exchange trades a code, once, for a new session and its refresh token.
func (a *Auth) Exchange(ctx context.Context, code string) (Session, string, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 128 {
		return Session{}, "", errCodeUsed
	}
	g, err := a.Store.TakeCode(ctx, HashSecret(code))
	if errors.Is(err, ErrNoCode) {
		return Session{}, "", errCodeUsed
	}
	if err != nil {
		return Session{}, "", err
	}
	now := a.now().UTC()
	secret := newSecret()
	s := Session{ID: uuid.NewString(), Family: g.Family, Role: g.Role, Member: g.Member, Device: g.Device,
		Created: now, LastUsed: now, Expires: now.Add(SessionLifetime), RefreshHash: HashSecret(secret)}
	if err := a.Store.CreateSession(ctx, s); err != nil {
		return Session{}, "", err
	}
	return s, s.ID + "." + secret, nil
}

// Refresh checks a refresh token and rotates it: the session lives
// SessionLifetime from now and gets a new token, and the old one is
// spent. A spent token presented again means it was copied: the session
// is revoked, and both holders must sign in again.
func (a *Auth) Refresh(ctx context.Context, token string) (Session, string, error) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok || id == "" || secret == "" || len(token) > 256 {
		return Session{}, "", errSessionEnded
	}
	s, err := a.Store.Session(ctx, id)
	if errors.Is(err, ErrNoSession) {
		return Session{}, "", errSessionEnded
	}
	if err != nil {
		return Session{}, "", err
	}
	old := HashSecret(secret)
	if subtle.ConstantTimeCompare([]byte(old), []byte(s.RefreshHash)) != 1 {
		return Session{}, "", a.reused(ctx, id)
	}
	now := a.now().UTC()
	next := newSecret()
	s.LastUsed, s.Expires, s.RefreshHash = now, now.Add(SessionLifetime), HashSecret(next)
	switch err := a.Store.RotateRefresh(ctx, id, old, s); {
	case errors.Is(err, ErrRefreshReused):
		return Session{}, "", a.reused(ctx, id) // another request spent it first
	case errors.Is(err, ErrNoSession):
		return Session{}, "", errSessionEnded
	case err != nil:
		return Session{}, "", err
	}
	return s, id + "." + next, nil
}

// reused revokes a session whose spent refresh token came back.
func (a *Auth) reused(ctx context.Context, id string) error {
	if err := a.Store.RevokeSession(ctx, id); err != nil {
		return err
	}
	return &Error{Code: CodeUnauthorized,
		Message: "this refresh token was already used, so it may have been copied: the session is revoked; sign in again with a new link from the hub"}
}

// SessionOfRefresh returns the session a refresh token names when the
// token is its current one (for signing out); ErrNoSession otherwise.
func (a *Auth) SessionOfRefresh(ctx context.Context, token string) (Session, error) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok || id == "" || secret == "" || len(token) > 256 {
		return Session{}, ErrNoSession
	}
	s, err := a.Store.Session(ctx, id)
	if err != nil {
		return Session{}, err
	}
	if subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(s.RefreshHash)) != 1 {
		return Session{}, ErrNoSession
	}
	return s, nil
}
