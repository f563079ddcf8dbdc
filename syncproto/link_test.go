package syncproto_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

func TestFetchReplyRoundTrip(t *testing.T) {
	cases := map[string]syncproto.FetchReply{
		"empty":        {Last: 7},
		"events":       {Events: [][]byte{[]byte(`{"a":1}`), []byte(" {\n\"b\" : 2 }\n"), {}}, Last: 42, More: true},
		"error":        {Last: 3, Error: "stream unavailable"},
		"a long event": {Events: [][]byte{bytes.Repeat([]byte("x"), 70000)}, Last: 1},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := syncproto.UnmarshalFetchReply(syncproto.MarshalFetchReply(r))
			if err != nil {
				t.Fatal(err)
			}
			if got.Last != r.Last || got.More != r.More || got.Error != r.Error || len(got.Events) != len(r.Events) {
				t.Fatalf("got %+v, want %+v", got, r)
			}
			for i := range r.Events {
				if !bytes.Equal(got.Events[i], r.Events[i]) {
					t.Fatalf("event %d: %q, want %q (byte for byte)", i, got.Events[i], r.Events[i])
				}
			}
		})
	}
	for name, b := range map[string]string{
		"no header":   `{"last":1}`,
		"cut short":   "{\"last\":1,\"n\":1}\n\x05ab",
		"extra bytes": "{\"last\":1,\"n\":0}\nzz",
		"bad header":  "{last}\n",
	} {
		if _, err := syncproto.UnmarshalFetchReply([]byte(b)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzUnmarshalFetchReply(f *testing.F) {
	f.Add(syncproto.MarshalFetchReply(syncproto.FetchReply{Events: [][]byte{[]byte(`{}`)}, Last: 9, More: true}))
	f.Add([]byte("{\"last\":1,\"n\":3}\n\x01a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := syncproto.UnmarshalFetchReply(b)
		if err != nil {
			return
		}
		again, err := syncproto.UnmarshalFetchReply(syncproto.MarshalFetchReply(r))
		if err != nil || len(again.Events) != len(r.Events) || again.Last != r.Last {
			t.Fatalf("a reply read back differently: %v", err)
		}
	})
}

func TestReadCredentials(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, uuid.NewString())
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	fam := uuid.New()
	c, err := syncproto.ReadCredentials(write(`{"family_id":"` + fam.String() + `","secret":"s3cret"}`))
	if err != nil || c.FamilyID != fam || c.Secret != "s3cret" {
		t.Fatalf("%+v %v", c, err)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c); strings.Contains(s, "s3cret") {
		t.Fatal("the secret shows when printed")
	}
	for name, body := range map[string]string{
		"not json":  "family=x",
		"no family": `{"secret":"x"}`,
		"no secret": `{"family_id":"` + fam.String() + `"}`,
	} {
		if _, err := syncproto.ReadCredentials(write(body)); err == nil || !strings.Contains(err.Error(), "credentials") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := syncproto.ReadCredentials(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file: no error")
	}
}
