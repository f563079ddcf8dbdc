package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// TestWriteRefusalsOverHTTP: the real hub refuses, with the status and the
// problem a client needs, a stamp far ahead of its clock, the removal of a
// member never added, an end at 0001-01-01, a name of invisible
// characters, an event of a newer version about an unknown member, and a
// stored id re-sent with other content; an identical re-send is still
// answered as the first time.
func TestWriteRefusalsOverHTTP(t *testing.T) {
	m := mustRun(t, t.TempDir())
	c := &client{tb: t, base: m.URL}
	f := newFamily(t)
	la := "America/Los_Angeles"
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)

	poisoned := f.setup()[1]
	poisoned.ID = syncproto.NewID()
	poisoned.HLC = syncproto.NewHLC(time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC), 0)
	nap := f.event(f.kemi, testNow.Add(-2*time.Hour), testNow.Add(-time.Hour), la, &syncproto.Sleep{Nap: true})
	invisible := f.setup()[1]
	invisible.ID = syncproto.NewID()
	invisibleRaw := bytes.Replace(f.encode(invisible), []byte(`"display_name":"Ada"`), []byte(`"display_name":"\ufeff"`), 1)
	v2 := bytes.Replace(f.encode(f.event(uuid.New(), testNow.Add(-time.Hour), time.Time{}, la, &syncproto.Meal{Kind: syncproto.MealLunch})),
		[]byte(`"v":1`), []byte(`"v":2`), 1)
	zeroEnd := bytes.Replace(f.encode(nap), []byte(`"end":"`+nap.End.Format(time.RFC3339)+`"`), []byte(`"end":"0001-01-01T00:00:00Z"`), 1)
	zeroEnd = bytes.Replace(zeroEnd, []byte(nap.ID.String()), []byte(syncproto.NewID().String()), 1)
	changed := nap
	changed.Data = &syncproto.Sleep{}

	tests := []struct {
		name string
		body []byte
		code int
		want string
	}{
		{"stamp far ahead", f.encode(poisoned), 400, `"path":"hlc","rule":"the stamp is 640230h59m59s ahead of the hub's clock, which reads 2026-12-18T17:00:00Z`},
		{"removal of a member never added", f.encode(f.event(uuid.New(), testNow, time.Time{}, la, &syncproto.MemberRemoved{})), 400, `"path":"member_id"`},
		{"end at year 1", zeroEnd, 400, `"path":"end","rule":"must lie between 2000-01-01 and 2100-01-01"`},
		{"invisible name", invisibleRaw, 400, `"path":"data.display_name","rule":"must not be blank`},
		{"newer version about an unknown member", v2, 400, `"path":"member_id"`},
		{"first write of the nap", f.encode(nap), 200, `"applied":true`},
		{"identical re-send", f.encode(nap), 200, `"applied":true`},
		{"same id, other content", f.encode(f.event(f.ada, testNow, time.Time{}, la, &syncproto.MemberRemoved{}), changed), 409,
			`"index":1,"code":"invalid","path":"id","rule":"` + "an event with this id and different content is already stored"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := c.do("POST", "/api/v1/events", tc.body)
			if code != tc.code || !strings.Contains(string(body), tc.want) {
				t.Fatalf("answer %d %s; want %d with %s", code, body, tc.code, tc.want)
			}
		})
	}
	var ada struct {
		Removed bool `json:"removed"`
	}
	c.json("GET", "/api/v1/members/"+f.ada.String(), nil, 200, &ada)
	if ada.Removed {
		t.Fatal("the refused batch removed a member")
	}
}
