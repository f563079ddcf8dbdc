package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/internal/wait"
)

// signInLink asks a hub for a sign-in link and returns its code.
func signInLink(t *testing.T, m *Main, hubURL, body string) string {
	t.Helper()
	var link struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
		QRSVG     string    `json:"qr_svg"`
	}
	// The hub may not be linked yet: it answers 503 until it is.
	wait.For(t, 30*time.Second, "a sign-in link from the hub", func() error {
		if code := call(t, "POST", hubURL+"/api/v1/cloud/signin-links", "", []byte(body), &link); code != 200 {
			return fmt.Errorf("POST signin-links: %d", code)
		}
		return nil
	})
	code, ok := strings.CutPrefix(link.URL, m.APIURL+"/#/signin/")
	if !ok || code == "" || !strings.HasPrefix(link.QRSVG, "<svg ") || time.Until(link.ExpiresAt) > 10*time.Minute {
		t.Fatalf("link %+v: want %s/#/signin/<code>", link, m.APIURL)
	}
	return code
}

// exchange trades a code for a session at the cloud's API.
func exchange(t *testing.T, m *Main, code string) (int, sessionGrant, *http.Cookie) {
	t.Helper()
	resp, err := http.Post(m.APIURL+"/v1/auth/exchange", "application/json", bytes.NewReader([]byte(`{"code":"`+code+`"}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var g sessionGrant
	json.NewDecoder(resp.Body).Decode(&g)
	var refresh *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "zoner_refresh" {
			refresh = c
		}
	}
	return resp.StatusCode, g, refresh
}

type sessionGrant struct {
	AccessToken string    `json:"access_token"`
	FamilyID    uuid.UUID `json:"family_id"`
	MemberID    uuid.UUID `json:"member_id"`
	Role        string    `json:"role"`
	SessionID   string    `json:"session_id"`
}

// Away from home: a paired device asks the hub for a member's link; the
// hub asks the cloud over its link; the member's browser trades the code
// (once) for a session whose token reads the member's recommendation. A
// guardian's session, from another link, lists the family's sessions and
// revokes the member's: its token is refused within 2 s.
func TestSignInAwayFromTheHub(t *testing.T) {
	dir := t.TempDir()
	m := startAll(t, dir, "")
	fam := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	hubURL := linkedHub(t, m, dir, fam)
	postEvents(t, hubURL+"/api/v1/events", fam.Day(0))
	ada := fam.Members[0]

	code := signInLink(t, m, hubURL, `{"role":"member","member_id":"`+ada.String()+`","device":"Ada's phone"}`)
	status, g, refresh := exchange(t, m, code)
	if status != 200 || g.Role != "member" || g.FamilyID != fam.ID || g.MemberID != ada || refresh == nil || !refresh.HttpOnly {
		t.Fatalf("exchange: %d %+v %v", status, g, refresh)
	}
	if status, _, _ := exchange(t, m, code); status != 401 {
		t.Fatalf("the code a second time: %d", status)
	}
	rec := fmt.Sprintf("%s/v1/families/%s/members/%s/recommendation", m.APIURL, fam.ID, ada)
	wait.For(t, 30*time.Second, "the member's recommendation with the session's token", func() error {
		if code := call(t, "GET", rec, g.AccessToken, nil, nil); code != 200 {
			return fmt.Errorf("GET recommendation: %d", code)
		}
		return nil
	})
	other := fmt.Sprintf("%s/v1/families/%s/members/%s/recommendation", m.APIURL, uuid.New(), ada)
	if code := call(t, "GET", other, g.AccessToken, nil, nil); code != 403 {
		t.Errorf("another family's recommendation: %d", code)
	}

	_, guardian, _ := exchange(t, m, signInLink(t, m, hubURL, `{"role":"guardian","device":"laptop"}`))
	var list struct {
		Sessions []struct {
			ID     string `json:"id"`
			Device string `json:"device"`
		} `json:"sessions"`
	}
	sessions := fmt.Sprintf("%s/v1/families/%s/sessions", m.APIURL, fam.ID)
	if code := call(t, "GET", sessions, guardian.AccessToken, nil, &list); code != 200 || len(list.Sessions) != 2 {
		t.Fatalf("sessions: %d %+v", code, list)
	}
	if code := call(t, "DELETE", sessions+"/"+g.SessionID, guardian.AccessToken, nil, nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	revoked := time.Now()
	wait.For(t, 2*time.Second, "the revoked session's token refused", func() error {
		if code := call(t, "GET", rec, g.AccessToken, nil, nil); code != 401 {
			return fmt.Errorf("GET recommendation after revocation: %d", code)
		}
		return nil
	})
	t.Logf("refused %v after the revocation", time.Since(revoked).Round(time.Millisecond))
}
