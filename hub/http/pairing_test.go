package http_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/hub"
)

// A paired device makes a one-time pairing link: the code rides in the
// URL's fragment, the QR code is an SVG drawn by the hub, and the code
// pairs one browser once; a second use is told why it fails.
func TestPairingInvite(t *testing.T) {
	p := hub.NewPairing(nil, nil)
	tok, err := p.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	h := mustOpenHub(t, options{pairing: p})
	if a := h.do("POST", "/api/v1/pairing/invites", nil); a.status != 401 {
		t.Fatalf("an invite without the token: %d", a.status)
	}
	var info struct {
		LAN         bool   `json:"lan"`
		PairCommand string `json:"pair_command"`
	}
	if a := h.do("GET", "/api/v1/pairing", nil); a.status != 200 || json.Unmarshal(a.body, &info) != nil || !info.LAN || info.PairCommand != "zoner-hub pair" {
		t.Fatalf("GET /api/v1/pairing: %d %s", a.status, a.body)
	}
	a := h.do("POST", "/api/v1/pairing/invites", nil, "Authorization", "Bearer "+tok)
	var inv struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
		QRSVG     string    `json:"qr_svg"`
	}
	if a.status != 200 || json.Unmarshal(a.body, &inv) != nil {
		t.Fatalf("an invite: %d %s", a.status, a.body)
	}
	base, code, ok := strings.Cut(inv.URL, "/#/pair/")
	if !ok || base != "http://127.0.0.1:8080" || len(code) != 32 || !strings.HasPrefix(inv.QRSVG, "<svg ") || !strings.HasSuffix(inv.QRSVG, "</svg>") {
		t.Fatalf("invite %s", a.body)
	}
	if left := time.Until(inv.ExpiresAt); left < hub.InviteTTL-time.Minute || left > hub.InviteTTL || inv.ExpiresAt.Nanosecond() != 0 {
		t.Errorf("expires_at %v", inv.ExpiresAt)
	}
	body := []byte(`{"token":"` + code + `"}`)
	if a := h.do("POST", "/api/v1/pairing/session", body); a.status != 200 || !strings.Contains(a.header.Get("Set-Cookie"), "zoner_session=") {
		t.Fatalf("redeeming the invite: %d %s", a.status, a.body)
	}
	a = h.do("POST", "/api/v1/pairing/session", body)
	if e := a.errorOf(t); a.status != 401 || !strings.Contains(e.Message, "already used") || !strings.Contains(e.Message, "Add another phone") {
		t.Errorf("a second use: %d %q", a.status, e.Message)
	}
	a = h.do("POST", "/api/v1/pairing/session", []byte(`{"token":"abcd"}`))
	if e := a.errorOf(t); !strings.Contains(e.Message, "zoner-hub pair") {
		t.Errorf("a wrong code: %q", e.Message)
	}
	// A hub for this device only has no invites.
	if a := mustOpenHub(t, options{}).do("POST", "/api/v1/pairing/invites", nil); a.status != 409 {
		t.Errorf("an invite on localhost: %d", a.status)
	}
}
