package http

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

func TestTokenRoundTrip(t *testing.T) {
	for _, c := range []Claims{
		{Role: RoleGuardian, Family: familyA, Subject: "user-17"},
		{Role: RoleMember, Family: familyA, Subject: memberA.String(), ID: "jti-1"},
		{Role: RoleAnalyst, Subject: "analyst@example.com"},
		{Role: RoleAdmin, Subject: "ops"},
	} {
		t.Run(string(c.Role), func(t *testing.T) {
			tok, err := IssueToken(testSecret, c, time.Hour, testStart)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseToken(testSecret, tok, testStart.Add(30*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			want := c
			want.IssuedAt, want.ExpiresAt = testStart, testStart.Add(time.Hour)
			if *got != want {
				t.Errorf("got %+v, want %+v", *got, want)
			}
			// The payload has exactly the documented claims.
			var payload map[string]any
			b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
			if err := json.Unmarshal(b, &payload); err != nil {
				t.Fatal(err)
			}
			if payload["iss"] != Issuer || payload["role"] != string(c.Role) || payload["sub"] != c.Subject {
				t.Errorf("payload %v", payload)
			}
			if _, ok := payload["fam"]; ok != (c.Family != uuid.Nil) {
				t.Errorf("fam present %v for role %s", ok, c.Role)
			}
		})
	}
}

func TestIssueTokenRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		secret []byte
		c      Claims
		ttl    time.Duration
	}{
		"short secret":          {[]byte("31 bytes is one byte too short!"), Claims{Role: RoleAdmin, Subject: "ops"}, time.Hour},
		"no ttl":                {testSecret, Claims{Role: RoleAdmin, Subject: "ops"}, 0},
		"unknown role":          {testSecret, Claims{Role: "root", Subject: "ops"}, time.Hour},
		"guardian without fam":  {testSecret, Claims{Role: RoleGuardian, Subject: "u"}, time.Hour},
		"member without fam":    {testSecret, Claims{Role: RoleMember, Subject: memberA.String()}, time.Hour},
		"analyst with fam":      {testSecret, Claims{Role: RoleAnalyst, Family: familyA, Subject: "a"}, time.Hour},
		"admin with fam":        {testSecret, Claims{Role: RoleAdmin, Family: familyA, Subject: "a"}, time.Hour},
		"member sub not a uuid": {testSecret, Claims{Role: RoleMember, Family: familyA, Subject: "ada"}, time.Hour},
		"no subject":            {testSecret, Claims{Role: RoleGuardian, Family: familyA}, time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			if tok, err := IssueToken(tc.secret, tc.c, tc.ttl, testStart); err == nil {
				t.Errorf("issued %s", tok)
			}
		})
	}
}

// signed signs arbitrary claims with HS256 and the test secret.
func signed(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// goodClaims are valid guardian claims at testStart; tests change one.
func goodClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": Issuer, "sub": "user-17", "fam": familyA.String(), "role": "guardian",
		"iat": testStart.Unix(), "exp": testStart.Add(time.Hour).Unix(),
	}
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

func TestParseTokenRefuses(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(goodClaims())
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(m jwt.SigningMethod, key any) string {
		s, err := jwt.NewWithClaims(m, goodClaims()).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := signed(t, goodClaims())
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + enc([]byte(strings.Replace(string(payload), `"guardian"`, `"admin"`, 1))) + "." + parts[2]

	for name, tok := range map[string]string{
		"alg none, empty signature":  enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + ".",
		"alg none, library-made":     sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType),
		"alg NONE":                   enc([]byte(`{"alg":"NONE","typ":"JWT"}`)) + "." + enc(payload) + ".",
		"HS384 with the secret":      sign(jwt.SigningMethodHS384, testSecret),
		"HS512 with the secret":      sign(jwt.SigningMethodHS512, testSecret),
		"RS256":                      sign(jwt.SigningMethodRS256, rsaKey),
		"ES256":                      sign(jwt.SigningMethodES256, ecKey),
		"wrong secret":               mustSign(t, goodClaims(), []byte("another secret of at least 32 bytes!!")),
		"tampered payload":           tampered,
		"signature stripped":         parts[0] + "." + parts[1] + ".",
		"garbage":                    "not.a.token",
		"empty":                      "",
		"too long":                   good + strings.Repeat("A", maxTokenBytes),
		"expired":                    signed(t, with(goodClaims(), "exp", testStart.Add(-time.Minute).Unix())),
		"no exp":                     signed(t, with(goodClaims(), "exp", nil)),
		"no iat":                     signed(t, with(goodClaims(), "iat", nil)),
		"iat in the future":          signed(t, with(goodClaims(), "iat", testStart.Add(10*time.Minute).Unix())),
		"wrong issuer":               signed(t, with(goodClaims(), "iss", "someone-else")),
		"no issuer":                  signed(t, with(goodClaims(), "iss", nil)),
		"unknown role":               signed(t, with(goodClaims(), "role", "owner")),
		"no role":                    signed(t, with(goodClaims(), "role", nil)),
		"role of wrong type":         signed(t, with(goodClaims(), "role", 7)),
		"guardian without fam":       signed(t, with(goodClaims(), "fam", nil)),
		"fam not a uuid":             signed(t, with(goodClaims(), "fam", "family-a")),
		"fam nil uuid":               signed(t, with(goodClaims(), "fam", uuid.Nil.String())),
		"analyst with fam":           signed(t, with(goodClaims(), "role", "analyst")),
		"admin with fam":             signed(t, with(goodClaims(), "role", "admin")),
		"member whose sub is a name": signed(t, with(goodClaims(), "role", "member", "sub", "ada")),
		"no subject":                 signed(t, with(goodClaims(), "sub", nil)),
	} {
		t.Run(name, func(t *testing.T) {
			if c, err := ParseToken(testSecret, tok, testStart.Add(time.Minute)); err == nil {
				t.Errorf("accepted: %+v", c)
			}
		})
	}
	t.Run("short secret", func(t *testing.T) {
		if _, err := ParseToken(testSecret[:31], good, testStart); err == nil {
			t.Error("accepted with a 31-byte secret")
		}
	})
}

func mustSign(t *testing.T, c jwt.MapClaims, secret []byte) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestParseTokenTimes checks exp, iat and nbf on hand-made tokens: exp
// has no grace at all, iat and nbf a few seconds of clock skew, every time
// is a JSON number, and no token lives longer than MaxTokenLifetime.
func TestParseTokenTimes(t *testing.T) {
	now := testStart.Add(30 * time.Minute)
	unix := func(d time.Duration) int64 { return now.Add(d).Unix() }
	for name, tc := range map[string]struct {
		claims jwt.MapClaims
		ok     bool
	}{
		"valid":                    {goodClaims(), true},
		"expired 10 s ago":         {with(goodClaims(), "exp", unix(-10*time.Second)), false},
		"expired 1 s ago":          {with(goodClaims(), "exp", unix(-time.Second)), false},
		"expires now":              {with(goodClaims(), "exp", unix(0)), false},
		"expires in 1 s":           {with(goodClaims(), "exp", unix(time.Second)), true},
		"exp a string":             {with(goodClaims(), "exp", strconv.FormatInt(unix(time.Hour), 10)), false},
		"exp a string, fractional": {with(goodClaims(), "exp", "1798000000.5"), false},
		"exp true":                 {with(goodClaims(), "exp", true), false},
		"exp in 9999":              {with(goodClaims(), "exp", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC).Unix()), false},
		"exp huge":                 {with(goodClaims(), "exp", 1e300), false},
		"exp negative":             {with(goodClaims(), "exp", -1e300), false},
		"exp fractional":           {with(goodClaims(), "exp", float64(unix(time.Hour))+0.5), true},
		"no exp":                   {with(goodClaims(), "exp", nil), false},
		"lifetime the maximum":     {with(goodClaims(), "iat", unix(-time.Hour), "exp", unix(MaxTokenLifetime-time.Hour)), true},
		"lifetime 1 s too long":    {with(goodClaims(), "iat", unix(-time.Hour), "exp", unix(MaxTokenLifetime-time.Hour+time.Second)), false},
		"lifetime 30 days":         {with(goodClaims(), "exp", unix(30*24*time.Hour)), false},
		"exp before iat":           {with(goodClaims(), "iat", unix(0), "exp", unix(-time.Hour)), false},
		"no iat":                   {with(goodClaims(), "iat", nil), false},
		"iat a string":             {with(goodClaims(), "iat", strconv.FormatInt(testStart.Unix(), 10)), false},
		"iat within the skew":      {with(goodClaims(), "iat", unix(tokenSkew)), true},
		"iat past the skew":        {with(goodClaims(), "iat", unix(tokenSkew+time.Second)), false},
		"iat in the future":        {with(goodClaims(), "iat", unix(10*time.Minute)), false},
		"nbf in the past":          {with(goodClaims(), "nbf", unix(-time.Minute)), true},
		"nbf within the skew":      {with(goodClaims(), "nbf", unix(tokenSkew)), true},
		"nbf in the future":        {with(goodClaims(), "nbf", unix(time.Minute)), false},
		"nbf past the skew":        {with(goodClaims(), "nbf", unix(tokenSkew+time.Second)), false},
		"nbf a string":             {with(goodClaims(), "nbf", strconv.FormatInt(unix(-time.Minute), 10)), false},
		"nbf an object":            {with(goodClaims(), "nbf", map[string]any{"t": 1}), false},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ParseToken(testSecret, signed(t, tc.claims), now)
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok && err == nil {
				t.Errorf("accepted: %+v", c)
			}
		})
	}
}

func TestIssueTokenLifetime(t *testing.T) {
	c := Claims{Role: RoleGuardian, Family: familyA, Subject: "u"}
	tok, err := IssueToken(testSecret, c, MaxTokenLifetime, testStart)
	if err != nil {
		t.Fatalf("the longest lifetime refused: %v", err)
	}
	if _, err := ParseToken(testSecret, tok, testStart.Add(MaxTokenLifetime-time.Second)); err != nil {
		t.Errorf("a token of the longest lifetime refused a second before it expires: %v", err)
	}
	if tok, err := IssueToken(testSecret, c, MaxTokenLifetime+time.Second, testStart); err == nil {
		t.Errorf("issued a token living longer than %v: %s", MaxTokenLifetime, tok)
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(mustToken(f, Claims{Role: RoleGuardian, Family: familyA, Subject: "u"}, testStart))
	f.Add(mustToken(f, Claims{Role: RoleMember, Family: familyA, Subject: memberA.String()}, testStart))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := ParseToken(testSecret, tok, testStart.Add(time.Minute))
		if err != nil {
			return
		}
		if err := c.check(); err != nil {
			t.Fatalf("accepted claims that break the rules: %v", err)
		}
	})
}
