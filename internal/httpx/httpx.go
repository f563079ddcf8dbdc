// Package httpx holds what the hub's and the cloud's HTTP servers share.
// Standard library only.
package httpx

import (
	"context"
	"io"
	"log/slog"
	"net/http"
)

// StatusWriter records the status code a handler sent, for metrics and
// logs; a handler that writes without a status sent 200.
type StatusWriter struct {
	http.ResponseWriter
	Code int
}

// WriteHeader records the first status code and sends it.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Code == 0 {
		w.Code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Code == 0 {
		w.Code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the writer underneath (for
// flushing Server-Sent Events, deadlines).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// OpsMux serves what an operator's tools ask a service: /metrics (what
// metrics writes, in Prometheus text), /healthz (always ok) and /readyz
// (503 until ready returns nil). Whoever reaches the port may ask /readyz:
// it answers "not ready" and no more, and logs ready's error to logger.
func OpsMux(metrics func(io.Writer), ready func(context.Context) error, logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		metrics(w)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready(r.Context()); err != nil {
			logger.Warn("not ready", "err", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	return mux
}
