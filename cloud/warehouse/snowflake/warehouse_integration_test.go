//go:build integration

package snowflake

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

func TestEventsRoundTrip(t *testing.T) {
	w := MustOpen(t)
	e := newEvents()
	family, member, other := uuid.New(), uuid.New(), uuid.New()
	rows := []cloud.Row{
		e.family(family),                // no member, no end, non-ASCII and escapes
		e.trip(family, "", "BA286", ""), // nested data, a leg without a flight
		e.sleep(family, member),         // member and end in UTC-7
		e.meal(family, member),          // no end
		e.flightUpdated(family, "BA286"),
		e.meal(other, member),
	}
	rows[4].IngestedAt = rows[4].IngestedAt.In(time.FixedZone("X", 5*3600+1800))
	rows[4].Offset = 1<<53 + 1 // past float64's exact integers
	rows[4].Partition = 1<<31 - 1
	if n := mustMerge(t, w, rows); n != len(rows) {
		t.Errorf("MergeEvents = %d new, want %d", n, len(rows))
	}
	checkRows(t, mustEvents(t, w, time.Time{}, family), rows[:5])
	checkRows(t, mustEvents(t, w, time.Time{}, other, family, family), sortedRows(rows))
	if got := mustEvents(t, w, time.Time{}); len(got) != 0 {
		t.Errorf("Events(no families) = %d rows", len(got))
	}
	if got := mustEvents(t, w, time.Time{}, uuid.New()); len(got) != 0 {
		t.Errorf("Events(unknown family) = %d rows", len(got))
	}

	t.Run("since", func(t *testing.T) {
		// Logged facts (sleep, meal) start before since or at it; the
		// others count whatever their start.
		since := rows[3].Start
		got := mustEvents(t, w, since, family)
		want := []cloud.Row{rows[0], rows[1], rows[3], rows[4]}
		checkRows(t, got, want)
		got = mustEvents(t, w, since.Add(time.Millisecond), family)
		checkRows(t, got, []cloud.Row{rows[0], rows[1], rows[4]})
	})
}

func TestMergeEventsIdempotent(t *testing.T) {
	w := MustOpen(t)
	e := newEvents()
	family := uuid.New()
	batch := []cloud.Row{e.family(family), e.sleep(family, uuid.New()), e.meal(family, uuid.New())}
	if n := mustMerge(t, w, batch); n != 3 {
		t.Errorf("first MergeEvents = %d new, want 3", n)
	}
	// Redelivered at other offsets, with one new row: the first delivery stays.
	again := slices.Clone(batch)
	for i := range again {
		again[i].Topic, again[i].Offset, again[i].IngestedAt = "zoner.retry", again[i].Offset+5000, again[i].IngestedAt.Add(time.Hour)
	}
	fresh := e.meal(family, uuid.New())
	if n := mustMerge(t, w, append(again, fresh)); n != 1 {
		t.Errorf("second MergeEvents = %d new, want 1", n)
	}
	if n := mustMerge(t, w, nil); n != 0 {
		t.Errorf("MergeEvents(nil) = %d", n)
	}
	checkStats(t, w, 4)
	checkRows(t, mustEvents(t, w, time.Time{}, family), sortedRows(append(batch, fresh)))
}

func TestMergeEventsDuplicateInBatch(t *testing.T) {
	w := MustOpen(t)
	e := newEvents()
	family, member := uuid.New(), uuid.New()
	a, b := e.sleep(family, member), e.meal(family, member)
	dup := a
	dup.Partition, dup.Offset, dup.Payload = a.Partition+1, a.Offset+77, []byte(`{"other":"bytes"}`)
	if n := mustMerge(t, w, []cloud.Row{a, b, dup, b}); n != 2 {
		t.Errorf("MergeEvents with ids twice = %d new, want 2", n)
	}
	checkStats(t, w, 2)
	checkRows(t, mustEvents(t, w, time.Time{}, family), sortedRows([]cloud.Row{a, b}))
}

func TestMergeEventsLargeBatch(t *testing.T) {
	w := MustOpen(t)
	e := newEvents()
	families := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()}
	var batch []cloud.Row
	for i := range 2500 {
		family := families[i%len(families)]
		if i%2 == 0 {
			batch = append(batch, e.sleep(family, uuid.NewSHA1(family, []byte{byte(i % 3)})))
		} else {
			batch = append(batch, e.meal(family, uuid.NewSHA1(family, []byte{byte(i % 3)})))
		}
	}
	start := time.Now()
	if n := mustMerge(t, w, batch); n != len(batch) {
		t.Errorf("MergeEvents(%d rows) = %d new", len(batch), n)
	}
	t.Logf("merged %d rows in %v (%.0f events/s)", len(batch), time.Since(start), float64(len(batch))/time.Since(start).Seconds())
	checkStats(t, w, int64(len(batch)))
	checkRows(t, mustEvents(t, w, time.Time{}, families...), sortedRows(batch))
}

// TestMergeEventsChunks stages a batch in several INSERTs, with an id
// whose two rows fall in different ones.
func TestMergeEventsChunks(t *testing.T) {
	w := MustOpen(t)
	w.chunk = 4
	e := newEvents()
	family := uuid.New()
	var batch []cloud.Row
	for range 10 {
		batch = append(batch, e.meal(family, uuid.New()))
	}
	dup := batch[2]
	dup.Offset += 1000
	batch = append(batch, dup)
	if n := mustMerge(t, w, batch); n != 10 {
		t.Errorf("MergeEvents = %d new, want 10", n)
	}
	checkRows(t, mustEvents(t, w, time.Time{}, family), sortedRows(batch[:10]))

	days := []cloud.MemberDay{}
	member := uuid.New()
	for i := range 9 {
		days = append(days, cloud.MemberDay{Family: family, Member: member, Day: date(t, "2026-08-01"),
			AgeBand: syncproto.AgeAdult, SleepMin: i, UpdatedAt: time.Now()})
	}
	if err := w.MergeDaily(t.Context(), days); err != nil {
		t.Fatalf("MergeDaily: %v", err)
	}
	got, err := w.Daily(t.Context(), family, date(t, "2026-08-01"), date(t, "2026-08-01"))
	if err != nil || len(got) != 1 || got[0].SleepMin != 8 {
		t.Errorf("Daily = %+v, %v; want the last of 9 (SleepMin 8)", got, err)
	}
}

func TestMergeEventsRejectsBadPayload(t *testing.T) {
	w := MustOpen(t)
	e := newEvents()
	r := e.meal(uuid.New(), uuid.New())
	r.Payload = []byte(`{"cut`)
	if _, err := w.MergeEvents(t.Context(), []cloud.Row{r}); err == nil || !strings.Contains(err.Error(), r.ID.String()) {
		t.Errorf("MergeEvents(bad payload) = %v, want an error naming the event", err)
	}
	checkStats(t, w, 0)
}

func TestFamiliesWithFlight(t *testing.T) {
	w := MustOpen(t)
	e := newEvents()
	fam := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()}
	mustMerge(t, w, []cloud.Row{
		e.trip(fam[0], "London", "BA286", "BA287"),
		e.trip(fam[0], "Again", "UA901", "BA286"),
		e.trip(fam[1], "", "BA2860"),
		e.flightUpdated(fam[2], "BA286"), // not a trip
		e.trip(fam[3], "BA286", ""),      // the name, not a flight
		e.trip(fam[4], "", "ba286"),      // exact means case too
	})
	for flight, want := range map[string][]uuid.UUID{
		"BA286": {fam[0]}, "BA2860": {fam[1]}, "UA901": {fam[0]}, "BA28": nil, "": nil,
	} {
		got, err := w.FamiliesWithFlight(t.Context(), flight)
		if err != nil {
			t.Fatalf("FamiliesWithFlight(%q): %v", flight, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("FamiliesWithFlight(%q) = %v, want %v", flight, got, want)
		}
	}
}

func TestDailyUpsertAndRange(t *testing.T) {
	w := MustOpen(t)
	family, trip := uuid.New(), uuid.New()
	m := []uuid.UUID{uuid.New(), uuid.New()}
	slices.SortFunc(m, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	at := time.Date(2026, 8, 3, 4, 5, 6, 789000000, time.UTC)
	day := func(member uuid.UUID, s string) cloud.MemberDay {
		return cloud.MemberDay{Family: family, Member: member, Day: date(t, s), AgeBand: syncproto.AgeChild,
			SleepMin: 600, NapMin: 30, HabitualSleepMin: 630, BrightLightMin: 45, LightPlanned: 2, LightKept: 1,
			LightMissed: 1, Meals: 3, UpdatedAt: at}
	}
	a := day(m[0], "2026-08-02")
	a.Trip, a.TripDay, a.Misalignment = trip, 1, ptr(-6.5)
	b := day(m[0], "2026-08-03")
	b.BedErrorMin = ptr(-12)
	c := day(m[1], "2026-07-31")
	stale := a
	stale.SleepMin = 1
	if err := w.MergeDaily(t.Context(), []cloud.MemberDay{stale, c, b, a}); err != nil {
		t.Fatalf("MergeDaily: %v", err)
	}
	check := func(from, to string, want ...cloud.MemberDay) {
		t.Helper()
		got, err := w.Daily(t.Context(), family, date(t, from), date(t, to))
		if err != nil {
			t.Fatalf("Daily: %v", err)
		}
		if len(got) != len(want) {
			t.Fatalf("Daily(%s, %s) = %d days, want %d: %+v", from, to, len(got), len(want), got)
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Misalignment == nil != (w.Misalignment == nil) || g.Misalignment != nil && *g.Misalignment != *w.Misalignment ||
				g.BedErrorMin == nil != (w.BedErrorMin == nil) || g.BedErrorMin != nil && *g.BedErrorMin != *w.BedErrorMin ||
				!g.UpdatedAt.Equal(w.UpdatedAt) {
				t.Errorf("Daily[%d] = %+v\nwant %+v", i, g, w)
			}
			g.Misalignment, g.BedErrorMin, w.Misalignment, w.BedErrorMin = nil, nil, nil, nil
			g.UpdatedAt, w.UpdatedAt = time.Time{}, time.Time{}
			if g != w {
				t.Errorf("Daily[%d] = %+v\nwant %+v", i, g, w)
			}
		}
	}
	check("2026-07-01", "2026-08-31", a, b, c)
	check("2026-08-02", "2026-08-02", a)
	check("2026-08-03", "2026-08-02")

	// Every column changes; the optional ones swap between nil and set.
	a2 := cloud.MemberDay{Family: family, Member: m[0], Day: a.Day, AgeBand: syncproto.AgeTeen, SleepMin: 390,
		HabitualSleepMin: 540, BrightLightMin: 12, LightPlanned: 3, LightKept: 3, Meals: 2, BedErrorMin: ptr(40),
		UpdatedAt: at.Add(time.Hour)}
	b2 := b
	b2.BedErrorMin, b2.Misalignment, b2.Trip, b2.TripDay = nil, ptr(1.25), trip, 2
	if err := w.MergeDaily(t.Context(), []cloud.MemberDay{a2, b2}); err != nil {
		t.Fatalf("MergeDaily again: %v", err)
	}
	if err := w.MergeDaily(t.Context(), []cloud.MemberDay{a2, b2}); err != nil {
		t.Fatalf("MergeDaily a third time: %v", err)
	}
	check("2026-07-01", "2026-08-31", a2, b2, c)

	if err := w.MergeDaily(t.Context(), []cloud.MemberDay{{Member: m[0]}}); err == nil {
		t.Error("MergeDaily of a day without a date: no error")
	}
}

func TestAnalytics(t *testing.T) {
	w := MustOpen(t)
	ctx := t.Context()
	empty, err := w.Analytics(ctx)
	if err != nil {
		t.Fatalf("Analytics(empty): %v", err)
	}
	if len(empty.Adaptation) != 0 || len(empty.FirstNights) != 0 || empty.Light != (cloud.LightShare{}) ||
		empty.Accuracy.Nights != 0 || empty.Accuracy.MeanAbsErrorMin != nil || empty.Events != 0 || empty.Families != 0 {
		t.Errorf("Analytics(empty) = %+v", empty)
	}

	at := time.Date(2026, 8, 9, 3, 0, 0, 0, time.UTC)
	trip, family := uuid.New(), uuid.New()
	o := func(dir string, band syncproto.AgeBand, days, predicted *int) cloud.TripOutcome {
		return cloud.TripOutcome{Family: family, Trip: trip, Member: uuid.New(), Direction: dir, Zones: 8,
			AgeBand: band, Arrived: date(t, "2026-08-02"), DaysToAdapt: days, PredictedDays: predicted, UpdatedAt: at}
	}
	outcomes := []cloud.TripOutcome{
		o("east", syncproto.AgeAdult, ptr(2), ptr(4)),
		o("east", syncproto.AgeAdult, ptr(3), ptr(3)),
		o("east", syncproto.AgeAdult, nil, ptr(4)),
		o("east", syncproto.AgeChild, nil, nil),
		o("west", syncproto.AgeAdult, ptr(1), nil),
	}
	outcomes[4].Arrived = syncproto.Date{}
	// The last of one key wins: outcome 1 first says it has not adapted.
	early := outcomes[1]
	early.DaysToAdapt = nil
	if err := w.MergeOutcomes(ctx, append([]cloud.TripOutcome{early}, outcomes...)); err != nil {
		t.Fatalf("MergeOutcomes: %v", err)
	}
	if err := w.MergeOutcomes(ctx, outcomes); err != nil {
		t.Fatalf("MergeOutcomes again: %v", err)
	}

	day := func(tripDay, sleep, habitual, planned, kept, missed int, bedErr *int) cloud.MemberDay {
		return cloud.MemberDay{Family: family, Member: uuid.New(), Day: date(t, "2026-08-03"), AgeBand: syncproto.AgeAdult,
			Trip: trip, TripDay: tripDay, SleepMin: sleep, HabitualSleepMin: habitual, LightPlanned: planned,
			LightKept: kept, LightMissed: missed, BedErrorMin: bedErr, UpdatedAt: at}
	}
	days := []cloud.MemberDay{
		day(1, 400, 480, 2, 1, 1, ptr(-45)),
		day(1, 500, 480, 1, 1, 0, ptr(30)),
		day(2, 450, 480, 0, 0, 0, ptr(10)),
		day(3, 0, 480, 3, 0, 2, nil), // no sleep logged: not a first night
		day(4, 420, 480, 1, 0, 0, nil),
	}
	if err := w.MergeDaily(ctx, days); err != nil {
		t.Fatalf("MergeDaily: %v", err)
	}
	e := newEvents()
	mustMerge(t, w, []cloud.Row{e.family(family), e.meal(family, uuid.New()), e.family(uuid.New())})

	a, err := w.Analytics(ctx)
	if err != nil {
		t.Fatalf("Analytics: %v", err)
	}
	want := &cloud.Analytics{
		Adaptation: []cloud.AdaptationGroup{
			{Direction: "east", AgeBand: syncproto.AgeAdult, Travellers: 3, Adapted: 2, MeanDays: ptr(2.5), MeanPredicted: ptr(11.0 / 3)},
			{Direction: "east", AgeBand: syncproto.AgeChild, Travellers: 1},
			{Direction: "west", AgeBand: syncproto.AgeAdult, Travellers: 1, Adapted: 1, MeanDays: ptr(1.0)},
		},
		Light: cloud.LightShare{Planned: 7, Kept: 2, Missed: 3},
		FirstNights: []cloud.NightGroup{
			{Night: 1, Members: 2, MeanSleepMin: 450, MeanHabitualMin: 480},
			{Night: 2, Members: 1, MeanSleepMin: 450, MeanHabitualMin: 480},
		},
		Accuracy: cloud.Accuracy{Nights: 3, MeanAbsErrorMin: ptr(85.0 / 3), Within30: 2},
		Events:   3, Families: 2,
	}
	if got, wantS := dump(a), dump(want); got != wantS {
		t.Errorf("Analytics =\n%s\nwant\n%s", got, wantS)
	}
}

func TestReopen(t *testing.T) {
	cfg := fakesnowConfig(t)
	w := mustOpen(t, cfg)
	e := newEvents()
	mustMerge(t, w, []cloud.Row{e.family(uuid.New())})

	// Opening again changes nothing, and keeps the rows.
	again, err := Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer again.Close()
	checkStats(t, w, 1)
	var versions int
	if err := w.db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM SCHEMA_MIGRATIONS").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if versions != SchemaVersion() {
		t.Errorf("SCHEMA_MIGRATIONS has %d rows, want %d", versions, SchemaVersion())
	}

	// A schema from a newer build is refused.
	if _, err := w.db.ExecContext(t.Context(), "INSERT INTO SCHEMA_MIGRATIONS (VERSION, NAME, APPLIED_AT) VALUES (?, 'future.sql', ?)",
		SchemaVersion()+1, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	if w2, err := Open(t.Context(), cfg, nil); err == nil {
		w2.Close()
		t.Error("Open of a newer schema: no error")
	} else if !strings.Contains(err.Error(), "newer than this build") {
		t.Errorf("Open of a newer schema: %v", err)
	}
}

// TestOpenWithoutCreate opens a schema that exists without asking to
// create it, as production does. (fakesnow would also create a missing
// database and schema that a login names; Snowflake does not, and Open
// then fails in checkSchema.)
func TestOpenWithoutCreate(t *testing.T) {
	cfg := fakesnowConfig(t)
	mustOpen(t, cfg)
	cfg.CreateDatabase = false
	w, err := Open(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("Open without CreateDatabase: %v", err)
	}
	defer w.Close()
	if err := w.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestConcurrentMerges(t *testing.T) {
	w := MustOpen(t)
	e := newEvents()
	family := uuid.New()
	var batches [4][]cloud.Row
	for i := range batches {
		for range 50 {
			batches[i] = append(batches[i], e.meal(family, uuid.New()))
		}
	}
	errs := make(chan error, len(batches))
	for _, b := range batches {
		go func() {
			_, err := w.MergeEvents(t.Context(), b)
			errs <- err
		}()
	}
	for range batches {
		if err := <-errs; err != nil {
			t.Fatalf("MergeEvents: %v", err)
		}
	}
	checkStats(t, w, 200)
}
