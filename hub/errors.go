package hub

import (
	"errors"
	"strings"

	"github.com/zoner-family/zoner/syncproto"
)

// ErrorCode classifies an error a client can act on. The codes are those
// of the API (internal/httpx), whose one table the HTTP layer maps them to
// status codes through.
type ErrorCode string

// The error codes.
const (
	CodeInvalid      ErrorCode = "invalid"        // the request breaks a rule; Problems say which
	CodeTooLarge     ErrorCode = "too_large"      // the body or an event is over the limit
	CodeNotFound     ErrorCode = "not_found"      // no such family, member, trip or plan
	CodeConflict     ErrorCode = "conflict"       // the request does not fit the hub's state
	CodeUnauthorized ErrorCode = "unauthorized"   // a pairing token is needed or wrong
	CodeRateLimited  ErrorCode = "rate_limited"   // too many requests from this client
	CodeUnavailable  ErrorCode = "unavailable"    // the hub cannot serve this now; retry
	CodeNoFamily     ErrorCode = "setup_required" // the hub has no family yet
	CodeStorageFull  ErrorCode = "storage_full"   // the hub's disk has no room; nothing was stored
)

// Problem is one reason a request was refused: which event of the request
// (Index, counting from 0), the syncproto code, the JSON path and the rule.
type Problem struct {
	Index int            `json:"index"`
	Code  syncproto.Code `json:"code"`
	Path  string         `json:"path,omitempty"`
	Rule  string         `json:"rule"`
}

// Text is the problem in syncproto's one-line form: "invalid data.end: must
// be after data.start".
func (p Problem) Text() string {
	if p.Path == "" {
		return string(p.Code) + " " + p.Rule
	}
	return string(p.Code) + " " + p.Path + ": " + p.Rule
}

// Error is an error with a code and a message that says what to fix.
// Message and Problems are what a client is told; Err, the cause when a
// dependency failed (the event log, the state), is for the hub's log
// only: its text never reaches a client.
type Error struct {
	Code     ErrorCode
	Message  string
	Problems []Problem
	Err      error
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Problems) > 0 {
		texts := make([]string, len(e.Problems))
		for i, p := range e.Problems {
			texts[i] = p.Text()
		}
		msg += ": " + strings.Join(texts, "; ")
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// PublicMessage is what a client may be told about err: an *Error's
// message, or otherwise, for a failure whose text may be a dependency's,
// fallback.
func PublicMessage(err error, fallback string) string {
	if e, ok := errors.AsType[*Error](err); ok && e.Message != "" {
		return e.Message
	}
	return fallback
}

// Errorf is a shorthand for an *Error without problems.
func Errorf(code ErrorCode, msg string) *Error { return &Error{Code: code, Message: msg} }

// ErrorCodeOf is err's code, or "" for an error that is not a client's
// mistake (a bug or an outage: a 500 or a 503).
func ErrorCodeOf(err error) ErrorCode {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ""
}

// problemsOf turns a syncproto rejection into problems of event index i.
func problemsOf(i int, err error) []Problem {
	var out []Problem
	if es, ok := errors.AsType[syncproto.Errors](err); ok {
		for _, e := range es {
			out = append(out, Problem{Index: i, Code: e.Code, Path: e.Path, Rule: e.Rule})
		}
		return out
	}
	if e, ok := errors.AsType[*syncproto.Error](err); ok {
		return []Problem{{Index: i, Code: e.Code, Path: e.Path, Rule: e.Rule}}
	}
	return []Problem{{Index: i, Code: syncproto.CodeMalformed, Rule: err.Error()}}
}
