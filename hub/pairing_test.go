package hub_test

import (
	"bytes"
	"crypto/sha256"
	"testing"

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
