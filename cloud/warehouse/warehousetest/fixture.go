package warehousetest

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// The zones events happen in: fixed offsets, so that the suite needs no
// time zone database, named as an event names them.
var (
	pacific = time.FixedZone("PDT", -7*3600)
	london  = time.FixedZone("BST", 1*3600)
)

// fixture makes valid events, encoded with syncproto as ingest receives
// them, each stamped a second after the one before.
type fixture struct {
	t      *testing.T
	wall   time.Time // the wall clock of the last HLC stamp
	last   syncproto.HLC
	tie    bool // the next stamp repeats the last
	offset int64
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, wall: time.Date(2026, 7, 14, 16, 0, 0, 0, time.UTC)}
}

// stamp returns the next event's HLC.
func (f *fixture) stamp() syncproto.HLC {
	if f.tie {
		f.tie = false
		return f.last
	}
	f.wall = f.wall.Add(time.Second)
	f.last = syncproto.NewHLC(f.wall, int(f.offset%3))
	return f.last
}

// event encodes an event and returns its row, as ingest would store it.
func (f *fixture) event(family, member uuid.UUID, tz string, start, end time.Time, data syncproto.Payload) cloud.Row {
	f.t.Helper()
	hlc := f.stamp()
	e := syncproto.Envelope{
		Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: family, MemberID: member, Origin: "hub:warehousetest",
			Type: data.Type(), Start: start, End: end, TZ: tz, HLC: hlc, V: syncproto.CurrentVersion},
		Data: data,
	}
	b, err := syncproto.Marshal(e)
	if err != nil {
		f.t.Fatalf("encode %s event: %v", e.Type, err)
	}
	f.offset++
	return cloud.Row{
		ID: e.ID, Family: family, Member: member, Type: e.Type,
		Start: start, End: end, TZ: tz, HLC: hlc.String(), Payload: b,
		Topic: "zoner.events", Partition: int32(f.offset % 4), Offset: 1000 + f.offset,
		// Sub-millisecond, to show that a store keeping milliseconds or
		// better is enough.
		IngestedAt: f.wall.Add(2*time.Second + 123456*time.Microsecond),
	}
}

// sleep is a night's sleep in California ending at the stamp's time.
func (f *fixture) sleep(family, member uuid.UUID) cloud.Row {
	f.t.Helper()
	end := f.wall.Add(time.Second).Add(-250 * time.Millisecond).In(pacific)
	return f.event(family, member, "America/Los_Angeles", end.Add(-7*time.Hour-20*time.Minute), end, &syncproto.Sleep{})
}

// meal is a meal in London without an end.
func (f *fixture) meal(family, member uuid.UUID) cloud.Row {
	f.t.Helper()
	start := f.wall.Add(-30 * time.Minute).In(london)
	return f.event(family, member, "Europe/London", start, time.Time{}, &syncproto.Meal{Kind: syncproto.MealDinner})
}

// light is an hour outdoors in California, starting at start.
func (f *fixture) light(family, member uuid.UUID, start time.Time) cloud.Row {
	f.t.Helper()
	start = start.In(pacific)
	return f.event(family, member, "America/Los_Angeles", start, start.Add(time.Hour),
		&syncproto.LightExposure{Level: syncproto.LevelOutdoorDaylight})
}

// retraction undoes an earlier logged fact; it happens at start.
func (f *fixture) retraction(fact cloud.Row, start time.Time) cloud.Row {
	f.t.Helper()
	return f.event(fact.Family, fact.Member, "Europe/London", start.In(london), time.Time{},
		&syncproto.LogRetracted{EventID: fact.ID})
}

// familyUpserted names a family; the name is not ASCII, to show that
// payload bytes survive.
func (f *fixture) familyUpserted(family uuid.UUID) cloud.Row {
	f.t.Helper()
	return f.event(family, uuid.Nil, "Europe/London", f.wall.In(london),
		time.Time{}, &syncproto.FamilyUpserted{Name: "Les Müller & <Ōkubo> 🌙", HomeTZ: "Europe/London"})
}

// trip is a trip.upserted event with one leg per flight number, "" for a
// leg without one.
func (f *fixture) trip(family uuid.UUID, name string, flights ...string) cloud.Row {
	f.t.Helper()
	depart := time.Date(2026, 8, 1, 16, 20, 0, 0, pacific)
	var legs []syncproto.Leg
	for i, flight := range flights {
		from, to, fromTZ, toTZ := "SFO", "LHR", "America/Los_Angeles", "Europe/London"
		if i%2 == 1 {
			from, to, fromTZ, toTZ = to, from, toTZ, fromTZ
		}
		d := depart.Add(time.Duration(i) * 72 * time.Hour)
		legs = append(legs, syncproto.Leg{Flight: flight, From: from, To: to, FromTZ: fromTZ, ToTZ: toTZ,
			Depart: d, Arrive: d.Add(10*time.Hour + 25*time.Minute)})
	}
	data := &syncproto.TripUpserted{TripID: uuid.New(), Name: name, Legs: legs,
		Travellers: []uuid.UUID{uuid.New(), uuid.New()}}
	return f.event(family, uuid.Nil, "America/Los_Angeles", f.wall.In(pacific), time.Time{}, data)
}

// flightUpdated is news about a leg with the given flight number.
func (f *fixture) flightUpdated(family uuid.UUID, flight string) cloud.Row {
	f.t.Helper()
	data := &syncproto.FlightUpdated{TripID: uuid.New(), Leg: 1, Flight: flight, Status: syncproto.FlightDelayed,
		Depart: time.Date(2026, 8, 1, 17, 5, 0, 0, pacific)}
	return f.event(family, uuid.Nil, "America/Los_Angeles", f.wall.In(pacific), time.Time{}, data)
}

// ids returns n new ids, sorted.
func ids(n int) []uuid.UUID {
	out := make([]uuid.UUID, n)
	for i := range out {
		out[i] = uuid.New()
	}
	slices.SortFunc(out, compareUUID)
	return out
}

func compareUUID(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }

// sorted returns rows in the order Events promises: family, HLC, id.
func sorted(rows []cloud.Row) []cloud.Row {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b cloud.Row) int {
		return cmp.Or(compareUUID(a.Family, b.Family), cmp.Compare(a.HLC, b.HLC), compareUUID(a.ID, b.ID))
	})
	return out
}

// shuffled returns rows in an order fixed by seed.
func shuffled[T any](seed uint64, rows []T) []T {
	out := slices.Clone(rows)
	r := rand.New(rand.NewPCG(seed, seed))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func mustMerge(t *testing.T, w cloud.Warehouse, rows []cloud.Row) int {
	t.Helper()
	n, err := w.MergeEvents(t.Context(), rows)
	if err != nil {
		t.Fatalf("MergeEvents(%d rows): %v", len(rows), err)
	}
	return n
}

// mustEvents reads every event of the families.
func mustEvents(t *testing.T, w cloud.Warehouse, families ...uuid.UUID) []cloud.Row {
	t.Helper()
	return mustEventsSince(t, w, time.Time{}, families...)
}

func mustEventsSince(t *testing.T, w cloud.Warehouse, since time.Time, families ...uuid.UUID) []cloud.Row {
	t.Helper()
	rows, err := w.Events(t.Context(), families, since)
	if err != nil {
		t.Fatalf("Events(since %v): %v", since, err)
	}
	return rows
}

// checkStats checks that RAW_EVENTS holds n rows with n distinct ids.
func checkStats(t *testing.T, w cloud.Warehouse, n int64) {
	t.Helper()
	rows, ids, err := w.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if rows != n || ids != n {
		t.Errorf("Stats = %d rows, %d ids; want %d and %d", rows, ids, n, n)
	}
}

// checkRows compares rows, first their order then each field, and reports
// the first few rows that differ.
func checkRows(t *testing.T, what string, got, want []cloud.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		switch d := diffRow(g, w); {
		case d == "":
			continue
		case g.ID != w.ID:
			t.Errorf("%s: row %d is event %s (family %s, HLC %s), want %s (family %s, HLC %s)",
				what, i, g.ID, g.Family, g.HLC, w.ID, w.Family, w.HLC)
		default:
			t.Errorf("%s: row %d (event %s):%s", what, i, g.ID, d)
		}
		if bad++; bad == 3 {
			t.Fatalf("%s: more rows may differ", what)
		}
	}
}

func diffRow(got, want cloud.Row) string {
	var b diff
	b.check("ID", got.ID, want.ID)
	b.check("Family", got.Family, want.Family)
	b.check("Member", got.Member, want.Member)
	b.check("Type", got.Type, want.Type)
	b.time("Start", got.Start, want.Start)
	b.time("End", got.End, want.End)
	b.check("TZ", got.TZ, want.TZ)
	b.check("HLC", got.HLC, want.HLC)
	if !bytes.Equal(got.Payload, want.Payload) {
		b.add("Payload = %q\n\twant %q", got.Payload, want.Payload)
	}
	b.check("Topic", got.Topic, want.Topic)
	b.check("Partition", got.Partition, want.Partition)
	b.check("Offset", got.Offset, want.Offset)
	b.time("IngestedAt", got.IngestedAt, want.IngestedAt)
	return string(b)
}

// diff collects the fields in which two values differ.
type diff string

func (d *diff) add(format string, args ...any) {
	*d += diff("\n\t" + fmt.Sprintf(format, args...))
}

func (d *diff) check(field string, got, want any) {
	if got != want {
		d.add("%s = %v, want %v", field, got, want)
	}
}

// time checks that got is want to the millisecond, and zero when want is.
func (d *diff) time(field string, got, want time.Time) {
	switch {
	case want.IsZero() && got.IsZero():
	case want.IsZero() || got.IsZero() ||
		!got.Truncate(time.Millisecond).Equal(want.Truncate(time.Millisecond)):
		d.add("%s = %v, want %v", field, got, want)
	}
}

// float checks an optional float to within rounding.
func (d *diff) float(field string, got, want *float64) {
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil || !near(*got, *want):
		d.add("%s = %s, want %s", field, fmtFloat(got), fmtFloat(want))
	}
}

func (d *diff) int(field string, got, want *int) {
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil || *got != *want:
		d.add("%s = %s, want %s", field, fmtInt(got), fmtInt(want))
	}
}

func near(a, b float64) bool {
	return a == b || max(a-b, b-a) <= 1e-9*max(1, a, -a, b, -b)
}

func fmtFloat(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func fmtInt(p *int) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func ptr[T any](v T) *T { return &v }
