package http

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Issuer is the iss claim of every token the cloud issues and accepts.
const Issuer = "zoner-cloud"

// MinSecretBytes is the shortest HS256 secret IssueToken, ParseToken and
// New accept: 256 bits, the size of the hash.
const MinSecretBytes = 32

// maxTokenBytes bounds what ParseToken will look at; a real token is a few
// hundred bytes.
const maxTokenBytes = 4 << 10

// MaxTokenLifetime is the longest a token may live, from iat to exp. The
// cloud issues tokens of 24 h (zoner-cloud token's default -ttl); a
// longer one is refused when issued and when presented, so a leaked
// token is worth a day at most.
const MaxTokenLifetime = 24 * time.Hour

// tokenSkew is how far ahead of this machine's clock the issuer's may
// be: iat and nbf may lie that far in the future. exp has no grace: a
// token is refused from the second it names.
const tokenSkew = 5 * time.Second

// Role is what a token's holder may do.
type Role string

// The roles. A guardian reads everything of one family; a member reads
// their own recommendation; an analyst reads aggregates only; an admin
// reads everything.
const (
	RoleGuardian Role = "guardian"
	RoleMember   Role = "member"
	RoleAnalyst  Role = "analyst"
	RoleAdmin    Role = "admin"
)

// Claims are what a token says about its holder.
type Claims struct {
	// Subject is the member id for RoleMember; for the other roles a free
	// subject such as a user id.
	Subject string
	// Family is the family of a guardian or member; uuid.Nil (no fam
	// claim) for analysts and admins.
	Family uuid.UUID
	Role   Role
	// ID is the optional jti claim.
	ID string
	// Session is the sid claim: the session a signed-in device's token
	// was issued from (POST /v1/auth/exchange and /v1/auth/refresh). The
	// API refuses such a token once its session is revoked. Tokens issued
	// by the operator (zoner-cloud token) have none.
	Session string
	// IssuedAt and ExpiresAt are set by IssueToken and ParseToken.
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// check enforces the rules between role, family and subject, and writes
// a member's id in its canonical form.
func (c *Claims) check() error {
	switch c.Role {
	case RoleGuardian, RoleMember:
		if c.Family == uuid.Nil {
			return fmt.Errorf("role %s needs a family (fam)", c.Role)
		}
	case RoleAnalyst, RoleAdmin:
		if c.Family != uuid.Nil {
			return fmt.Errorf("role %s must not name a family (fam)", c.Role)
		}
	default:
		return fmt.Errorf("unknown role %q", c.Role)
	}
	if c.Subject == "" {
		return errors.New("no subject (sub)")
	}
	if len(c.Session) > 64 {
		return errors.New("the session id (sid) is too long")
	}
	if c.Role == RoleMember {
		id, err := uuid.Parse(c.Subject)
		if err != nil || id == uuid.Nil {
			return errors.New("the subject (sub) of a member token must be the member id")
		}
		c.Subject = id.String() // one spelling, for comparing with paths
	}
	return nil
}

// wireClaims is the JWT payload. Its times are numericDates, JSON
// numbers only: jwt.NumericDate also takes a string holding a number.
type wireClaims struct {
	Issuer    string       `json:"iss,omitempty"`
	Subject   string       `json:"sub,omitempty"`
	ExpiresAt *numericDate `json:"exp,omitempty"`
	NotBefore *numericDate `json:"nbf,omitempty"`
	IssuedAt  *numericDate `json:"iat,omitempty"`
	ID        string       `json:"jti,omitempty"`
	Fam       string       `json:"fam,omitempty"`
	Role      Role         `json:"role"`
	Sid       string       `json:"sid,omitempty"`
}

// The jwt.Claims methods. ParseToken checks the times and the issuer
// itself (see checkTimes), so these serve the library's interface only.
func (w *wireClaims) GetExpirationTime() (*jwt.NumericDate, error) { return w.ExpiresAt.jwt(), nil }
func (w *wireClaims) GetNotBefore() (*jwt.NumericDate, error)      { return w.NotBefore.jwt(), nil }
func (w *wireClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return w.IssuedAt.jwt(), nil }
func (w *wireClaims) GetIssuer() (string, error)                   { return w.Issuer, nil }
func (w *wireClaims) GetSubject() (string, error)                  { return w.Subject, nil }
func (w *wireClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// checkTimes enforces the token's times at now: exp and iat are required;
// now must be before exp, with no grace; iat and nbf may be at most
// tokenSkew ahead of now; and exp may be at most MaxTokenLifetime after
// iat.
func (w *wireClaims) checkTimes(now time.Time) error {
	switch {
	case w.ExpiresAt == nil:
		return errors.New("no exp")
	case w.IssuedAt == nil:
		return errors.New("no iat")
	}
	exp, iat := w.ExpiresAt.Time, w.IssuedAt.Time
	switch {
	case !now.Before(exp):
		return jwt.ErrTokenExpired
	case iat.After(now.Add(tokenSkew)):
		return fmt.Errorf("%w: iat is in the future", jwt.ErrTokenUsedBeforeIssued)
	case w.NotBefore != nil && w.NotBefore.After(now.Add(tokenSkew)):
		return fmt.Errorf("%w: nbf is in the future", jwt.ErrTokenNotValidYet)
	case !exp.After(iat):
		return errors.New("exp is not after iat")
	case exp.Sub(iat) > MaxTokenLifetime:
		return fmt.Errorf("lives %v from iat to exp; at most %v is accepted", exp.Sub(iat), MaxTokenLifetime)
	}
	return nil
}

// numericDate is a JWT time (RFC 7519 NumericDate): a JSON number of
// seconds since 1970, in [minInstant, maxInstant). Unlike jwt.NumericDate
// it refuses a string, even one holding a number.
type numericDate struct{ jwt.NumericDate }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return errors.New("a time claim must be a JSON number of seconds since 1970")
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return errors.New("a time claim must be a JSON number of seconds since 1970")
	}
	if f < float64(minInstant.Unix()) || f >= float64(maxInstant.Unix()) {
		return errors.New("a time claim must lie in the years 2000 to 2099")
	}
	return d.NumericDate.UnmarshalJSON(b)
}

func (d *numericDate) jwt() *jwt.NumericDate {
	if d == nil {
		return nil
	}
	return &d.NumericDate
}

func (w *wireClaims) claims() (*Claims, error) {
	c := &Claims{Subject: w.Subject, Role: w.Role, ID: w.ID, Session: w.Sid}
	if w.Fam != "" {
		id, err := uuid.Parse(w.Fam)
		if err != nil || id == uuid.Nil {
			return nil, errors.New("fam is not a family id")
		}
		c.Family = id
	}
	if w.IssuedAt != nil {
		c.IssuedAt = w.IssuedAt.UTC()
	}
	if w.ExpiresAt != nil {
		c.ExpiresAt = w.ExpiresAt.UTC()
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// IssueToken signs a token for c with HS256, valid from now for ttl, at
// most MaxTokenLifetime.
func IssueToken(secret []byte, c Claims, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < MinSecretBytes {
		return "", fmt.Errorf("issue token: secret of %d bytes; at least %d are needed", len(secret), MinSecretBytes)
	}
	if ttl <= 0 {
		return "", errors.New("issue token: ttl must be positive")
	}
	if ttl > MaxTokenLifetime {
		return "", fmt.Errorf("issue token: ttl %v is over the longest lifetime accepted, %v", ttl, MaxTokenLifetime)
	}
	if err := c.check(); err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	w := wireClaims{
		Issuer:    Issuer,
		Subject:   c.Subject,
		IssuedAt:  &numericDate{*jwt.NewNumericDate(now)},
		ExpiresAt: &numericDate{*jwt.NewNumericDate(now.Add(ttl))},
		ID:        c.ID,
		Role:      c.Role,
		Sid:       c.Session,
	}
	if c.Family != uuid.Nil {
		w.Fam = c.Family.String()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &w).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	return s, nil
}

// ParseToken verifies token and returns its claims. It accepts only HS256
// signed with secret, issued by Issuer, with the times checkTimes allows
// (exp after now, iat and nbf not ahead of now by more than a few seconds
// of skew, at most MaxTokenLifetime from iat to exp, every time a JSON
// number), a known role, a fam claim exactly for guardians and members,
// and a member id as the subject of a member token.
func ParseToken(secret []byte, token string, now time.Time) (*Claims, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("parse token: secret of %d bytes; at least %d are needed", len(secret), MinSecretBytes)
	}
	if len(token) > maxTokenBytes {
		return nil, errors.New("parse token: token too long")
	}
	// The library checks the signature; the claims are checked below,
	// all in one place, because its time checks take one leeway for exp,
	// iat and nbf alike.
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithoutClaimsValidation(),
	)
	var w wireClaims
	_, err := p.ParseWithClaims(token, &w, func(t *jwt.Token) (any, error) {
		// WithValidMethods already refuses every other alg, none included;
		// checking the type too keeps a future edit from loosening it.
		if t.Method != jwt.SigningMethodHS256 {
			return nil, fmt.Errorf("alg %v not accepted", t.Header["alg"])
		}
		return secret, nil
	})
	if err != nil {
		return nil, fmt.Errorf("parse token: %w", err)
	}
	if w.Issuer != Issuer {
		return nil, fmt.Errorf("parse token: issuer %q is not %q", w.Issuer, Issuer)
	}
	if err := w.checkTimes(now); err != nil {
		return nil, fmt.Errorf("parse token: %w", err)
	}
	c, err := w.claims()
	if err != nil {
		return nil, fmt.Errorf("parse token: %w", err)
	}
	return c, nil
}

// maxVerifiedTokens is how many verified tokens a server remembers.
const maxVerifiedTokens = 10_000

// verifiedTokens remembers the tokens ParseToken accepted, by their exact
// bytes, until they expire, so that a client sending the same token on
// every request pays for the HMAC, the base64 and the JSON once. It holds
// only what a token's bytes say: a check against changing state (a
// revoked session) must still run on every request. A refused token is
// never remembered, so guessing cannot fill it; when full, the expired
// entries go first, then arbitrary ones (their holders' next request
// verifies again).
type verifiedTokens struct {
	secret []byte
	max    int

	mu sync.RWMutex
	m  map[string]verifiedToken
}

// verifiedToken is a token's claims and when ParseToken accepted it: it
// holds from then until it expires (a clock set back before then checks
// the token again, its iat and nbf included).
type verifiedToken struct {
	c     *Claims
	since time.Time
}

func newVerifiedTokens(secret []byte, max int) *verifiedTokens {
	return &verifiedTokens{secret: secret, max: max, m: map[string]verifiedToken{}}
}

// parse is ParseToken(secret, token, now), from memory when token was
// accepted before and has not expired at now. The claims are the
// caller's own copy.
func (v *verifiedTokens) parse(token string, now time.Time) (*Claims, error) {
	v.mu.RLock()
	e, ok := v.m[token]
	v.mu.RUnlock()
	if !ok || now.Before(e.since) || !now.Before(e.c.ExpiresAt) {
		c, err := ParseToken(v.secret, token, now)
		if err != nil {
			return nil, err
		}
		e = verifiedToken{c: c, since: now}
		v.add(token, e, now)
	}
	own := *e.c
	return &own, nil
}

func (v *verifiedTokens) add(token string, e verifiedToken, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= v.max {
		// Make room for an eighth at once, so that this runs once in
		// max/8 additions at most.
		for k, old := range v.m {
			if !now.Before(old.c.ExpiresAt) {
				delete(v.m, k)
			}
		}
		for k := range v.m {
			if len(v.m) <= v.max-v.max/8-1 {
				break
			}
			delete(v.m, k)
		}
	}
	v.m[token] = e
}
