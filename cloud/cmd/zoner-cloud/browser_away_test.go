//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	chttp "github.com/zoner-family/zoner/cloud/http"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// Away from home, end to end in headless Chromium (ZONER_CHROMIUM): a
// hub linked to the cloud makes a guardian's sign-in link; the browser
// opens it on the cloud's address, lands on Today with the family's
// cards, logs a nap for the toddler, and Today shows the toddler napping;
// the nap reaches the hub, whose Today says napping too. Another family's
// guardian is refused (403); once a guardian of the family revokes the
// browser's session, its next call is refused (401) and the page asks to
// sign in again. Once with zoner-cloud all, once with the cloud's ingest,
// recommender and API on the real Kafka, redis-server and fakesnow.
func TestBrowserAwayFromHome(t *testing.T) {
	exe := os.Getenv("ZONER_CHROMIUM")
	if exe == "" {
		t.Skip("set ZONER_CHROMIUM to a Chromium binary to run the browser tests (go tool task test does)")
	}
	shots := os.Getenv("ZONER_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "zoner-screenshots-"+time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)

	t.Run("all", func(t *testing.T) {
		dir := t.TempDir()
		awayFlow(t, exe, filepath.Join(shots, "away-all"), startAll(t, dir, ""), dir)
	})
	t.Run("real-services", func(t *testing.T) {
		s := realServices(t)
		dir := t.TempDir()
		m := NewMain()
		m.DataDir, m.LeafAddr, m.APIAddr, m.HTTPAddr = dir, proctest.FreeAddr(t), "127.0.0.1:0", "127.0.0.1:0"
		m.KafkaBrokers, m.Cache, m.RedisAddr, m.RedisDB = strings.Split(s.kafka, ","), "redis", s.redis, 7
		m.Warehouse, m.Snowflake = "snowflake", s.snowflake(s.fakesnow)
		m.IngestGroup, m.RecommenderGroup = "ingest-"+s.schema, "rec-"+s.schema
		m.RefreshEvery = time.Second
		m.RatePerSecond, m.Burst = 1000, 1000
		m.Logger = testLogger()
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		awayFlow(t, exe, filepath.Join(shots, "away-real-services"), m, dir)
	})
}

// awayBrowser is one headless Chromium tab, what its console reported as
// errors, and the answers the cloud gave to its API calls.
type awayBrowser struct {
	t     *testing.T
	ctx   context.Context
	shots string

	mu      sync.Mutex
	errors  []string
	methods map[network.RequestID]string
	answers []awayAnswer
	// revoked, once set, lets the refusals of a revoked session through
	// the console: the browser logs every 401 it gets.
	revoked bool
}

// awayAnswer is one response the page received: method, path, status.
// The method comes from the request's own event, which Chromium may
// deliver after the response's, so it is looked up when read.
type awayAnswer struct {
	id           network.RequestID
	method, path string
	status       int64
}

func awayNewBrowser(t *testing.T, exe, shots string) *awayBrowser {
	t.Helper()
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-component-update", true), chromedp.Flag("lang", "en-GB"),
		chromedp.Env("TZ="+cloudtest.Away))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &awayBrowser{t: t, ctx: ctx, shots: shots, methods: map[network.RequestID]string{}}
	messages := chromedp.Console(ctx)
	go func() {
		for msg, err := range messages {
			if err != nil {
				return
			}
			if msg.Type != chromedp.ConsoleError && msg.Type != chromedp.ConsoleException {
				continue
			}
			b.mu.Lock()
			// After the revocation the page's calls are refused, and so is
			// the renewal of its token: Chromium logs each 401 it gets.
			if !(b.revoked && strings.Contains(msg.Text, "401")) {
				b.errors = append(b.errors, msg.Text+" ("+msg.URL+")")
			}
			b.mu.Unlock()
		}
	}()
	sent := chromedp.Events(ctx, network.RequestWillBeSent)
	got := chromedp.Events(ctx, network.ResponseReceived)
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range sent {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.methods[ev.RequestID] = ev.Request.Method
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range got {
			if err != nil {
				return
			}
			path := ev.Response.URL
			if i := strings.Index(path, "/v1/"); i >= 0 {
				path = path[i:]
			}
			b.mu.Lock()
			b.answers = append(b.answers, awayAnswer{id: ev.RequestID, path: path, status: ev.Response.Status})
			b.mu.Unlock()
		}
	}()
	return b
}

func (b *awayBrowser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func awayEval[T any](b *awayBrowser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", js, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds, for up to limit.
func (b *awayBrowser) wait(what, cond string, limit time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, limit+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(limit))); err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main')?.innerText.slice(0, 800) + ' | badge: ' + document.querySelector('#sync-badge')?.textContent`))
		b.mu.Lock()
		errs := strings.Join(b.errors, "\n")
		b.mu.Unlock()
		b.t.Fatalf("waiting for %s: %v\npage: %s\nconsole errors: %s", what, err, text, errs)
	}
}

func (b *awayBrowser) shot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// answered reports whether the page got status for method on path,
// waiting up to 5 s: Chromium reports answers a moment after the page
// has them.
func (b *awayBrowser) answered(method, path string, status int64) bool {
	return b.answeredSince(0, method, path, status)
}

// answeredSince is answered for the answers after the first n.
func (b *awayBrowser) answeredSince(n int, method, path string, status int64) bool {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if awayHas(b.answersSince(n), method, path, status) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func (b *awayBrowser) noConsoleErrors(where string) {
	b.t.Helper()
	// The console's messages come asynchronously: a moment for the last.
	time.Sleep(300 * time.Millisecond)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.t.Errorf("console error on %s: %s", where, e)
	}
	b.errors = nil
}

// awayFlow is the whole away-from-home flow against the cloud m, whose
// data (and token secret) is in dir.
func awayFlow(t *testing.T, exe, shots string, m *Main, dir string) {
	started := time.Now()
	defer func() { t.Logf("the flow took %s", time.Since(started).Round(time.Millisecond)) }()

	// 1. A family of two adults and a toddler, landed in London a day and
	// a half ago, on a hub linked to the cloud.
	fam := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	hubURL := linkedHub(t, m, dir, fam)
	postEvents(t, hubURL+"/api/v1/events", fam.Day(0))
	cleo := fam.Members[2] // the toddler
	minted, err := chttp.IssueToken(m.TokenSecret, chttp.Claims{Role: chttp.RoleGuardian, Family: fam.ID, Subject: "away-test"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	famURL := m.APIURL + "/v1/families/" + fam.ID.String()
	wait.For(t, 90*time.Second, "the family in the cloud", func() error {
		if code := call(t, "GET", famURL+"/members/"+cleo.String()+"/recommendation", minted, nil, nil); code != 200 {
			return fmt.Errorf("recommendation: %d", code)
		}
		// The intake checks events against the warehouse: ingest too.
		var sum cloud.FamilySummary
		if code := call(t, "GET", famURL+"/summary", minted, nil, &sum); code != 200 || len(sum.Members) < len(fam.Members) || len(sum.Trips) == 0 {
			return fmt.Errorf("summary: %d, %d members, %d trips", code, len(sum.Members), len(sum.Trips))
		}
		return nil
	})
	t.Logf("family set up and in the cloud after %s", time.Since(started).Round(time.Millisecond))

	// 2. A paired device asks the hub for a guardian's sign-in link.
	code := signInLink(t, m, hubURL, `{"role":"guardian","device":"Cleo's guardian's phone"}`)

	// 3. The browser opens the link on the cloud's address.
	b := awayNewBrowser(t, exe, shots)
	b.do(chromedp.Navigate(m.APIURL + "/#/signin/" + code))
	b.wait("Today after the sign-in", `location.hash === '#/today' && document.querySelectorAll('article.card.now').length === 3`, 30*time.Second)
	b.wait("the family on Today", `document.getElementById('family-name')?.textContent.includes('The Testers') && ['Ada', 'Ben', 'Cleo'].every((n) => document.querySelector('main').innerText.includes(n))`, 10*time.Second)
	if mode := awayEval[string](b, `import('/js/api.js').then((a) => a.backend.mode + ' ' + a.backend.family + ' ' + a.backend.role)`); mode != "cloud "+fam.ID.String()+" guardian" {
		t.Fatalf("the page's backend: %q", mode)
	}
	if got := awayEval[string](b, `location.href`); strings.Contains(got, code) {
		t.Errorf("the code stayed in the address: %s", got)
	}
	b.shot("today")
	b.noConsoleErrors("the sign-in and Today")

	// 4. A nap for the toddler, logged in the browser.
	cleoCard := `article.now[data-member="` + cleo.String() + `"]`
	awayEval[bool](b, `(location.hash = '#/log/`+cleo.String()+`', true)`)
	b.wait("the Log screen", `!!document.querySelector('button[data-action=nap-start]')`, 15*time.Second)
	tap := time.Now()
	awayEval[bool](b, `(document.querySelector('button[data-action=nap-start]').click(), true)`)
	// Asked when the test runs in the toddler's night: it was a nap.
	b.wait("the nap started", `(document.querySelector('[data-answer=nap]')?.click(), !!document.querySelector('button[data-action=nap-end]'))`, 15*time.Second)
	b.wait("the outbox empty", `import('/js/outbox.js').then((o) => o.list()).then((l) => l.length === 0)`, 15*time.Second)
	sentAt := time.Since(tap)
	if !b.answered("POST", "/v1/families/"+fam.ID.String()+"/events", 200) {
		t.Errorf("no 200 to the page's POST /v1/families/%s/events: %+v", fam.ID, b.answersSince(0))
	}
	awayEval[bool](b, `(location.hash = '#/today', true)`)
	napping := `/^Napping since \d\d:\d\d( \(\d+ min\))?$/.test(document.querySelector(` + jsQuote(cleoCard+" [data-state=napping] b") + `)?.textContent || '')`
	// The page loads again by itself (after its outbox sent the nap, and on
	// the live stream's notices): nothing here tells it to.
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	ok, err := chromedp.Run(ctx, chromedp.Poll[bool](napping, chromedp.WithPollingInterval(20*time.Millisecond)))
	cancel()
	if err != nil || !ok {
		text := awayEval[string](b, `document.querySelector('main').innerText.slice(0, 800)`)
		t.Fatalf("Today did not show Cleo napping by itself within 10 s of the tap (%v)\npage: %s", err, text)
	}
	shown := time.Since(tap)
	t.Logf("nap: tap to outbox empty (POST 200) %s; tap to Today showing %q %s, by itself", sentAt.Round(time.Millisecond),
		awayEval[string](b, `document.querySelector(`+jsQuote(cleoCard+" [data-state=napping] b")+`).textContent`), shown.Round(time.Millisecond))
	b.shot("today-napping")
	b.noConsoleErrors("logging the nap")

	// The nap as the cloud stores it, by its id.
	var nap syncproto.Envelope
	wait.For(t, 10*time.Second, "the nap in the cloud's log", func() error {
		nap = awayOpenNap(t, famURL+"/members/"+cleo.String()+"/log", minted, tap)
		if nap.ID == uuid.Nil {
			return fmt.Errorf("no open nap since %s in the cloud's log", tap.Format(time.TimeOnly))
		}
		return nil
	})
	napID := nap.ID
	// The recommender re-planned the toddler from it.
	wait.For(t, 30*time.Second, "the toddler's advice re-planned from the nap", func() error {
		var rec cloud.Recommendation
		if code := call(t, "GET", famURL+"/members/"+cleo.String()+"/recommendation", minted, nil, &rec); code != 200 || rec.BasedOn < nap.HLC.String() {
			return fmt.Errorf("recommendation %d based on %s, before the nap %s", code, rec.BasedOn, nap.HLC)
		}
		return nil
	})
	t.Logf("tap to the toddler's advice re-planned from the nap (read from the API): at most %s", time.Since(tap).Round(time.Millisecond))

	// 5. The nap reaches the hub, whose Today says napping.
	reached := time.Now()
	wait.For(t, 30*time.Second, "the nap on the hub", func() error {
		if id := awayOpenNap(t, hubURL+"/api/v1/members/"+cleo.String()+"/log", "", tap).ID; id != napID {
			return fmt.Errorf("the hub's open nap is %s, want %s", id, napID)
		}
		var today struct {
			Members []struct {
				MemberID uuid.UUID `json:"member_id"`
				State    *struct {
					Kind  string     `json:"kind"`
					Event *uuid.UUID `json:"event_id"`
				} `json:"state"`
			} `json:"members"`
		}
		if code := call(t, "GET", hubURL+"/api/v1/today", "", nil, &today); code != 200 {
			return fmt.Errorf("hub today: %d", code)
		}
		for _, mn := range today.Members {
			if mn.MemberID == cleo {
				if mn.State == nil || mn.State.Kind != "napping" || mn.State.Event == nil || *mn.State.Event != napID {
					return fmt.Errorf("the hub's Today has Cleo %+v", mn.State)
				}
				return nil
			}
		}
		return fmt.Errorf("no Cleo on the hub's Today")
	})
	t.Logf("the nap %s on the hub, napping on its Today, at most %s after the tap (checked once the cloud UI showed it; %s of waiting)", napID,
		time.Since(tap).Round(time.Millisecond), time.Since(reached).Round(time.Millisecond))

	// 6. Another family's guardian reads and writes nothing of this one.
	other, err := chttp.IssueToken(m.TokenSecret, chttp.Claims{Role: chttp.RoleGuardian, Family: syncproto.NewID(), Subject: "other-guardian"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/state", "/today", "/members/" + cleo.String() + "/log", "/trips/" + fam.Trip.String() + "/plan", "/sessions"} {
		if code := call(t, "GET", famURL+path, other, nil, nil); code != 403 {
			t.Errorf("another family's guardian: GET %s %d, want 403", path, code)
		}
	}
	meal := fam.Event(cleo, time.Now().Truncate(time.Second), cloudtest.Away, &syncproto.Meal{Kind: syncproto.MealSnack})
	if code, body := postCloud(t, m.APIURL, fam.ID, other, meal); code != 403 {
		t.Errorf("another family's guardian: POST events %d %s, want 403", code, body)
	}

	// A guardian of the family (another device, another link) signs the
	// browser out.
	_, guardian, _ := exchange(t, m, signInLink(t, m, hubURL, `{"role":"guardian","device":"laptop"}`))
	var list struct {
		Sessions []struct {
			ID     string `json:"id"`
			Device string `json:"device"`
		} `json:"sessions"`
	}
	if code := call(t, "GET", famURL+"/sessions", guardian.AccessToken, nil, &list); code != 200 {
		t.Fatalf("sessions: %d", code)
	}
	browserSession := ""
	for _, s := range list.Sessions {
		if s.Device == "Cleo's guardian's phone" {
			browserSession = s.ID
		}
	}
	if browserSession == "" || len(list.Sessions) != 2 {
		t.Fatalf("sessions %+v: want the browser's and the laptop's", list.Sessions)
	}
	if code := call(t, "DELETE", famURL+"/sessions/"+browserSession, guardian.AccessToken, nil, nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	b.mu.Lock()
	b.revoked = true
	before := len(b.answers)
	b.mu.Unlock()
	// The browser's next call is refused, its token cannot be renewed,
	// and the page asks to sign in again.
	awayEval[bool](b, `(document.dispatchEvent(new Event('visibilitychange')), true)`)
	b.wait("the page asking to sign in again", `document.querySelector('main')?.innerText.includes('Sign in with a link from your hub') && !document.querySelector('article.card.now')`, 15*time.Second)
	// The page shows the note as soon as a call is refused; its try to
	// renew the token is answered a moment later.
	b.answeredSince(before, "POST", "/v1/auth/refresh", 401)
	after := b.answersSince(before)
	if !awayHas(after, "GET", "/v1/families/"+fam.ID.String(), 401) || !awayHas(after, "POST", "/v1/auth/refresh", 401) || awayHas(after, "POST", "/v1/auth/refresh", 200) {
		t.Errorf("the page's calls after the revocation: %+v; want a 401 and the renewal refused", after)
	}
	status := awayEval[int](b, `fetch('/v1/families/`+fam.ID.String()+`/state', { headers: { Authorization: 'Bearer ' + sessionStorage.getItem('zoner_access') } }).then((r) => r.status)`)
	if status != 401 {
		t.Errorf("the browser's token after the revocation: %d, want 401", status)
	}
	b.shot("signed-out")
	b.noConsoleErrors("the revocation")
	if code := call(t, "GET", famURL+"/state", guardian.AccessToken, nil, nil); code != 200 {
		t.Errorf("the laptop's session after the phone's revocation: %d", code)
	}
}

// answersSince is what the page was answered after the first n answers.
func (b *awayBrowser) answersSince(n int) []awayAnswer {
	b.mu.Lock()
	defer b.mu.Unlock()
	as := append([]awayAnswer(nil), b.answers[n:]...)
	for i := range as {
		as[i].method = b.methods[as[i].id]
	}
	return as
}

// awayHas reports whether as holds status for method on a path under path.
func awayHas(as []awayAnswer, method, path string, status int64) bool {
	for _, a := range as {
		if a.method == method && strings.HasPrefix(a.path, path) && a.status == status {
			return true
		}
	}
	return false
}

// awayOpenNap is the open nap begun at or after since (to the minute) in
// a member's log (the hub's or the cloud's, the same shape); its id is
// uuid.Nil when there is none.
func awayOpenNap(t *testing.T, url, token string, since time.Time) syncproto.Envelope {
	t.Helper()
	var log struct {
		Facts []struct {
			Event json.RawMessage `json:"event"`
		} `json:"facts"`
	}
	if code := call(t, "GET", url, token, nil, &log); code != 200 {
		t.Fatalf("GET %s: %d", url, code)
	}
	for _, f := range log.Facts {
		e, err := syncproto.Unmarshal(f.Event)
		if err != nil {
			t.Fatalf("a fact in %s: %v", url, err)
		}
		if s, ok := e.Data.(*syncproto.Sleep); ok && s.Nap && e.End.IsZero() && !e.Start.Before(since.Truncate(time.Minute)) {
			return e
		}
	}
	return syncproto.Envelope{}
}
