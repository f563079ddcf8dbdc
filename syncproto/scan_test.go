package syncproto

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// treeOf rebuilds the value at nodes[at] the way parseSlow spells it.
func treeOf(nodes []node, at int) any {
	n := nodes[at]
	switch n.kind {
	case kindBool:
		return string(n.val) == "true"
	case kindNumber:
		return json.Number(n.val)
	case kindString:
		return string(n.val)
	case kindArray:
		a := []any{}
		for j := at + 1; j < n.end; j = nodes[j].end {
			a = append(a, treeOf(nodes, j))
		}
		return a
	case kindObject:
		m := map[string]any{}
		for j := at + 1; j < n.end; j = nodes[j].end {
			m[string(nodes[j].key)] = treeOf(nodes, j)
		}
		return m
	}
	return nil
}

// checkScan fails if the scanner vouches for a document that encoding/json's
// token stream rejects or reads differently. The scanner may refuse more:
// parse then asks the slow parser.
func checkScan(t *testing.T, b []byte) {
	t.Helper()
	if len(b) > MaxEnvelopeBytes || !utf8.Valid(b) {
		return
	}
	nodes, ok := scan(b, nil)
	if !ok {
		return
	}
	var p problems
	want := parseSlow(&p, b)
	if !p.ok() {
		t.Fatalf("scanner accepted %q; the decoder says %v", b, p.err())
	}
	if got := treeOf(nodes, 0); !reflect.DeepEqual(got, want) {
		t.Fatalf("scanner read %q as %#v; the decoder as %#v", b, got, want)
	}
}

// vectors returns every golden vector, valid and invalid.
func vectors(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no vectors in %s: %v", dir, err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

func TestScanAgreesWithDecoder(t *testing.T) {
	cases := []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e-3`, `"x"`, ` {"a" : [1, 2 ,{"b":null}] } `,
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"\u00e9":"\ud800"}`, `{"a":"\/\b\f\n\r\t\""}`,
		`01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`, `nul`, `"a`, `"\x"`, `"\u12"`, "\"\x01\"",
		`{"a" 1}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{} {}`, `{}x`, `{"a":{"b":[`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		`{"k":` + strings.Repeat(`{"k":`, maxDepth) + `1` + strings.Repeat("}", maxDepth+1),
	}
	for i := range 20 { // a special byte at every position of an eight-byte group
		for _, special := range []string{`\"`, `\\`, `\u00e9`, "\x01", "\x1f", "\x7f", "é", `"`} {
			pad := strings.Repeat("x", i)
			cases = append(cases, `"`+pad+special+pad+`"`, `{"`+pad+special+`":"`+special+pad+`"}`)
		}
	}
	for _, c := range cases {
		checkScan(t, []byte(c))
	}
	for _, v := range vectors(t) {
		checkScan(t, v)
		for i := 0; i < len(v); i += 7 { // prefixes, and bytes dropped
			checkScan(t, v[:i])
			checkScan(t, append(append([]byte{}, v[:i]...), v[i+1:]...))
		}
	}
}

// FuzzScan checks that the scanner never vouches for a document that
// encoding/json's token stream rejects or reads differently.
func FuzzScan(f *testing.F) {
	for _, v := range vectors(f) {
		f.Add(v)
	}
	f.Add([]byte(`{"a":1,"\u0061":2}`))
	f.Fuzz(checkScan)
}

// randomEvents returns the valid golden vectors' envelopes with random
// headers: ids, origin, times, zone and stamp.
func randomEvents(t *testing.T, n int) []Envelope {
	t.Helper()
	var valid []Envelope
	for _, v := range vectors(t) {
		if e, err := Unmarshal(v); err == nil {
			valid = append(valid, e)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	zones := Zones()
	var out []Envelope
	for range n {
		e := valid[r.IntN(len(valid))]
		e.ID = randomID(r, 7)
		e.FamilyID = randomID(r, 4)
		if e.MemberID != uuid.Nil {
			e.MemberID = randomID(r, 4)
		}
		e.Origin = "hub:" + strings.Repeat("x", r.IntN(40))
		shift := time.Duration(r.Int64N(int64(20*365*24*time.Hour))) - 10*365*24*time.Hour
		e.Start = e.Start.Add(shift).Truncate(time.Second)
		if !e.End.IsZero() {
			e.End = e.End.Add(shift).Truncate(time.Second)
		}
		e.TZ = zones[r.IntN(len(zones))]
		e.HLC = NewHLC(e.Start, r.IntN(maxLogical+1))
		if e.Validate() == nil { // the shift can make a payload invalid (a birth date after start, say)
			out = append(out, e)
		}
	}
	if len(out) < n/2 {
		t.Fatalf("only %d of %d random events are valid", len(out), n)
	}
	return out
}

// TestDecodeHeaderAgreesWithUnmarshal checks that whatever Unmarshal
// accepts, DecodeHeader accepts with the same header, for every golden
// vector and for random valid events.
func TestDecodeHeaderAgreesWithUnmarshal(t *testing.T) {
	inputs := vectors(t)
	for _, e := range randomEvents(t, 500) {
		b, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	accepted := 0
	for _, b := range inputs {
		e, err := Unmarshal(b)
		h, herr := DecodeHeader(b)
		if err != nil {
			continue
		}
		accepted++
		if herr != nil {
			t.Fatalf("DecodeHeader rejected what Unmarshal accepts: %v\n%s", herr, b)
		}
		if !reflect.DeepEqual(h, e.Header) {
			t.Fatalf("DecodeHeader = %+v, Unmarshal's header = %+v\n%s", h, e.Header, b)
		}
	}
	if accepted < 300 {
		t.Fatalf("only %d accepted events compared", accepted)
	}
}

// TestMarshalAgreesWithEncodingJSON checks that the hand-written header
// gives the bytes encoding/json gives for the whole envelope.
func TestMarshalAgreesWithEncodingJSON(t *testing.T) {
	for _, e := range randomEvents(t, 500) {
		got, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := marshalWire(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Marshal wrote\n%s\nencoding/json writes\n%s", got, want)
		}
	}
}

// randomID returns a random RFC 9562 UUID of the given version.
func randomID(r *rand.Rand, version byte) uuid.UUID {
	var u uuid.UUID
	for i := range u {
		u[i] = byte(r.Uint32())
	}
	u[6] = u[6]&0x0f | version<<4
	u[8] = u[8]&0x3f | 0x80
	return u
}

// TestParseIDAgreesWithUUIDParse checks the hand-written id reader against
// uuid.Parse with ParseID's rules on top, on random ids and near misses.
func TestParseIDAgreesWithUUIDParse(t *testing.T) {
	reference := func(s string) (uuid.UUID, bool) {
		if len(s) != 36 || strings.ToLower(s) != s {
			return uuid.Nil, false
		}
		u, err := uuid.Parse(s)
		if err != nil || u.Variant() != uuid.RFC4122 || u.Version() < 1 || u.Version() > 8 {
			return uuid.Nil, false
		}
		return u, true
	}
	r := rand.New(rand.NewPCG(5, 6))
	const alphabet = "0123456789abcdefABCDEF-g{} "
	for range 20000 {
		var u uuid.UUID
		for i := range u {
			u[i] = byte(r.Uint32())
		}
		b := []byte(u.String())
		if r.IntN(2) == 0 {
			b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		want, wantOK := reference(s)
		got, err := ParseID(s)
		if (err == nil) != wantOK || got != want {
			t.Fatalf("ParseID(%q) = %v, %v; uuid.Parse reads %v, %v", s, got, err, want, wantOK)
		}
	}
}
