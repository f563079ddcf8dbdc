// Package httpx holds what the hub's and the cloud's HTTP servers share.
// Standard library only.
package httpx

import "net/http"

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
