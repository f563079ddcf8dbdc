package http_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// TestExport: the export holds every event of the family, once, in log
// order, each a line that reads back as an event of the contract; an
// import's sleeps are in it.
func TestExport(t *testing.T) {
	h := mustOpenImportHub(t, 0)
	if a := h.upload(t, importAda, "", "text/csv", readTestdata(t, "sleep.csv")); a.status != http.StatusOK {
		t.Fatalf("import: %d %s", a.status, a.body)
	}
	a := h.do("GET", "/api/v1/export", nil)
	if a.status != http.StatusOK {
		t.Fatalf("export: %d %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/jsonl" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := a.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="zoner-`) || !strings.HasSuffix(cd, `.jsonl"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	types := map[syncproto.Type]int{}
	ids := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		e, err := syncproto.Unmarshal(sc.Bytes())
		if err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if ids[e.ID.String()] {
			t.Errorf("event %s twice", e.ID)
		}
		ids[e.ID.String()] = true
		types[e.Type]++
	}
	// Setup (family and two members), a removal, and the CSV's two
	// nights and a nap.
	want := map[syncproto.Type]int{syncproto.TypeFamilyUpserted: 1, syncproto.TypeMemberUpserted: 2, syncproto.TypeMemberRemoved: 1, syncproto.TypeSleep: 3}
	for typ, n := range want {
		if types[typ] != n {
			t.Errorf("%d %s events, want %d (all: %v)", types[typ], typ, n, types)
		}
	}
	if len(ids) != 7 {
		t.Errorf("%d events exported, want 7", len(ids))
	}

	// More than a page of the store's: 1,100 more nights, all exported.
	var csv strings.Builder
	csv.WriteString("start,end,kind\n")
	day := time.Date(2020, 1, 1, 23, 0, 0, 0, time.UTC)
	for i := range 1100 {
		d := day.AddDate(0, 0, i)
		fmt.Fprintf(&csv, "%s,%s,sleep\n", d.Format(time.RFC3339), d.Add(8*time.Hour).Format(time.RFC3339))
	}
	if a := h.upload(t, importAda, "", "text/csv", []byte(csv.String())); a.status != http.StatusOK {
		t.Fatalf("import: %d %s", a.status, a.body)
	}
	a = h.do("GET", "/api/v1/export", nil)
	if n := bytes.Count(a.body, []byte("\n")); a.status != http.StatusOK || n != 1107 {
		t.Errorf("export after 1,100 more nights: %d, %d lines, want 1107", a.status, n)
	}
}
