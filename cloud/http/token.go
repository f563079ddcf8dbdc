package http

import (
	"errors"
	"fmt"
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

// tokenLeeway is the clock skew allowed on exp and iat.
const tokenLeeway = 30 * time.Second

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
	if c.Role == RoleMember {
		id, err := uuid.Parse(c.Subject)
		if err != nil || id == uuid.Nil {
			return errors.New("the subject (sub) of a member token must be the member id")
		}
		c.Subject = id.String() // one spelling, for comparing with paths
	}
	return nil
}

// wireClaims is the JWT payload.
type wireClaims struct {
	jwt.RegisteredClaims
	Fam  string `json:"fam,omitempty"`
	Role Role   `json:"role"`
}

// Validate runs after jwt's own checks of exp, iat and iss.
func (w *wireClaims) Validate() error {
	_, err := w.claims()
	return err
}

func (w *wireClaims) claims() (*Claims, error) {
	c := &Claims{Subject: w.Subject, Role: w.Role, ID: w.ID}
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

// IssueToken signs a token for c with HS256, valid from now for ttl.
func IssueToken(secret []byte, c Claims, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < MinSecretBytes {
		return "", fmt.Errorf("issue token: secret of %d bytes; at least %d are needed", len(secret), MinSecretBytes)
	}
	if ttl <= 0 {
		return "", errors.New("issue token: ttl must be positive")
	}
	if err := c.check(); err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	w := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   c.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        c.ID,
		},
		Role: c.Role,
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
// signed with secret, issued by Issuer, with an exp in the future and an
// iat not in the future (both with a small leeway), a known role, a fam
// claim exactly for guardians and members, and a member id as the subject
// of a member token.
func ParseToken(secret []byte, token string, now time.Time) (*Claims, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("parse token: secret of %d bytes; at least %d are needed", len(secret), MinSecretBytes)
	}
	if len(token) > maxTokenBytes {
		return nil, errors.New("parse token: token too long")
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
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
	if w.IssuedAt == nil {
		return nil, errors.New("parse token: no iat")
	}
	return w.claims()
}
