package history

import (
	"bytes"
	"testing"
	"time"

	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

var now = time.Date(2026, 12, 18, 17, 0, 0, 0, time.UTC)

// TestHistoryIsValid: every event passes syncproto's rules, the family
// fold applies each one (none ignored), stamps rise and none passes Now,
// and a seed makes the same history.
func TestHistoryIsValid(t *testing.T) {
	const n = 5000
	f := New(7, now)
	es := f.History(n)
	if len(es) != n {
		t.Fatalf("got %d events, want %d", len(es), n)
	}
	raws, err := Encode(es)
	if err != nil {
		t.Fatal(err)
	}
	s := family.New(f.ID)
	kinds := map[syncproto.Type]int{}
	corrections := 0
	for i, raw := range raws {
		e, err := syncproto.Unmarshal(raw)
		if err != nil {
			t.Fatalf("event %d (%s): %v", i, es[i].Type, err)
		}
		if i > 0 && e.HLC.Compare(es[i-1].HLC) <= 0 {
			t.Fatalf("event %d: stamp %s not after %s", i, e.HLC, es[i-1].HLC)
		}
		if e.HLC.Time().After(now) || e.End.After(now) {
			t.Fatalf("event %d ends or is stamped after Now", i)
		}
		c, isNew := s.Apply(e)
		if !isNew || c.Ignored != "" {
			t.Fatalf("event %d (%s) not applied: %q", i, e.Type, c.Ignored)
		}
		kinds[e.Type]++
		if bytes.Contains(raw, []byte(`"supersedes"`)) {
			corrections++
		}
	}
	for _, k := range []syncproto.Type{syncproto.TypeSleep, syncproto.TypeMeal, syncproto.TypeLightExposure, syncproto.TypeLogRetracted} {
		if kinds[k] == 0 {
			t.Errorf("no %s events: %v", k, kinds)
		}
	}
	if corrections == 0 {
		t.Errorf("no corrections")
	}
	var last time.Time
	for _, e := range es {
		if e.End.After(last) {
			last = e.End
		}
	}
	if gap := now.Sub(last); gap < 0 || gap >= 24*time.Hour {
		t.Errorf("the last fact ends %s before Now; want less than a day", gap)
	}
	again, _ := Encode(New(7, now).History(n))
	for i := range raws {
		if !bytes.Equal(raws[i], again[i]) {
			t.Fatalf("event %d differs between two runs of the same seed", i)
		}
	}
}
