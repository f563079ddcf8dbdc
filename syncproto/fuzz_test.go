package syncproto

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzUnmarshal checks that no input makes Unmarshal or DecodeHeader panic,
// that every rejection is typed, and that whatever Unmarshal accepts
// encodes, decodes back to the same envelope and encodes to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"member_id": null, "end": null, "data": {"lux": -0, "supersedes": null}}`))
	f.Add([]byte(`{"v": 2, "type": "x.y", "future": [1, {"a": "b"}], "data": {}}`))

	f.Fuzz(func(t *testing.T, b []byte) {
		h, herr := DecodeHeader(b)
		checkTyped(t, herr)
		e, err := Unmarshal(b)
		if err != nil {
			checkTyped(t, err)
			return
		}
		if herr != nil {
			t.Fatalf("Unmarshal accepted what DecodeHeader rejected: %v", herr)
		}
		if !reflect.DeepEqual(h, e.Header) {
			t.Fatalf("DecodeHeader = %+v, Unmarshal's header = %+v", h, e.Header)
		}
		out, err := Marshal(e)
		if err != nil {
			t.Fatalf("Marshal of an accepted envelope: %v", err)
		}
		again, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal of Marshal's output %s: %v", out, err)
		}
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("round trip changed the envelope:\n got %+v\nwant %+v", again, e)
		}
		out2, err := Marshal(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding is not stable:\n%s\n%s (%v)", out, out2, err)
		}
	})
}

func checkTyped(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("rejection is not a non-empty Errors: %#v", err)
	}
	for _, e := range es {
		if e.Code == "" || e.Rule == "" {
			t.Fatalf("problem without a code or rule: %#v", e)
		}
	}
}

// FuzzParseHLC checks that a stamp that parses prints back as its input.
func FuzzParseHLC(f *testing.F) {
	f.Add("2026-11-26T01:11:00.123Z-0001")
	f.Add("1999-12-31T23:59:59.999Z-9999")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHLC(s)
		if err != nil {
			return
		}
		if h.String() != s {
			t.Fatalf("ParseHLC(%q).String() = %q", s, h.String())
		}
	})
}
