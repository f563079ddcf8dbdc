package warehousetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// mixed returns events of every shape for one family: a family-level event
// without member or end, member events with and without an end, a trip.
func mixed(f *fixture, family uuid.UUID, members ...uuid.UUID) []cloud.Row {
	rows := []cloud.Row{f.familyUpserted(family), f.trip(family, "Summer in Zürich", "BA286", "BA287")}
	for _, m := range members {
		rows = append(rows, f.sleep(family, m), f.meal(family, m))
	}
	return rows
}

func testMergeEventsTwice(t *testing.T, w cloud.Warehouse) {
	f := newFixture(t)
	m := ids(2)
	batch := mixed(f, uuid.New(), m...)
	if n := mustMerge(t, w, batch); n != len(batch) {
		t.Errorf("first MergeEvents = %d new, want %d", n, len(batch))
	}
	if n := mustMerge(t, w, batch); n != 0 {
		t.Errorf("second MergeEvents of the same batch = %d new, want 0", n)
	}
	if n := mustMerge(t, w, nil); n != 0 {
		t.Errorf("MergeEvents(nil) = %d new, want 0", n)
	}
	checkStats(t, w, int64(len(batch)))
}

// testMergeEventsRedelivered merges a batch that overlaps one already
// stored, with the overlap read again at other offsets: the first delivery
// stays.
func testMergeEventsRedelivered(t *testing.T, w cloud.Warehouse) {
	f := newFixture(t)
	family := uuid.New()
	first := mixed(f, family, ids(1)...)
	mustMerge(t, w, first)

	var again []cloud.Row
	for _, r := range first[2:] {
		r.Topic, r.Partition, r.Offset = "zoner.events.retry", 9, r.Offset+5000
		r.IngestedAt = r.IngestedAt.Add(time.Minute)
		again = append(again, r)
	}
	fresh := []cloud.Row{f.sleep(family, uuid.New()), f.meal(family, uuid.New())}
	if n := mustMerge(t, w, append(again, fresh...)); n != len(fresh) {
		t.Errorf("MergeEvents of %d stored and %d new rows = %d new, want %d", len(again), len(fresh), n, len(fresh))
	}
	want := sorted(append(first, fresh...))
	checkRows(t, "Events", mustEvents(t, w, family), want)
	checkStats(t, w, int64(len(want)))
}

func testMergeEventsDuplicateInBatch(t *testing.T, w cloud.Warehouse) {
	f := newFixture(t)
	family, member := uuid.New(), uuid.New()
	a, b := f.sleep(family, member), f.meal(family, member)
	redelivered := a
	redelivered.Partition, redelivered.Offset = a.Partition+1, a.Offset+77
	if n := mustMerge(t, w, []cloud.Row{a, b, redelivered}); n != 2 {
		t.Errorf("MergeEvents with one id twice = %d new, want 2", n)
	}
	checkStats(t, w, 2)
	// The first of the two is kept, as if the rows had come one call each.
	checkRows(t, "Events", mustEvents(t, w, family), sorted([]cloud.Row{a, b}))
}

func testMergeEventsLargeBatch(t *testing.T, w cloud.Warehouse) {
	f := newFixture(t)
	families := ids(5)
	var batch []cloud.Row
	for i := range 2500 {
		family := families[i%len(families)]
		member := uuid.NewSHA1(family, []byte{byte(i % 3)})
		if i%2 == 0 {
			batch = append(batch, f.sleep(family, member))
		} else {
			batch = append(batch, f.meal(family, member))
		}
	}
	if n := mustMerge(t, w, batch); n != len(batch) {
		t.Errorf("MergeEvents(%d rows) = %d new", len(batch), n)
	}
	checkStats(t, w, int64(len(batch)))
	checkRows(t, "Events", mustEvents(t, w, families...), sorted(batch))
}

// testEventsRoundTrip stores one event of each shape and reads every field
// back.
func testEventsRoundTrip(t *testing.T, w cloud.Warehouse) {
	f := newFixture(t)
	family, member := uuid.New(), uuid.New()
	rows := []cloud.Row{
		f.familyUpserted(family),    // no member, no end
		f.trip(family, "", "BA286"), // no member, nested data
		f.sleep(family, member),     // member and end, in UTC-7
		f.meal(family, member),      // member, no end, in UTC+1
		f.flightUpdated(family, "BA286"),
	}
	rows[4].IngestedAt = rows[4].IngestedAt.In(pacific)
	mustMerge(t, w, rows)
	checkRows(t, "Events", mustEvents(t, w, family), rows) // stamped in order already
}

// testEventsOrder reads events of several families stored out of order,
// some stamped earlier than their ids' order says, some with equal stamps
// that only the id orders.
func testEventsOrder(t *testing.T, w cloud.Warehouse) {
	f := newFixture(t)
	fams := ids(3)
	m := ids(2)
	var rows []cloud.Row
	for i, family := range fams {
		rows = append(rows, mixed(f, family, m[i%2])...)
		// Events from a hub whose clock is behind: made later, so with
		// greater UUIDv7 ids, but stamped earlier.
		f.wall = f.wall.Add(-time.Hour)
		rows = append(rows, f.sleep(family, m[1]))
		f.tie = true
		rows = append(rows, f.sleep(family, m[0]))
		f.tie = true
		rows = append(rows, f.meal(family, m[1]))
	}
	mustMerge(t, w, shuffled(1, rows))

	checkRows(t, "Events(all)", mustEvents(t, w, fams[2], fams[0], fams[1], fams[0]), sorted(rows))
	var two []cloud.Row
	for _, r := range rows {
		if r.Family != fams[1] {
			two = append(two, r)
		}
	}
	checkRows(t, "Events(two families)", mustEvents(t, w, fams[2], fams[0]), sorted(two))
}

// testEventsSince reads the recent logged facts and every other event: the
// plan's events however old, the facts that began at or after since.
func testEventsSince(t *testing.T, w cloud.Warehouse) {
	f := newFixture(t)
	family, member := uuid.New(), uuid.New()
	since := time.Date(2026, 7, 20, 9, 30, 0, 500_000_000, time.UTC)
	old := f.light(family, member, since.Add(-48*time.Hour))
	rows := []cloud.Row{
		old,
		f.familyUpserted(family), // long before since, but not a fact
		f.trip(family, "Tokyo", "JL1"),
		f.flightUpdated(family, "JL1"),
		f.retraction(old, since.Add(-time.Millisecond)),
		f.light(family, member, since), // at since, written in UTC−7
		f.retraction(old, since.Add(time.Millisecond)),
		// A night that began before since and ended after it.
		f.event(family, member, "America/Los_Angeles", since.Add(-7*time.Hour).In(pacific),
			since.Add(time.Hour).In(pacific), &syncproto.Sleep{}),
		f.event(family, member, "Europe/London", since.Add(time.Hour).In(london), time.Time{},
			&syncproto.Meal{Kind: syncproto.MealBreakfast}),
	}
	mustMerge(t, w, shuffled(3, append(rows, f.sleep(uuid.New(), member))))

	var want []cloud.Row
	for i, r := range rows {
		if i != 0 && i != 4 && i != 7 {
			want = append(want, r)
		}
	}
	checkRows(t, "Events(since)", mustEventsSince(t, w, since, family), want)
	checkRows(t, "Events(zero since)", mustEventsSince(t, w, time.Time{}, family), rows)
}

func testEventsUnknownFamily(t *testing.T, w cloud.Warehouse) {
	f := newFixture(t)
	mustMerge(t, w, mixed(f, uuid.New(), uuid.New()))
	for name, families := range map[string][]uuid.UUID{
		"unknown": {uuid.New()},
		"none":    nil,
	} {
		if got := mustEvents(t, w, families...); len(got) != 0 {
			t.Errorf("Events(%s family) = %d rows, want none", name, len(got))
		}
	}
}

// testFamiliesWithFlight looks flights up among trips whose flight numbers
// share prefixes, in events that are not trips, and in a trip's name.
// retyped makes a trip.upserted row into one of another type, as a future
// event type with legs in its data would look.
func retyped(r cloud.Row) cloud.Row {
	r.Type = "trip.proposed"
	r.Payload = bytes.Replace(r.Payload, []byte(`"type":"trip.upserted"`), []byte(`"type":"trip.proposed"`), 1)
	return r
}

func testFamiliesWithFlight(t *testing.T, w cloud.Warehouse) {
	f := newFixture(t)
	fam := ids(6)
	rows := []cloud.Row{
		f.trip(fam[0], "London", "BA286", "BA287"),
		f.trip(fam[0], "London again", "UA901", "BA286"), // a second trip: the family once
		f.trip(fam[1], "", "BA2860"),
		f.trip(fam[2], "", "BA28"),
		f.flightUpdated(fam[3], "BA286"), // not a trip
		f.sleep(fam[3], uuid.New()),
		f.trip(fam[4], "BA286", ""), // the name, not a flight
		f.trip(fam[5], "Home", "AA100"),
		retyped(f.trip(fam[3], "", "BA286")), // legs, but not a trip.upserted event
	}
	mustMerge(t, w, rows)
	tests := []struct {
		flight string
		want   []uuid.UUID
	}{
		{"BA286", fam[:1]},
		{"BA28", fam[2:3]},
		{"BA2860", fam[1:2]},
		{"UA901", fam[:1]},
		{"ZZ1", nil},
	}
	for _, tt := range tests {
		got, err := w.FamiliesWithFlight(t.Context(), tt.flight)
		if err != nil {
			t.Fatalf("FamiliesWithFlight(%s): %v", tt.flight, err)
		}
		got = slices.Clone(got)
		slices.SortFunc(got, compareUUID)
		if !slices.Equal(got, tt.want) {
			t.Errorf("FamiliesWithFlight(%s) = %v, want %v", tt.flight, got, tt.want)
		}
	}
}
