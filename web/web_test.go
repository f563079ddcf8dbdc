package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		path, ctype string
		code        int
	}{
		{"/", "text/html; charset=utf-8", 200},
		{"/index.html", "text/html; charset=utf-8", 200},
		{"/app.css", "text/css; charset=utf-8", 200},
		{"/js/app.js", "text/javascript; charset=utf-8", 200},
		{"/js/airports.js", "text/javascript; charset=utf-8", 200},
		{"/sw.js", "text/javascript; charset=utf-8", 200},
		{"/manifest.webmanifest", "application/manifest+json", 200},
		{"/icon.svg", "image/svg+xml", 200},
		{"/js/AIRPORTS-LICENSE.md", "text/plain; charset=utf-8", 200},
		{"/nope.js", "", 404},
		{"/js/", "", 404},
		{"/../web.go", "", 404},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			w := get(t, h, "GET", tc.path)
			if w.Code != tc.code {
				t.Fatalf("status %d, want %d", w.Code, tc.code)
			}
			if tc.code != 200 {
				return
			}
			if got := w.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("ETag") == "" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", w.Header())
			}
			// A revalidation with the ETag costs no body.
			if again := get(t, h, "GET", tc.path, "If-None-Match", w.Header().Get("ETag")); again.Code != http.StatusNotModified {
				t.Errorf("revalidation: %d, want 304", again.Code)
			}
		})
	}
	if w := get(t, h, "GET", "/"); !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("the page has no content security policy: %v", w.Header())
	}
	if w := get(t, h, "POST", "/"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", w.Code)
	}
}

// Text goes gzipped to a browser that takes it, and the same bytes
// plain to one that does not.
func TestGzip(t *testing.T) {
	h := Handler()
	plain := get(t, h, "GET", "/js/airports.js")
	if plain.Header().Get("Content-Encoding") != "" || plain.Header().Get("Vary") != "Accept-Encoding" {
		t.Fatalf("plain answer headers %v", plain.Header())
	}
	for _, ae := range []string{"gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8"} {
		zipped := get(t, h, "GET", "/js/airports.js", "Accept-Encoding", ae)
		if zipped.Header().Get("Content-Encoding") != "gzip" || zipped.Header().Get("ETag") == plain.Header().Get("ETag") {
			t.Fatalf("%q: headers %v", ae, zipped.Header())
		}
		if zipped.Body.Len()*2 > plain.Body.Len() {
			t.Errorf("%q: gzip %d bytes of %d", ae, zipped.Body.Len(), plain.Body.Len())
		}
		zr, err := gzip.NewReader(zipped.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(b, plain.Body.Bytes()) {
			t.Fatalf("%q: gunzipped body differs (%v)", ae, err)
		}
	}
	for _, ae := range []string{"", "identity", "gzip;q=0", "br"} {
		if w := get(t, h, "GET", "/js/airports.js", "Accept-Encoding", ae); w.Header().Get("Content-Encoding") != "" {
			t.Errorf("%q: answered %q", ae, w.Header().Get("Content-Encoding"))
		}
	}
	// An icon too small to gain stays as it is.
	if w := get(t, h, "GET", "/icon.svg", "Accept-Encoding", "gzip"); w.Header().Get("Content-Encoding") != "" {
		t.Errorf("icon.svg: %v", w.Header())
	}
}

// The service worker names a version made from every file, and lists
// every file of the shell, so a phone offline has all it needs.
func TestServiceWorkerShell(t *testing.T) {
	sw := get(t, Handler(), "GET", "/sw.js").Body.String()
	if strings.Contains(sw, "__ZONER_") {
		t.Fatalf("sw.js still holds a placeholder:\n%s", sw[:400])
	}
	if !regexp.MustCompile(`const VERSION = "[0-9a-f]{16}";`).MatchString(sw) {
		t.Error("no version in sw.js")
	}
	err := fs.WalkDir(embedded, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(p, "static")
		if name == "/sw.js" || strings.HasSuffix(name, ".md") {
			return nil
		}
		if !strings.Contains(sw, `"`+name+`"`) {
			t.Errorf("%s is not in the service worker's shell", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Another set of files is another version.
	swSource, _ := fs.ReadFile(embedded, "static/sw.js")
	other, err := load(fstest.MapFS{
		"static/sw.js":      {Data: swSource},
		"static/index.html": {Data: []byte("<!doctype html><title>other</title>")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(other["sw.js"].body), regexp.MustCompile(`"[0-9a-f]{16}"`).FindString(sw)) {
		t.Error("the version does not follow the files")
	}
}

// Every module a script imports is embedded: a missing file would break
// the app only in a browser.
func TestImportsResolve(t *testing.T) {
	imp := regexp.MustCompile(`(?m)(?:^import[^'"]*|import\()\s*['"](\.{1,2}/[^'"]+)['"]`)
	found := 0
	err := fs.WalkDir(embedded, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(embedded, p)
		if err != nil {
			return err
		}
		dir := p[:strings.LastIndex(p, "/")]
		for _, m := range imp.FindAllStringSubmatch(string(b), -1) {
			found++
			target := resolve(dir, m[1])
			if _, err := fs.Stat(embedded, target); err != nil {
				t.Errorf("%s imports %s: %s is not embedded", p, m[1], target)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 40 {
		t.Errorf("found only %d imports: the pattern no longer reads the modules", found)
	}
}

func resolve(dir, rel string) string {
	parts := strings.Split(dir, "/")
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case ".":
		case "..":
			parts = parts[:len(parts)-1]
		default:
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "/")
}
