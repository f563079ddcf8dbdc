//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// The quality test measures the web UI as a family of five sees it on two
// phones and a laptop: nothing wider than the screen, no serious or
// critical accessibility fault (axe-core), a trip page a phone can scroll
// through, a body-clock chart whose text keeps a reading size and does not
// collide, and forms that say which field is wrong and how to fix it.
// `go tool task test` installs axe-core (deploy/local/axe.sh) and sets
// ZONER_AXE to its axe.min.js.

// qViewport is a screen size the UI is measured at.
type qViewport struct {
	w, h  int64
	phone bool
}

func (v qViewport) String() string { return fmt.Sprintf("%dx%d", v.w, v.h) }

// qViewports: two common phones (touch) and a laptop.
var qViewports = []qViewport{{360, 740, true}, {390, 844, true}, {1280, 800, false}}

// qPhone is the phone size the forms are tried at.
var qPhone = qViewports[1]

// qMaxPhoneScreens is how many screen heights the trip page may be on a
// phone.
const qMaxPhoneScreens = 4

// qAxeSource reads axe-core's axe.min.js from ZONER_AXE. Without it the
// test is skipped — a developer running go test by hand — or fails when
// ZONER_REQUIRE_SERVICES=1, as under the test command, which installs it.
func qAxeSource(t *testing.T) string {
	t.Helper()
	p := strings.TrimSpace(os.Getenv("ZONER_AXE"))
	if p == "" {
		if os.Getenv("ZONER_REQUIRE_SERVICES") == "1" {
			t.Fatal("ZONER_AXE is not set, and the test command promised axe-core (deploy/local/axe.sh)")
		}
		t.Skip("set ZONER_AXE to axe-core's axe.min.js to run the quality test (deploy/local/axe.sh prints it; go tool task test does)")
	}
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("ZONER_AXE: %v", err)
	}
	return string(src)
}

// qFixture is a hub with a family of five and a trip they all take.
type qFixture struct {
	m      *Main
	api    *client
	family uuid.UUID
	trip   uuid.UUID
	// midTrip left five days ago and flyTrip leaves this evening: the
	// same family, so that the trip page is measured on a day of the
	// stay and on a travel day too.
	midTrip, flyTrip uuid.UUID
	// Two adults, a 7-year-old, a 2-year-old and a 5-month-old.
	ada, femi, zara, kemi, tobi uuid.UUID
	names                       map[uuid.UUID]string
}

// qFamilyOfFive starts a hub on the real clock with a family at home in
// San Francisco: two adults, a 7-year-old, a 2-year-old and a 5-month-old,
// all flying SFO → LHR tomorrow evening and back 14 days later, and on two
// more such trips, one that left five days ago and one that leaves this
// evening. It waits until the hub has made every plan.
func qFamilyOfFive(t *testing.T, configure ...func(*Main)) *qFixture {
	t.Helper()
	m := mustRun(t, t.TempDir(), append([]func(*Main){realClock}, configure...)...)
	f := newFamily(t)
	q := &qFixture{m: m, api: &client{tb: t, base: m.URL}, family: f.id, trip: f.trip,
		ada: f.ada, femi: syncproto.NewID(), zara: syncproto.NewID(), kemi: f.kemi, tobi: f.tobi}
	q.names = map[uuid.UUID]string{q.ada: "Ada", q.femi: "Femi", q.zara: "Zara", q.kemi: "Kemi", q.tobi: "Tobi"}
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	today := now.In(la)
	born := func(years, months int) syncproto.Date {
		d, err := syncproto.ParseDate(today.AddDate(-years, -months, 0).Format("2006-01-02"))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	const tz = "America/Los_Angeles"
	member := func(id uuid.UUID, m *syncproto.MemberUpserted) syncproto.Envelope {
		m.DisplayName, m.HomeTZ = q.names[id], tz
		return f.event(id, now, time.Time{}, tz, m)
	}
	setup := []syncproto.Envelope{
		f.event(uuid.Nil, now, time.Time{}, tz, &syncproto.FamilyUpserted{Name: "The Okafors", HomeTZ: tz}),
		member(q.ada, &syncproto.MemberUpserted{BirthDate: born(38, 3), SleepTime: clock(23, 0), WakeTime: clock(7, 0), MelatoninAdvice: true, CaffeineAdvice: true}),
		member(q.femi, &syncproto.MemberUpserted{BirthDate: born(40, 8), SleepTime: clock(22, 30), WakeTime: clock(6, 30), CaffeineAdvice: true}),
		member(q.zara, &syncproto.MemberUpserted{BirthDate: born(7, 2), SleepTime: clock(20, 0), WakeTime: clock(6, 45)}),
		member(q.kemi, &syncproto.MemberUpserted{BirthDate: born(2, 1), SleepTime: clock(19, 30), WakeTime: clock(6, 30),
			Naps: []syncproto.Nap{{Start: clock(12, 45), DurationMin: 90}}}),
		member(q.tobi, &syncproto.MemberUpserted{BirthDate: born(0, 5), SleepTime: clock(19, 0), WakeTime: clock(6, 0),
			Naps: []syncproto.Nap{{Start: clock(9, 0), DurationMin: 60}, {Start: clock(12, 30), DurationMin: 90}, {Start: clock(16, 0), DurationMin: 45}}}),
	}
	q.api.json("POST", "/api/v1/setup", f.encode(setup...), 200, nil)

	// A two-week stay in London leaving days from today, in the evening.
	trip := func(id uuid.UUID, name string, days int) {
		out := today.AddDate(0, 0, days)
		depart := time.Date(out.Year(), out.Month(), out.Day(), 19, 30, 0, 0, la)
		back := out.AddDate(0, 0, 14)
		leave := time.Date(back.Year(), back.Month(), back.Day(), 11, 30, 0, 0, london)
		legs := []syncproto.Leg{
			{Flight: "BA286", From: "SFO", To: "LHR", FromTZ: tz, ToTZ: "Europe/London", Depart: depart, Arrive: depart.Add(10*time.Hour + 25*time.Minute).In(london)},
			{Flight: "BA287", From: "LHR", To: "SFO", FromTZ: "Europe/London", ToTZ: tz, Depart: leave, Arrive: leave.Add(11*time.Hour + 10*time.Minute).In(la)},
		}
		e := f.event(uuid.Nil, now, time.Time{}, tz, &syncproto.TripUpserted{TripID: id, Name: name, Legs: legs,
			Travellers: []uuid.UUID{q.ada, q.femi, q.zara, q.kemi, q.tobi}})
		q.api.json("POST", "/api/v1/events", f.encode(e), 200, nil)
	}
	q.midTrip, q.flyTrip = syncproto.NewID(), syncproto.NewID()
	trip(q.trip, "Christmas in London", 1)
	trip(q.midTrip, "Autumn in London", -5)
	trip(q.flyTrip, "London tonight", 0)

	for _, id := range []uuid.UUID{q.trip, q.midTrip, q.flyTrip} {
		wait.Until(t, 2*time.Minute, "the five plans", func() (bool, string) {
			var got qPlansJSON
			q.api.json("GET", "/api/v1/trips/"+id.String()+"/plan", nil, 200, &got)
			made := 0
			for _, p := range got.Plans {
				if len(p.Plan) > 0 || p.Error != "" {
					made++
				}
			}
			return made == 5, fmt.Sprintf("%d of 5 plans made", made)
		})
	}
	return q
}

// qPlansJSON is GET /api/v1/trips/{id}/plan's answer, as much as the
// fixture reads.
type qPlansJSON struct {
	Plans []struct {
		MemberID string          `json:"member_id"`
		Plan     json.RawMessage `json:"plan"`
		Error    string          `json:"error"`
	} `json:"plans"`
}

// qSetViewport sizes the tab: a phone (mobile, touch) or a laptop.
func qSetViewport(b *browser, v qViewport) {
	b.t.Helper()
	b.phone = v.phone
	if v.phone {
		b.do(chromedp.EmulateViewport(v.w, v.h, chromedp.EmulateScale(1), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
	} else {
		b.do(chromedp.EmulateViewport(v.w, v.h))
	}
}

// qShot saves a full-page screenshot as <name>-<w>x<h>.png.
func qShot(b *browser, name string, v qViewport) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s at %s: %v", name, v, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+"-"+v.String()+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// qSettle waits until the screen has drawn: <main> holds something, says
// nothing of loading, cond holds, and nothing in the page changed for
// 400 ms. It answers "" or why it gave up.
func qSettle(b *browser, cond string) string {
	b.t.Helper()
	if cond == "" {
		cond = "true"
	}
	return eval[string](b, `new Promise((resolve) => {
		const start = performance.now();
		let last = start;
		const obs = new MutationObserver(() => { last = performance.now(); });
		obs.observe(document.documentElement, {subtree: true, childList: true, characterData: true, attributes: true});
		const tick = () => {
			const main = document.querySelector('main');
			const text = main ? main.innerText : '';
			const busy = !main || !main.children.length || /Loading|Connecting to the hub|being made/i.test(text) || !(`+cond+`);
			if (!busy && performance.now() - last >= 400) { obs.disconnect(); resolve(''); return; }
			if (performance.now() - start > 30000) {
				obs.disconnect();
				resolve('the screen did not settle in 30 s (' + (busy ? 'still loading or not ready' : 'still changing') + '): ' + text.slice(0, 300));
				return;
			}
			setTimeout(tick, 100);
		};
		tick();
	})`)
}

// qGo moves the app to a hash route and waits for the screen.
func qGo(b *browser, hash, cond string) {
	b.t.Helper()
	eval[bool](b, `(location.hash = `+jsString(hash)+`, true)`)
	c := `location.hash === ` + jsString(hash)
	if cond != "" {
		c += ` && (` + cond + `)`
	}
	if why := qSettle(b, c); why != "" {
		b.t.Errorf("%s: %s", hash, why)
	}
}

// qLoad opens url in the tab and waits for the screen.
func qLoad(b *browser, url, cond string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
	if why := qSettle(b, cond); why != "" {
		b.t.Errorf("%s: %s", url, why)
	}
}

// qOverflowReport is what qOverflowJS measures.
type qOverflowReport struct {
	ScrollWidth int `json:"scrollWidth"`
	InnerWidth  int `json:"innerWidth"`
	Viewport    int `json:"viewport"`
	Offenders   []struct {
		Sel   string  `json:"sel"`
		Right float64 `json:"right"`
	} `json:"offenders"`
	Sideways []struct {
		Sel     string `json:"sel"`
		Content int    `json:"content"`
		Box     int    `json:"box"`
	} `json:"sideways"`
}

// qSelectorJS names an element for a report: up to four steps of
// tag#id.class from <body>.
const qSelectorJS = `const qName = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : el.classList.length ? '.' + [...el.classList].join('.') : '') +
	(el.getAttribute('data-member') ? '[data-member]' : '');
const qPath = (el) => { const p = []; for (let e = el; e && e !== document.body && p.length < 4; e = e.parentElement) p.unshift(qName(e)); return p.join(' > '); };`

// qOverflowJS finds what sticks out on the right: the document's scroll
// width, and each visible element whose right edge is beyond the viewport
// (what a scrolling box clips is not visible; what <body> clips is cut
// off, so it counts). Only the outermost offenders are named. A box that
// scrolls sideways is an offender too: nothing on a screen should need
// it. The viewport is the layout viewport (documentElement.clientWidth) and at most the screen's
// width: a phone browser widens innerWidth to what the page needs, and
// zooms out, so innerWidth alone hides an overflow.
const qOverflowJS = `((screenWidth) => {
	` + qSelectorJS + `
	const de = document.documentElement;
	const vw = Math.min(window.innerWidth, de.clientWidth, screenWidth);
	const off = new Set();
	const offenders = [], sideways = [];
	for (const el of document.body.querySelectorAll('*')) {
		const cs = getComputedStyle(el);
		if (cs.visibility === 'hidden' || cs.display === 'none') continue;
		const r = el.getBoundingClientRect();
		if (r.width < 1 || r.height < 1) continue;
		if ((cs.overflowX === 'auto' || cs.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
			sideways.push({sel: qPath(el), content: el.scrollWidth, box: el.clientWidth});
		}
		let left = r.left, right = r.right;
		for (let a = el.parentElement; a && a !== document.body && a !== de; a = a.parentElement) {
			if (getComputedStyle(a).overflowX !== 'visible') {
				const ar = a.getBoundingClientRect();
				left = Math.max(left, ar.left);
				right = Math.min(right, ar.right);
			}
		}
		if (right - left < 1 || right <= vw + 1) continue;
		off.add(el);
		let outer = true;
		for (let a = el.parentElement; a; a = a.parentElement) if (off.has(a)) { outer = false; break; }
		if (outer) offenders.push({sel: qPath(el), right: Math.round(right)});
	}
	return {scrollWidth: de.scrollWidth, innerWidth: window.innerWidth, viewport: vw, offenders: offenders.slice(0, 8), sideways: sideways.slice(0, 5)};
})`

// qCheckOverflow: nothing wider than the viewport, and nothing that scrolls
// sideways.
func qCheckOverflow(b *browser, v qViewport, where string) {
	b.t.Helper()
	r := eval[qOverflowReport](b, fmt.Sprintf("%s(%d)", qOverflowJS, v.w))
	if r.ScrollWidth > r.Viewport || r.InnerWidth > int(v.w) {
		b.t.Errorf("%s: horizontal overflow: the page is %d px wide in a %d px viewport (innerWidth %d)", where, r.ScrollWidth, r.Viewport, r.InnerWidth)
	}
	for _, o := range r.Offenders {
		b.t.Errorf("%s: %s ends at x=%.0f, beyond the %d px viewport", where, o.Sel, o.Right, r.Viewport)
	}
	for _, s := range r.Sideways {
		b.t.Errorf("%s: %s scrolls sideways (%d px of content in %d px)", where, s.Sel, s.Content, s.Box)
	}
}

// qAxeViolation is one axe-core rule that failed, serious or critical.
type qAxeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Nodes   int      `json:"nodes"`
	Targets []string `json:"targets"`
}

// qAxeReport is what one axe-core run found.
type qAxeReport struct {
	Rules   int             `json:"rules"`
	Serious []qAxeViolation `json:"serious"`
	Minor   []qAxeViolation `json:"minor"`
}

// qCheckAxe injects axe-core (once per page) and runs it on the document:
// no serious or critical violations. Minor and moderate ones are logged.
func qCheckAxe(b *browser, src, where string) qAxeReport {
	b.t.Helper()
	if !eval[bool](b, `typeof window.axe === 'object'`) {
		eval[bool](b, src+"\n;typeof window.axe === 'object'")
	}
	r := eval[qAxeReport](b, `axe.run(document).then((r) => {
		const brief = (v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, targets: v.nodes.slice(0, 4).map((n) => n.target.join(' '))});
		const grave = (v) => v.impact === 'serious' || v.impact === 'critical';
		return {rules: r.passes.length + r.violations.length + r.incomplete.length,
			serious: r.violations.filter(grave).map(brief), minor: r.violations.filter((v) => !grave(v)).map(brief)};
	})`)
	if r.Rules == 0 {
		b.t.Errorf("%s: axe-core checked no rules", where)
	}
	for _, v := range r.Serious {
		b.t.Errorf("%s: axe %s (%s) on %d element(s): %s; e.g. %s", where, v.ID, v.Impact, v.Nodes, v.Help, strings.Join(v.Targets, " | "))
	}
	for _, v := range r.Minor {
		b.t.Logf("%s: axe %s (%s, allowed) on %d element(s): %s", where, v.ID, v.Impact, v.Nodes, v.Help)
	}
	return r
}

// qHeight is the document's height, logged for every screen size, and
// on a phone at most qMaxPhoneScreens screens.
func qHeight(b *browser, v qViewport, where string, limit bool) int {
	b.t.Helper()
	hgt := eval[int](b, `document.documentElement.scrollHeight`)
	b.t.Logf("%s: the page is %d px high, %.1f × the %d px viewport", where, hgt, float64(hgt)/float64(v.h), v.h)
	if limit && v.phone && hgt > qMaxPhoneScreens*int(v.h) {
		b.t.Errorf("%s: the page is %d px high, more than %d screens (%d px) on a phone", where, hgt, qMaxPhoneScreens, qMaxPhoneScreens*int(v.h))
	}
	return hgt
}

// qChartReport is what qChartJS measures.
type qChartReport struct {
	Charts int `json:"charts"`
	Texts  int `json:"texts"`
	Sizes  []struct {
		Text   string  `json:"text"`
		Font   float64 `json:"font"`
		Height float64 `json:"height"`
	} `json:"sizes"`
	Overlaps []struct {
		A    string  `json:"a"`
		B    string  `json:"b"`
		Area float64 `json:"area"`
	} `json:"overlaps"`
	MaxFont   float64 `json:"maxFont"`
	MaxHeight float64 `json:"maxHeight"`
}

// qChartJS measures every text of every svg.chart: its rendered height
// and computed font size (both between 10 and 20 px), and each pair of
// texts whose boxes overlap by more than 1 px².
const qChartJS = `(() => {
	const out = {charts: 0, texts: 0, sizes: [], overlaps: [], maxFont: 0, maxHeight: 0};
	for (const svg of document.querySelectorAll('svg.chart')) {
		out.charts++;
		const texts = [...svg.querySelectorAll('text')].filter((t) => t.textContent.trim() && t.getBoundingClientRect().width > 0);
		const boxes = texts.map((t) => t.getBoundingClientRect());
		const label = (t) => JSON.stringify(t.textContent.trim().slice(0, 40));
		texts.forEach((t, i) => {
			out.texts++;
			const font = parseFloat(getComputedStyle(t).fontSize);
			const height = boxes[i].height;
			out.maxFont = Math.max(out.maxFont, font);
			out.maxHeight = Math.max(out.maxHeight, height);
			if (font > 20 || font < 10 || height > 20 || height < 10) out.sizes.push({text: label(t), font, height: Math.round(height * 10) / 10});
		});
		for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
			const a = boxes[i], b = boxes[j];
			const area = Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) * Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
			if (area > 1) out.overlaps.push({a: label(texts[i]), b: label(texts[j]), area: Math.round(area)});
		}
	}
	return out;
})()`

// qCheckChart: the chart's text keeps a reading size and no two texts
// overlap. A screen that must show the chart fails without one.
func qCheckChart(b *browser, where string, required bool) {
	b.t.Helper()
	r := eval[qChartReport](b, qChartJS)
	if r.Charts == 0 {
		if required {
			b.t.Errorf("%s: no svg.chart", where)
		}
		return
	}
	b.t.Logf("%s: %d chart(s), %d texts; largest font %.1f px, tallest text %.1f px; %d too big or small, %d overlapping pairs",
		where, r.Charts, r.Texts, r.MaxFont, r.MaxHeight, len(r.Sizes), len(r.Overlaps))
	for _, s := range r.Sizes {
		b.t.Errorf("%s: chart text %s is %.1f px high with font size %.1f px; want both 10–20 px", where, s.Text, s.Height, s.Font)
	}
	for _, o := range r.Overlaps {
		b.t.Errorf("%s: chart texts %s and %s overlap (%.0f px²)", where, o.A, o.B, o.Area)
	}
}

// qScreen is one screen of the app to measure.
type qScreen struct {
	name string
	hash string
	// cond is what must hold, beyond the screen having settled.
	cond string
	// person, when set, opens the whole-trip view of this member from the
	// trip page.
	person uuid.UUID
	chart  bool // must show the chart
	tall   bool // its height is limited on a phone
}

// qMeasure runs every check on the screen shown.
func qMeasure(b *browser, axe string, v qViewport, s qScreen) {
	b.t.Helper()
	where := s.name + " at " + v.String()
	qShot(b, s.name, v)
	qCheckOverflow(b, v, where)
	qCheckAxe(b, axe, where)
	qHeight(b, v, where, s.tall)
	qCheckChart(b, where, s.chart)
}

// qOn runs f as a subtest with the browser failing that subtest.
func qOn(t *testing.T, b *browser, name string, f func(t *testing.T)) bool {
	return t.Run(name, func(t *testing.T) {
		parent := b.t
		b.t = t
		defer func() { b.t = parent }()
		f(t)
	})
}

// TestBrowserQuality measures every screen at 360×740 and 390×844 (phones)
// and 1280×800 (a laptop) with a family of five on a two-week trip to
// London, then tries the forms' errors on a phone. Each screen size and
// screen is its own subtest, so a failure says where.
func TestBrowserQuality(t *testing.T) {
	axe := qAxeSource(t)
	shots := screenshotDir(t)
	q := qFamilyOfFive(t)
	b := newBrowser(t, q.m.URL, shots, "America/Los_Angeles")
	b.do(chromedp.Navigate(q.m.URL + "/#/today"))
	if why := qSettle(b, ""); why != "" {
		t.Fatalf("the app: %s", why)
	}

	trip := "#/trips/" + q.trip.String()
	screens := []qScreen{
		{name: "today", hash: "#/today"},
		{name: "trips", hash: "#/trips"},
		{name: "trip", hash: trip, cond: `!!document.querySelector('svg.chart')`, chart: true, tall: true},
		{name: "trip-stay", hash: "#/trips/" + q.midTrip.String(), cond: `!!document.querySelector('svg.chart')`, chart: true, tall: true},
		{name: "trip-flying", hash: "#/trips/" + q.flyTrip.String(), cond: `!!document.querySelector('svg.chart')`, chart: true, tall: true},
		{name: "person", hash: trip, cond: `!!document.querySelector('svg.chart')`, person: q.tobi},
		{name: "log", hash: "#/log/" + q.tobi.String()},
		{name: "family", hash: "#/family"},
		{name: "member", hash: "#/family/" + q.kemi.String(), cond: `!!document.querySelector('main form')`},
		{name: "sync", hash: "#/sync"},
		{name: "trip-form", hash: "#/trips/new", cond: `!!document.querySelector('main form')`},
	}
	for _, v := range qViewports {
		qSetViewport(b, v)
		for _, s := range screens {
			qOn(t, b, v.String()+"/"+s.name, func(t *testing.T) {
				// Start from another screen, so that the route changes.
				eval[bool](b, `(location.hash = '#/family/new', true)`)
				qGo(b, s.hash, s.cond)
				if s.person != uuid.Nil {
					sel := `[data-whole-trip="` + s.person.String() + `"]`
					if !eval[bool](b, `!!document.querySelector(`+jsString(sel)+`)`) {
						t.Errorf("%s at %s: the trip page has no %s to open %s's whole trip: the screen is missing", s.name, v, sel, q.names[s.person])
						return
					}
					eval[bool](b, `(document.querySelector(`+jsString(sel)+`).click(), true)`)
					if why := qSettle(b, ""); why != "" {
						t.Errorf("%s's whole trip: %s", q.names[s.person], why)
					}
				}
				qMeasure(b, axe, v, s)
			})
		}
	}

	// The forms' errors, on a phone.
	qSetViewport(b, qPhone)
	qOn(t, b, "form-errors/trip-airport-not-picked", func(t *testing.T) { qTripFormError(b, q) })
	qOn(t, b, "form-errors/member-empty-name", func(t *testing.T) { qMemberFormError(b, q) })

	// Setup, on a hub of its own that has no family yet.
	fresh := mustRun(t, t.TempDir(), realClock)
	freshAPI := &client{tb: t, base: fresh.URL}
	for _, v := range qViewports {
		qSetViewport(b, v)
		qOn(t, b, v.String()+"/setup", func(t *testing.T) {
			qLoad(b, fresh.URL+"/#/setup", `location.hash === '#/setup' && !!document.querySelector('main form input')`)
			qMeasure(b, axe, v, qScreen{name: "setup"})
		})
	}
	qSetViewport(b, qPhone)
	qOn(t, b, "form-errors/setup-nap-without-time", func(t *testing.T) { qSetupFormError(b, freshAPI, fresh.URL) })

	// Pairing, on a LAN hub this phone has no session with.
	lan := mustRun(t, t.TempDir(), realClock, func(m *Main) { m.HTTPAddr = "0.0.0.0:0" })
	b.allow.Store(regexp.MustCompile(`status of 401`))
	for _, v := range qViewports {
		qSetViewport(b, v)
		qOn(t, b, v.String()+"/pair", func(t *testing.T) {
			qLoad(b, lan.URL+"/", `location.hash === '#/pair' && !!document.querySelector('main form input')`)
			qMeasure(b, axe, v, qScreen{name: "pair"})
		})
	}
}

// qFieldState is a form field as the error contract sees it.
type qFieldState struct {
	Found       bool     `json:"found"`
	Invalid     string   `json:"invalid"`
	DescribedBy string   `json:"describedBy"`
	Text        string   `json:"text"`
	Gap         *float64 `json:"gap"`
	Focused     bool     `json:"focused"`
	Summary     string   `json:"summary"`
	Visible     []string `json:"visible"`
}

// qFieldErrorJS reads the field sel: aria-invalid, the visible
// .field-error its aria-describedby names and how far under the field it
// is, whether it has focus, the form's p.error[role=alert], and every
// visible .field-error on the page.
func qFieldErrorJS(sel string) string {
	return `(() => {
	const el = document.querySelector(` + jsString(sel) + `);
	if (!el) return {found: false, visible: []};
	const vis = (e) => { const r = e.getBoundingClientRect(); const cs = getComputedStyle(e);
		return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none' && Number(cs.opacity) > 0 && !e.closest('[hidden]'); };
	const ids = (el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
	const err = ids.map((id) => document.getElementById(id)).find((e) => e && e.classList.contains('field-error') && vis(e) && e.textContent.trim());
	const ir = el.getBoundingClientRect();
	const summary = el.closest('form')?.querySelector('p.error[role=alert]')?.textContent.trim() || '';
	return {
		found: true,
		invalid: el.getAttribute('aria-invalid') || '',
		describedBy: ids.join(' '),
		text: err ? err.textContent.trim() : '',
		gap: err ? err.getBoundingClientRect().top - ir.bottom : null,
		focused: document.activeElement === el,
		summary,
		visible: [...document.querySelectorAll('.field-error')].filter(vis).map((e) => e.textContent.trim()).filter(Boolean),
	};
})()`
}

// qMaxErrorGap is how far under its field (px) a field's error may start.
const qMaxErrorGap = 96

// qCheckFieldError submits the form with submit and checks the error
// contract on the field sel: aria-invalid="true", aria-describedby naming
// a visible .field-error with words in it right under the field, a
// summary in the form's p.error[role=alert], and focus on the field.
func qCheckFieldError(b *browser, submit, sel, what string) {
	b.t.Helper()
	b.click(submit)
	ctx, cancel := context.WithTimeout(b.ctx, 6*time.Second)
	defer cancel()
	// Wait for an answer on the page; none in 5 s is itself the failure.
	chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const el = document.querySelector(`+jsString(sel)+`);
		return !!el && (el.getAttribute('aria-invalid') === 'true' || [...document.querySelectorAll('.field-error')].some((e) => e.textContent.trim())); })()`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second)))
	time.Sleep(200 * time.Millisecond)
	s := eval[qFieldState](b, qFieldErrorJS(sel))
	if !s.Found {
		b.t.Errorf("%s: no field %s", what, sel)
		return
	}
	b.t.Logf("%s: %s aria-invalid=%q aria-describedby=%q, its error %q, form summary %q, focused %v; visible field errors %q",
		what, sel, s.Invalid, s.DescribedBy, s.Text, s.Summary, s.Focused, s.Visible)
	if s.Invalid != "true" {
		b.t.Errorf("%s: %s has aria-invalid=%q, want \"true\"", what, sel, s.Invalid)
	}
	switch {
	case s.Text == "" && len(s.Visible) == 0:
		b.t.Errorf("%s: no visible .field-error with words in it (aria-describedby=%q)", what, s.DescribedBy)
	case s.Text == "":
		b.t.Errorf("%s: %s's aria-describedby (%q) names no visible .field-error; visible ones: %q", what, sel, s.DescribedBy, s.Visible)
	case *s.Gap < -2 || *s.Gap > qMaxErrorGap:
		b.t.Errorf("%s: the field's error %q starts %.0f px under the field; want it right under it (0–%d px)", what, s.Text, *s.Gap, qMaxErrorGap)
	}
	if s.Summary == "" {
		b.t.Errorf("%s: the form's p.error[role=alert] says nothing", what)
	}
	if !s.Focused {
		b.t.Errorf("%s: focus is not on %s, the wrong field", what, sel)
	}
}

// qPick types query into the place picker name and picks code from its
// list, as a person taps it.
func qPick(b *browser, name, query, code string) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.CSS("input[name="+name+"]"), query))
	opt := `[role=listbox]:not([hidden]) li[role=option]`
	b.wait("place options for "+query, `[...document.querySelectorAll(`+jsString(opt)+`)].some(li => li.textContent.startsWith(`+jsString(code)+`))`)
	eval[bool](b, `(() => { const li = [...document.querySelectorAll(`+jsString(opt)+`)].find(li => li.textContent.startsWith(`+jsString(code)+`)); li.dataset.qpick = '1'; return true })()`)
	b.tap(`li[data-qpick="1"]`)
	eval[bool](b, `(document.querySelectorAll('[data-qpick]').forEach(e => delete e.dataset.qpick), true)`)
}

// qTripFormError: a trip saved with its arrival airport typed but not
// picked from the list shows the error at that field, and saves nothing.
func qTripFormError(b *browser, q *qFixture) {
	t := b.t
	var before struct {
		Trips []json.RawMessage `json:"trips"`
	}
	q.api.json("GET", "/api/v1/trips", nil, 200, &before)
	qGo(b, "#/trips/new", `!!document.querySelector('main form input[name=from]')`)
	la, _ := time.LoadLocation("America/Los_Angeles")
	day := time.Now().In(la).AddDate(0, 0, 30).Format("2006-01-02")
	next := time.Now().In(la).AddDate(0, 0, 31).Format("2006-01-02")
	b.set("input[name=trip_name]", "Half term")
	qPick(b, "from", "san fran", "SFO")
	b.set("input[name=depart_date]", day)
	b.set("input[name=depart_time]", "20:45")
	b.do(chromedp.SendKeys(chromedp.CSS("input[name=to]"), "Heathrow"))
	b.set("input[name=arrive_date]", next)
	b.set("input[name=arrive_time]", "15:05")
	qShot(b, "trip-form-filled", qPhone)
	qCheckFieldError(b, "main form button[type=submit]", "main form input[name=to]", "the trip form with an airport typed, not picked")
	qShot(b, "trip-form-error", qPhone)
	time.Sleep(time.Second)
	var after struct {
		Trips []json.RawMessage `json:"trips"`
	}
	q.api.json("GET", "/api/v1/trips", nil, 200, &after)
	if len(after.Trips) != len(before.Trips) || b.waiting() != 0 {
		t.Errorf("the trip with an unpicked airport was saved: %d trips at the hub (were %d), %d waiting on the phone", len(after.Trips), len(before.Trips), b.waiting())
	}
}

// qMemberFormError: a person saved with an empty name shows the error at
// the name, and the hub keeps the name.
func qMemberFormError(b *browser, q *qFixture) {
	t := b.t
	qGo(b, "#/family/"+q.kemi.String(), `!!document.querySelector('main form input[name=display_name]')`)
	b.set("main form input[name=display_name]", "")
	qCheckFieldError(b, "main form button[type=submit]", "main form input[name=display_name]", "the member form with an empty name")
	qShot(b, "member-error", qPhone)
	time.Sleep(time.Second)
	var m struct {
		Data struct {
			DisplayName string `json:"display_name"`
		} `json:"data"`
	}
	q.api.json("GET", "/api/v1/members/"+q.kemi.String(), nil, 200, &m)
	if m.Data.DisplayName != "Kemi" || b.waiting() != 0 {
		t.Errorf("after saving an empty name, the hub has %q, %d waiting on the phone", m.Data.DisplayName, b.waiting())
	}
}

// qSetupFormError: first-run setup with a nap that has no time shows the
// error at the nap's time, and sets nothing up.
func qSetupFormError(b *browser, api *client, base string) {
	t := b.t
	qLoad(b, base+"/#/setup", `location.hash === '#/setup' && !!document.querySelector('main form input[name=family_name]')`)
	la, _ := time.LoadLocation("America/Los_Angeles")
	b.set("input[name=family_name]", "The Okafors")
	b.set("select[name=family_home_tz]", "America/Los_Angeles")
	person := "fieldset.member-form "
	b.set(person+"input[name=display_name]", "Kemi")
	b.set(person+"input[name=birth_date]", time.Now().In(la).AddDate(-2, -1, 0).Format("2006-01-02"))
	b.set(person+"input[name=sleep_time]", "19:30")
	b.set(person+"input[name=wake_time]", "06:30")
	b.click(person + "button[data-action=add-nap]")
	b.wait("the nap row", `!!document.querySelector(`+jsString(person+"input[name=nap_start]")+`)`)
	qCheckFieldError(b, "main form button[type=submit]", person+"input[name=nap_start]", "setup with a nap without a time")
	qShot(b, "setup-error", qPhone)
	time.Sleep(time.Second)
	var fam struct {
		SetupRequired bool `json:"setup_required"`
	}
	api.json("GET", "/api/v1/family", nil, 200, &fam)
	if !fam.SetupRequired {
		t.Errorf("setup with a nap without a time was saved: the hub no longer asks for setup")
	}
}

// TestLighthouseReport runs Lighthouse (accessibility and best practices,
// mobile) on Today, the trip page and the baby's log of a family of five
// with a trip, and writes the reports and scores.txt to
// ZONER_LIGHTHOUSE_OUT. Slow, so only when ZONER_LIGHTHOUSE=1:
// `go tool task lighthouse` (deploy/local/lighthouse.sh) runs it.
func TestLighthouseReport(t *testing.T) {
	if os.Getenv("ZONER_LIGHTHOUSE") != "1" {
		t.Skip("set ZONER_LIGHTHOUSE=1 (go tool task lighthouse does)")
	}
	cli, out := os.Getenv("ZONER_LIGHTHOUSE_CLI"), os.Getenv("ZONER_LIGHTHOUSE_OUT")
	if cli == "" || out == "" {
		t.Fatal("set ZONER_LIGHTHOUSE_CLI to the lighthouse command and ZONER_LIGHTHOUSE_OUT to a folder (deploy/local/lighthouse.sh does)")
	}
	exe := chromium(t)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	q := qFamilyOfFive(t)
	pages := []struct{ name, hash string }{
		{"today", "#/today"},
		{"trip", "#/trips/" + q.trip.String()},
		{"log", "#/log/" + q.tobi.String()},
	}
	var lines []string
	for _, p := range pages {
		base := filepath.Join(out, p.name)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, cli, q.m.URL+"/"+p.hash,
			"--only-categories=accessibility,best-practices", "--form-factor=mobile",
			"--output=json", "--output=html", "--output-path="+base,
			"--max-wait-for-load=20000", "--quiet",
			"--chrome-flags=--headless=new --no-sandbox --disable-gpu --lang=en-GB")
		cmd.Env = append(os.Environ(), "CHROME_PATH="+exe, "TZ=America/Los_Angeles")
		msg, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("lighthouse on %s: %v\n%s", p.name, err, msg)
			continue
		}
		raw, err := os.ReadFile(base + ".report.json")
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Categories map[string]struct {
				Title     string   `json:"title"`
				Score     *float64 `json:"score"`
				AuditRefs []struct {
					ID     string  `json:"id"`
					Weight float64 `json:"weight"`
				} `json:"auditRefs"`
			} `json:"categories"`
			Audits map[string]struct {
				Score            *float64 `json:"score"`
				ScoreDisplayMode string   `json:"scoreDisplayMode"`
			} `json:"audits"`
		}
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatal(err)
		}
		line := p.name + ":"
		for _, c := range []string{"accessibility", "best-practices"} {
			cat := rep.Categories[c]
			score := "n/a"
			if cat.Score != nil {
				score = fmt.Sprintf("%.0f", *cat.Score*100)
			}
			var failed []string
			for _, ref := range cat.AuditRefs {
				a := rep.Audits[ref.ID]
				if a.Score != nil && *a.Score < 1 && (a.ScoreDisplayMode == "binary" || a.ScoreDisplayMode == "numeric") {
					failed = append(failed, ref.ID)
				}
			}
			line += fmt.Sprintf(" %s %s", cat.Title, score)
			if len(failed) > 0 {
				line += " (failed: " + strings.Join(failed, ", ") + ")"
			}
			line += ";"
		}
		lines = append(lines, strings.TrimSuffix(line, ";"))
		t.Log(lines[len(lines)-1])
	}
	text := "Lighthouse " + qLighthouseVersion(cli) + ", mobile, a family of five with a two-week trip:\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(out, "scores.txt"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// qLighthouseVersion is what `lighthouse --version` says.
func qLighthouseVersion(cli string) string {
	v, err := exec.Command(cli, "--version").Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(string(v))
}
