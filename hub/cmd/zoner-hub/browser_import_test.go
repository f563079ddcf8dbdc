//go:build integration

package main

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserImport: on a 360-px phone, a parent opens Ada's page, follows
// "Import sleep history", and uploads a CSV (whose local times bring up the
// zone picker) and an Apple Health export.zip. Each answer is a sentence
// saying what was added; the same file again adds nothing; a broken file's
// line shows on the file field and adds nothing. The screen has no
// serious accessibility fault, no text under 13 px and nothing sideways.
func TestBrowserImport(t *testing.T) {
	shots := screenshotDir(t)
	m := mustRun(t, t.TempDir(), realClock)
	f := newFamily(t)
	c := &client{tb: t, base: m.URL}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	ada := f.ada.String()

	testdata := filepath.Join("..", "..", "importer", "testdata")
	dir := t.TempDir()
	appleXML, err := os.ReadFile(filepath.Join(testdata, "export.xml"))
	if err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "export.zip")
	zf, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(zf)
	w, err := zw.Create("apple_health_export/export.xml")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(appleXML)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zf.Close()
	csvPath, err := filepath.Abs(filepath.Join(testdata, "sleep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	brokenPath, _ := filepath.Abs(filepath.Join(testdata, "broken.csv"))

	b := newBrowser(t, m.URL, shots, "Europe/London")
	b.do(chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
	b.do(chromedp.Navigate(m.URL + "/#/family/" + ada))
	b.wait("Ada's page", `!!document.querySelector('a[href="#/members/`+ada+`/import"]')`)
	b.click(`a[href="#/members/` + ada + `/import"]`)
	b.wait("the import screen", `location.hash === '#/members/`+ada+`/import' && !!document.querySelector('main input[type=file]')`)
	if eval[bool](b, `!document.querySelector('main select[name=tz]').closest('.field').hidden`) {
		t.Errorf("the zone picker shows before a file is picked")
	}

	logLen := func() int {
		var s struct {
			LogSeq int `json:"log_seq"`
		}
		c.json("GET", "/api/v1/sync", nil, 200, &s)
		return s.LogSeq
	}
	upload := func(path, want string) string {
		t.Helper()
		b.do(chromedp.SetUploadFiles(chromedp.CSS("main input[type=file]"), []string{path}))
		b.wait("the file picked", `document.querySelector('main input[type=file]').files.length === 1`)
		b.click("main form button[type=submit]")
		b.wait(want, `(() => { const r = document.querySelector('main .import-result').textContent, e = document.querySelector('main p.error').textContent;
			return `+want+`; })()`)
		return eval[string](b, `document.querySelector('main .import-result').textContent || document.querySelector('main p.error').textContent`)
	}

	// The CSV: local times, so the zone picker shows, set to Ada's home.
	before := logLen()
	b.do(chromedp.SetUploadFiles(chromedp.CSS("main input[type=file]"), []string{csvPath}))
	b.wait("the zone picker", `!document.querySelector('main select[name=tz]').closest('.field').hidden`)
	if z := eval[string](b, `document.querySelector('main select[name=tz]').value`); z != "America/Los_Angeles" {
		t.Errorf("the zone picker starts at %q, not Ada's home zone", z)
	}
	got := upload(csvPath, `r.startsWith('Added')`)
	if want := "Added 2 nights and 1 nap from Jan 2, 2024 to Jan 3, 2024. 0 were already there."; got != want {
		t.Errorf("CSV: %q, want %q", got, want)
	}
	if n := logLen() - before; n != 3 {
		t.Errorf("the CSV added %d events, want 3", n)
	}
	checkImportScreen(t, b, "import-csv")

	got = upload(csvPath, `r.startsWith('Nothing added')`)
	if !strings.Contains(got, "were already there") {
		t.Errorf("CSV again: %q", got)
	}

	// The Apple zip: its times carry offsets, so no zone picker.
	before = logLen()
	b.do(chromedp.SetUploadFiles(chromedp.CSS("main input[type=file]"), []string{zipPath}))
	b.wait("no zone picker for a zip", `document.querySelector('main select[name=tz]').closest('.field').hidden`)
	got = upload(zipPath, `r.startsWith('Added')`)
	if !regexp.MustCompile(`^Added 2 nights, 1 nap and 1 time in daylight from Jan 2, 2024 to Jan 4, 2024\. 0 were already there\.$`).MatchString(got) {
		t.Errorf("Apple zip: %q", got)
	}
	added := logLen() - before
	got = upload(zipPath, `r.startsWith('Nothing added')`)
	if !strings.HasPrefix(got, "Nothing added") || logLen() != before+added {
		t.Errorf("Apple zip again: %q, log %d → %d", got, before+added, logLen())
	}

	// The other formats, each once and again: Fitbit's zone-less times
	// (the zone picker shows), Oura's, and Apple's bare export.xml. Each
	// file here is a fresh member's history, so the first upload adds
	// and the second adds nothing.
	for _, tc := range []struct{ file, picker string }{
		{"sleep-2024-01-02.json", "shown"},
		{"oura_sleep.json", "hidden"},
		{"export.xml", "hidden"},
	} {
		path, err := filepath.Abs(filepath.Join(testdata, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		b.do(chromedp.SetUploadFiles(chromedp.CSS("main input[type=file]"), []string{path}))
		hidden := tc.picker == "hidden"
		b.wait(tc.file+": zone picker "+tc.picker, fmt.Sprintf(`document.querySelector('main select[name=tz]').closest('.field').hidden === %t`, hidden))
		before := logLen()
		got := upload(path, `r.startsWith('Added') || r.startsWith('Nothing added')`)
		added := logLen() - before
		if tc.file == "export.xml" {
			// The same records as the zip: already there.
			if !strings.HasPrefix(got, "Nothing added") || added != 0 {
				t.Errorf("%s after the zip: %q, %d events added", tc.file, got, added)
			}
			continue
		}
		if !strings.HasPrefix(got, "Added") || added == 0 {
			t.Errorf("%s: %q, %d events added", tc.file, got, added)
		}
		got = upload(path, `r.startsWith('Nothing added')`)
		if n := logLen() - before; n != added {
			t.Errorf("%s again: %q, the log grew by %d", tc.file, got, n-added)
		}
	}

	// A broken file: the line at fault on the file field; nothing added.
	before = logLen()
	b.noConsoleErrors("imports")
	b.allow.Store(regexp.MustCompile(`status of 400`)) // the hub's refusal, as the browser logs it
	got = upload(brokenPath, `e.length > 0`)
	if !strings.Contains(got, "Line 3") || !strings.Contains(got, "siesta") {
		t.Errorf("broken file: %q", got)
	}
	if msg := eval[string](b, `document.querySelector('main .field-error')?.textContent || ''`); !strings.Contains(msg, "nothing was stored") {
		t.Errorf("the file field's error: %q", msg)
	}
	if eval[string](b, `document.querySelector('main input[type=file]').getAttribute('aria-invalid') || ''`) != "true" {
		t.Errorf("the file field is not marked invalid")
	}
	if logLen() != before {
		t.Errorf("a broken file added %d events", logLen()-before)
	}
	checkImportScreen(t, b, "import-broken")

	// Three weeks of recent nights, later than Ada's usual 23:00: the hub
	// learns her clock from them, and her page says so in words.
	la, _ := time.LoadLocation("America/Los_Angeles")
	var rows strings.Builder
	rows.WriteString("start,end,kind\n")
	for d := 21; d >= 1; d-- {
		day := time.Now().In(la).AddDate(0, 0, -d)
		start := time.Date(day.Year(), day.Month(), day.Day(), 0, 40, 0, 0, la).Add(time.Duration((d*37)%41-20) * time.Minute)
		fmt.Fprintf(&rows, "%s,%s,sleep\n", start.Format(time.RFC3339), start.Add(7*time.Hour+45*time.Minute).Format(time.RFC3339))
	}
	recent := filepath.Join(dir, "recent.csv")
	if err := os.WriteFile(recent, []byte(rows.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got = upload(recent, `r.startsWith('Added')`)
	if !strings.HasPrefix(got, "Added 21 nights") {
		t.Errorf("recent nights: %q", got)
	}
	// The hub learns in the background; the page reads what it learned
	// when it opens.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var clk struct {
			Updating bool `json:"updating"`
			Clock    *struct {
				Nights int `json:"nights"`
			} `json:"clock"`
		}
		c.json("GET", "/api/v1/members/"+ada+"/clock", nil, 200, &clk)
		if clk.Clock != nil && clk.Clock.Nights == 21 && !clk.Updating {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub learned nothing from 21 imported nights in a minute: %+v", clk)
		}
	}
	b.do(chromedp.Navigate(m.URL + "/#/family"))
	b.do(chromedp.Navigate(m.URL + "/#/family/" + ada))
	b.wait("Ada's page", `!!document.querySelector('[data-clock-summary]') && !document.querySelector('[data-clock-summary]').textContent.startsWith('Reading')`)
	summary := eval[string](b, `document.querySelector('[data-clock-summary]').textContent`)
	t.Logf("Ada's page: %q", summary)
	if !regexp.MustCompile(`^Ada's (body )?clock .* from 21 nights`).MatchString(summary) {
		t.Errorf("Ada's page after 21 nights: %q", summary)
	}
	checkImportScreen(t, b, "member-clock")
	b.noConsoleErrors("import screen")
}

// checkImportScreen: nothing sideways at 360 px, no text under 13 px, and
// axe-core (when ZONER_AXE is set) finds nothing serious.
func checkImportScreen(t *testing.T, b *browser, name string) {
	t.Helper()
	v := qViewport{360, 740, true}
	qCheckOverflow(b, v, name)
	small := eval[[]string](b, `[...document.querySelectorAll('main *')].filter((el) => {
		if (!el.offsetParent || ![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) return false;
		return parseFloat(getComputedStyle(el).fontSize) < 13;
	}).map((el) => el.tagName + ': ' + el.textContent.trim().slice(0, 40) + ' (' + getComputedStyle(el).fontSize + ')')`)
	for _, s := range small {
		t.Errorf("%s: text under 13 px: %s", name, s)
	}
	if src := os.Getenv("ZONER_AXE"); src != "" {
		js, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		qCheckAxe(b, string(js), name)
	} else {
		t.Log("ZONER_AXE is not set: the import screen was not checked with axe-core")
	}
	b.shot(name)
}
