//go:build integration

package main

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/cloud"
	chttp "github.com/zoner-family/zoner/cloud/http"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/cloud/webpush"
	"github.com/zoner-family/zoner/cloud/webpush/webpushtest"
	"github.com/zoner-family/zoner/web"
)

// noPlans is the API's backend apart from push: this test reads no plan
// through the API.
type noPlans struct{}

var errNoPlan = &cloud.Error{Code: cloud.CodeNotFound, Message: "no such family"}

func (noPlans) Recommendation(context.Context, uuid.UUID, uuid.UUID) ([]byte, error) {
	return nil, errNoPlan
}
func (noPlans) FamilySummary(context.Context, uuid.UUID) (*cloud.FamilySummary, error) {
	return nil, errNoPlan
}
func (noPlans) Analytics(context.Context) (*cloud.Analytics, error) { return &cloud.Analytics{}, nil }
func (noPlans) FlightStatus(context.Context, cloud.FlightStatus) (cloud.FlightResult, error) {
	return cloud.FlightResult{}, errNoPlan
}
func (noPlans) Ready(context.Context) error { return nil }

// pagePlans is the recommender's side for the scheduler: one plan.
type pagePlans struct {
	family uuid.UUID
	recs   map[uuid.UUID]*cloud.Recommendation
}

func (p *pagePlans) ActiveFamilies() []uuid.UUID { return []uuid.UUID{p.family} }
func (p *pagePlans) Recommendation(_ context.Context, _, m uuid.UUID) ([]byte, error) {
	if r := p.recs[m]; r != nil {
		return json.Marshal(r)
	}
	return nil, errNoPlan
}

// testPage loads the real Sync screen's push section (web/static's
// notify.js, store.js, api.js and sw.js) for a family of two, marked as
// served by the cloud. stub replaces PushManager.prototype.subscribe, and
// nothing else, with one that records its options and answers a
// subscription to the test's push service with the test's keys.
const testPage = `<!doctype html>
<html lang="en" data-zoner-backend="cloud"><head><meta charset="utf-8"><link rel="icon" href="/icon.svg"><title>push</title></head>
<body><main id="root"></main><div id="toasts" aria-live="polite"></div>
<script type="module">
import { state } from '/js/store.js';
import { notifySection } from '/js/views/notify.js';
const cfg = %s;
state.family = { id: cfg.family, name: 'The As' };
state.members = cfg.members.map((m) => ({ id: m.id, data: { display_name: m.name } }));
await navigator.serviceWorker.register('/sw.js');
await navigator.serviceWorker.ready;
if (cfg.stub) {
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  PushManager.prototype.subscribe = async function (opts) {
    window.subscribeCalls = (window.subscribeCalls || []).concat([{ userVisibleOnly: opts.userVisibleOnly, key: b64(opts.applicationServerKey) }]);
    const s = cfg.stub;
    return {
      endpoint: s.endpoint, expirationTime: null, options: opts,
      toJSON: () => ({ endpoint: s.endpoint, expirationTime: null, keys: { p256dh: s.p256dh, auth: s.auth } }),
      unsubscribe: async () => true,
    };
  };
}
document.getElementById('root').append(notifySection());
window.pageReady = true;
</script></body></html>`

// The push section in headless Chromium, against the real API, store,
// scheduler and Web Push client. Headless Chromium has no push service
// to subscribe with offline (the test logs what subscribe answers), so
// the page's PushManager.subscribe alone is stubbed: the page asks it for
// the cloud's VAPID key and posts the subscription it answers, with the
// members picked, to the API; a member opts in through the page; then the
// real scheduler pushes a reminder, encrypted per RFC 8291, to the test's
// push service, which decrypts it with the keys the test made. Finally
// the service worker's push handler shows a pushed payload as a
// notification.
func TestBrowserPushSubscribe(t *testing.T) {
	exe := os.Getenv("ZONER_CHROMIUM")
	if exe == "" {
		t.Skip("set ZONER_CHROMIUM to a Chromium binary to run the browser tests (go tool task test does)")
	}
	family, ada, ben := uuid.New(), uuid.New(), uuid.New()
	keys, err := webpush.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	store, _ := memcache.OpenPush("", nil)
	secret := []byte(strings.Repeat("s", 32))
	api, err := chttp.New(chttp.Config{Secret: secret, WebhookSecret: []byte(strings.Repeat("w", 16)),
		Backend: struct {
			noPlans
			*cloud.PushAPI
		}{noPlans{}, &cloud.PushAPI{Store: store, PublicKey: keys.Public}}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := chttp.IssueToken(secret, chttp.Claims{Role: chttp.RoleGuardian, Family: family, Subject: "guardian-1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	// The device's keys, and its push service.
	dev, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	rand.Read(auth)
	var mu sync.Mutex
	var pushed [][]byte
	var pushHeaders []http.Header
	ps := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		pushed = append(pushed, body)
		pushHeaders = append(pushHeaders, r.Header.Clone())
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	defer ps.Close()
	endpoint := ps.URL + "/push/device-1"

	var page string
	site := http.NewServeMux()
	ui := web.Handler()
	site.HandleFunc("/push-test.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	site.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		// The cloud adapter's part: the session's bearer token.
		if r.Header.Get("Authorization") == "" && r.URL.Path != "/v1/push/vapid-key" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		api.Handler().ServeHTTP(w, r)
	})
	site.Handle("/", ui)
	srv := httptest.NewServer(site)
	defer srv.Close()

	cfg := func(stub bool) string {
		c := map[string]any{"family": family, "members": []map[string]any{{"id": ada, "name": "Ada"}, {"id": ben, "name": "Ben"}}}
		if stub {
			c["stub"] = map[string]string{"endpoint": endpoint,
				"p256dh": base64.RawURLEncoding.EncodeToString(dev.PublicKey().Bytes()), "auth": base64.RawURLEncoding.EncodeToString(auth)}
		}
		b, _ := json.Marshal(c)
		return fmt.Sprintf(testPage, b)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-component-update", true), chromedp.Env("TZ=UTC"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var consoleErrs []string
	var cmu sync.Mutex
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				cmu.Lock()
				consoleErrs = append(consoleErrs, m.Text+" ("+m.URL+")")
				cmu.Unlock()
			}
		}
	}()
	if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted, Origin: srv.URL}); err != nil {
		t.Fatal(err)
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	waitFor := func(what, cond string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting for %s: %v\npage: %s\nconsole: %v", what, err, text, consoleErrs)
		}
	}
	open := func(stub bool) {
		t.Helper()
		page = cfg(stub)
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/push-test.html")); err != nil {
			t.Fatal(err)
		}
		waitFor("the push section", `!!document.querySelector('#push-subscribe')`)
	}

	// Can headless Chromium subscribe on its own? It has no push service
	// to reach offline: its subscribe does not answer (a probe of 5 s).
	open(false)
	real := eval(`(async () => {
		const reg = await navigator.serviceWorker.ready;
		try {
			const s = await Promise.race([
				reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: '` + keys.Public + `' }),
				new Promise((resolve) => setTimeout(resolve, 5000))]);
			return s ? 'subscribed: ' + s.endpoint : 'no answer in 5 s (it waits for a push service it cannot reach)';
		} catch (e) { return 'refused: ' + e.name + ': ' + e.message; }
	})()`)
	t.Logf("headless Chromium's own PushManager.subscribe: %s", real)

	// With subscribe stubbed, the page subscribes through its service
	// worker's registration with the cloud's key and posts it.
	open(true)
	eval(`(document.querySelector('#push-subscribe').click(), '')`)
	waitFor("the subscription stored", `document.querySelector('#toasts').innerText.includes('Push reminders on')`)
	var calls []struct {
		UserVisibleOnly bool   `json:"userVisibleOnly"`
		Key             string `json:"key"`
	}
	if err := json.Unmarshal([]byte(eval(`JSON.stringify(window.subscribeCalls || [])`)), &calls); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || !calls[0].UserVisibleOnly || calls[0].Key != keys.Public {
		t.Fatalf("subscribe calls %+v; want one, userVisibleOnly, with the VAPID key %s", calls, keys.Public)
	}
	subs, _ := store.Subscriptions(ctx, family)
	if len(subs) != 1 || subs[0].Endpoint != endpoint || subs[0].Keys.Auth != base64.RawURLEncoding.EncodeToString(auth) ||
		!slices.Equal(subs[0].Members, []uuid.UUID{ada, ben}) {
		t.Fatalf("stored %+v", subs)
	}

	// Ada opts in, with quiet hours at night.
	eval(`(() => {
		const f = document.querySelector('form[data-member="` + ada.String() + `"]');
		f.querySelector('input[type=checkbox]').checked = true;
		f.requestSubmit();
		return '';
	})()`)
	waitFor("Ada's settings saved", `document.querySelector('#toasts').innerText.includes('Ada: reminders on')`)
	prefs, _ := store.NotifyPrefs(ctx, family)
	if p := prefs[ada]; !p.Enabled || p.QuietStart != "22:00" || p.QuietEnd != "07:00" {
		t.Fatalf("Ada's settings %+v", p)
	}

	// The scheduler sends Ada's nap to the device; the push service
	// decrypts it with the device's keys.
	sender, err := webpush.New(keys, "ops@zoner.example", ps.Client())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 21, 12, 0, 0, 0, time.UTC)
	nap := circadian.Item{Kind: circadian.ItemNap, Start: now.Add(6 * time.Minute), End: now.Add(36 * time.Minute), TZ: "UTC", Text: "Nap in a dark room"}
	plans := &pagePlans{family: family, recs: map[uuid.UUID]*cloud.Recommendation{
		ada: {Version: 1, Family: family, Member: ada, Name: "Ada", Now: []circadian.Item{}, Next: []circadian.Item{nap}}}}
	n := &cloud.Notifier{Plans: plans, Store: store, Pusher: sender, Now: func() time.Time { return now }}
	if res := n.RunOnce(ctx); res.Sent != 1 {
		t.Fatalf("scheduler: %+v, want one push", res)
	}
	mu.Lock()
	body, hdr := pushed[0], pushHeaders[0]
	mu.Unlock()
	plain, err := webpushtest.Decrypt(dev, auth, body)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	var rem cloud.Reminder
	if err := json.Unmarshal(plain, &rem); err != nil || rem.Title != "Nap at 12:06 · Ada" || rem.Body != "Nap in a dark room" {
		t.Fatalf("reminder %s (%v)", plain, err)
	}
	if !strings.HasPrefix(hdr.Get("Authorization"), "vapid t=") || hdr.Get("TTL") != "360" {
		t.Errorf("headers %v", hdr)
	}

	// The service worker shows a pushed reminder, tagged, as a
	// notification (DevTools delivers the payload to the worker).
	regs := chromedp.Events(ctx, serviceworker.WorkerRegistrationUpdated)
	if _, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	var regID serviceworker.RegistrationID
	for ev, err := range regs {
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ev.Registrations {
			if strings.HasPrefix(r.ScopeURL, srv.URL) && !r.IsDeleted {
				regID = r.RegistrationID
			}
		}
		if regID != "" {
			break
		}
	}
	if _, err := chromedp.Call(ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
		Origin: srv.URL, RegistrationID: regID, Data: string(plain)}); err != nil {
		t.Fatal(err)
	}
	waitFor("the notification", `(async () => {
		const reg = await navigator.serviceWorker.ready;
		const ns = await reg.getNotifications();
		return ns.some((n) => n.title === 'Nap at 12:06 · Ada' && n.body === 'Nap in a dark room' && n.tag === '`+rem.Tag+`');
	})()`)
	cmu.Lock()
	defer cmu.Unlock()
	for _, e := range consoleErrs {
		t.Errorf("console error: %s", e)
	}
}
