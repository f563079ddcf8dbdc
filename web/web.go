// Package web is the household's browser UI: plain HTML, CSS and
// JavaScript modules, embedded into the hub and served by Handler. There
// is no build step. A service worker keeps the app shell, so the UI opens
// while the hub is briefly out of reach; events logged then wait in the
// browser's IndexedDB and are sent, exactly once, when it is back.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

//go:embed static
var embedded embed.FS

// file is one embedded file, ready to serve, with its gzip form when that
// is worth having.
type file struct {
	body  []byte
	ctype string
	etag  string
	gz    []byte
}

// Handler serves the UI. Every answer is revalidated (Cache-Control:
// no-cache, with an ETag), so a phone never runs a stale module; the
// service worker is what keeps the shell for offline use, and its script
// names a version made from every file's content, so any change to the UI
// installs a new one.
func Handler() http.Handler {
	files, err := load(embedded)
	if err != nil {
		panic("web: embedded files unreadable: " + err.Error()) // a build defect, not a runtime condition
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" {
			name = "index.html"
		}
		f, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("Cache-Control", "no-cache")
		body, etag := f.body, f.etag
		if f.gz != nil {
			h.Set("Vary", "Accept-Encoding")
			if acceptsGzip(r.Header.Get("Accept-Encoding")) {
				body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
				h.Set("Content-Encoding", "gzip")
			}
		}
		h.Set("ETag", etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasSuffix(name, ".html") {
			h.Set("Content-Security-Policy", csp)
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
	})
}

// acceptsGzip reads an Accept-Encoding header: gzip listed, not with q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// csp allows nothing from elsewhere and no inline script or style.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// load reads the static files and fills the service worker's version and
// list of files to keep.
func load(fsys fs.FS) (map[string]file, error) {
	root, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	files := map[string]file{}
	sum := sha256.New()
	var shell []string
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		sum.Write([]byte(p))
		sum.Write([]byte{0})
		sum.Write(b)
		if p != "sw.js" && !strings.HasSuffix(p, ".md") {
			shell = append(shell, "/"+p)
		}
		files[p] = file{body: b, ctype: contentType(p)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	version := hex.EncodeToString(sum.Sum(nil))[:16]
	slices.Sort(shell)
	shell = append([]string{"/"}, shell...)
	list, _ := json.Marshal(shell)
	if sw, ok := files["sw.js"]; ok {
		sw.body = bytes.Replace(sw.body, []byte(`"__ZONER_VERSION__"`), []byte(`"`+version+`"`), 1)
		sw.body = bytes.Replace(sw.body, []byte(`["__ZONER_SHELL__"]`), list, 1)
		files["sw.js"] = sw
	}
	for p, f := range files {
		s := sha256.Sum256(f.body)
		f.etag = `"` + hex.EncodeToString(s[:8]) + `"`
		f.gz = compress(f)
		files[p] = f
	}
	return files, nil
}

// compress gzips a text file worth compressing; nil for others, and when
// gzip would not save a tenth.
func compress(f file) []byte {
	if len(f.body) < 1024 || !(strings.HasPrefix(f.ctype, "text/") || strings.Contains(f.ctype, "json") || strings.Contains(f.ctype, "svg")) {
		return nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(f.body)
	zw.Close()
	if buf.Len() > len(f.body)*9/10 {
		return nil
	}
	return buf.Bytes()
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".webmanifest":
		return "application/manifest+json"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".md":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}
