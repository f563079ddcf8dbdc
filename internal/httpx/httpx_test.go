package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// /readyz tells whoever asks that the service is not ready, and no more:
// why is in the log.
func TestOpsMuxReadyz(t *testing.T) {
	var log bytes.Buffer
	reason := errors.New("warehouse: dial tcp 10.0.0.7:5432: connection refused")
	mux := OpsMux(func(w io.Writer) { io.WriteString(w, "up 1\n") },
		func(context.Context) error { return reason }, slog.New(slog.NewTextHandler(&log, nil)))
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}

	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || body != "not ready\n" {
		t.Errorf("not ready: %d %q, want 503 %q", code, body, "not ready\n")
	}
	if !strings.Contains(log.String(), "connection refused") {
		t.Errorf("the log has not the reason: %q", log.String())
	}
	reason = nil
	if code, body := get("/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("ready: %d %q", code, body)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, body := get("/metrics"); code != 200 || body != "up 1\n" {
		t.Errorf("metrics: %d %q", code, body)
	}
}
