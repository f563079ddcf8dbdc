package syncproto

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"sync"
)

// valueKind is the JSON kind of a node.
type valueKind uint8

const (
	kindNull valueKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

// node is one JSON value of a parsed document. A document is a flat slice
// of nodes in document order: an object or array is followed by its members
// or elements, each followed by its own descendants, so a value's subtree
// is the nodes from its own index up to end.
type node struct {
	kind valueKind
	// seen marks an object member that a reader asked for.
	seen bool
	// key is an object member's key, unescaped; nil for other values.
	key []byte
	// val is a string's text, unescaped, a number's literal, or "true" or
	// "false". It may share memory with the input.
	val []byte
	// end is the index of the first node after this value's subtree.
	end int
}

// maxFastMembers bounds how many members the scanner checks for duplicates
// pairwise. A larger object goes to the slow parser, which uses a map.
const maxFastMembers = 64

// scanner reads a whole JSON document into nodes without allocating per
// value. It accepts exactly what parseValue accepts without a problem, or
// less: whenever it finds anything wrong (or anything it does not handle
// cheaply) it stops, and the caller asks parseValue, whose error messages
// are the contract.
type scanner struct {
	b     []byte
	i     int
	nodes []node
}

// scan parses b into nodes appended to the given slice. It reports false
// when b is not a document the scanner can vouch for.
func scan(b []byte, nodes []node) ([]node, bool) {
	s := scanner{b: b, nodes: nodes}
	if !s.value(nil, 0) {
		return s.nodes, false
	}
	s.space()
	return s.nodes, s.i == len(s.b)
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, consuming
// it if so.
func (s *scanner) next(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) value(key []byte, depth int) bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	at := len(s.nodes)
	s.nodes = append(s.nodes, node{key: key})
	ok := false
	switch c := s.b[s.i]; {
	case c == '{':
		ok = depth < maxDepth && s.object(at, depth)
	case c == '[':
		ok = depth < maxDepth && s.array(depth)
	case c == '"':
		s.nodes[at].kind = kindString
		s.nodes[at].val, ok = s.str()
	case c == 't':
		s.nodes[at].kind = kindBool
		s.nodes[at].val, ok = s.literal("true")
	case c == 'f':
		s.nodes[at].kind = kindBool
		s.nodes[at].val, ok = s.literal("false")
	case c == 'n':
		_, ok = s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		s.nodes[at].kind = kindNumber
		s.nodes[at].val, ok = s.number()
	}
	s.nodes[at].end = len(s.nodes)
	return ok
}

func (s *scanner) object(at, depth int) bool {
	s.nodes[at].kind = kindObject
	s.i++ // '{'
	if s.next('}') {
		return true
	}
	for n := 1; ; n++ {
		s.space()
		if n > maxFastMembers || s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		key, ok := s.str()
		if !ok || s.duplicate(at, key) || !s.next(':') || !s.value(key, depth+1) {
			return false
		}
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// duplicate reports whether the object at index at already has key.
func (s *scanner) duplicate(at int, key []byte) bool {
	for j := at + 1; j < len(s.nodes); j = s.nodes[j].end {
		if bytes.Equal(s.nodes[j].key, key) {
			return true
		}
	}
	return false
}

func (s *scanner) array(depth int) bool {
	at := len(s.nodes) - 1
	s.nodes[at].kind = kindArray
	s.i++ // '['
	if s.next(']') {
		return true
	}
	for {
		if !s.value(nil, depth+1) {
			return false
		}
		if s.next(']') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// plain marks the bytes a string holds as they are: not a quote, a
// backslash or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string and returns its text, unescaped.
func (s *scanner) str() ([]byte, bool) {
	start := s.i
	s.i++ // '"'
	escaped := false
	for {
		s.skipPlain()
		for s.i < len(s.b) && plain[s.b[s.i]] {
			s.i++
		}
		if s.i >= len(s.b) {
			return nil, false
		}
		switch s.b[s.i] {
		case '"':
			s.i++
			if !escaped {
				return s.b[start+1 : s.i-1], true
			}
			// Rare: let encoding/json apply its own unescaping rules
			// (surrogates and all).
			var text string
			if json.Unmarshal(s.b[start:s.i], &text) != nil {
				return nil, false
			}
			return []byte(text), true
		case '\\':
			escaped = true
			if !s.escape() {
				return nil, false
			}
		default: // a control character
			return nil, false
		}
	}
}

// skipPlain skips the plain bytes of a string eight at a time, stopping
// short of any group of eight that may hold a byte that is not plain.
func (s *scanner) skipPlain() {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for s.i+8 <= len(s.b) {
		x := binary.LittleEndian.Uint64(s.b[s.i:])
		quote := x ^ (ones * '"')
		backslash := x ^ (ones * '\\')
		// A high bit survives where a byte of x is below 0x20, or where a
		// byte of quote or backslash is zero (x held '"' or '\\').
		if ((x-ones*0x20)&^x|(quote-ones)&^quote|(backslash-ones)&^backslash)&highs != 0 {
			return
		}
		s.i += 8
	}
}

// escape reads one escape sequence inside a string.
func (s *scanner) escape() bool {
	s.i++ // backslash
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i++
		return true
	case 'u':
		if s.i+4 >= len(s.b) {
			return false
		}
		for _, h := range s.b[s.i+1 : s.i+5] {
			if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
				return false
			}
		}
		s.i += 5
		return true
	}
	return false
}

func (s *scanner) literal(word string) ([]byte, bool) {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return nil, false
	}
	start := s.i
	s.i += len(word)
	return s.b[start:s.i], true
}

// number reads a number as RFC 8259 spells it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() ([]byte, bool) {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.digits() == 0:
		return nil, false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return nil, false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return nil, false
		}
	}
	return s.b[start:s.i], true
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// appendValue appends the nodes of a value that parseValue built, for the
// rare document that the scanner leaves to it and that turns out valid.
func appendValue(nodes []node, key []byte, v any) []node {
	at := len(nodes)
	nodes = append(nodes, node{key: key})
	switch v := v.(type) {
	case bool:
		nodes[at].kind = kindBool
		nodes[at].val = []byte("false")
		if v {
			nodes[at].val = []byte("true")
		}
	case json.Number:
		nodes[at].kind = kindNumber
		nodes[at].val = []byte(v)
	case string:
		nodes[at].kind = kindString
		nodes[at].val = []byte(v)
	case []any:
		nodes[at].kind = kindArray
		for _, e := range v {
			nodes = appendValue(nodes, nil, e)
		}
	case map[string]any:
		nodes[at].kind = kindObject
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			nodes = appendValue(nodes, []byte(k), v[k])
		}
	}
	nodes[at].end = len(nodes)
	return nodes
}

// nodePool recycles node slices between decodes.
var nodePool = sync.Pool{New: func() any { return new([]node) }}

// maxPooledNodes keeps one huge document from pinning its nodes in the pool.
const maxPooledNodes = 1024

func getNodes() *[]node { return nodePool.Get().(*[]node) }

func putNodes(n *[]node) {
	if cap(*n) > maxPooledNodes {
		return
	}
	clear(*n) // drop references to the input
	*n = (*n)[:0]
	nodePool.Put(n)
}
