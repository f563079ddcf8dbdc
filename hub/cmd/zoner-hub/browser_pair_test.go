//go:build integration

package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPairingLink: a LAN hub prints a pairing link with the code
// in the URL's fragment; a phone opens it and pairs in one tap, and the
// code leaves the address bar. On that phone, Sync, "Add another phone"
// shows a QR code the hub drew and the link as text; the link pairs a
// second phone once, and a second use is refused with a message that
// says why.
func TestBrowserPairingLink(t *testing.T) {
	shots := screenshotDir(t)
	var shown bytes.Buffer
	m := mustRun(t, t.TempDir(), realClock, func(m *Main) {
		m.HTTPAddr = "0.0.0.0:0"
		m.Stdout = &shown
	})
	tok := pairingToken.FindString(shown.String())
	f := newFamily(t)
	owner := &client{tb: t, base: m.URL, token: tok}
	owner.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	linkRe := regexp.MustCompile(`https?://\S+/#/pair/([a-z2-7]{32})`)
	link := linkRe.FindString(shown.String())
	if link == "" {
		// A machine with no network address prints none: make one.
		var inv struct{ URL string }
		owner.json("POST", "/api/v1/pairing/invites", nil, 200, &inv)
		link = inv.URL
	}
	code := linkRe.FindStringSubmatch(link)[1]

	b := newBrowser(t, m.URL, shots, "Europe/London")
	b.allow.Store(regexp.MustCompile(`status of 401`))
	b.do(chromedp.Navigate(link))
	b.wait("the pairing screen, filled in", `location.hash === '#/pair' && document.querySelector('form input')?.value === `+jsString(code))
	if href := eval[string](b, `location.href`); strings.Contains(href, code) {
		t.Errorf("the code stayed in the address bar: %s", href)
	}
	b.shot("pair-link")
	b.click("form button[type=submit]")
	b.wait("today", `location.hash === '#/today'`)
	b.allow.Store(nil)

	b.route("#/sync", "#phone-h")
	b.click(".phone-invite button.secondary")
	b.wait("the QR code", `(() => { const i = document.querySelector('.phone-invite img.qr'); return !!i && i.complete && i.naturalWidth > 0 && i.src.startsWith('data:image/svg+xml') && !!i.alt; })()`)
	invite := eval[string](b, `document.querySelector('.phone-invite input.invite-url').value`)
	if !strings.Contains(invite, "/#/pair/") || strings.Contains(invite, code) {
		t.Fatalf("the invite's link: %q", invite)
	}
	b.shot("add-phone")
	b.noConsoleErrors("pairing link")

	// A second phone pairs with the link, once.
	b2 := newBrowser(t, m.URL, shots, "America/Los_Angeles")
	b2.allow.Store(regexp.MustCompile(`status of 401`))
	b2.do(chromedp.Navigate(invite))
	b2.wait("the pairing screen, filled in", `location.hash === '#/pair' && document.querySelector('form input')?.value.length === 32`)
	b2.click("form button[type=submit]")
	b2.wait("today on the second phone", `location.hash === '#/today'`)
	b2.allow.Store(nil)
	b2.noConsoleErrors("second phone")

	// The same link again, on a third phone.
	b3 := newBrowser(t, m.URL, shots, "America/Los_Angeles")
	b3.allow.Store(regexp.MustCompile(`status of 401`))
	b3.do(chromedp.Navigate(invite))
	b3.wait("the pairing screen, filled in", `location.hash === '#/pair' && document.querySelector('form input')?.value.length === 32`)
	b3.click("form button[type=submit]")
	b3.wait("the refusal", `document.querySelector('form .error[role=alert]').textContent.includes('already used') && document.querySelector('form input').value === ''`)
	msg := eval[string](b3, `document.querySelector('form .error').textContent`)
	if !strings.Contains(msg, "Add another phone") {
		t.Errorf("the refusal does not say what to do: %q", msg)
	}
	b3.shot("pair-link-used")
	b3.noConsoleErrors("second use")
}
