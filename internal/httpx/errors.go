package httpx

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Code classifies an error a client can act on. Status maps each code to
// its HTTP status code; this table is the only one.
type Code string

// The error codes of every API.
const (
	CodeInvalid              Code = "invalid"                // the request breaks a rule; the problems say which
	CodeTooLarge             Code = "too_large"              // the body, a batch or an event is over the limit
	CodeUnauthorized         Code = "unauthorized"           // credentials are missing or wrong
	CodeForbidden            Code = "forbidden"              // the credentials may not do this
	CodeNotFound             Code = "not_found"              // no such resource or endpoint
	CodeMethodNotAllowed     Code = "method_not_allowed"     // the endpoint exists, not with this method
	CodeConflict             Code = "conflict"               // the request does not fit the server's state
	CodeUnsupportedMediaType Code = "unsupported_media_type" // the body is not of the type the endpoint takes
	CodeSetupRequired        Code = "setup_required"         // the hub has no family yet
	CodeRateLimited          Code = "rate_limited"           // too many requests; Retry-After says when to retry
	CodeUnavailable          Code = "unavailable"            // the server or a dependency cannot serve this now; retry
	CodeStorageFull          Code = "storage_full"           // the server's disk has no room; nothing was stored; retry once there is
	CodeInternal             Code = "internal"               // a bug; the details are in the server's log
)

// Status is the HTTP status code of an error with code c: 500 for a code
// not in the table.
func (c Code) Status() int {
	switch c {
	case CodeInvalid:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeConflict, CodeSetupRequired:
		return http.StatusConflict
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case CodeRateLimited:
		return http.StatusTooManyRequests
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeStorageFull:
		return http.StatusInsufficientStorage
	}
	return http.StatusInternalServerError
}

// Problem is one thing wrong with a request.
type Problem struct {
	// Index is which item of a batch (a JSON array) the problem is in,
	// counting from 0; nil, and absent from the JSON, when the request
	// is not a batch.
	Index *int `json:"index,omitempty"`
	// Code is the kind of problem: syncproto's codes (invalid,
	// malformed, unknown_field, too_large …).
	Code string `json:"code"`
	// Path is the JSON path of the value at fault, like data.legs[0].arrive,
	// or the name of a query parameter; empty for the request as a whole.
	Path string `json:"path,omitempty"`
	// Rule is the rule the value breaks, in words.
	Rule string `json:"rule"`
}

// At returns a pointer to i, for Problem.Index.
func At(i int) *int { return &i }

// String is the problem in one line: "[1] invalid data.end: must be after
// data.start".
func (p Problem) String() string {
	var b strings.Builder
	if p.Index != nil {
		b.WriteString("[" + strconv.Itoa(*p.Index) + "] ")
	}
	b.WriteString(p.Code)
	if p.Path != "" {
		b.WriteString(" " + p.Path + ":")
	}
	b.WriteString(" " + p.Rule)
	return b.String()
}

// Error is the one error answer of every API, as JSON:
//
//	{"code":"invalid","message":"events refused; none were stored",
//	 "problems":[{"index":0,"code":"invalid","path":"data.end","rule":"must be after data.start"}]}
//
// Message says what to fix, for people; it never carries a dependency's
// error text. Problems is absent when there are none.
type Error struct {
	Code     Code      `json:"code"`
	Message  string    `json:"message"`
	Problems []Problem `json:"problems,omitempty"`
	// RetryAfter, when positive, is sent as the Retry-After header, in
	// whole seconds (at least one).
	RetryAfter time.Duration `json:"-"`
}

// Errorf is a shorthand for an *Error without problems.
func Errorf(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return e.Message
	}
	texts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		texts[i] = p.String()
	}
	return e.Message + ": " + strings.Join(texts, "; ")
}

// Status is the error's HTTP status code.
func (e *Error) Status() int { return e.Code.Status() }

// RetryAfterSeconds is the Retry-After value for a wait of d: whole
// seconds, rounded up, at least one.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// encodeFailed is the answer when a response cannot be encoded.
const encodeFailed = `{"code":"internal","message":"the server could not encode its answer; the error is in its log"}` + "\n"

// WriteJSON answers with v as JSON and the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		buf.Reset()
		buf.WriteString(encodeFailed)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// WriteError answers with e, with the status of its code and, for a
// positive RetryAfter, the Retry-After header.
func WriteError(w http.ResponseWriter, e *Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds(e.RetryAfter)))
	}
	WriteJSON(w, e.Status(), e)
}
