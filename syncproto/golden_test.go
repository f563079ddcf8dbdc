package syncproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/valid in canonical form and testdata/invalid/*.err from the errors the code gives now")

// canonicalIndented is how a valid vector is stored: Marshal's canonical
// bytes, indented for people to read.
func canonicalIndented(t *testing.T, e Envelope) []byte {
	t.Helper()
	b, err := Marshal(e)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("Indent: %v", err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func TestValidVectors(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid vectors: %v", err)
	}
	covered := map[Type]bool{}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			e, err := Unmarshal(in)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			covered[e.Type] = true

			want := canonicalIndented(t, e)
			if *update {
				if err := os.WriteFile(file, want, 0o644); err != nil {
					t.Fatal(err)
				}
			} else if !bytes.Equal(in, want) {
				t.Errorf("vector is not in canonical form; run go test ./syncproto -run TestValidVectors -update and review the diff\n got:\n%s\nwant:\n%s", in, want)
			}

			out, err := Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Unmarshal(out)
			if err != nil {
				t.Fatalf("Unmarshal(Marshal(e)): %v", err)
			}
			if !reflect.DeepEqual(e, again) {
				t.Errorf("round trip changed the envelope:\n got %+v\nwant %+v", again, e)
			}

			h, err := DecodeHeader(in)
			if err != nil {
				t.Fatalf("DecodeHeader: %v", err)
			}
			if !reflect.DeepEqual(h, e.Header) {
				t.Errorf("DecodeHeader = %+v, want %+v", h, e.Header)
			}
		})
	}
	for _, typ := range Types() {
		if !covered[typ] {
			t.Errorf("no valid vector of type %s", typ)
		}
	}
}

// errorLines renders a rejection the way the .err golden files hold it:
// one problem a line, "code path: rule".
func errorLines(err error) string {
	var es Errors
	if !errors.As(err, &es) {
		return "not an Errors value: " + err.Error() + "\n"
	}
	var b strings.Builder
	for _, e := range es {
		b.WriteString(string(e.Code) + " " + e.Error() + "\n")
	}
	return b.String()
}

func TestInvalidVectors(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid vectors: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Unmarshal(in)
			if err == nil {
				t.Fatal("Unmarshal accepted an invalid vector")
			}
			got := errorLines(err)
			errFile := strings.TrimSuffix(file, ".json") + ".err"
			if *update {
				if err := os.WriteFile(errFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(errFile)
			if err != nil {
				t.Fatalf("every invalid vector needs the error it must produce in %s: %v", errFile, err)
			}
			if got != string(want) {
				t.Errorf("errors differ\n got: %s\nwant: %s", got, want)
			}
		})
	}
}
