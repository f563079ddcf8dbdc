package syncproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// maxDepth bounds nesting. The deepest value of version 1 is at depth 4
// (data.legs[0].depart); the bound leaves room for later versions.
const maxDepth = 16

// Unmarshal decodes and validates one envelope. Every rejection is an
// Errors value naming the JSON path and the rule broken; see Code for the
// kinds. An envelope whose v is newer than CurrentVersion is rejected with
// CodeUnsupportedVersion; relays that must pass such events on use
// DecodeHeader.
func Unmarshal(b []byte) (Envelope, error) {
	var p problems
	root := parse(&p, b)
	if !p.ok() {
		return Envelope{}, p.err()
	}
	o := readObject(&p, "", root)
	h, data := readHeader(o)
	if !p.ok() {
		return Envelope{}, p.err()
	}
	if h.V > CurrentVersion {
		p.add(CodeUnsupportedVersion, "v", "version %d is newer than this build understands (up to %d); update Zoner", h.V, CurrentVersion)
		return Envelope{}, p.err()
	}
	o.done()
	payload := newPayload(h.Type)
	if payload == nil {
		unknownType(&p, h.Type)
		return Envelope{}, p.err()
	}
	if d := readObject(&p, "data", data); d != nil {
		payload.decode(d)
		d.done()
	}
	if !p.ok() {
		return Envelope{}, p.err()
	}
	e := Envelope{Header: h, Data: payload}
	e.validate(&p)
	if !p.ok() {
		return Envelope{}, p.err()
	}
	return e, nil
}

// DecodeHeader decodes and validates an envelope's header without its
// payload, for relays (the hub's uplink, the bridge) that route events
// without needing to understand them, and for receivers that keep events of
// a newer version until they are upgraded.
//
// For v up to CurrentVersion it applies every header rule: the type must be
// known and unknown top-level fields are rejected. For a newer v it accepts
// any well-formed type name and ignores unknown top-level fields, since a
// newer schema may define them. The payload is only checked to be an
// object, and rules that tie the header to the type (whether member_id or
// end is required) are not applied: Unmarshal does that.
func DecodeHeader(b []byte) (Header, error) {
	var p problems
	root := parse(&p, b)
	if !p.ok() {
		return Header{}, p.err()
	}
	o := readObject(&p, "", root)
	h, data := readHeader(o)
	readObject(&p, "data", data)
	if !p.ok() {
		return Header{}, p.err()
	}
	if h.V <= CurrentVersion {
		o.done()
		if newPayload(h.Type) == nil {
			unknownType(&p, h.Type)
		}
	} else if !wellFormedTypeName(string(h.Type)) {
		p.invalid("type", "must be lowercase letters, digits, '.' and '_', at most 64 characters")
	}
	if !p.ok() {
		return Header{}, p.err()
	}
	h.validate(&p)
	if !p.ok() {
		return Header{}, p.err()
	}
	return h, nil
}

// readHeader reads the envelope fields and returns the raw data member.
func readHeader(o *object) (Header, any) {
	var h Header
	h.ID = o.uuid("id")
	h.FamilyID = o.uuid("family_id")
	// DESIGN.md calls member_id "empty" for family-level events: absent,
	// null and "" all mean none.
	h.MemberID = parsed(o, "member_id", func(s string) (uuid.UUID, error) {
		if s == "" {
			return uuid.Nil, nil
		}
		return ParseID(s)
	})
	h.Origin = o.str("origin")
	h.Type = Type(o.str("type"))
	h.Start = o.time("start")
	h.End = o.time("end")
	h.TZ = o.str("tz")
	h.HLC = o.hlc("hlc")
	h.V = o.integer("v")
	data, _ := o.get("data")
	if data == nil && o != nil {
		o.p.invalid("data", "required: an object, {} when the type has no fields")
	}
	return h, data
}

// parse reads a JSON document into maps, slices, strings, json.Numbers,
// booleans and nils, rejecting what encoding/json would let through:
// invalid UTF-8, duplicate keys, trailing data and deep nesting.
func parse(p *problems, b []byte) any {
	if len(b) > MaxEnvelopeBytes {
		p.add(CodeTooLarge, "", "envelope is %d bytes; the limit is %d", len(b), MaxEnvelopeBytes)
		return nil
	}
	if !utf8.Valid(b) {
		p.add(CodeMalformed, "", "not valid UTF-8")
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseValue(dec, "", 0)
	if err != nil {
		p.list = append(p.list, err)
		return nil
	}
	if _, err := dec.Token(); err != io.EOF {
		p.add(CodeMalformed, "", "unexpected data after the envelope at byte %d", dec.InputOffset())
		return nil
	}
	return v
}

func parseValue(dec *json.Decoder, path string, depth int) (any, *Error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(dec, err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth >= maxDepth {
		return nil, &Error{Code: CodeMalformed, Path: path, Rule: fmt.Sprintf("nested more than %d levels deep", maxDepth)}
	}
	switch delim {
	case '{':
		m := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, syntaxError(dec, err)
			}
			key := kt.(string) // the decoder only yields string keys
			kp := member(path, key)
			if _, dup := m[key]; dup {
				return nil, &Error{Code: CodeMalformed, Path: kp, Rule: "duplicate key"}
			}
			v, perr := parseValue(dec, kp, depth+1)
			if perr != nil {
				return nil, perr
			}
			m[key] = v
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntaxError(dec, err)
		}
		return m, nil
	default: // '['
		a := []any{}
		for i := 0; dec.More(); i++ {
			v, perr := parseValue(dec, index(path, i), depth+1)
			if perr != nil {
				return nil, perr
			}
			a = append(a, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntaxError(dec, err)
		}
		return a, nil
	}
}

func syntaxError(dec *json.Decoder, err error) *Error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Code: CodeMalformed, Rule: "not valid JSON: unexpected end of input"}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Code: CodeMalformed, Rule: fmt.Sprintf("not valid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))}
	}
	return &Error{Code: CodeMalformed, Rule: fmt.Sprintf("not valid JSON near byte %d: %s", dec.InputOffset(), strings.TrimPrefix(err.Error(), "json: "))}
}

// member builds the path to an object member. Keys that are not plain
// lowercase names are quoted, so a path always reads unambiguously.
func member(parent, key string) string {
	plain := key != ""
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			plain = false
			break
		}
	}
	if plain && len(key) <= 64 {
		return join(parent, key)
	}
	return parent + "[" + quote(key) + "]"
}

// quote quotes s for an error message, shortened if long.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 64 {
		r := []rune(s)
		s = string(r[:64]) + "…"
	}
	return strconv.Quote(s)
}

func unknownType(p *problems, t Type) {
	names := make([]string, 0, len(Types()))
	for _, t := range Types() {
		names = append(names, string(t))
	}
	p.add(CodeUnknownType, "type", "unknown event type %s; known types are %s", quote(string(t)), strings.Join(names, ", "))
}

func wellFormedTypeName(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// object reads the members of one JSON object, recording a problem for each
// value of the wrong JSON type. A nil *object reads nothing: the problem
// that made it nil is already recorded. JSON null means absent.
type object struct {
	p    *problems
	path string
	m    map[string]any
	seen map[string]bool
}

func readObject(p *problems, path string, v any) *object {
	if v == nil {
		if path == "" {
			p.add(CodeMalformed, "", "an envelope must be a JSON object, not null")
		}
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		if path == "" {
			p.add(CodeMalformed, "", "an envelope must be a JSON object, not %s", kind(v))
		} else {
			p.add(CodeMalformed, path, "must be an object, not %s", kind(v))
		}
		return nil
	}
	return &object{p: p, path: path, m: m, seen: make(map[string]bool, len(m))}
}

func kind(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "true or false"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// get returns the member key, if present and not null.
func (o *object) get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	o.seen[key] = true
	v := o.m[key]
	return v, v != nil
}

func (o *object) wrong(key, want string, v any) {
	o.p.add(CodeMalformed, member(o.path, key), "must be %s, not %s", want, kind(v))
}

// typed returns the member key if it is present and of JSON kind T, and
// records a problem if it is present and of another kind.
func typed[T any](o *object, key, want string) (T, bool) {
	var zero T
	v, ok := o.get(key)
	if !ok {
		return zero, false
	}
	t, ok := v.(T)
	if !ok {
		o.wrong(key, want, v)
	}
	return t, ok
}

func (o *object) str(key string) string {
	s, _ := typed[string](o, key, "a string")
	return s
}

func (o *object) boolean(key string) bool {
	b, _ := typed[bool](o, key, "true or false")
	return b
}

func (o *object) integer(key string) int {
	n, ok := typed[json.Number](o, key, "a whole number")
	if !ok {
		return 0
	}
	i, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil {
		o.p.add(CodeMalformed, member(o.path, key), "must be a whole number between %d and %d, not %s", math.MinInt32, math.MaxInt32, n)
		return 0
	}
	return int(i)
}

func (o *object) number(key string) *float64 {
	n, ok := typed[json.Number](o, key, "a number")
	if !ok {
		return nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		o.p.add(CodeMalformed, member(o.path, key), "number %s is out of range", n)
		return nil
	}
	return &f
}

// parsed reads a string member and converts it with conv, whose error is
// reported against the member.
func parsed[T any](o *object, key string, conv func(string) (T, error)) T {
	var zero T
	s, ok := typed[string](o, key, "a string")
	if !ok {
		return zero
	}
	t, err := conv(s)
	if err != nil {
		o.p.add(CodeMalformed, member(o.path, key), "%s", err.Error())
		return zero
	}
	return t
}

func (o *object) time(key string) time.Time { return parsed(o, key, parseTime) }

func (o *object) uuid(key string) uuid.UUID { return parsed(o, key, ParseID) }

func (o *object) hlc(key string) HLC { return parsed(o, key, ParseHLC) }

func (o *object) clock(key string) ClockTime { return parsed(o, key, ParseClockTime) }

func (o *object) date(key string) Date { return parsed(o, key, ParseDate) }

func (o *object) array(key string) []any {
	a, _ := typed[[]any](o, key, "an array")
	return a
}

// objects reads an array of objects.
func (o *object) objects(key string) []*object {
	items := o.array(key)
	if items == nil {
		return nil
	}
	out := make([]*object, len(items))
	for i, it := range items {
		out[i] = readObject(o.p, index(member(o.path, key), i), it)
		if it == nil {
			o.p.add(CodeMalformed, index(member(o.path, key), i), "must be an object, not null")
		}
	}
	return out
}

// uuids reads an array of UUID strings.
func (o *object) uuids(key string) []uuid.UUID {
	items := o.array(key)
	if items == nil {
		return nil
	}
	path := member(o.path, key)
	out := make([]uuid.UUID, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			o.p.add(CodeMalformed, index(path, i), "must be a string, not %s", kind(it))
			continue
		}
		id, err := ParseID(s)
		if err != nil {
			o.p.add(CodeMalformed, index(path, i), "%s", err.Error())
		}
		out[i] = id
	}
	return out
}

// done reports every member that no reader asked for, in key order.
func (o *object) done() {
	if o == nil {
		return
	}
	var unknown []string
	for k := range o.m {
		if !o.seen[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		o.p.add(CodeUnknownField, member(o.path, k), "unknown field")
	}
}

// parseTime reads an RFC 3339 instant with a UTC offset and keeps the
// offset, in a location that does not depend on the host's zone database.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not an RFC 3339 time with a UTC offset, like 2026-12-01T21:05:00-08:00", quote(s))
	}
	if t.IsZero() {
		// 0001-01-01T00:00:00Z is a real instant, out of range; the zero
		// time.Time would read as "absent". Keep it out of range and
		// distinct from absent, so that validation refuses it.
		return t.Add(-time.Nanosecond), nil
	}
	return normalize(t), nil
}

func normalize(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	if _, off := t.Zone(); off != 0 {
		return t.In(time.FixedZone("", off))
	}
	return t.UTC()
}

// ParseID reads an id as events spell it: an RFC 9562 UUID (versions 1 to 8; not the nil UUID) in
// its canonical lowercase form only. Other
// spellings of the same UUID would be different strings wherever ids are
// compared as text: in a Kafka header, a warehouse key, a URL.
func ParseID(s string) (uuid.UUID, error) {
	ok := len(s) == 36
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			ok = c == '-'
		default:
			ok = c >= '0' && c <= '9' || c >= 'a' && c <= 'f'
		}
	}
	var u uuid.UUID
	if ok {
		var err error
		u, err = uuid.Parse(s)
		// An RFC 9562 UUID: its variant bits 10, a version from 1 to 8.
		ok = err == nil && u.Variant() == uuid.RFC4122 && u.Version() >= 1 && u.Version() <= 8
	}
	if !ok {
		return uuid.Nil, fmt.Errorf("%s is not a UUID (RFC 9562, version 1 to 8) in lowercase canonical form, like 0193f0b4-8c2e-7c3a-9d4e-5f6a7b8c9d0e", quote(s))
	}
	return u, nil
}
