//go:build integration

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/internal/wait"
)

// The web UI served by the cloud, in headless Chromium (ZONER_CHROMIUM):
// with no session it says to sign in with a link from the hub; with a
// member's access token in the tab it shows Today and the trip page from
// the cloud's routes, with no console errors.
func TestBrowserCloudApp(t *testing.T) {
	exe := os.Getenv("ZONER_CHROMIUM")
	if exe == "" {
		t.Skip("set ZONER_CHROMIUM to a Chromium binary to run the browser tests")
	}
	dir := t.TempDir()
	m := startAll(t, dir, "")
	fam := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	hubURL := linkedHub(t, m, dir, fam)
	postEvents(t, hubURL+"/api/v1/events", fam.Day(0))
	token := strings.TrimSpace(run1(t, "token", "-data", dir, "-family", fam.ID.String(), "-role", "member", "-member", fam.Members[0].String()))
	wait.For(t, 30*time.Second, "the family in the cloud", func() error {
		if code := call(t, "GET", fmt.Sprintf("%s/v1/families/%s/state", m.APIURL, fam.ID), token, nil, nil); code != 200 {
			return fmt.Errorf("state: %d", code)
		}
		return nil
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-component-update", true), chromedp.Env("TZ=Europe/London"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	var mu sync.Mutex
	var errs []string
	messages := chromedp.Console(ctx)
	go func() {
		for msg, err := range messages {
			if err != nil {
				return
			}
			// With no session, renewing the token fails, as it should:
			// the browser logs the refusal.
			if strings.HasSuffix(msg.URL, "/v1/auth/refresh") {
				continue
			}
			if msg.Type == chromedp.ConsoleError || msg.Type == chromedp.ConsoleException {
				mu.Lock()
				errs = append(errs, msg.Text+" ("+msg.URL+")")
				mu.Unlock()
			}
		}
	}()
	do := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(c, actions...); err != nil {
			t.Fatalf("browser: %v", err)
		}
	}
	waitFor := func(what, cond string) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if _, err := chromedp.Run(c, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(55*time.Second))); err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main')?.innerText.slice(0, 600)`))
			t.Fatalf("waiting for %s: %v\npage: %s", what, err, text)
		}
	}
	eval := func(js string) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if _, err := chromedp.Run(c, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatalf("browser: evaluate %s: %v", js, err)
		}
	}

	// No session: the sign-in note, not the hub's pairing form.
	do(chromedp.Navigate(m.APIURL + "/"))
	waitFor("the sign-in note", `document.querySelector('main')?.innerText.includes('Sign in with a link from your hub')`)
	waitFor("no pairing form", `!document.querySelector('.pair-form')`)

	// A session: Today from the cloud, then the trip page.
	eval(`(sessionStorage.setItem('zoner_access', ` + jsQuote(token) + `), true)`)
	do(chromedp.Navigate(m.APIURL + "/index.html#/today"))
	waitFor("Today's cards", `document.querySelectorAll('article.card.now').length === 3`)
	waitFor("the family's name", `document.getElementById('family-name')?.textContent.includes('The Testers')`)
	waitFor("the members on Today", `['Ada', 'Ben', 'Cleo'].every((n) => document.querySelector('main').innerText.includes(n))`)
	eval(`(location.hash = '#/trips/` + fam.Trip.String() + `', true)`)
	waitFor("the trip page", `!!document.querySelector('header.trip-head') && document.querySelector('main').innerText.includes('London')`)
	waitFor("the trip's plan", `document.querySelector('main').innerText.includes('Ada') && !document.querySelector('main').innerText.includes('Loading')`)

	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

func jsQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
