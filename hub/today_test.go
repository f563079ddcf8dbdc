package hub

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// TestTodayPicks: which plan, day and items Today picks for an instant.
func TestTodayPicks(t *testing.T) {
	d0 := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
	at := func(h float64) time.Time { return d0.Add(time.Duration(h * float64(time.Hour))) }
	item := func(kind circadian.ItemKind, h0, h1 float64) circadian.Item {
		return circadian.Item{Kind: kind, Start: at(h0), End: at(h1), Text: string(kind)}
	}
	day := func(first float64, tz string, items ...circadian.Item) circadian.Day {
		return circadian.Day{Date: syncproto.DateOf(at(first)), TZ: tz, Start: at(first), End: at(first + 24), Items: items}
	}
	plan := func(trip uuid.UUID, days ...circadian.Day) StoredPlan {
		raw, err := json.Marshal(circadian.MemberPlan{Days: days})
		if err != nil {
			t.Fatal(err)
		}
		return StoredPlan{TripID: trip, Plan: raw}
	}
	london, later := uuid.New(), uuid.New()
	// Two days: the first in London, the second in New York.
	trip := plan(london,
		day(0, "Europe/London", item("sleep", 0, 7), item("meal", 8, 9), item("light_seek", 8.5, 10), item("nap", 13, 14)),
		day(24, "America/New_York", item("meal", 30, 31), item("sleep", 46, 54)))
	next := plan(later, day(24*10, "Europe/Paris", item("sleep", 240, 247)))
	failed := StoredPlan{TripID: uuid.New(), Error: "no plan could be made: no legs"}
	broken := StoredPlan{TripID: uuid.New(), Plan: json.RawMessage(`{"days":`)}
	empty := plan(uuid.New())

	tests := []struct {
		name  string
		plans []StoredPlan
		at    time.Time
		trip  uuid.UUID // uuid.Nil: no plan covers the moment
		tz    string
		now   []circadian.ItemKind
		next  []circadian.ItemKind
		note  string
	}{
		{name: "at the start of the first day", plans: []StoredPlan{trip}, at: at(0), trip: london, tz: "Europe/London",
			now: kinds("sleep"), next: kinds("meal", "light_seek", "nap")},
		{name: "items that overlap", plans: []StoredPlan{trip}, at: at(8.75), trip: london, tz: "Europe/London",
			now: kinds("meal", "light_seek"), next: kinds("nap", "meal", "sleep")},
		{name: "an item's end is not in it", plans: []StoredPlan{trip}, at: at(9), trip: london, tz: "Europe/London",
			now: kinds("light_seek"), next: kinds("nap", "meal", "sleep")},
		{name: "the next day, in its zone", plans: []StoredPlan{trip}, at: at(24), trip: london, tz: "America/New_York",
			now: kinds(), next: kinds("meal", "sleep")},
		{name: "the plan's end is past it", plans: []StoredPlan{trip}, at: at(48), tz: "America/Los_Angeles",
			note: "No trip in progress and none planned."},
		{name: "before any plan: the soonest", plans: []StoredPlan{next, trip}, at: at(-1), tz: "America/Los_Angeles",
			note: "the plan starts 2026-12-21T00:00:00Z"},
		{name: "between plans", plans: []StoredPlan{trip, next}, at: at(100), tz: "America/Los_Angeles",
			note: "the plan starts 2026-12-31T00:00:00Z"},
		{name: "plans without days are skipped", plans: []StoredPlan{failed, broken, empty, trip}, at: at(13.5), trip: london, tz: "Europe/London",
			now: kinds("nap"), next: kinds("meal", "sleep")},
		{name: "the first covering plan wins", plans: []StoredPlan{next, trip, plan(uuid.New(), day(0, "Asia/Tokyo"))}, at: at(1), trip: london, tz: "Europe/London",
			now: kinds("sleep"), next: kinds("meal", "light_seek", "nap")},
	}
	m := Member{ID: uuid.New(), Data: &syncproto.MemberUpserted{DisplayName: "Ada", HomeTZ: "America/Los_Angeles"}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Today(m, tc.plans, nil, syncproto.HLC{}, tc.at)
			if got.MemberID != m.ID || got.Name != "Ada" || got.TZ != tc.tz {
				t.Errorf("member %s %q in %s", got.MemberID, got.Name, got.TZ)
			}
			switch {
			case tc.trip == uuid.Nil && got.TripID != nil:
				t.Errorf("trip %s, want none", got.TripID)
			case tc.trip != uuid.Nil && (got.TripID == nil || *got.TripID != tc.trip):
				t.Errorf("trip %v, want %s", got.TripID, tc.trip)
			}
			if tc.trip != uuid.Nil && (got.Day == nil || got.Day.TZ != tc.tz || len(got.Day.Items) != 0) {
				t.Errorf("day %+v", got.Day)
			}
			if g := kindsOf(got.Now); !slices.Equal(g, tc.now) {
				t.Errorf("now %v, want %v", g, tc.now)
			}
			if g := kindsOf(got.Next); !slices.Equal(g, tc.next) {
				t.Errorf("next %v, want %v", g, tc.next)
			}
			if got.Now == nil || got.Next == nil {
				t.Error("nil lists: they are empty arrays in JSON")
			}
			if !strings.Contains(got.Note, tc.note) || (tc.note == "") != (got.Note == "") {
				t.Errorf("note %q, want one with %q", got.Note, tc.note)
			}
		})
	}

	// A member without data yet: no name, no zone, still an answer.
	got := Today(Member{ID: m.ID}, nil, nil, syncproto.HLC{}, at(0))
	if got.Name != "" || got.TZ != "" || got.Note != "No trip in progress and none planned." {
		t.Errorf("a member without data: %+v", got)
	}
}

func kinds(ks ...circadian.ItemKind) []circadian.ItemKind { return ks }

func kindsOf(items []circadian.Item) []circadian.ItemKind {
	var out []circadian.ItemKind
	for _, it := range items {
		out = append(out, it.Kind)
	}
	return out
}

// TestPairingTokens: a token is 32 base32 letters in groups of four, a new
// one every time; surrounding spaces are forgiven; a hash that cannot be
// saved leaves the old token working.
func TestPairingTokens(t *testing.T) {
	var saved [][]byte
	fail := false
	p := NewPairing(nil, func(h []byte) error {
		if fail {
			return errStoreDown
		}
		saved = append(saved, h)
		return nil
	})
	seen := map[string]bool{}
	var tok string
	for range 20 {
		var err error
		if tok, err = p.Rotate(); err != nil {
			t.Fatal(err)
		}
		groups := strings.Split(tok, "-")
		if len(groups) != 8 || seen[tok] {
			t.Fatalf("token %q: want 8 groups, new each time", tok)
		}
		for _, g := range groups {
			if len(g) != 4 || strings.Trim(g, "abcdefghijklmnopqrstuvwxyz234567") != "" {
				t.Fatalf("token %q: group %q", tok, g)
			}
		}
		seen[tok] = true
	}
	if len(saved) != 20 || len(saved[19]) != 32 {
		t.Fatalf("%d hashes saved", len(saved))
	}
	if !p.Check("  "+tok+"\n") || p.Check(strings.ToUpper(tok)) || p.Check(strings.ReplaceAll(tok, "-", "")) {
		t.Error("check: spaces should be forgiven, nothing else")
	}
	fail = true
	if _, err := p.Rotate(); err == nil {
		t.Fatal("a rotation whose hash could not be saved succeeded")
	}
	if !p.Check(tok) {
		t.Error("the token stopped working after a rotation that failed")
	}
}

// TestStateAt: what the log says a person is doing at a moment.
func TestStateAt(t *testing.T) {
	at := time.Date(2026, 12, 21, 0, 50, 0, 0, time.UTC)
	clk := syncproto.NewClock(func() time.Time { return at })
	fam, who := uuid.New(), uuid.New()
	fact := func(typ syncproto.Payload, start, end time.Time) LoggedFact {
		e := syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: fam, MemberID: who, Origin: "web:test",
			Type: typ.Type(), Start: start, End: end, TZ: "Europe/London", HLC: clk.Now(), V: syncproto.CurrentVersion}, Data: typ}
		raw, err := syncproto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return LoggedFact{Event: raw}
	}
	h := func(hours float64) time.Time { return at.Add(time.Duration(hours * float64(time.Hour))) }
	sleep := func(from, to float64) LoggedFact {
		var end time.Time
		if to != 0 {
			end = h(to)
		}
		return fact(&syncproto.Sleep{}, h(from), end)
	}
	nap := func(from, to float64) LoggedFact {
		var end time.Time
		if to != 0 {
			end = h(to)
		}
		return fact(&syncproto.Sleep{Nap: true}, h(from), end)
	}
	meal := fact(&syncproto.Meal{Kind: syncproto.MealSnack}, h(-0.5), h(-0.25))
	tests := []struct {
		name  string
		facts []LoggedFact
		kind  StateKind // "" for none
		since float64
	}{
		{name: "nothing logged", facts: nil},
		{name: "only a meal", facts: []LoggedFact{meal}},
		{name: "a nap going on", facts: []LoggedFact{meal, nap(-0.5, 0), sleep(-20, -11)}, kind: StateNapping, since: -0.5},
		{name: "a night going on", facts: []LoggedFact{sleep(-3, 0), nap(-8, -7)}, kind: StateAsleep, since: -3},
		{name: "a sleep logged to end later", facts: []LoggedFact{sleep(-3, 5)}, kind: StateAsleep, since: -3},
		{name: "awake since the last end", facts: []LoggedFact{nap(-2, -1.5), sleep(-14, -5)}, kind: StateAwake, since: -1.5},
		{name: "logs after the moment do not count", facts: []LoggedFact{nap(1, 2), sleep(-14, -5)}, kind: StateAwake, since: -5},
		{name: "an open nap left for hours", facts: []LoggedFact{nap(-7, 0), sleep(-20, -10)}, kind: StateAwake, since: -10},
		{name: "an open night left for more than a day", facts: []LoggedFact{sleep(-25, 0)}},
		{name: "too long ago to tell", facts: []LoggedFact{sleep(-48, -37)}},
		{name: "an open sleep after a nap that ended", facts: []LoggedFact{nap(-5, -4), sleep(-1, 0)}, kind: StateAsleep, since: -1},
		{name: "an event that is not JSON is skipped", facts: []LoggedFact{{Event: json.RawMessage(`{`)}, sleep(-10, -2)}, kind: StateAwake, since: -2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := StateAt(tc.facts, at)
			switch {
			case tc.kind == "" && got != nil:
				t.Errorf("state %+v, want none", got)
			case tc.kind != "" && (got == nil || got.Kind != tc.kind || !got.Since.Equal(h(tc.since))):
				t.Errorf("state %+v, want %s since %s", got, tc.kind, h(tc.since))
			case got != nil && (got.Event != nil) != (got.Kind != StateAwake):
				t.Errorf("state %+v: the event is named for asleep and napping only", got)
			}
		})
	}
}
