package importer

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zoner-family/zoner/syncproto"
)

var (
	family = uuid.MustParse("01a2156f-95c5-7a2a-bb93-2b796a20f766")
	member = uuid.MustParse("01a2156f-95c8-7cde-b1b3-9a5db552d71d")
)

func opts() Options {
	return Options{FamilyID: family, MemberID: member, TZ: "America/Los_Angeles"}
}

// got is one event in a form a table can spell.
type got struct {
	typ        syncproto.Type
	start, end string
	nap        bool
}

func summarize(es []syncproto.Envelope) []got {
	var out []got
	for _, e := range es {
		g := got{typ: e.Type, start: e.Start.Format(time.RFC3339), end: e.End.Format(time.RFC3339)}
		if s, ok := e.Data.(*syncproto.Sleep); ok {
			g.nap = s.Nap
		}
		out = append(out, g)
	}
	return out
}

func importFile(t *testing.T, name string) *Result {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(bytes.NewReader(b), int64(len(b)), opts())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// appleZip wraps testdata/export.xml as Apple's export.zip does.
func appleZip(t testing.TB) []byte {
	x, err := os.ReadFile("testdata/export.xml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"apple_health_export/export_cda.xml", "apple_health_export/export.xml"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "cda.xml") {
			_, err = w.Write([]byte("<ClinicalDocument/>"))
		} else {
			_, err = w.Write(x)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var appleWant = []got{
	{syncproto.TypeSleep, "2024-01-02T23:10:00-08:00", "2024-01-03T06:50:00-08:00", false},
	{syncproto.TypeLightExposure, "2024-01-03T09:00:00-08:00", "2024-01-03T09:22:00-08:00", false},
	{syncproto.TypeSleep, "2024-01-03T23:30:00-08:00", "2024-01-04T07:00:00-08:00", false},
	{syncproto.TypeSleep, "2024-01-04T13:00:00-08:00", "2024-01-04T13:45:00-08:00", true},
}

func TestFormats(t *testing.T) {
	zipped := appleZip(t)
	for _, tc := range []struct {
		file   string
		data   []byte
		format Format
		want   []got
	}{
		{file: "export.xml", format: AppleHealth, want: appleWant},
		{file: "export.zip", data: zipped, format: AppleHealth, want: appleWant},
		{file: "sleep-2024-01-02.json", format: Fitbit, want: []got{
			{syncproto.TypeSleep, "2024-01-02T23:10:30-08:00", "2024-01-03T06:50:30-08:00", false},
			{syncproto.TypeSleep, "2024-01-03T14:05:00-08:00", "2024-01-03T14:50:00-08:00", true},
		}},
		{file: "oura_sleep.json", format: Oura, want: []got{
			{syncproto.TypeSleep, "2024-01-02T23:02:41-08:00", "2024-01-03T06:58:13-08:00", false},
			{syncproto.TypeSleep, "2024-01-03T15:12:00-08:00", "2024-01-03T15:48:30-08:00", true},
		}},
		{file: "sleep.csv", format: CSV, want: []got{
			{syncproto.TypeSleep, "2024-01-02T23:10:00-08:00", "2024-01-03T06:50:00-08:00", false},
			{syncproto.TypeSleep, "2024-01-03T13:00:00-08:00", "2024-01-03T13:45:00-08:00", true},
			{syncproto.TypeSleep, "2024-01-03T23:30:00-08:00", "2024-01-04T07:00:00-08:00", false},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := tc.data
			if data == nil {
				var err error
				if data, err = os.ReadFile("testdata/" + tc.file); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Import(bytes.NewReader(data), int64(len(data)), opts())
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != tc.format {
				t.Errorf("format %s, want %s", res.Format, tc.format)
			}
			if g := summarize(res.Events); fmt.Sprint(g) != fmt.Sprint(tc.want) {
				t.Errorf("events\n got %v\nwant %v", g, tc.want)
			}
			for _, e := range res.Events {
				// What the hub will receive: canonical bytes that
				// decode and validate, a v7 id, the member's zone.
				raw, err := syncproto.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := syncproto.Unmarshal(raw); err != nil {
					t.Errorf("%s: %v", raw, err)
				}
				if e.ID.Version() != 7 || e.FamilyID != family || e.MemberID != member || e.TZ != "America/Los_Angeles" {
					t.Errorf("header %+v", e.Header)
				}
				if e.Origin != "import:"+string(tc.format) {
					t.Errorf("origin %q", e.Origin)
				}
			}
		})
	}
}

func canonical(t *testing.T, r *Result) []string {
	t.Helper()
	var out []string
	for _, e := range r.Events {
		b, err := syncproto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// Re-importing gives byte-identical events (id, hlc and all), which the
// hub answers as a retry; another member's import gives other ids.
func TestReimportIdentical(t *testing.T) {
	for _, f := range []string{"export.xml", "sleep-2024-01-02.json", "oura_sleep.json", "sleep.csv"} {
		t.Run(f, func(t *testing.T) {
			a, b := canonical(t, importFile(t, f)), canonical(t, importFile(t, f))
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatalf("re-import differs:\n%v\n%v", a, b)
			}
			data, _ := os.ReadFile("testdata/" + f)
			o := opts()
			o.MemberID = uuid.MustParse("01a2156f-95cf-7316-85de-05cb388995a2")
			other, err := Import(bytes.NewReader(data), int64(len(data)), o)
			if err != nil {
				t.Fatal(err)
			}
			first := importFile(t, f)
			for i := range other.Events {
				if other.Events[i].ID == first.Events[i].ID {
					t.Errorf("two members share id %s", first.Events[i].ID)
				}
			}
		})
	}
	// The zip and the bare XML are the same records, so the same events.
	z := appleZip(t)
	rz, err := Import(bytes.NewReader(z), int64(len(z)), opts())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(canonical(t, rz)) != fmt.Sprint(canonical(t, importFile(t, "export.xml"))) {
		t.Error("export.zip and export.xml import differently")
	}
}

func TestBroken(t *testing.T) {
	apple, _ := os.ReadFile("testdata/export.xml")
	fitbit, _ := os.ReadFile("testdata/sleep-2024-01-02.json")
	oura, _ := os.ReadFile("testdata/oura_sleep.json")
	csvBroken, _ := os.ReadFile("testdata/broken.csv")
	for _, tc := range []struct {
		name string
		data string
		want string
	}{
		{"csv bad kind", string(csvBroken), `import csv: line 3: kind "siesta" is not sleep or nap; nothing was imported`},
		{"csv bad time", "start,end,kind\n2024-01-02T23:10:00-08:00,yesterday,sleep\n", `import csv: line 2: end: "yesterday" is not an RFC 3339 time`},
		{"csv night too long", "start,end,kind\n2024-01-01 20:00,2024-01-03 07:00,sleep\n", `import csv: line 2: sleep 2024-01-01T20:00:00-08:00–2024-01-03T07:00:00-08:00 is not a valid event`},
		{"csv nap too long", "start,end,kind\n2024-01-01 08:00,2024-01-01 15:00,nap\n", `import csv: line 2: sleep`},
		{"csv header", "start,stop,kind\n", `import csv: line 1: header column 2 is "stop", not "end"`},
		{"not csv", "from,to,what\n", `import: not an Apple Health, Fitbit, Oura or start,end,kind CSV export; nothing was imported`},
		{"apple bad date", strings.Replace(string(apple), `startDate="2024-01-03 00:40:00 -0800"`, `startDate="2024-01-03T00:40:00Z"`, 1),
			`import apple-health: line 16: startDate "2024-01-03T00:40:00Z" is not like 2024-01-02 23:10:00 -0800`},
		{"apple bad value", strings.Replace(string(apple), `AsleepREM`, `AsleepLight`, 1),
			`import apple-health: line 17: sleep analysis value "HKCategoryValueSleepAnalysisAsleepLight" is not one Apple documents`},
		{"apple truncated", string(apple[:len(apple)-40]), `import apple-health: line `},
		{"fitbit no end", strings.Replace(string(fitbit), `"endTime" : "2024-01-03T14:50:00.000"`, `"endTime" : "soon"`, 1),
			`import fitbit: record 2 (logId 44719001337): endTime "soon"`},
		{"fitbit truncated", string(fitbit[:200]), `import fitbit: `},
		{"oura bad type", strings.Replace(string(oura), `"late_nap"`, `"siesta"`, 1),
			`import oura: sleep[1] (id 1c7a2cb3-8e7c-4f29-a0e2-58d4a40b5e01): type "siesta"`},
		{"oura ends before start", strings.Replace(string(oura), `"2024-01-03T06:58:13-08:00"`, `"2024-01-02T06:58:13-08:00"`, 1),
			`import oura: sleep[0] (id 8f9a5221-639e-4a85-81cb-4065ef23f979): sleep 2024-01-02T23:02:41-08:00–2024-01-02T06:58:13-08:00 is not a valid event`},
		{"unknown", "hello", "not an Apple Health, Fitbit, Oura or start,end,kind CSV export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Import(strings.NewReader(tc.data), int64(len(tc.data)), opts())
			if err == nil {
				t.Fatalf("imported %d events from a broken file", len(res.Events))
			}
			if res != nil {
				t.Errorf("a result beside the error: %+v", res)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n got %v\nwant %s", err, tc.want)
			}
			var ie *Error
			if !errors.As(err, &ie) {
				t.Errorf("%T is not an *Error", err)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	data, _ := os.ReadFile("testdata/sleep.csv")
	for _, o := range []Options{
		{MemberID: member, TZ: "Europe/London"},
		{FamilyID: family, MemberID: member, TZ: "Local"},
		{FamilyID: family, MemberID: member, TZ: "Mars/Olympus"},
	} {
		if _, err := Import(bytes.NewReader(data), int64(len(data)), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	o := opts()
	o.MaxEvents = 2
	if _, err := Import(bytes.NewReader(data), int64(len(data)), o); err == nil || !strings.Contains(err.Error(), "line 4: more than 2 events") {
		t.Errorf("bound: %v", err)
	}
}

// syntheticApple writes an Apple export.xml of about size bytes: a night of
// sleep stages and daylight samples each day, buried in step counts, as
// real exports are.
func syntheticApple(w io.Writer, size int64) (nights int, err error) {
	cw := &countWriter{w: w}
	fmt.Fprint(cw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<HealthData locale="en_US">`+"\n")
	const layout = "2006-01-02 15:04:05 -0700"
	day := time.Date(2010, 1, 1, 0, 0, 0, 0, time.FixedZone("", -8*3600))
	for cw.n < size {
		for m := 0; m < 24*60 && cw.n < size; m += 2 {
			s := day.Add(time.Duration(m) * time.Minute)
			fmt.Fprintf(cw, ` <Record type="HKQuantityTypeIdentifierStepCount" sourceName="iPhone" sourceVersion="17.2" unit="count" creationDate="%s" startDate="%s" endDate="%s" value="%d"/>`+"\n",
				s.Add(2*time.Minute).Format(layout), s.Format(layout), s.Add(2*time.Minute).Format(layout), m%97)
		}
		bed := day.Add(23 * time.Hour)
		at := bed
		for i, v := range []string{"AsleepCore", "AsleepDeep", "AsleepREM", "Awake", "AsleepCore"} {
			next := at.Add(time.Duration([]int{90, 60, 80, 10, 150}[i]) * time.Minute)
			fmt.Fprintf(cw, ` <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="Watch" sourceVersion="10.2" creationDate="%s" startDate="%s" endDate="%s" value="HKCategoryValueSleepAnalysis%s"/>`+"\n",
				bed.Add(8*time.Hour).Format(layout), at.Format(layout), next.Format(layout), v)
			at = next
		}
		fmt.Fprintf(cw, ` <Record type="HKQuantityTypeIdentifierTimeInDaylight" sourceName="Watch" sourceVersion="10.2" unit="min" creationDate="%s" startDate="%s" endDate="%s" value="17"/>`+"\n",
			day.Add(10*time.Hour).Format(layout), day.Add(9*time.Hour).Format(layout), day.Add(10*time.Hour).Format(layout))
		nights++
		day = day.AddDate(0, 0, 1)
	}
	fmt.Fprint(cw, "</HealthData>\n")
	return nights, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// importSynthetic streams a generated export of size bytes through a pipe
// into ImportReader, sampling the live heap as it goes.
func importSynthetic(tb testing.TB, size int64) (res *Result, nights int, peakHeap uint64) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		n, err := syntheticApple(pw, size)
		nights = n
		pw.CloseWithError(err)
		close(done)
	}()
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	o := opts()
	res, err := ImportReader(pr, o)
	close(stop)
	<-sampled
	<-done
	if err != nil {
		tb.Fatal(err)
	}
	return res, nights, peak.Load()
}

// A 200 MB export streams: the heap stays a small fraction of the file.
func TestAppleStreams200MB(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and parses 200 MB")
	}
	const size = 200 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	res, nights, peak := importSynthetic(t, size)
	if res.Nights != nights || res.Light != nights || res.Naps != 0 {
		t.Errorf("%d nights and %d daylight events, want %d of each", res.Nights, res.Light, nights)
	}
	grown := int64(peak) - int64(before.HeapInuse)
	t.Logf("200 MB export: %d nights, %d events, %d records skipped; heap in use peaked %.1f MiB above the start",
		nights, len(res.Events), res.Skipped, float64(grown)/(1<<20))
	if grown > 48<<20 {
		t.Errorf("heap grew %d MiB while streaming 200 MiB: not streaming", grown>>20)
	}
}

// BenchmarkApple200MB reports the bytes allocated (in total, most of it
// short-lived tokens) and the peak heap for a 200 MB export.
func BenchmarkApple200MB(b *testing.B) {
	const size = 200 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		_, _, p := importSynthetic(b, size)
		peak = max(peak, p)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
