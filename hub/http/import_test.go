package http_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	hubhttp "github.com/zoner-family/zoner/hub/http"
	"github.com/zoner-family/zoner/hub/importer"
	"github.com/zoner-family/zoner/hub/sqlite"
	"github.com/zoner-family/zoner/internal/httpx"
	"github.com/zoner-family/zoner/syncproto"
)

// memLog is an in-memory event log and feed: an id already held is a
// duplicate, and Next waits for the next appended event.
type memLog struct {
	mu     sync.Mutex
	events []hub.Event
	ids    map[uuid.UUID]uint64
	next   int
	grew   chan struct{}
}

func newMemLog() *memLog { return &memLog{ids: map[uuid.UUID]uint64{}, grew: make(chan struct{})} }

func (l *memLog) Append(_ context.Context, events []hub.Event) ([]hub.Appended, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]hub.Appended, 0, len(events))
	for _, e := range events {
		if seq, ok := l.ids[e.Header.ID]; ok {
			out = append(out, hub.Appended{Seq: seq, Duplicate: true})
			continue
		}
		e.Seq = uint64(len(l.events) + 1)
		l.events = append(l.events, e)
		l.ids[e.Header.ID] = e.Seq
		out = append(out, hub.Appended{Seq: e.Seq})
	}
	close(l.grew)
	l.grew = make(chan struct{})
	return out, nil
}

func (l *memLog) LastSeq(context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(len(l.events)), nil
}

func (l *memLog) Next(ctx context.Context, limit int) ([]hub.Event, func() error, error) {
	for {
		l.mu.Lock()
		if l.next < len(l.events) {
			batch := append([]hub.Event(nil), l.events[l.next:min(l.next+limit, len(l.events))]...)
			l.next += len(batch)
			l.mu.Unlock()
			return batch, func() error { return nil }, nil
		}
		grew := l.grew
		l.mu.Unlock()
		select {
		case <-grew:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

func (l *memLog) Reset(_ context.Context, start uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next = int(start) - 1
	return nil
}

func (l *memLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// sleepImporter is hub/importer as the server's SleepImporter, as the
// hub's command wires it.
type sleepImporter struct{}

func (sleepImporter) ImportAt(r io.ReaderAt, size int64, o hubhttp.ImportOptions) (*hubhttp.ImportResult, error) {
	return imported(importer.Import(r, size, importOptions(o)))
}

func (sleepImporter) ImportStream(r io.Reader, o hubhttp.ImportOptions) (*hubhttp.ImportResult, error) {
	return imported(importer.ImportReader(r, importOptions(o)))
}

func importOptions(o hubhttp.ImportOptions) importer.Options {
	return importer.Options{FamilyID: o.FamilyID, MemberID: o.MemberID, TZ: o.TZ, Format: importer.Format(o.Format)}
}

func imported(res *importer.Result, err error) (*hubhttp.ImportResult, error) {
	if err != nil {
		if ie, ok := errors.AsType[*importer.Error](err); ok {
			return nil, &hubhttp.ImportError{Format: string(ie.Format), Where: ie.Where, Err: ie.Err}
		}
		return nil, err
	}
	return &hubhttp.ImportResult{Format: string(res.Format), Events: res.Events,
		Nights: res.Nights, Naps: res.Naps, Light: res.Light, Skipped: res.Skipped}, nil
}

var (
	importFamily = uuid.MustParse("01a2156f-95c5-7a2a-bb93-2b796a20f766")
	importAda    = uuid.MustParse("01a2156f-95c8-7cde-b1b3-9a5db552d71d")
	importGone   = uuid.MustParse("01a2156f-95c8-7cde-b1b3-9a5db552d71e")
)

// importHub is a hub with a real state database and write path, whose
// family has Ada, and a member who was removed.
type importHub struct {
	*testHub
	log *memLog
	dir string
}

func mustOpenImportHub(t testing.TB, maxBytes int64) *importHub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logger := slog.New(slog.DiscardHandler)
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	log := newMemLog()
	m := hub.NewMetrics()
	p, err := hub.NewProjector(ctx, store, log, log, logger, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	go p.Run(ctx)
	w, err := hub.NewWriter(ctx, log, store, p, syncproto.NewClock(time.Now), m)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &hubhttp.Server{Store: store, Log: log, Projector: p, Broker: hub.NewBroker(), Metrics: m, Logger: logger,
		Limits:    hubhttp.Limits{WritesPerSecond: 1e6, WriteBurst: 1e6, ReadsPerSecond: 1e6, ReadBurst: 1e6},
		ImportDir: dir, MaxImportBytes: maxBytes, Importer: sleepImporter{}}
	s.Ready(w)
	h := &importHub{testHub: &testHub{handler: s.Handler()}, log: log, dir: dir}

	la := "America/Los_Angeles"
	clock := syncproto.NewClock(time.Now)
	ev := func(member uuid.UUID, data syncproto.Payload) syncproto.Envelope {
		return syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: importFamily, MemberID: member,
			Origin: "web:test", Type: data.Type(), Start: time.Now(), TZ: la, HLC: clock.Now(), V: syncproto.CurrentVersion}, Data: data}
	}
	person := func(name string) *syncproto.MemberUpserted {
		return &syncproto.MemberUpserted{DisplayName: name, AgeBand: syncproto.AgeAdult, HomeTZ: la,
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}
	}
	post := func(path string, es ...syncproto.Envelope) {
		var parts []string
		for _, e := range es {
			b, err := syncproto.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, string(b))
		}
		if a := h.do("POST", path, []byte("["+strings.Join(parts, ",")+"]")); a.status != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, a.status, a.body)
		}
	}
	post("/api/v1/setup", ev(uuid.Nil, &syncproto.FamilyUpserted{Name: "The Okafors", HomeTZ: la}),
		ev(importAda, person("Ada")), ev(importGone, person("Bo")))
	post("/api/v1/events", ev(importGone, &syncproto.MemberRemoved{}))
	return h
}

type importAnswer struct {
	Format                                    string
	TZ                                        string
	Nights, Naps, Light, Events, New, Already int
	Skipped                                   int
	First, Last                               string
}

func (h *importHub) upload(t testing.TB, member uuid.UUID, query, contentType string, body []byte) answer {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/members/"+member.String()+"/imports"+query, bytes.NewReader(body))
	req.RemoteAddr = "192.0.2.10:5000"
	req.Host = "127.0.0.1:8080"
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// sleeps counts the member's stored sleep and light events.
func (h *importHub) stored(t *testing.T, member uuid.UUID) (sleeps, light int) {
	t.Helper()
	for _, typ := range []string{"sleep", "light_exposure"} {
		after := 0
		for {
			a := h.do("GET", fmt.Sprintf("/api/v1/events?member=%s&type=%s&limit=1000&after=%d", member, typ, after), nil)
			var page struct {
				Events []json.RawMessage
				Next   int
			}
			if a.status != http.StatusOK || json.Unmarshal(a.body, &page) != nil {
				t.Fatalf("GET events: %d %s", a.status, a.body)
			}
			if typ == "sleep" {
				sleeps += len(page.Events)
			} else {
				light += len(page.Events)
			}
			if len(page.Events) == 0 || page.Next == after {
				break
			}
			after = page.Next
		}
	}
	return sleeps, light
}

func appleZip(t testing.TB, xml []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.Create("apple_health_export/export.xml")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(xml)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "importer", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportEachFormat(t *testing.T) {
	appleXML := readTestdata(t, "export.xml")
	for _, tc := range []struct {
		name, format, contentType string
		file, broken              []byte
		light                     bool
	}{
		{name: "Apple zip", format: "apple-health", contentType: "application/zip", file: appleZip(t, appleXML),
			broken: appleZip(t, bytes.Replace(appleXML, []byte("SleepAnalysisAsleepREM"), []byte("SleepAnalysisDozing"), 1)), light: true},
		{name: "Apple xml", format: "apple-health", contentType: "application/xml", file: appleXML,
			broken: appleXML[:len(appleXML)/2], light: true},
		{name: "Fitbit json", format: "fitbit", contentType: "application/json", file: readTestdata(t, "sleep-2024-01-02.json"),
			broken: []byte(`[{"logId": 1, "startTime": "yesterday", "endTime": "2024-01-03T06:40:00.000", "mainSleep": true}]`)},
		{name: "Oura json", format: "oura", contentType: "application/json", file: readTestdata(t, "oura_sleep.json"),
			broken: []byte(`{"sleep": [{"id": "a", "type": "long_sleep", "bedtime_start": "2024-01-02T23:00:00+01:00", "bedtime_end": 7}]}`)},
		{name: "CSV", format: "csv", contentType: "text/csv", file: readTestdata(t, "sleep.csv"), broken: readTestdata(t, "broken.csv")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustOpenImportHub(t, 0)
			before := h.log.len()

			// A broken file: a problem naming where, and nothing written.
			a := h.upload(t, importAda, "", tc.contentType, tc.broken)
			t.Logf("broken file: %s", a.body)
			e := a.errorOf(t)
			if e.Code != httpx.CodeInvalid || len(e.Problems) != 1 || e.Problems[0].Path != "body" ||
				!strings.ContainsAny(e.Problems[0].Rule, "0123456789") || !strings.Contains(e.Message, "nothing was stored") {
				t.Errorf("broken file: %d %s", a.status, a.body)
			}
			if h.log.len() != before {
				t.Fatalf("a broken file wrote %d events", h.log.len()-before)
			}

			a = h.upload(t, importAda, "", tc.contentType, tc.file)
			var got importAnswer
			if a.status != http.StatusOK || json.Unmarshal(a.body, &got) != nil {
				t.Fatalf("import: %d %s", a.status, a.body)
			}
			if got.Format != tc.format || got.Events == 0 || got.New != got.Events || got.Already != 0 ||
				got.Nights+got.Naps+got.Light != got.Events || got.First == "" || got.Last < got.First || got.TZ != "America/Los_Angeles" {
				t.Errorf("import answered %+v", got)
			}
			if tc.light && got.Light == 0 {
				t.Errorf("no daylight imported: %+v", got)
			}
			if h.log.len() != before+got.Events {
				t.Errorf("log grew by %d, want %d", h.log.len()-before, got.Events)
			}
			sleeps, light := h.stored(t, importAda)
			if sleeps != got.Nights+got.Naps || light != got.Light {
				t.Errorf("member has %d sleeps and %d light periods stored; the import said %+v", sleeps, light, got)
			}

			// The same file again: nothing new, the log as it was.
			length := h.log.len()
			a = h.upload(t, importAda, "", tc.contentType, tc.file)
			var again importAnswer
			if a.status != http.StatusOK || json.Unmarshal(a.body, &again) != nil {
				t.Fatalf("re-import: %d %s", a.status, a.body)
			}
			if again.New != 0 || again.Already != got.Events || h.log.len() != length {
				t.Errorf("re-import answered %+v, log %d → %d", again, length, h.log.len())
			}

			// Unknown and removed members.
			for _, m := range []uuid.UUID{uuid.MustParse("01a2156f-95c8-7cde-b1b3-000000000000"), importGone} {
				if e := h.upload(t, m, "", tc.contentType, tc.file).errorOf(t); e.Code != httpx.CodeNotFound {
					t.Errorf("member %s: %s", m, e.Code)
				}
			}
			if h.log.len() != length {
				t.Errorf("refused imports wrote %d events", h.log.len()-length)
			}
			if left, _ := filepath.Glob(filepath.Join(h.dir, "*")); len(left) > 0 {
				t.Errorf("spooled uploads left behind: %v", left)
			}
		})
	}
}

func TestImportTooLarge(t *testing.T) {
	h := mustOpenImportHub(t, 1024)
	big := appleZip(t, append(readTestdata(t, "export.xml"), bytes.Repeat([]byte("<!-- padding -->\n"), 200)...))
	for _, tc := range []struct {
		name, contentType string
		file              []byte
	}{
		{"zip", "application/zip", big},
		{"csv", "text/csv", append([]byte("start,end,kind\n"), bytes.Repeat([]byte("2024-01-02 23:00,2024-01-03 07:00,sleep\n"), 100)...)},
	} {
		if len(tc.file) <= 1024 {
			t.Fatalf("%s: test file of %d bytes is not over the cap", tc.name, len(tc.file))
		}
		before := h.log.len()
		a := h.upload(t, importAda, "", tc.contentType, tc.file)
		if e := a.errorOf(t); a.status != http.StatusRequestEntityTooLarge || e.Code != httpx.CodeTooLarge || !strings.Contains(e.Message, "1 KiB") && !strings.Contains(e.Message, "1024 bytes") {
			t.Errorf("%s: %d %s", tc.name, a.status, a.body)
		}
		if h.log.len() != before {
			t.Errorf("%s: an oversize file wrote events", tc.name)
		}
	}
	// Exactly at the cap is taken.
	csv := []byte("start,end,kind\n2024-01-02 23:00,2024-01-03 07:00,sleep\n")
	csv = append(csv, bytes.Repeat([]byte("\n"), 1024-len(csv))...)
	if a := h.upload(t, importAda, "", "text/csv", csv); a.status != http.StatusOK {
		t.Errorf("a file of exactly the cap: %d %s", a.status, a.body)
	}
	if left, _ := filepath.Glob(filepath.Join(h.dir, "*")); len(left) > 0 {
		t.Errorf("spooled uploads left behind: %v", left)
	}
}

func TestImportQuery(t *testing.T) {
	h := mustOpenImportHub(t, 0)
	csv := []byte("start,end,kind\n2024-01-02 23:00,2024-01-03 07:00,sleep\n")
	a := h.upload(t, importAda, "?format=garmin&tz=Mars/Olympus", "text/csv", csv)
	if e := a.errorOf(t); e.Code != httpx.CodeInvalid || len(e.Problems) != 2 || e.Problems[0].Path != "format" || e.Problems[1].Path != "tz" {
		t.Errorf("bad query: %s", a.body)
	}
	a = h.upload(t, importAda, "?format=csv&tz=Europe/London", "text/csv", csv)
	var got importAnswer
	if a.status != http.StatusOK || json.Unmarshal(a.body, &got) != nil || got.TZ != "Europe/London" || got.First != "2024-01-02" {
		t.Fatalf("import with tz: %d %s", a.status, a.body)
	}
	// The local times were read in London: 23:00 GMT.
	b := h.do("GET", "/api/v1/events?type=sleep&member="+importAda.String(), nil)
	if !bytes.Contains(b.body, []byte(`"start":"2024-01-02T23:00:00Z"`)) {
		t.Errorf("stored: %s", b.body)
	}
	if e := h.upload(t, importAda, "", "multipart/form-data; boundary=x", csv).errorOf(t); e.Code != httpx.CodeUnsupportedMediaType {
		t.Errorf("a form: %s", e.Code)
	}
}

// BenchmarkImportYear imports a year of nights and naps from a CSV (730
// events) into a fresh hub: the upload, the parse and the writes in
// batches through the write path, applied to a real state database.
func BenchmarkImportYear(b *testing.B) {
	var csv bytes.Buffer
	csv.WriteString("start,end,kind\n")
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 365 {
		d := day.AddDate(0, 0, i).Format(time.DateOnly)
		n := day.AddDate(0, 0, i+1).Format(time.DateOnly)
		fmt.Fprintf(&csv, "%s 23:%02d,%s 07:%02d,sleep\n%s 13:00,%s 13:45,nap\n", d, i%50, n, i%50, n, n)
	}
	body := csv.Bytes()
	var events int
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		h := mustOpenImportHub(b, 0)
		b.StartTimer()
		a := h.upload(b, importAda, "", "text/csv", body)
		var got importAnswer
		if a.status != http.StatusOK || json.Unmarshal(a.body, &got) != nil || got.New != 730 {
			b.Fatalf("import: %d %s", a.status, a.body)
		}
		events += got.New
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/year")
}
