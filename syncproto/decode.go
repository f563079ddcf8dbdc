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
	"sync/atomic"
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
	nodes := getNodes()
	defer putNodes(nodes)
	var p problems
	doc := parse(&p, b, nodes)
	if !p.ok() {
		return Envelope{}, p.err()
	}
	o := readObject(&p, nil, "", -1, doc, 0)
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
	if d := readObject(&p, o, "data", -1, doc, data); d != nil {
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
// end is required) are not applied: Unmarshal does that. The whole
// document is still checked to be well-formed JSON (valid UTF-8, no
// duplicate keys, bounded nesting), so a header it returns can be trusted.
func DecodeHeader(b []byte) (Header, error) {
	nodes := getNodes()
	defer putNodes(nodes)
	var p problems
	doc := parse(&p, b, nodes)
	if !p.ok() {
		return Header{}, p.err()
	}
	var root object // on the stack: nothing below keeps it
	o := &root
	if !root.read(&p, nil, "", -1, doc, 0) {
		o = nil
	}
	h, data := readHeader(o)
	if data >= 0 && doc[data].kind != kindObject {
		p.add(CodeMalformed, "data", "must be an object, not %s", kind(&doc[data]))
	}
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

// readHeader reads the envelope fields and returns the index of the data
// member's node, or -1.
func readHeader(o *object) (Header, int) {
	var h Header
	h.ID = o.uuid("id")
	h.FamilyID = o.uuid("family_id")
	// The contract calls member_id "empty" for family-level events: absent,
	// null and "" all mean none.
	h.MemberID = parsed(o, "member_id", func(s []byte) (uuid.UUID, error) {
		if len(s) == 0 {
			return uuid.Nil, nil
		}
		return parseID(s)
	})
	h.Origin = o.str("origin")
	h.Type = typeName(o.text("type"))
	h.Start = o.time("start")
	h.End = o.time("end")
	h.TZ = o.zone("tz")
	h.HLC = o.hlc("hlc")
	h.V = o.integer("v")
	data := o.find("data")
	if data < 0 && o != nil {
		o.p.invalid("data", "required: an object, {} when the type has no fields")
	}
	return h, data
}

// typeName returns the event type spelled s, sharing the constant's memory
// when s names a known type.
func typeName(s []byte) Type {
	for _, t := range types {
		if string(t) == string(s) {
			return t
		}
	}
	return Type(s)
}

// types is Types, for lookups that must not allocate.
var types = Types()

// parse reads a JSON document into nodes, rejecting what encoding/json
// would let through: invalid UTF-8, duplicate keys, trailing data and deep
// nesting. The root is the first node. The nodes live in buf until the
// caller recycles it; nil means the document was rejected.
func parse(p *problems, b []byte, buf *[]node) []node {
	if len(b) > MaxEnvelopeBytes {
		p.add(CodeTooLarge, "", "envelope is %d bytes; the limit is %d", len(b), MaxEnvelopeBytes)
		return nil
	}
	if !utf8.Valid(b) {
		p.add(CodeMalformed, "", "not valid UTF-8")
		return nil
	}
	nodes, ok := scan(b, (*buf)[:0])
	if !ok {
		// Something is wrong, or unusual: encoding/json's decoder says
		// what, in the words the contract promises.
		v := parseSlow(p, b)
		if !p.ok() {
			*buf = nodes
			return nil
		}
		nodes = appendValue(nodes[:0], nil, v)
	}
	*buf = nodes
	return nodes
}

// parseSlow reads a JSON document into maps, slices, strings, json.Numbers,
// booleans and nils with encoding/json's token stream. It is the reference
// for what parse accepts and for the errors it reports.
func parseSlow(p *problems, b []byte) any {
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
//
// An object knows where it sits (its parent, its key there and, inside an
// array, its index) and builds its JSON path only for a problem, so that
// reading a valid document builds no paths.
type object struct {
	p      *problems
	parent *object
	key    string
	idx    int // the index in the array at parent's key, or -1
	nodes  []node
	at     int // the index of the object's node in nodes
}

// readObject reads v, the member key of parent (at index idx of that
// member's array, unless idx is -1), as an object. A nil parent and an
// empty key mean the envelope itself.
func readObject(p *problems, parent *object, key string, idx int, nodes []node, at int) *object {
	o := new(object)
	if !o.read(p, parent, key, idx, nodes, at) {
		return nil
	}
	return o
}

// read is readObject into o; it reports whether v is an object.
func (o *object) read(p *problems, parent *object, key string, idx int, nodes []node, at int) bool {
	root := parent == nil && key == ""
	var v *node
	if at >= 0 {
		v = value(&nodes[at])
	}
	if v == nil {
		if root {
			p.add(CodeMalformed, "", "an envelope must be a JSON object, not null")
		}
		return false
	}
	*o = object{p: p, parent: parent, key: key, idx: idx, nodes: nodes, at: at}
	if v.kind != kindObject {
		if root {
			p.add(CodeMalformed, "", "an envelope must be a JSON object, not %s", kind(v))
		} else {
			p.add(CodeMalformed, o.path(), "must be an object, not %s", kind(v))
		}
		return false
	}
	return true
}

// path is the object's JSON path, like "data.legs[1]".
func (o *object) path() string {
	if o.parent == nil {
		return o.key
	}
	path := member(o.parent.path(), o.key)
	if o.idx >= 0 {
		path = index(path, o.idx)
	}
	return path
}

// value returns n, or nil when n is JSON null.
func value(n *node) *node {
	if n.kind == kindNull {
		return nil
	}
	return n
}

func kind(v *node) string {
	if v == nil {
		return "null"
	}
	switch v.kind {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "true or false"
	case kindArray:
		return "an array"
	case kindObject:
		return "an object"
	}
	return "null"
}

// get returns the member key, if present and not null.
func (o *object) get(key string) (*node, bool) {
	at := o.find(key)
	if at < 0 {
		return nil, false
	}
	return &o.nodes[at], true
}

// find returns the index of the member key, or -1 if it is absent or null.
func (o *object) find(key string) int {
	if o == nil {
		return -1
	}
	for j := o.at + 1; j < o.nodes[o.at].end; j = o.nodes[j].end {
		if string(o.nodes[j].key) == key {
			o.nodes[j].seen = true
			if o.nodes[j].kind == kindNull {
				return -1
			}
			return j
		}
	}
	return -1
}

func (o *object) wrong(key, want string, v *node) {
	o.p.add(CodeMalformed, member(o.path(), key), "must be %s, not %s", want, kind(v))
}

// typed returns the member key if it is present and of JSON kind k, and
// records a problem if it is present and of another kind.
func (o *object) typed(key string, k valueKind, want string) (*node, bool) {
	v, ok := o.get(key)
	if !ok {
		return nil, false
	}
	if v.kind != k {
		o.wrong(key, want, v)
		return nil, false
	}
	return v, true
}

// text returns a string member's text, which is only valid while the
// document is.
func (o *object) text(key string) []byte {
	v, ok := o.typed(key, kindString, "a string")
	if !ok {
		return nil
	}
	return v.val
}

func (o *object) str(key string) string { return string(o.text(key)) }

// zone reads a string member that names a time zone.
func (o *object) zone(key string) string { return zoneName(o.text(key)) }

func (o *object) boolean(key string) bool {
	v, ok := o.typed(key, kindBool, "true or false")
	return ok && v.val[0] == 't'
}

func (o *object) integer(key string) int {
	v, ok := o.typed(key, kindNumber, "a whole number")
	if !ok {
		return 0
	}
	i, err := strconv.ParseInt(string(v.val), 10, 32)
	if err != nil {
		o.p.add(CodeMalformed, member(o.path(), key), "must be a whole number between %d and %d, not %s", math.MinInt32, math.MaxInt32, v.val)
		return 0
	}
	return int(i)
}

func (o *object) number(key string) *float64 {
	v, ok := o.typed(key, kindNumber, "a number")
	if !ok {
		return nil
	}
	f, err := strconv.ParseFloat(string(v.val), 64)
	if err != nil {
		o.p.add(CodeMalformed, member(o.path(), key), "number %s is out of range", v.val)
		return nil
	}
	return &f
}

// parsed reads a string member and converts it with conv, whose error is
// reported against the member.
func parsed[T any](o *object, key string, conv func([]byte) (T, error)) T {
	var zero T
	v, ok := o.typed(key, kindString, "a string")
	if !ok {
		return zero
	}
	t, err := conv(v.val)
	if err != nil {
		o.p.add(CodeMalformed, member(o.path(), key), "%s", err.Error())
		return zero
	}
	return t
}

func (o *object) time(key string) time.Time {
	return parsed(o, key, func(b []byte) (time.Time, error) { return parseTime(string(b)) })
}

func (o *object) uuid(key string) uuid.UUID { return parsed(o, key, parseID[[]byte]) }

func (o *object) hlc(key string) HLC { return parsed(o, key, parseHLC[[]byte]) }

func (o *object) clock(key string) ClockTime {
	return parsed(o, key, func(b []byte) (ClockTime, error) { return ParseClockTime(string(b)) })
}

func (o *object) date(key string) Date {
	return parsed(o, key, func(b []byte) (Date, error) { return ParseDate(string(b)) })
}

// array returns the index of the array member key and its length, or -1
// when there is no such array.
func (o *object) array(key string) (int, int) {
	at := o.find(key)
	if at < 0 {
		return -1, 0
	}
	if v := &o.nodes[at]; v.kind != kindArray {
		o.wrong(key, "an array", v)
		return -1, 0
	}
	n := 0
	for j := at + 1; j < o.nodes[at].end; j = o.nodes[j].end {
		n++
	}
	return at, n
}

// objects reads an array of objects.
func (o *object) objects(key string) []*object {
	arr, n := o.array(key)
	if arr < 0 {
		return nil
	}
	out := make([]*object, 0, n)
	objs := make([]object, n)
	for j := arr + 1; j < o.nodes[arr].end; j = o.nodes[j].end {
		i := len(out)
		if objs[i].read(o.p, o, key, i, o.nodes, j) {
			out = append(out, &objs[i])
		} else {
			out = append(out, nil)
		}
		if o.nodes[j].kind == kindNull {
			o.p.add(CodeMalformed, index(member(o.path(), key), i), "must be an object, not null")
		}
	}
	return out
}

// uuids reads an array of UUID strings.
func (o *object) uuids(key string) []uuid.UUID {
	arr, n := o.array(key)
	if arr < 0 {
		return nil
	}
	out := make([]uuid.UUID, 0, n)
	for j := arr + 1; j < o.nodes[arr].end; j = o.nodes[j].end {
		it := value(&o.nodes[j])
		i := len(out)
		out = append(out, uuid.Nil)
		if it == nil || it.kind != kindString {
			o.p.add(CodeMalformed, index(member(o.path(), key), i), "must be a string, not %s", kind(it))
			continue
		}
		id, err := parseID(it.val)
		if err != nil {
			o.p.add(CodeMalformed, index(member(o.path(), key), i), "%s", err.Error())
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
	for j := o.at + 1; j < o.nodes[o.at].end; j = o.nodes[j].end {
		if !o.nodes[j].seen {
			unknown = append(unknown, string(o.nodes[j].key))
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		o.p.add(CodeUnknownField, member(o.path(), k), "unknown field")
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
		return t.In(fixedZone(off))
	}
	return t.UTC()
}

// fixedZones holds the unnamed zones of whole-minute offsets under a day,
// made on first use and shared: a location never changes.
var fixedZones [2*24*60 + 1]atomic.Pointer[time.Location]

// fixedZone returns time.FixedZone("", off), shared between times.
func fixedZone(off int) *time.Location {
	if off%60 != 0 || off <= -24*60*60 || off >= 24*60*60 {
		return time.FixedZone("", off)
	}
	slot := &fixedZones[off/60+24*60]
	if loc := slot.Load(); loc != nil {
		return loc
	}
	slot.CompareAndSwap(nil, time.FixedZone("", off))
	return slot.Load()
}

// ParseID reads an id as events spell it: an RFC 9562 UUID (versions 1 to 8; not the nil UUID) in
// its canonical lowercase form only. Other
// spellings of the same UUID would be different strings wherever ids are
// compared as text: in a Kafka header, a warehouse key, a URL.
func ParseID(s string) (uuid.UUID, error) { return parseID(s) }

// parseID is ParseID for text held as a string or as bytes.
func parseID[T string | []byte](s T) (uuid.UUID, error) {
	var u uuid.UUID
	ok := len(s) == 36
	for i, n := 0, 0; ok && i < len(s); {
		switch i {
		case 8, 13, 18, 23:
			ok = s[i] == '-'
			i++
			continue
		}
		hi, okHi := lowerHex(s[i])
		lo, okLo := lowerHex(s[i+1])
		ok = okHi && okLo
		u[n] = hi<<4 | lo
		i, n = i+2, n+1
	}
	// An RFC 9562 UUID: its variant bits 10, a version from 1 to 8.
	ok = ok && u.Variant() == uuid.RFC4122 && u.Version() >= 1 && u.Version() <= 8
	if !ok {
		return uuid.Nil, fmt.Errorf("%s is not a UUID (RFC 9562, version 1 to 8) in lowercase canonical form, like 0193f0b4-8c2e-7c3a-9d4e-5f6a7b8c9d0e", quote(string(s)))
	}
	return u, nil
}

// lowerHex reads one lowercase hexadecimal digit.
func lowerHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
