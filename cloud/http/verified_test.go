package http

import (
	"fmt"
	"testing"
	"time"
)

func TestVerifiedTokensExpireAsParseTokenSays(t *testing.T) {
	v := newVerifiedTokens(testSecret, 100)
	tok, err := IssueToken(testSecret, Claims{Role: RoleGuardian, Family: familyA, Subject: "g"}, time.Minute, testStart)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{0, 30 * time.Second, time.Minute - time.Nanosecond} {
		if _, err := v.parse(tok, testStart.Add(at)); err != nil {
			t.Fatalf("at +%v: %v", at, err)
		}
	}
	// Remembered, and still refused from the second exp names on.
	for _, at := range []time.Duration{time.Minute, time.Hour} {
		if _, err := v.parse(tok, testStart.Add(at)); err == nil {
			t.Errorf("accepted at +%v, after exp", at)
		}
		if _, err := ParseToken(testSecret, tok, testStart.Add(at)); err == nil {
			t.Errorf("ParseToken accepted at +%v", at)
		}
	}
}

func TestVerifiedTokensCheckAgainWhenTheClockGoesBack(t *testing.T) {
	v := newVerifiedTokens(testSecret, 100)
	tok, err := IssueToken(testSecret, Claims{Role: RoleAdmin, Subject: "x"}, time.Hour, testStart)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.parse(tok, testStart); err != nil {
		t.Fatal(err)
	}
	// A minute before its iat, it is not valid yet, remembered or not.
	if _, err := v.parse(tok, testStart.Add(-time.Minute)); err == nil {
		t.Error("accepted a minute before its iat")
	}
	if _, err := v.parse(tok, testStart.Add(time.Second)); err != nil {
		t.Error(err)
	}
}

func TestVerifiedTokensRememberOnlyAccepted(t *testing.T) {
	v := newVerifiedTokens(testSecret, 100)
	other, err := IssueToken([]byte("another-secret-of-at-least-32-bytes!!"), Claims{Role: RoleAdmin, Subject: "x"}, time.Hour, testStart)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", "a.b.c", other, other} {
		if _, err := v.parse(tok, testStart); err == nil {
			t.Errorf("accepted %q", tok)
		}
	}
	// Not yet valid (iat too far ahead) is refused, not remembered, so it
	// is refused again however often it comes.
	early, err := IssueToken(testSecret, Claims{Role: RoleAdmin, Subject: "x"}, time.Hour, testStart.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := v.parse(early, testStart); err == nil {
			t.Error("accepted a token issued a minute ahead")
		}
	}
	if n := len(v.m); n != 0 {
		t.Errorf("%d refused tokens remembered", n)
	}
}

func TestVerifiedTokensGiveCopies(t *testing.T) {
	v := newVerifiedTokens(testSecret, 100)
	tok := mustToken(t, Claims{Role: RoleMember, Family: familyA, Subject: memberA.String()}, testStart)
	a, err := v.parse(tok, testStart)
	if err != nil {
		t.Fatal(err)
	}
	a.Role, a.Subject = RoleAdmin, "someone else"
	b, err := v.parse(tok, testStart)
	if err != nil {
		t.Fatal(err)
	}
	if b.Role != RoleMember || b.Subject != memberA.String() {
		t.Errorf("a caller's change reached the next caller: %+v", *b)
	}
}

func TestVerifiedTokensBounded(t *testing.T) {
	const max = 16
	v := newVerifiedTokens(testSecret, max)
	for i := range 200 {
		tok := mustToken(t, Claims{Role: RoleGuardian, Family: familyA, Subject: fmt.Sprint("g", i)}, testStart)
		c, err := v.parse(tok, testStart)
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != fmt.Sprint("g", i) {
			t.Fatalf("token %d gave subject %q", i, c.Subject)
		}
		if n := len(v.m); n > max {
			t.Fatalf("%d tokens remembered, at most %d", n, max)
		}
	}
}
