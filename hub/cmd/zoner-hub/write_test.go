package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

var update = flag.Bool("update", false, "rewrite golden files")

// setupVectors are the syncproto vectors that set up the family the
// error cases refer to.
var setupVectors = []string{"family_upserted", "member_upserted_adult"}

func setupFromVectors(tb testing.TB, h http.Handler) {
	tb.Helper()
	var parts [][]byte
	for _, name := range setupVectors {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "syncproto", "testdata", "valid", name+".json"))
		if err != nil {
			tb.Fatal(err)
		}
		parts = append(parts, b)
	}
	body := append(append([]byte("["), bytes.Join(parts, []byte(","))...), ']')
	if code, b := serve(h, "POST", "/api/v1/setup", body); code != 200 {
		tb.Fatalf("setup: %d %s", code, b)
	}
}

// afterTheVectors sets the hub's clock after the stamps of the golden
// vectors, so that none is refused as stamped ahead of it.
func afterTheVectors(m *Main) {
	m.Now = func() time.Time { return time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC) }
}

// handler is m's HTTP handler, reached at the hub's own address (the hub
// refuses other names in the Host header).
func handler(m *Main) http.Handler {
	host := strings.TrimPrefix(m.URL, "http://")
	h := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Host = host
		h.ServeHTTP(w, r)
	})
}

func serve(h http.Handler, method, path string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.RemoteAddr = "127.0.0.1:1234"
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// Every refused write answers a 4xx with the problems in syncproto's
// words; the answers are golden files (go test -run Golden -update).
func TestWriteErrorsGolden(t *testing.T) {
	m := mustRun(t, t.TempDir(), afterTheVectors)
	h := handler(m)
	setupFromVectors(t, h)
	cases, err := filepath.Glob(filepath.Join("testdata", "errors", "*.json"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	big := func(n int) []byte { return bytes.Repeat([]byte(" "), n) }
	generated := map[string][]byte{
		// An event over 64 KiB: padding inside the object.
		"event_too_large": append(append([]byte(`{"id":"01a2156f-95fe-7e9e-a5ae-b7f610513d30"`), big(syncproto.MaxEnvelopeBytes)...), '}'),
		// A body over the 4 MiB request limit.
		"body_too_large": append(append([]byte("["), big(5<<20)...), ']'),
	}
	run := func(name string, body []byte) {
		t.Run(name, func(t *testing.T) {
			code, got := serve(h, "POST", "/api/v1/events", body)
			if code < 400 || code >= 500 {
				t.Errorf("status %d, want a 4xx", code)
			}
			var e struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(got, &e); err != nil || e.Code == "" || e.Message == "" {
				t.Errorf("answer is not an error with a code and message: %s", got)
			}
			out := []byte(fmt.Sprintf("%d %s\n%s", code, http.StatusText(code), got))
			golden := filepath.Join("testdata", "errors", name+".golden")
			if *update {
				if err := os.WriteFile(golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("answer differs from %s:\ngot:  %s\nwant: %s", golden, out, want)
			}
		})
	}
	for _, c := range cases {
		body, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		run(strings.TrimSuffix(filepath.Base(c), ".json"), body)
	}
	for name, body := range generated {
		run(name, body)
	}
}

// FuzzWriteHandler throws arbitrary bodies at the write endpoint of a real
// hub: it must never answer 5xx, and always answer JSON.
func FuzzWriteHandler(f *testing.F) {
	for _, dir := range []string{"../../../syncproto/testdata/valid", "../../../syncproto/testdata/invalid", "testdata/errors"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`[`))
	f.Add([]byte(`[{}, 1, "x", null]`))
	m := mustRun(f, f.TempDir(), afterTheVectors)
	h := handler(m)
	setupFromVectors(f, h)
	f.Fuzz(func(t *testing.T, body []byte) {
		code, got := serve(h, "POST", "/api/v1/events", body)
		if code >= 500 {
			t.Fatalf("status %d for %q: %s", code, body, got)
		}
		if !json.Valid(got) {
			t.Fatalf("answer is not JSON: %q", got)
		}
		if code != 200 && !bytes.Contains(got, []byte(`"code"`)) {
			t.Fatalf("error without a code: %s", got)
		}
	})
}
