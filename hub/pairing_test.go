package hub_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
)

// Sessions are stored after the token's hash, survive a reload, are
// capped, and end with a rotation.
func TestPairingSessions(t *testing.T) {
	var stored []byte
	save := func(b []byte) error { stored = bytes.Clone(b); return nil }
	p := hub.NewPairing(nil, save)
	tok, err := p.Rotate()
	if err != nil || !p.Check(tok) {
		t.Fatalf("rotate: %v", err)
	}
	var ids []string
	for range hub.MaxSessions + 1 {
		id, err := p.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(stored) != sha256.Size*(1+hub.MaxSessions) || bytes.Contains(stored, []byte(ids[1])) {
		t.Fatalf("stored %d bytes", len(stored))
	}
	q := hub.NewPairing(stored, save)
	if q.CheckSession(ids[0]) || !q.CheckSession(ids[1]) || !q.CheckSession(ids[hub.MaxSessions]) || !q.Check(tok) {
		t.Error("after a reload: the oldest session should be forgotten, the others and the token kept")
	}
	if q.Check(ids[1]) || q.CheckSession(tok) || q.CheckSession("") {
		t.Error("a session id works as the token, or the token as a session")
	}
	if _, err := q.Rotate(); err != nil {
		t.Fatal(err)
	}
	if q.CheckSession(ids[1]) || len(stored) != sha256.Size {
		t.Errorf("a rotation kept sessions (%d bytes stored)", len(stored))
	}
}

// Feed links open one member's calendar each, are capped per member, and
// are revoked per member.
func TestFeeds(t *testing.T) {
	var stored []byte
	save := func(b []byte) error { stored = bytes.Clone(b); return nil }
	f, _ := hub.NewFeeds(nil, save)
	ada, kemi := uuid.New(), uuid.New()
	var adas []string
	for range hub.MaxFeedsPerMember + 1 {
		s, err := f.New(ada)
		if err != nil {
			t.Fatal(err)
		}
		adas = append(adas, s)
	}
	k, _ := f.New(kemi)
	if len(adas[0]) < 26 || bytes.Contains(stored, []byte(k)) {
		t.Fatalf("secret %q; stored holds a secret", adas[0])
	}
	g, err := hub.NewFeeds(stored, save)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Member(adas[0]); ok {
		t.Error("the oldest of Ada's links outlived the cap")
	}
	if m, ok := g.Member(adas[1]); !ok || m != ada {
		t.Error("Ada's link lost after a reload")
	}
	if m, ok := g.Member(k); !ok || m != kemi {
		t.Error("Kemi's link lost after a reload")
	}
	if n, _ := g.Revoke(ada); n != hub.MaxFeedsPerMember {
		t.Errorf("revoked %d", n)
	}
	if _, ok := g.Member(adas[5]); ok {
		t.Error("a revoked link works")
	}
	if _, ok := g.Member(k); !ok {
		t.Error("revoking Ada's links ended Kemi's")
	}
	if _, err := hub.NewFeeds(stored[:len(stored)-1], nil); err == nil {
		t.Error("a damaged file was read")
	}
}

// An invite pairs once, until it expires; only its hash is kept, and in
// memory: nothing is saved, and a rotation ends it.
func TestPairingInvites(t *testing.T) {
	var saves int
	var stored []byte
	p := hub.NewPairing(nil, func(b []byte) error { saves++; stored = bytes.Clone(b); return nil })
	if _, err := p.Rotate(); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 20, 7, 30, 0, 0, time.UTC)
	code, exp := p.NewInvite(now)
	if len(code) != 32 || !exp.Equal(now.Add(hub.InviteTTL)) {
		t.Fatalf("invite %q until %v", code, exp)
	}
	if saves != 1 || bytes.Contains(stored, []byte(code)) {
		t.Errorf("an invite was saved (%d saves)", saves)
	}
	if p.Check(code) {
		t.Error("an invite works as the household token")
	}
	if err := p.Redeem("  "+code+"\n", now.Add(hub.InviteTTL-time.Second)); err != nil {
		t.Fatalf("a fresh invite: %v", err)
	}
	if err := p.Redeem(code, now.Add(time.Minute)); !errors.Is(err, hub.ErrInviteUsed) {
		t.Errorf("a second use: %v, want ErrInviteUsed", err)
	}
	late, _ := p.NewInvite(now)
	if err := p.Redeem(late, now.Add(hub.InviteTTL)); !errors.Is(err, hub.ErrInviteExpired) {
		t.Errorf("at expiry: %v, want ErrInviteExpired", err)
	}
	if err := p.Redeem("nope", now); !errors.Is(err, hub.ErrInviteUnknown) {
		t.Errorf("a made-up code: %v, want ErrInviteUnknown", err)
	}
	if err := p.Redeem(code, now.Add(48*time.Hour)); !errors.Is(err, hub.ErrInviteUnknown) {
		t.Errorf("a used invite two days on: %v, want it forgotten", err)
	}

	// A household has MaxInvites live ones; one more ends the oldest.
	var codes []string
	for i := range hub.MaxInvites + 1 {
		c, _ := p.NewInvite(now.Add(time.Duration(i) * time.Second))
		codes = append(codes, c)
	}
	at := now.Add(time.Minute)
	if err := p.Redeem(codes[0], at); !errors.Is(err, hub.ErrInviteExpired) {
		t.Errorf("the oldest of too many: %v, want ErrInviteExpired", err)
	}
	if err := p.Redeem(codes[1], at); err != nil {
		t.Errorf("a live invite: %v", err)
	}
	// Rotating the token ends every invite.
	if _, err := p.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := p.Redeem(codes[2], at); err == nil {
		t.Error("an invite outlived a rotation of the token")
	}
	// A reload knows no invite.
	q := hub.NewPairing(stored, nil)
	c, _ := p.NewInvite(now)
	if err := q.Redeem(c, now); !errors.Is(err, hub.ErrInviteUnknown) {
		t.Errorf("another Pairing redeemed an invite: %v", err)
	}
}
