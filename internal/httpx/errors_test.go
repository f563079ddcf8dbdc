package httpx

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
)

func TestStatusTable(t *testing.T) {
	for code, want := range map[Code]int{
		CodeInvalid:              400,
		CodeUnauthorized:         401,
		CodeForbidden:            403,
		CodeNotFound:             404,
		CodeMethodNotAllowed:     405,
		CodeConflict:             409,
		CodeSetupRequired:        409,
		CodeTooLarge:             413,
		CodeUnsupportedMediaType: 415,
		CodeRateLimited:          429,
		CodeInternal:             500,
		CodeUnavailable:          503,
		"something_new":          500,
		"":                       500,
	} {
		if got := code.Status(); got != want {
			t.Errorf("%q: %d, want %d", code, got, want)
		}
	}
}

func TestWriteErrorShape(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        *Error
		status     int
		body       string
		retryAfter string
	}{
		{
			name:   "batch problems carry their index",
			err:    &Error{Code: CodeInvalid, Message: "events refused; none were stored", Problems: []Problem{{Index: At(0), Code: "invalid", Path: "data.end", Rule: "must be after data.start"}}},
			status: 400,
			body:   `{"code":"invalid","message":"events refused; none were stored","problems":[{"index":0,"code":"invalid","path":"data.end","rule":"must be after data.start"}]}`,
		},
		{
			name:   "other problems have no index, and no path for the request as a whole",
			err:    &Error{Code: CodeInvalid, Message: "bad query", Problems: []Problem{{Code: "malformed", Rule: "not JSON"}}},
			status: 400,
			body:   `{"code":"invalid","message":"bad query","problems":[{"code":"malformed","rule":"not JSON"}]}`,
		},
		{
			name:   "no problems, no field",
			err:    Errorf(CodeNotFound, "no such endpoint"),
			status: 404,
			body:   `{"code":"not_found","message":"no such endpoint"}`,
		},
		{
			name:       "Retry-After in whole seconds, rounded up",
			err:        &Error{Code: CodeRateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond},
			status:     429,
			body:       `{"code":"rate_limited","message":"slow down"}`,
			retryAfter: "2",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tc.err)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Body.String(); got != tc.body+"\n" {
				t.Errorf("body\n got %s\nwant %s", got, tc.body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			var back Error
			if err := json.Unmarshal(rec.Body.Bytes(), &back); err != nil || back.Code != tc.err.Code {
				t.Errorf("does not decode back: %v %+v", err, back)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Code: CodeInvalid, Message: "events refused", Problems: []Problem{
		{Index: At(1), Code: "invalid", Path: "data.end", Rule: "must be after data.start"},
		{Code: "malformed", Rule: "not JSON"},
	}}
	want := "events refused: [1] invalid data.end: must be after data.start; malformed not JSON"
	if got := e.Error(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
