//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	hubhttp "github.com/zoner-family/zoner/hub/http"
	"github.com/zoner-family/zoner/internal/wait"
)

// The browser tests drive the real UI, served by the real hub, in Debian's
// headless Chromium. `go tool task test` installs Chromium and sets
// ZONER_CHROMIUM; ZONER_SCREENSHOTS names the folder for the screenshots.

// browser is one headless Chromium with one tab, and what its console said.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
	phone bool

	mu     sync.Mutex
	errors []string
	// marks counts the marks noConsoleErrors logged; mark is the last
	// one the console stream delivered.
	marks int
	mark  string
	// offline, while set, lets failed requests to the hub be logged:
	// the test stopped the hub on purpose.
	offline atomic.Bool
	// allow, when set, is a pattern of console errors that are expected.
	allow atomic.Pointer[regexp.Regexp]
}

func chromium(t *testing.T) string {
	exe := os.Getenv("ZONER_CHROMIUM")
	if exe == "" {
		t.Skip("set ZONER_CHROMIUM to a Chromium binary to run the browser tests (go tool task test does)")
	}
	return exe
}

func screenshotDir(t *testing.T) string {
	dir := os.Getenv("ZONER_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "zoner-screenshots-"+time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// newBrowser starts Chromium in the zone tz (the phone's zone) and opens a
// tab on base.
func newBrowser(t *testing.T, base, shots, tz string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.Env("TZ="+tz),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, base: base, shots: shots}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.console(m)
		}
	}()
	b.viewport(true)
	return b
}

// console keeps what the page reported as an error.
func (b *browser) console(m chromedp.ConsoleMessage) {
	if m.Type == chromedp.ConsoleLog && strings.HasPrefix(m.Text, consoleMark) {
		b.mu.Lock()
		b.mark = m.Text
		b.mu.Unlock()
		return
	}
	if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException && m.Type != "assert" {
		return
	}
	if b.offline.Load() && strings.Contains(m.Text, "net::ERR_") {
		return
	}
	if re := b.allow.Load(); re != nil && re.MatchString(m.Text) {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
}

// consoleMark begins the messages noConsoleErrors logs.
const consoleMark = "zoner-test-mark "

// noConsoleErrors fails the test for every error the page logged. The
// console stream is asynchronous: it logs a mark and waits until the mark
// comes through, so every message logged before it has come through too.
func (b *browser) noConsoleErrors(where string) {
	b.t.Helper()
	b.mu.Lock()
	b.marks++
	mark := fmt.Sprintf("%s%d", consoleMark, b.marks)
	b.mu.Unlock()
	eval[bool](b, `console.log(`+strconv.Quote(mark)+`), true`)
	wait.Until(b.t, 30*time.Second, "the console's mark through", func() (bool, string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.mark == mark, "the last mark through is " + strconv.Quote(b.mark)
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.t.Errorf("console error on %s: %s", where, e)
	}
	b.errors = nil
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// eval runs JavaScript (awaiting a promise) and decodes its value.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", js, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds.
func (b *browser) wait(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(55*time.Second))); err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main')?.innerText.slice(0, 600) + ' | badge: ' + document.querySelector('#sync-badge')?.textContent`))
		b.mu.Lock()
		errs := strings.Join(b.errors, "\n")
		b.mu.Unlock()
		b.t.Fatalf("waiting for %s (%s): %v\npage: %s\nconsole errors: %s", what, cond, err, text, errs)
	}
}

// set gives a form control a value as a person would, firing input and
// change.
func (b *browser) set(sel, value string) {
	b.t.Helper()
	s, _ := json.Marshal(sel)
	v, _ := json.Marshal(value)
	b.wait(sel, `!!document.querySelector(`+string(s)+`)`)
	eval[bool](b, fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el) throw new Error('no element ' + %s);
		el.value = %s;
		el.dispatchEvent(new Event('input', {bubbles: true}));
		el.dispatchEvent(new Event('change', {bubbles: true}));
		return true;
	})()`, s, s, v))
}

// click clicks an element the way a tap lands on it. Live screens
// re-render when the hub's state changes, so the element is found and
// clicked in one step rather than by its position on the screen.
// waiting is how many entries the page's outbox holds.
func (b *browser) waiting() int {
	b.t.Helper()
	return eval[int](b, `import('/js/outbox.js').then(o => o.list()).then(l => l.length)`)
}

// click clicks the element sel once it shows. Finding and clicking are one
// step: a screen redrawn by a live notice between the two would otherwise
// lose the element.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.wait(sel, `(() => { const el = document.querySelector(`+jsString(sel)+`); if (!el) return false; el.click(); return true; })()`)
}

// tap presses the mouse on an element where it shows, for controls that
// act on mousedown.
func (b *browser) tap(sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.ScrollIntoView(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// route moves the app to a screen and waits for it to show.
func (b *browser) route(hash, ready string) {
	b.t.Helper()
	h, _ := json.Marshal(hash)
	eval[bool](b, `(location.hash = `+string(h)+`, true)`)
	b.wait(hash, `!!document.querySelector(`+jsString(ready)+`)`)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (b *browser) viewport(phone bool) {
	b.t.Helper()
	b.phone = phone
	if phone {
		b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
	} else {
		b.do(chromedp.EmulateViewport(1280, 900))
	}
}

// shot saves a full-page screenshot as <name>-phone.png or -desktop.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	time.Sleep(300 * time.Millisecond) // let the toast animation and fonts settle
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	kind := "desktop"
	if b.phone {
		kind = "phone"
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+"-"+kind+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// freePort finds a port to run the hub on, so a restarted hub comes back
// at the same address (the page's origin).
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func realClock(m *Main) {
	m.Now = time.Now
	m.Limits = hubhttp.Limits{WritesPerSecond: 1e6, WriteBurst: 1e6, ReadsPerSecond: 1e6, ReadBurst: 1e6}
}

// hubEvent is an event as GET /api/v1/events lists it.
type hubEvent struct {
	Seq   uint64 `json:"seq"`
	ID    string `json:"id"`
	Type  string `json:"type"`
	Event struct {
		MemberID string          `json:"member_id"`
		Start    string          `json:"start"`
		End      string          `json:"end"`
		Data     json.RawMessage `json:"data"`
	} `json:"event"`
}

func events(c *client, member, typ string) []hubEvent {
	var out []hubEvent
	after := uint64(0)
	for {
		var page struct {
			Events []hubEvent `json:"events"`
			Next   uint64     `json:"next"`
		}
		c.json("GET", fmt.Sprintf("/api/v1/events?member=%s&type=%s&after=%d&limit=1000", member, typ, after), nil, 200, &page)
		out = append(out, page.Events...)
		if len(page.Events) < 1000 {
			return out
		}
		after = page.Next
	}
}

// link stands between the browser and the hub: a reverse proxy that,
// when drop is set, lets the next event write reach the hub and then hangs
// up on the browser without the answer. While the hub is down it hangs up
// at once, as an unreachable host does.
type link struct {
	url  string
	drop atomic.Bool
	// cut, while set, hangs up on every new request, as a phone out of
	// the house's Wi-Fi does.
	cut            atomic.Bool
	posts, dropped atomic.Int32
}

func newLink(t *testing.T, hubURL string) *link {
	target, err := url.Parse(hubURL)
	if err != nil {
		t.Fatal(err)
	}
	l := &link{}
	hangUp := func(w http.ResponseWriter) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// Wi-Fi changes no header: to the hub, the page is at the
			// hub's own address, as it would be without the test's link.
			if r.In.Header.Get("Origin") != "" {
				r.Out.Header.Set("Origin", target.Scheme+"://"+target.Host)
			}
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { hangUp(w) },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.cut.Load() {
			hangUp(w)
			return
		}
		if r.Method == "POST" && r.URL.Path == "/api/v1/events" {
			l.posts.Add(1)
			if l.drop.CompareAndSwap(true, false) {
				proxy.ServeHTTP(httptest.NewRecorder(), r) // the hub answers; the answer goes nowhere
				l.dropped.Add(1)
				hangUp(w)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	l.url = srv.URL
	return l
}

// TestBrowser walks a family through the UI: first-run setup, a trip, the
// plan, logging and correcting a nap and seeing the re-plan, a re-plan
// pushed by another phone, and events logged while the hub is down that
// arrive exactly once — also when the hub's answer is lost on the way.
func TestBrowser(t *testing.T) {
	shots := screenshotDir(t)
	dir := t.TempDir()
	addr := "127.0.0.1:" + freePort(t)
	m := mustRun(t, dir, realClock, func(m *Main) { m.HTTPAddr = addr })
	api := &client{tb: t, base: m.URL}
	// The phone reaches the hub over a link the test controls, as over
	// Wi-Fi: it can lose an answer on the way back.
	link := newLink(t, m.URL)
	home, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	london, _ := time.LoadLocation("Europe/London")
	b := newBrowser(t, link.url, shots, "America/Los_Angeles")

	// The page's own modules agree with Go on zones, ids and clocks.
	b.do(chromedp.Navigate(link.url + "/"))
	b.wait("the setup screen", `!!document.querySelector('input[name=family_name]')`)
	checkModules(t, b)
	checkTodayCards(t, b)

	// First run: the family and two people.
	b.shot("setup")
	b.set("input[name=family_name]", "The Okafors")
	b.set("select[name=family_home_tz]", "America/Los_Angeles")
	b.set("fieldset.member-form input[name=display_name]", "Ada")
	b.set("fieldset.member-form input[name=birth_date]", "1988-04-02")
	b.set("fieldset.member-form input[name=sleep_time]", "23:00")
	b.set("fieldset.member-form input[name=wake_time]", "07:00")
	b.click("fieldset.member-form input[name=melatonin_advice]")
	b.click("button[data-action=add-person]")
	kemi := "fieldset.member-form:nth-of-type(2) "
	toddler := time.Now().In(home).AddDate(-2, -1, 0).Format("2006-01-02")
	b.set(kemi+"input[name=display_name]", "Kemi")
	b.set(kemi+"input[name=birth_date]", toddler)
	b.set(kemi+"input[name=sleep_time]", "19:30")
	b.set(kemi+"input[name=wake_time]", "06:30")
	b.click(kemi + "button[data-action=add-nap]")
	// A nap added with no time, and a birth date still to come: the form
	// says so under each field, names them in its alert, focuses the
	// first, and saves nothing.
	b.set("fieldset.member-form input[name=birth_date]", time.Now().In(home).AddDate(1, 0, 0).Format("2006-01-02"))
	b.click("form button[type=submit]")
	b.wait("the field errors", `(() => {
		const nap = document.querySelector(`+jsString(kemi+"input[name=nap_start]")+`);
		const err = document.getElementById((nap.getAttribute('aria-describedby') || '').split(' ').pop());
		const birth = document.querySelector('fieldset.member-form input[name=birth_date]');
		return nap.getAttribute('aria-invalid') === 'true' && err?.classList.contains('field-error') && err.offsetHeight > 0 &&
			err.textContent.includes('Nap 1 for Kemi: give a start time, or remove the nap') &&
			birth.getAttribute('aria-invalid') === 'true' && document.activeElement === birth &&
			/Ada's birth date is in the future/.test(document.querySelector('form p.error[role=alert]').textContent);
	})()`)
	b.shot("setup-errors")
	var unset struct {
		SetupRequired bool `json:"setup_required"`
	}
	api.json("GET", "/api/v1/family", nil, 200, &unset)
	if !unset.SetupRequired {
		t.Fatal("setup with an empty nap time saved the family")
	}
	b.set("fieldset.member-form input[name=birth_date]", "1988-04-02")
	b.click("fieldset.member-form input[name=melatonin_advice]") // a future birth date is no adult's: the opt-in went
	b.set(kemi+"input[name=nap_start]", "12:45")
	b.wait("the errors cleared by the fixes", `document.querySelectorAll('.field-error, [aria-invalid=true]').length === 0`)
	b.set(kemi+"input[name=nap_minutes]", "90")
	b.click("form button[type=submit]")
	b.wait("the trip form", `location.hash === '#/trips/new' && !!document.querySelector('input[name=from]')`)
	b.noConsoleErrors("setup")

	var fam struct {
		Family struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			HomeTZ string `json:"home_tz"`
		} `json:"family"`
		Members []struct {
			ID   string `json:"id"`
			Data struct {
				DisplayName string `json:"display_name"`
				BirthDate   string `json:"birth_date"`
				Melatonin   bool   `json:"melatonin_advice"`
				Naps        []struct {
					Start string `json:"start"`
					Min   int    `json:"duration_min"`
				} `json:"naps"`
			} `json:"data"`
		} `json:"members"`
	}
	api.json("GET", "/api/v1/family", nil, 200, &fam)
	if fam.Family.Name != "The Okafors" || fam.Family.HomeTZ != "America/Los_Angeles" || len(fam.Members) != 2 {
		t.Fatalf("family after setup: %+v", fam)
	}
	ids := map[string]string{}
	for _, mb := range fam.Members {
		ids[mb.Data.DisplayName] = mb.ID
	}
	for _, mb := range fam.Members {
		switch mb.Data.DisplayName {
		case "Ada":
			if mb.Data.BirthDate != "1988-04-02" || !mb.Data.Melatonin {
				t.Errorf("Ada: %+v", mb.Data)
			}
		case "Kemi":
			if mb.Data.BirthDate != toddler || len(mb.Data.Naps) != 1 || mb.Data.Naps[0].Start != "12:45" || mb.Data.Naps[0].Min != 90 {
				t.Errorf("Kemi: %+v", mb.Data)
			}
		}
	}

	// A trip: San Francisco to London, typed in each airport's local time.
	day := time.Now().In(home).AddDate(0, 0, 2)
	depart := time.Date(day.Year(), day.Month(), day.Day(), 20, 45, 0, 0, home)
	next := day.AddDate(0, 0, 1)
	arrive := time.Date(next.Year(), next.Month(), next.Day(), 15, 5, 0, 0, london)
	b.set("input[name=trip_name]", "Christmas in London")
	b.set("input[name=flight]", "BA286")
	pick := func(name, query, code string) {
		b.do(chromedp.SendKeys(chromedp.CSS("input[name="+name+"]"), query))
		opt := `[role=listbox]:not([hidden]) li[role=option]`
		b.wait("airport options for "+query, `[...document.querySelectorAll(`+jsString(opt)+`)].some(li => li.textContent.startsWith(`+jsString(code)+`))`)
		eval[bool](b, `(() => { const li = [...document.querySelectorAll(`+jsString(opt)+`)].find(li => li.textContent.startsWith(`+jsString(code)+`)); li.id && (li.dataset.pick = '1'); return true })()`)
		b.tap(`li[data-pick="1"]`)
		eval[bool](b, `(document.querySelectorAll('[data-pick]').forEach(e => delete e.dataset.pick), true)`)
	}
	pick("from", "san fran", "SFO")
	// Typing into a box that holds a place replaces its text; text that
	// is not a place from the list is a field error when saving.
	eval[bool](b, `(document.activeElement.blur(), true)`)
	b.do(chromedp.SendKeys(chromedp.CSS("input[name=from]"), "zzqx"))
	if v := eval[string](b, `document.querySelector('input[name=from]').value`); v != "zzqx" {
		t.Fatalf("typing into the filled airport box gave %q, want the typed text only", v)
	}
	b.set("input[name=depart_date]", depart.Format("2006-01-02"))
	b.set("input[name=depart_time]", "20:45")
	pick("to", "LHR", "LHR")
	b.set("input[name=arrive_date]", arrive.Format("2006-01-02"))
	b.set("input[name=arrive_time]", "15:05")
	b.click("form button[type=submit]")
	b.wait("the unpicked airport's error", `(() => {
		const from = document.querySelector('input[name=from]');
		const err = document.getElementById((from.getAttribute('aria-describedby') || '').split(' ').pop());
		return from.getAttribute('aria-invalid') === 'true' && err?.classList.contains('field-error') && err.offsetHeight > 0 &&
			err.textContent.includes('Pick an airport from the list (type a code like LHR or a city)') &&
			document.activeElement === from && location.hash === '#/trips/new';
	})()`)
	eval[bool](b, `(document.activeElement.blur(), true)`) // the person taps the box again
	pick("from", "san fran", "SFO")
	if v := eval[string](b, `document.querySelector('input[name=from]').value`); v != "SFO · San Francisco" {
		t.Fatalf("the airport box after a pick reads %q", v)
	}
	b.wait("SFO named by its city", `document.querySelector('fieldset.leg .summary').textContent.includes('San Francisco time') && !document.querySelector('form').textContent.includes('Los Angeles time')`)
	b.wait("the flight summary", `document.querySelector('fieldset.leg .summary').textContent.includes('Flight time 10 h 20 min')`)
	b.shot("trip-form")
	b.click("form button[type=submit]")
	b.wait("the trip's plan", `/^#\/trips\/[0-9a-f-]{36}$/.test(location.hash) && document.querySelectorAll('.plan-day li.pi').length > 3 && document.querySelectorAll('svg.chart circle').length > 3`)
	tripID := strings.TrimPrefix(eval[string](b, `location.hash`), "#/trips/")
	var trip struct {
		Data struct {
			Legs []struct {
				Flight, From, To, FromTZ, ToTZ string
				Depart                         time.Time `json:"depart"`
				Arrive                         time.Time `json:"arrive"`
			} `json:"legs"`
			Travellers []string `json:"travellers"`
		} `json:"data"`
	}
	api.json("GET", "/api/v1/trips/"+tripID, nil, 200, &trip)
	if l := trip.Data.Legs; len(l) != 1 || l[0].Flight != "BA286" || l[0].From != "SFO" || l[0].To != "LHR" ||
		!l[0].Depart.Equal(depart) || !l[0].Arrive.Equal(arrive) || len(trip.Data.Travellers) != 2 {
		t.Fatalf("trip as stored: %+v (want depart %s, arrive %s)", trip.Data, depart, arrive)
	}
	b.shot("timeline")
	checkTripPage(t, b, tripID)
	b.noConsoleErrors("trip entry and timeline")

	// Today: a card per person, in the zone they are in, named.
	b.route("#/today", "article.now")
	b.wait("both cards", `document.querySelectorAll('article.now').length === 2 && document.querySelector('article.now .where').textContent.includes('Los Angeles time')`)
	b.shot("today")

	// Log a nap for Kemi, then correct its times: the timeline shows the
	// re-plan.
	seqOf := func(member string) int {
		return eval[int](b, `Number(document.querySelector('li[data-seq][data-member="`+member+`"]')?.dataset.seq || 0)`)
	}
	b.route("#/trips/"+tripID, `li[data-seq][data-member="`+ids["Kemi"]+`"]`)
	before := seqOf(ids["Kemi"])
	b.route("#/log/"+ids["Kemi"], "button[data-action=nap-start]")
	b.click("button[data-action=nap-start]")
	itWasANap := func() { eval[bool](b, `(document.querySelector('[data-answer=nap]')?.click(), true)`) }
	itWasANap() // asked when the test runs in Kemi's night
	b.wait("the open nap", `!!document.querySelector('button[data-action=nap-end]') && document.querySelector('#sync-badge').textContent === 'Up to date'`)

	// Today tells the nap as logged, with what to do, a quick "Nap
	// ended", and a countdown to what comes next that keeps time by itself.
	kemiCard := `article.now[data-member="` + ids["Kemi"] + `"]`
	b.route("#/today", kemiCard)
	b.wait("Kemi napping on Today", `/^Napping since \d\d:\d\d( \(\d+ min\))?$/.test(document.querySelector(`+jsString(kemiCard+" [data-state=napping] b")+`)?.textContent || '') && !!document.querySelector(`+jsString(kemiCard+" button[data-action=nap-end]")+`)`)
	b.wait("the countdown", `/ in (\d+ h )?\d+ min \(/.test(document.querySelector(`+jsString(kemiCard+" [data-countdown]")+`)?.textContent || '')`)
	countdown := func() string {
		return eval[string](b, `document.querySelector(`+jsString(kemiCard+" [data-countdown]")+`).textContent`)
	}
	first := countdown()
	// A quarter of an hour on, by the page's own ticker: the text moves
	// without a word to the hub.
	eval[bool](b, `import('/js/views/today.js').then(m => m.tick(Date.now() + 15 * 60000))`)
	if later := countdown(); later == first || !strings.Contains(later, " in ") && !strings.Contains(later, "Nothing more") {
		t.Errorf("the countdown did not move: %q, then %q", first, later)
	}
	eval[bool](b, `import('/js/views/today.js').then(m => m.tick())`)
	if again := countdown(); again != first {
		t.Errorf("the countdown back at the real time says %q, first %q", again, first)
	}
	b.shot("today-napping")

	// Out of the house's Wi-Fi: the page says it shows a saved copy, and
	// stops saying so when the hub answers again.
	b.offline.Store(true)
	link.cut.Store(true)
	eval[bool](b, `(document.dispatchEvent(new Event('visibilitychange')), true)`)
	b.wait("the offline notice", `!document.querySelector('#offline-notice').hidden && /^Offline — saved copy from (\w{3} \d+ \w{3} )?\d\d:\d\d .+ time\. Times may have changed\.$/.test(document.querySelector('#offline-notice').textContent) && !!document.querySelector('article.now')`)
	b.shot("today-offline")
	link.cut.Store(false)
	eval[bool](b, `(document.dispatchEvent(new Event('visibilitychange')), true)`)
	b.wait("the offline notice gone", `document.querySelector('#offline-notice').hidden && document.querySelector('#sync-badge').textContent === 'Up to date'`)
	b.offline.Store(false)
	b.route("#/log/"+ids["Kemi"], "button[data-action=nap-end]")
	b.wait("the nap in the log", `!!document.querySelector('li[data-id] button[data-action=edit]')`)
	b.click("li[data-id] button[data-action=edit]")
	now := time.Now().In(home)
	b.set("form[data-edit] input[name=start]", now.Add(-50*time.Minute).Format("2006-01-02T15:04"))
	b.set("form[data-edit] input[name=end]", now.Add(-5*time.Minute).Format("2006-01-02T15:04"))
	b.click("form[data-edit] button[type=submit]")
	itWasANap()
	b.wait("the corrected nap", `[...document.querySelectorAll('li[data-id]')].some(li => /Nap \d\d:\d\d–\d\d:\d\d \(45 min\)/.test(li.textContent)) && document.querySelector('#sync-badge').textContent === 'Up to date'`)
	b.shot("log")
	naps := events(api, ids["Kemi"], "sleep")
	if len(naps) != 2 || naps[0].Event.End != "" || !bytes.Contains(naps[1].Event.Data, []byte(`"supersedes":"`+naps[0].ID+`"`)) {
		t.Fatalf("Kemi's naps: %+v", naps)
	}
	b.route("#/trips/"+tripID, `li[data-seq][data-member="`+ids["Kemi"]+`"]`)
	b.wait("Kemi's re-plan", fmt.Sprintf(`Number(document.querySelector('li[data-seq][data-member="%s"]').dataset.seq) >= %d`, ids["Kemi"], naps[1].Seq))
	if after := seqOf(ids["Kemi"]); after <= before {
		t.Fatalf("Kemi's plan did not change: seq %d, before %d", after, before)
	}

	// Undo a meal logged by mistake.
	b.route("#/log/"+ids["Ada"], "button[data-action=meal-breakfast]")
	b.click("button[data-action=meal-breakfast]")
	b.wait("the undo offer", `[...document.querySelectorAll('.toast')].some(t => t.textContent.startsWith('Ada: breakfast') && t.querySelector('button:not(.toast-close)'))`)
	b.click(".toast button:not(.toast-close)")
	b.wait("the meal undone", `[...document.querySelectorAll('.toast')].some(t => t.textContent.startsWith('Undone: Breakfast'))`)
	// Undone before it was sent, it is taken back; after, it is retracted.
	var meals, retracted []hubEvent
	undone := func() bool {
		meals, retracted = events(api, ids["Ada"], "meal"), events(api, ids["Ada"], "log.retracted")
		return len(meals) == 1 && len(retracted) == 1 && bytes.Contains(retracted[0].Event.Data, []byte(meals[0].ID))
	}
	wait.Until(t, time.Minute, "the undo at the hub", func() (bool, string) {
		if undone() {
			return true, ""
		}
		// Or taken back before it left the phone: never at the hub.
		return len(meals) == 0 && len(retracted) == 0 && b.waiting() == 0,
			fmt.Sprintf("%d meals, %d retractions at the hub, %d waiting on the phone", len(meals), len(retracted), b.waiting())
	})
	b.wait("Breakfast gone from the log", `document.querySelector('#sync-badge').textContent === 'Up to date' && ![...document.querySelectorAll('li[data-id]')].some(li => li.textContent.includes('Breakfast'))`)

	// Undo after an edit brings back the entry as it was: Kemi's nap is
	// started, its start moved, and Undo shows it from its first start.
	b.route("#/log/"+ids["Kemi"], "button[data-action=nap-start]")
	b.click("button[data-action=nap-start]")
	itWasANap()
	b.wait("the second open nap", `!!document.querySelector('button[data-action=nap-end]') && document.querySelector('#sync-badge').textContent === 'Up to date'`)
	sleepsBefore := events(api, ids["Kemi"], "sleep")
	original := sleepsBefore[len(sleepsBefore)-1]
	originalStart, err := time.Parse(time.RFC3339, original.Event.Start)
	if err != nil {
		t.Fatal(err)
	}
	openRow := `li[data-id="` + original.ID + `"]`
	b.click(openRow + " button[data-action=edit]")
	moved := time.Now().In(home).Add(-25 * time.Minute)
	b.set("form[data-edit] input[name=start]", moved.Format("2006-01-02T15:04"))
	b.click("form[data-edit] button[type=submit]")
	itWasANap()
	b.wait("the moved nap", `[...document.querySelectorAll('li[data-id]')].some(li => li.textContent.includes('Nap from `+moved.Format("15:04")+`, still asleep')) && document.querySelector('#sync-badge').textContent === 'Up to date'`)
	b.wait("the undo offer for the change", `[...document.querySelectorAll('.toast')].some(t => t.textContent.startsWith('Kemi: changed') && t.querySelector('button'))`)
	b.click(".toast button")
	b.wait("the nap back at its first start", `document.querySelector('#sync-badge').textContent === 'Up to date' && !!document.querySelector(`+jsString(openRow)+`) && document.querySelector(`+jsString(openRow)+`).textContent.includes('Nap from `+originalStart.In(home).Format("15:04")+`, still asleep') && ![...document.querySelectorAll('li[data-id]')].some(li => li.textContent.includes('Nap from `+moved.Format("15:04")+`'))`)
	var kemiLog struct {
		Facts []struct {
			Event struct {
				ID  string `json:"id"`
				End string `json:"end"`
			} `json:"event"`
		} `json:"facts"`
	}
	api.json("GET", "/api/v1/members/"+ids["Kemi"]+"/log", nil, 200, &kemiLog)
	if len(kemiLog.Facts) == 0 || kemiLog.Facts[0].Event.ID != original.ID || kemiLog.Facts[0].Event.End != "" {
		t.Fatalf("after undoing the change, Kemi's log is %+v; want the nap %s as first logged", kemiLog.Facts, original.ID)
	}

	// A nap in Kemi's usual night gets a question before it is saved;
	// the answer saves it once, as night sleep.
	b.click(openRow + " button[data-action=edit]")
	yesterday := time.Now().In(home).AddDate(0, 0, -1).Format("2006-01-02")
	b.set("form[data-edit] input[name=start]", yesterday+"T00:15")
	b.set("form[data-edit] input[name=end]", yesterday+"T01:00")
	count := len(events(api, ids["Kemi"], "sleep"))
	b.click("form[data-edit] button[type=submit]")
	b.wait("the question", `!!document.querySelector('[role=alertdialog] [data-answer=sleep]') && document.querySelector('[role=alertdialog]').textContent.includes("00:15 is in Kemi's night. Log it as night sleep instead?")`)
	b.shot("log-question")
	eval[bool](b, `(() => { const y = document.querySelector('[data-answer=sleep]'); y.click(); y.click(); return true })()`)
	b.wait("the night sleep", `[...document.querySelectorAll('li[data-id]')].some(li => li.textContent.includes('Sleep 00:15–01:00')) && document.querySelector('#sync-badge').textContent === 'Up to date'`)
	after := events(api, ids["Kemi"], "sleep")
	if last := after[len(after)-1]; len(after) != count+1 || bytes.Contains(last.Event.Data, []byte(`"nap"`)) || !bytes.Contains(last.Event.Data, []byte(original.ID)) {
		t.Fatalf("after answering night sleep, Kemi's sleeps are %+v (had %d)", after, count)
	}
	b.noConsoleErrors("forms and questions")

	// Another phone logs: this one's timeline updates by itself.
	b.route("#/trips/"+tripID, `li[data-seq][data-member="`+ids["Ada"]+`"]`)
	ada := seqOf(ids["Ada"])
	other := fmt.Sprintf(`{"id":%q,"family_id":%q,"member_id":%q,"origin":"web:other-phone","type":"light_exposure","start":%q,"end":%q,"tz":"America/Los_Angeles","hlc":%q,"v":1,"data":{"level":"outdoor_daylight"}}`,
		uuid.Must(uuid.NewV7()).String(), fam.Family.ID, ids["Ada"], now.Add(-40*time.Minute).Format(time.RFC3339), now.Add(-10*time.Minute).Format(time.RFC3339),
		time.Now().UTC().Format("2006-01-02T15:04:05.000Z")+"-0000")
	var wrote struct{ Seq int }
	api.json("POST", "/api/v1/events", []byte(other), 200, &wrote)
	b.wait("Ada's re-plan pushed over the stream", fmt.Sprintf(`Number(document.querySelector('li[data-seq][data-member="%s"]').dataset.seq) >= %d`, ids["Ada"], wrote.Seq))
	if seqOf(ids["Ada"]) <= ada {
		t.Fatal("Ada's plan did not refresh")
	}
	b.noConsoleErrors("logging")

	// Every screen, on a phone and on a desktop, without console errors.
	screens := []struct{ hash, ready, name string }{
		{"#/today", "article.now", "today"},
		{"#/trips", "a.cardlink", "trips"},
		{"#/trips/" + tripID, "svg.chart circle", "timeline"},
		{"#/trips/" + tripID + "/edit", "fieldset.leg input[name=from]", "trip-edit"},
		{"#/log/" + ids["Ada"], "button[data-action=asleep]", "log"},
		{"#/family", "main li.card", "family"},
		{"#/family/" + ids["Kemi"], "input[name=display_name]", "member"},
		{"#/sync", "#cal-h", "sync"},
	}
	for _, phone := range []bool{true, false} {
		b.viewport(phone)
		for _, s := range screens {
			b.route(s.hash, s.ready)
			if !phone || s.name == "sync" || s.name == "family" || s.name == "trips" {
				b.shot(s.name)
			}
			b.noConsoleErrors(s.name)
		}
	}
	// At 360 px a long family name and a long badge both show whole: the
	// header wraps rather than cutting either, and nothing overflows.
	b.do(chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
	b.phone = true
	b.route("#/today", "article.now")
	fit := eval[string](b, `(() => {
		const title = document.querySelector('#family-name'), badge = document.querySelector('#sync-badge');
		title.textContent = 'The Newcombe-Fitzgeralds of Little Hampton';
		badge.textContent = '2 waiting · hub unreachable';
		const bad = [];
		if (title.scrollWidth > title.clientWidth + 1 || title.getBoundingClientRect().right > 361) bad.push('the name is cut');
		if (badge.scrollWidth > badge.clientWidth + 1 || badge.getBoundingClientRect().right > 361) bad.push('the badge is cut');
		if (document.documentElement.scrollWidth > 360) bad.push('the page is ' + document.documentElement.scrollWidth + ' px wide');
		return bad.join(', ');
	})()`)
	if fit != "" {
		t.Errorf("header at 360 px: %s", fit)
	}
	b.shot("header-360")
	b.viewport(true)

	// Offline: the hub stops; a tap is kept in the outbox, survives a
	// reload (the service worker serves the app and the last answers), and
	// arrives exactly once when the hub is back.
	b.route("#/log/"+ids["Ada"], "button[data-action=asleep]")
	b.wait("the service worker", `navigator.serviceWorker.controller !== null`)
	b.offline.Store(true)
	m.Close()
	b.click("button[data-action=asleep]")
	b.wait("the waiting event", `/^1 waiting/.test(document.querySelector('#sync-badge').textContent)`)
	b.do(chromedp.Reload())
	b.wait("the app from the service worker", `!!document.querySelector('nav.tabs') && /^1 waiting/.test(document.querySelector('#sync-badge')?.textContent || '')`)
	b.route("#/sync", "#wait-h")
	b.wait("the waiting list", `document.querySelector('#wait-h').textContent.includes('1 waiting')`)
	b.shot("offline-sync")
	b.route("#/today", "article.now")
	b.shot("offline-today")
	waitingID := eval[string](b, `import('/js/outbox.js').then(o => o.list()).then(l => l[0].events[0].id)`)
	mustRun(t, dir, realClock, func(m *Main) { m.HTTPAddr = addr })
	b.wait("the outbox to drain", `document.querySelector('#sync-badge').textContent === 'Up to date'`)
	b.offline.Store(false)
	sleeps := events(api, ids["Ada"], "sleep")
	if len(sleeps) != 1 || sleeps[0].ID != waitingID {
		t.Fatalf("after the hub came back, Ada's sleeps are %+v; want the one event %s", sleeps, waitingID)
	}

	// Awake by mistake: Undo retracts the "awake" (a correction), which
	// brings back the sleep it closed.
	b.route("#/log/"+ids["Ada"], "button[data-action=awake]")
	b.click("button[data-action=awake]")
	b.wait("the undo offer", `[...document.querySelectorAll('.toast')].some(t => t.textContent.startsWith('Ada: awake') && t.querySelector('button:not(.toast-close)'))`)
	sleepsAtHub := func(n int) func() (bool, string) {
		return func() (bool, string) {
			got := len(events(api, ids["Ada"], "sleep"))
			return got == n, fmt.Sprintf("%d sleeps at the hub, want %d", got, n)
		}
	}
	wait.Until(t, time.Minute, "the awake at the hub", sleepsAtHub(2))
	b.click(".toast button:not(.toast-close)")
	b.wait("Ada asleep again", `!!document.querySelector('button[data-action=awake]') && document.querySelector('#sync-badge').textContent === 'Up to date'`)
	wait.Until(t, time.Minute, "the awake retracted at the hub", func() (bool, string) {
		sl := events(api, ids["Ada"], "sleep")
		for _, r := range events(api, ids["Ada"], "log.retracted") {
			if len(sl) == 2 && bytes.Contains(r.Event.Data, []byte(`"event_id":"`+sl[1].ID+`"`)) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d sleeps, no retraction of the awake yet", len(sl))
	})
	var log struct {
		Facts []struct {
			Event struct {
				ID  string `json:"id"`
				End string `json:"end"`
			} `json:"event"`
		} `json:"facts"`
	}
	api.json("GET", "/api/v1/members/"+ids["Ada"]+"/log", nil, 200, &log)
	sl := events(api, ids["Ada"], "sleep")
	open, closed := false, false
	for _, f := range log.Facts {
		open = open || (f.Event.ID == sl[0].ID && f.Event.End == "")
		closed = closed || f.Event.ID == sl[1].ID
	}
	if !open || closed {
		t.Fatalf("after undoing awake, Ada's log is %+v; want the open sleep %s back and the awake %s gone", log.Facts, sl[0].ID, sl[1].ID)
	}

	// A lost answer: the hub stores the event but the phone never hears
	// back. The retry carries the same id, so it still counts once.
	posts := link.posts.Load()
	link.drop.Store(true)
	b.offline.Store(true) // the lost answer logs a network error
	b.route("#/log/"+ids["Ada"], "button[data-action=meal-dinner]")
	b.click("button[data-action=meal-dinner]")
	wait.Until(t, time.Minute, "the retried meal", func() (bool, string) {
		return link.posts.Load()-posts >= 2 && b.waiting() == 0,
			fmt.Sprintf("%d posts, %d waiting on the phone", link.posts.Load()-posts, b.waiting())
	})
	b.wait("the badge", `document.querySelector('#sync-badge').textContent === 'Up to date'`)
	b.offline.Store(false)
	if link.dropped.Load() != 1 || link.posts.Load()-posts < 2 {
		t.Fatalf("the lost-answer test did not run as meant: %d posts, %d answers lost", link.posts.Load()-posts, link.dropped.Load())
	}
	dinners := 0
	for _, e := range events(api, ids["Ada"], "meal") {
		if bytes.Contains(e.Event.Data, []byte(`"dinner"`)) {
			dinners++
		}
	}
	if dinners != 1 {
		t.Fatalf("one dinner tapped, sent %d times with its answer lost once: the hub holds %d", link.posts.Load()-posts, dinners)
	}
	b.noConsoleErrors("offline and retries")
}

// checkTripPage checks the trip page's rules: on a phone it is at most
// four screens tall and never scrolls sideways; a person's whole trip is a
// tap away; the chart's text keeps a readable size at every width, and no
// label touches another or sits on the data.
func checkTripPage(t *testing.T, b *browser, tripID string) {
	t.Helper()
	sizes := []struct {
		w, h  int64
		phone bool
	}{{390, 844, true}, {360, 740, true}, {1280, 800, false}}
	for _, sz := range sizes {
		if sz.phone {
			b.do(chromedp.EmulateViewport(sz.w, sz.h, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
		} else {
			b.do(chromedp.EmulateViewport(sz.w, sz.h))
		}
		// The chart is drawn again at its new width.
		b.wait(fmt.Sprintf("the chart at %d px", sz.w), `(() => { const s = document.querySelector('svg.chart'); return !!s && Math.abs(s.width.baseVal.value - s.parentElement.clientWidth) < 1.5; })()`)
		if sz.phone {
			if got := eval[int](b, `document.documentElement.scrollHeight`); got > 4*int(sz.h) {
				t.Errorf("the trip page at %dx%d is %d px tall: more than four screens (%d px)", sz.w, sz.h, got, 4*sz.h)
			}
		}
		if got := eval[int](b, `document.documentElement.scrollWidth`); got > int(sz.w) {
			t.Errorf("the trip page at %d px wide scrolls sideways: %d px", sz.w, got)
		}
		if bad := eval[string](b, `(() => {
			const svg = document.querySelector('svg.chart');
			const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
			const texts = [...svg.querySelectorAll('text')].map((t) => ({ t: t.textContent, r: t.getBoundingClientRect(), px: parseFloat(getComputedStyle(t).fontSize) * scale }));
			const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
			const out = [];
			for (const x of texts) if (x.px > 20 || x.px < 12) out.push('"' + x.t + '" is ' + x.px.toFixed(1) + ' px');
			texts.forEach((x, i) => texts.slice(i + 1).forEach((y) => { if (meet(x.r, y.r)) out.push('"' + x.t + '" touches "' + y.t + '"'); }));
			for (const c of svg.querySelectorAll('circle, path.series')) for (const x of texts) if (meet(x.r, c.getBoundingClientRect()) && c.tagName === 'circle') out.push('"' + x.t + '" sits on the data');
			if (!texts.some((x) => /h$/.test(x.t)) || !svg.querySelector('title') || !svg.querySelector('desc')) out.push('no hour labels, title or description');
			if (!document.querySelector('details.chart-table table td')) out.push('no table of the figures');
			return out.join('; ');
		})()`); bad != "" {
			t.Errorf("the chart at %d px wide: %s", sz.w, bad)
		}
	}
	b.viewport(true)
	// Each traveller's whole trip, day by day, with today's day open.
	member := eval[string](b, `document.querySelector('[data-whole-trip]').dataset.wholeTrip`)
	b.click("[data-whole-trip]")
	b.wait("the whole trip of one person", `location.hash === `+jsString("#/trips/"+tripID+"/people/"+member)+` && /whole trip/.test(document.querySelector('main h1')?.textContent) && document.querySelectorAll('.whole-day').length > 3 && document.querySelectorAll('.whole-day details[open]').length === 1`)
	b.shot("whole-trip")
	b.click("a.back")
	b.wait("the trip page again", `location.hash === `+jsString("#/trips/"+tripID)+` && !!document.querySelector('svg.chart circle')`)
}

// checkModules runs the page's own modules against Go's answers: wall
// times in zones (with clock changes), RFC 3339 offsets, UUIDv7 ids and
// the hybrid logical clock.
func checkModules(t *testing.T, b *browser) {
	t.Helper()
	// Each case's answer is checked against Go's zone database first. A
	// time that clocks skip reads as a clock shows it after the change; a
	// time they pass twice is the first.
	cases := []struct {
		date, clock, tz, want string
		exact                 bool
	}{
		{"2026-12-19", "20:45", "America/Los_Angeles", "2026-12-19T20:45:00-08:00", true},
		{"2027-03-14", "02:30", "America/Los_Angeles", "2027-03-14T03:30:00-07:00", false},
		{"2026-11-01", "01:30", "America/Los_Angeles", "2026-11-01T01:30:00-07:00", true},
		{"2026-12-20", "15:05", "Europe/London", "2026-12-20T15:05:00Z", true},
		{"2026-12-20", "09:00", "Asia/Kolkata", "2026-12-20T09:00:00+05:30", true},
		{"2026-12-20", "09:00", "Pacific/Chatham", "2026-12-20T09:00:00+13:45", true},
		{"2027-04-04", "01:45", "Australia/Lord_Howe", "2027-04-04T01:45:00+11:00", true},
		{"2026-12-31", "23:59", "Pacific/Kiritimati", "2026-12-31T23:59:00+14:00", true},
	}
	for _, c := range cases {
		loc, err := time.LoadLocation(c.tz)
		if err != nil {
			t.Fatal(err)
		}
		want, err := time.Parse(time.RFC3339, c.want)
		if err != nil {
			t.Fatal(err)
		}
		if w := want.In(loc); w.Format(time.RFC3339) != c.want || (w.Format("2006-01-02 15:04") == c.date+" "+c.clock) != c.exact {
			t.Fatalf("case %+v does not hold in Go's zone database: %s", c, w)
		}
		if first := want.Add(-time.Hour).In(loc); c.exact && first.Format("2006-01-02 15:04") == c.date+" "+c.clock {
			t.Fatalf("case %+v: the time also occurs an hour earlier, %s", c, first)
		}
		got := eval[map[string]any](b, fmt.Sprintf(`import('/js/time.js').then(m => { const z = m.zoned(%q, %q, %q); return {ms: z.ms, exact: z.exact, rfc: m.rfc3339(z.ms, %q)}; })`, c.date, c.clock, c.tz, c.tz))
		if ms := int64(got["ms"].(float64)); ms != want.UnixMilli() || got["exact"] != c.exact || got["rfc"] != c.want {
			t.Errorf("zoned(%s %s %s) = %v, want %s (exact %v)", c.date, c.clock, c.tz, got, c.want, c.exact)
		}
	}
	id := eval[string](b, `import('/js/ids.js').then(m => m.uuidv7(Date.UTC(2026, 10, 26, 1, 2, 3, 456)))`)
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 || u.Variant() != uuid.RFC4122 || u.String() != id {
		t.Errorf("uuidv7 %q: %v, version %d", id, err, u.Version())
	} else if sec, nsec := u.Time().UnixTime(); time.Unix(sec, nsec).UnixMilli() != time.Date(2026, 11, 26, 1, 2, 3, 456e6, time.UTC).UnixMilli() {
		t.Errorf("uuidv7 %q carries %v", id, time.Unix(sec, nsec).UTC())
	}
	// The clock goes back by a second and stands still: stamps still grow.
	stamps := eval[[]string](b, `import('/js/ids.js').then(m => {
		const store = new Map(); const storage = {getItem: k => store.get(k) ?? null, setItem: (k, v) => store.set(k, v)};
		let now = Date.UTC(2026, 10, 26, 1, 11, 0, 123);
		const c = new m.Clock(storage, () => now);
		const out = [c.stamp()]; now -= 1000; out.push(c.stamp(), c.stamp());
		c.observe('2026-11-26T02:00:00.000Z-0007'); out.push(c.stamp());
		now = Date.UTC(2026, 10, 26, 3, 0, 0, 0); out.push(c.stamp());
		c.observe('2099-12-31T23:59:59.000Z-0000'); out.push(c.stamp()); // a clock reading 2099 is not followed
		return out; })`)
	// Reminders: five minutes ahead, for the next twelve hours; meals only
	// as a baby's feeds.
	due := eval[[]string](b, `import('/js/reminders.js').then(m => {
		const now = Date.UTC(2026, 11, 20, 8, 0);
		const item = (kind, min, text) => ({kind, start: new Date(now + min * 60000).toISOString(), end: new Date(now + (min + 30) * 60000).toISOString(), tz: 'Europe/London', text, reason: 'r'});
		const today = {members: [{member_id: 'a', name: 'Ada', next: [item('nap', 30, 'Nap 08:30–09:00'), item('meal', 60, 'Lunch at 09:00'), item('light_seek', 13 * 60, 'Go outside'), item('caffeine_ok', 10, 'Coffee')]},
			{member_id: 'b', name: 'Bo', next: [item('meal', 20, 'Breakfast at 08:20 (and milk feeds as usual)'), item('meal', 25, 'Feed on demand'), item('light_avoid', 2, 'Avoid bright light')]}]};
		return m.upcoming(today, now).map(r => r.title + ' @' + (r.at - now) / 60000);
	})`)
	if got, want := strings.Join(due, "; "), "Ada: Nap 08:30–09:00 @25; Bo: Breakfast at 08:20 (and milk feeds as usual) @15; Bo: Avoid bright light @-3"; got != want {
		t.Errorf("reminders due: %s\nwant %s", got, want)
	}
	want := []string{"2026-11-26T01:11:00.123Z-0000", "2026-11-26T01:11:00.123Z-0001", "2026-11-26T01:11:00.123Z-0002", "2026-11-26T02:00:00.000Z-0008", "2026-11-26T03:00:00.000Z-0000", "2026-11-26T03:00:00.000Z-0001"}
	if strings.Join(stamps, " ") != strings.Join(want, " ") {
		t.Errorf("HLC stamps %v, want %v", stamps, want)
	}
}

// TestBrowserPairing: a hub on the LAN asks a new phone for the pairing
// code once; the cookie it gets is out of the page's reach and opens the
// API and its event stream.
func TestBrowserPairing(t *testing.T) {
	shots := screenshotDir(t)
	var shown bytes.Buffer
	m := mustRun(t, t.TempDir(), realClock, func(m *Main) {
		m.HTTPAddr = "0.0.0.0:0"
		m.Stdout = &shown
	})
	tok := regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`).FindString(shown.String())
	if tok == "" {
		t.Fatalf("no pairing token shown: %q", shown.String())
	}
	b := newBrowser(t, m.URL, shots, "Europe/London")
	// Before pairing the hub answers 401, and the browser logs each.
	b.allow.Store(regexp.MustCompile(`status of 401`))
	b.do(chromedp.Navigate(m.URL + "/"))
	b.wait("the pairing screen", `location.hash === '#/pair' && !!document.querySelector('form input')`)
	b.shot("pair")
	b.set("form input", "wrong-code")
	b.click("form button[type=submit]")
	b.wait("the refusal", `document.querySelector('form .error').textContent.includes('not this household')`)
	b.set("form input", tok)
	b.click("form button[type=submit]")
	b.wait("the setup screen", `location.hash === '#/setup' && !!document.querySelector('input[name=family_name]')`)
	b.allow.Store(nil)
	if c := eval[string](b, `document.cookie`); strings.Contains(c, tok) {
		t.Errorf("the page can read the pairing token: %q", c)
	}
	// The event stream reconnects with the cookie: the badge settles (on
	// nothing to say, as there is nothing yet).
	b.wait("the live stream", `document.querySelector('#sync-badge').textContent === '' && document.querySelector('#sync-badge').hidden`)
	b.noConsoleErrors("pairing")
}

// TestBrowserCalendarLinks: a phone paired with a LAN hub through its name
// localhost (not the address the hub printed) gets a webcal:// link to a
// person's calendar, which a calendar app fetches with no token or
// cookie, and stops it again.
func TestBrowserCalendarLinks(t *testing.T) {
	shots := screenshotDir(t)
	var shown bytes.Buffer
	m := mustRun(t, t.TempDir(), realClock, func(m *Main) {
		m.HTTPAddr = "0.0.0.0:0"
		m.Stdout = &shown
	})
	tok := regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`).FindString(shown.String())
	f := newFamily(t)
	(&client{tb: t, base: m.URL, token: tok}).json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(m.URL, "http://"))
	base := "http://localhost:" + port

	b := newBrowser(t, base, shots, "America/Los_Angeles")
	b.allow.Store(regexp.MustCompile(`status of 401`))
	b.do(chromedp.Navigate(base + "/"))
	b.wait("the pairing screen", `location.hash === '#/pair' && !!document.querySelector('form input')`)
	b.set("form input", tok)
	b.click("form button[type=submit]")
	b.wait("today", `location.hash === '#/today'`)
	b.allow.Store(nil)

	b.route("#/sync", "#cal-h")
	ada := `[data-member="` + f.ada.String() + `"] `
	b.click(ada + "button.secondary")
	b.wait("the webcal link", `!!document.querySelector(`+jsString(ada+`a[href^="webcal://localhost:`+port+`/api/v1/feeds/"]`)+`)`)
	b.shot("calendars")
	webcal := eval[string](b, `document.querySelector(`+jsString(ada+"a.button")+`).getAttribute('href')`)
	url := eval[string](b, `document.querySelector(`+jsString(ada+"input.feed-url")+`).value`)
	if url != "http://"+strings.TrimPrefix(webcal, "webcal://") {
		t.Fatalf("the link to copy %q is not the webcal link %q", url, webcal)
	}
	// A calendar app sends no token and no cookie.
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") || !strings.Contains(body.String(), "Zoner: Ada") {
		t.Fatalf("the feed link: %d %s %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// A subscription, not a file: no control on the screen downloads one.
	if cd := resp.Header.Get("Content-Disposition"); cd != "" {
		t.Errorf("the feed link is served as a download: %q", cd)
	}
	if eval[bool](b, `[...document.querySelectorAll('a')].some((a) => a.hasAttribute('download') || (/\.ics(\?|$)/.test(a.getAttribute('href') || '') && !a.getAttribute('href').startsWith('webcal://')))`) {
		t.Error("a calendar control links to a file")
	}
	if !eval[bool](b, `/add .*from URL/i.test(document.querySelector('.cal-hint')?.textContent || '')`) {
		t.Error("no hint for phones that do not open webcal links")
	}

	b.click(ada + "button.danger")
	b.wait("the link gone", `!document.querySelector(`+jsString(ada+"a.button")+`) && !!document.querySelector(`+jsString(ada+"button.secondary")+`)`)
	resp, err = http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("the stopped feed link: %d, want 404", resp.StatusCode)
	}
	b.noConsoleErrors("calendars")
}

// checkTodayCards draws Today's card for made-up moments and logs: what
// the log says is told against the plan, whatever the two say, and the
// countdown names the day when what comes next is tomorrow, in the
// person's zone (not the phone's).
func checkTodayCards(t *testing.T, b *browser) {
	t.Helper()
	cases := []struct {
		name, state, at   string
		now, next         string // items as kind:start-end, London time on 20 and 21 December
		want, not, action string
	}{
		{name: "a nap logged in the planned night", state: "napping@00:15", at: "00:50", now: "sleep:19:30-06:15", next: "meal:07:00-07:30",
			want: "Napping since 00:15 (35 min)|Let Kemi sleep; planned wake 06:15 London time.|Breakfast in 6 h 10 min (07:00 London time)", not: "Sleep time", action: "nap-end"},
		{name: "asleep in a wake window", state: "asleep@14:10", at: "14:20", now: "light_seek:14:00-15:00", next: "sleep:19:30-06:15",
			want: "Asleep since 14:10 (10 min)|Not as planned: The plan had Kemi awake now, with bed at 19:30. Keep this sleep short: wake Kemi by 14:40 London time|Bedtime in 5 h 10 min (19:30 London time)", action: "awake"},
		{name: "asleep just before bedtime", state: "asleep@19:05", at: "19:10", next: "sleep:19:30-06:15",
			want: "Asleep since 19:05 (5 min)|A little before the planned bedtime (19:30 London time): let Kemi sleep.", not: "Not as planned", action: "awake"},
		{name: "awake in the planned night", state: "awake@03:00", at: "03:20", now: "sleep:19:30-06:15",
			want: "Awake since 03:00 (20 min)|Not as planned: The plan has Kemi asleep until 06:15 London time", not: "Sleep time", action: "asleep"},
		{name: "awake at nap time", state: "awake@06:10", at: "12:50", now: "nap:12:45-14:15",
			want: "Awake since 06:10 (6 h 40 min)|Nap time: the plan has a nap until 14:15 London time.", not: "Nap now", action: "nap-start"},
		{name: "awake as planned, bedtime tomorrow", state: "awake@06:10", at: "23:30", next: "sleep:23:45-07:00,meal:07:30-08:00",
			want: "Awake since 06:10|Bedtime in 15 min (23:45 London time)", not: "Not as planned"},
		{name: "nothing logged, next tomorrow", state: "", at: "22:00", next: "meal:07:30-08:00",
			want: "Breakfast in 9 h 30 min (tomorrow 07:30 London time)", not: "since"},
	}
	for _, c := range cases {
		got := eval[map[string]string](b, fmt.Sprintf(`import('/js/views/today.js').then(mod => {
			// Times are London's (UTC in December): the moment on 20
			// December, the rest on the day before or after that puts
			// them where they belong (a start in now before it, in next
			// after it).
			const at = (hm) => Date.UTC(2026, 11, 20, +hm.slice(0, 2), +hm.slice(3));
			const now = at(%q);
			const items = (s, later) => s ? s.split(',').map((x) => {
				const [kind, span] = x.split(/:(.*)/); const [a, z] = span.split('-');
				let start = at(a);
				while (later && start <= now) start += 86400000;
				while (!later && start > now) start -= 86400000;
				let end = at(z); while (end <= start) end += 86400000;
				return {kind, start: new Date(start).toISOString(), end: new Date(end).toISOString(), tz: 'Europe/London', text: kind === 'meal' ? 'Breakfast at ' + a : kind, reason: 'why'}; }) : [];
			const [kind, since] = %q ? %q.split('@') : [];
			let from = kind ? at(since) : 0; if (from > now) from -= 86400000;
			const st = kind ? {kind, since: new Date(from).toISOString(), event_id: kind === 'awake' ? undefined : '01'} : null;
			const m = {member_id: 'k', name: 'Kemi', tz: 'Europe/London', day: {label: 'Day 1 in London'}, now: items(%q, false), next: items(%q, true)};
			const el = mod.card(m, st, now);
			return {text: el.textContent, action: el.querySelector('button[data-action]')?.dataset.action || ''};
		})`, c.at, c.state, c.state, c.now, c.next))
		for _, w := range strings.Split(strings.TrimSuffix(c.want, "|"), "|") {
			if !strings.Contains(got["text"], w) {
				t.Errorf("Today, %s: no %q in %q", c.name, w, got["text"])
			}
		}
		if c.not != "" && strings.Contains(got["text"], c.not) {
			t.Errorf("Today, %s: %q in %q", c.name, c.not, got["text"])
		}
		if got["action"] != c.action {
			t.Errorf("Today, %s: quick action %q, want %q", c.name, got["action"], c.action)
		}
	}
}
