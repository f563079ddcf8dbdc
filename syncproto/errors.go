package syncproto

import (
	"fmt"
	"strings"
)

// Code classifies why an envelope was rejected. Callers map codes to
// responses and metrics; the hub, for one, counts rejections by code.
type Code string

// The rejection codes. Every *Error carries exactly one.
const (
	// CodeTooLarge: the encoded envelope is over MaxEnvelopeBytes.
	CodeTooLarge Code = "too_large"
	// CodeMalformed: not JSON, invalid UTF-8, a duplicate key, nesting too
	// deep, or a value of the wrong JSON type.
	CodeMalformed Code = "malformed"
	// CodeUnknownField: a field this version of the contract does not define.
	CodeUnknownField Code = "unknown_field"
	// CodeUnknownType: a type this version of the contract does not define.
	CodeUnknownType Code = "unknown_type"
	// CodeUnsupportedVersion: v is newer than CurrentVersion. The event may
	// be valid for a newer build; relays forward it (see DecodeHeader).
	CodeUnsupportedVersion Code = "unsupported_version"
	// CodeInvalid: well-formed, but a value breaks a rule of the contract.
	CodeInvalid Code = "invalid"
)

// Error is one reason an envelope was rejected: the JSON path of the value
// at fault and the rule it breaks, as in "data.end: must be after data.start".
type Error struct {
	Code Code
	// Path is the JSON path of the offending value, like "data.legs[1].arrive";
	// empty when the fault is the document as a whole.
	Path string
	// Rule says what the value must be, in words a client author can act on.
	Rule string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Rule
	}
	return e.Path + ": " + e.Rule
}

// Errors is every reason an envelope was rejected, in document order. It is
// never empty when returned as an error. errors.As and errors.AsType reach
// the *Error values inside it.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes each *Error to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Code is the code of the first problem: the one a caller reports when it
// has room for only one.
func (es Errors) Code() Code {
	if len(es) == 0 {
		return ""
	}
	return es[0].Code
}

// maxProblems bounds how many problems one envelope can report, so a huge
// bad document cannot make a huge error.
const maxProblems = 20

// problems collects errors while decoding or validating.
type problems struct {
	list    Errors
	dropped int
}

func (p *problems) add(code Code, path, format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.dropped++
		return
	}
	p.list = append(p.list, &Error{Code: code, Path: path, Rule: fmt.Sprintf(format, args...)})
}

func (p *problems) invalid(path, format string, args ...any) {
	p.add(CodeInvalid, path, format, args...)
}

func (p *problems) ok() bool { return len(p.list) == 0 }

// err returns the collected problems as an error, or nil when there are none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	if p.dropped > 0 {
		list := append(Errors(nil), p.list...)
		list = append(list, &Error{Code: p.list[0].Code, Rule: fmt.Sprintf("and %d more problems", p.dropped)})
		return list
	}
	return p.list
}

// join builds a JSON path: join("data", "legs") is "data.legs".
func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// index builds a JSON path to an array element: index("data.legs", 2) is
// "data.legs[2]".
func index(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}

// elementPaths holds the JSON paths of the fields of an array's first
// elements, so that validating a valid event builds no strings.
type elementPaths struct {
	array string
	// paths[field][i] is the path of field of element i; field "" is the
	// element itself.
	paths map[string][]string
}

func newElementPaths(array string, n int, fields ...string) *elementPaths {
	e := &elementPaths{array: array, paths: make(map[string][]string, len(fields))}
	for _, f := range fields {
		ps := make([]string, n)
		for i := range ps {
			ps[i] = index(array, i) + f
		}
		e.paths[f] = ps
	}
	return e
}

// of returns the path of field (like ".start", or "" for the element
// itself) of element i.
func (e *elementPaths) of(i int, field string) string {
	if ps, ok := e.paths[field]; ok && i < len(ps) {
		return ps[i]
	}
	return index(e.array, i) + field
}

// The paths validation names inside arrays, up to each array's bound.
var (
	legPaths  = newElementPaths("data.legs", MaxLegs, "", ".flight", ".from", ".to", ".from_tz", ".to_tz", ".depart", ".arrive")
	napPaths  = newElementPaths("data.naps", MaxNaps, "", ".start", ".duration_min")
	itemPaths = newElementPaths("data.items", MaxAdvice, "", ".kind", ".start", ".end")
)
