package warehousetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// day is a plain day of a member at home, with every count set.
func day(t *testing.T, family, member uuid.UUID, date string) cloud.MemberDay {
	t.Helper()
	d, err := syncproto.ParseDate(date)
	if err != nil {
		t.Fatal(err)
	}
	return cloud.MemberDay{
		Family: family, Member: member, Day: d, AgeBand: syncproto.AgeAdult,
		SleepMin: 455, NapMin: 20, HabitualSleepMin: 480, BrightLightMin: 95,
		LightPlanned: 2, LightKept: 1, LightMissed: 1, Meals: 3,
		UpdatedAt: time.Date(2026, 8, 10, 6, 0, 0, 789_000_000, time.UTC),
	}
}

func mustMergeDaily(t *testing.T, w cloud.Warehouse, days ...cloud.MemberDay) {
	t.Helper()
	if err := w.MergeDaily(t.Context(), days); err != nil {
		t.Fatalf("MergeDaily(%d days): %v", len(days), err)
	}
}

func mustMergeOutcomes(t *testing.T, w cloud.Warehouse, outcomes ...cloud.TripOutcome) {
	t.Helper()
	if err := w.MergeOutcomes(t.Context(), outcomes); err != nil {
		t.Fatalf("MergeOutcomes(%d outcomes): %v", len(outcomes), err)
	}
}

func mustAnalytics(t *testing.T, w cloud.Warehouse) *cloud.Analytics {
	t.Helper()
	a, err := w.Analytics(t.Context())
	if err != nil {
		t.Fatalf("Analytics: %v", err)
	}
	if a == nil {
		t.Fatal("Analytics returned nil and no error")
	}
	return a
}

// checkDaily reads a family's days from one date to another and compares
// them with want.
func checkDaily(t *testing.T, w cloud.Warehouse, family uuid.UUID, from, to string, want ...cloud.MemberDay) {
	t.Helper()
	f, _ := syncproto.ParseDate(from)
	l, _ := syncproto.ParseDate(to)
	got, err := w.Daily(t.Context(), family, f, l)
	if err != nil {
		t.Fatalf("Daily(%s…%s): %v", from, to, err)
	}
	if len(got) != len(want) {
		t.Errorf("Daily(%s…%s) = %d days, want %d", from, to, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if d := diffDay(got[i], want[i]); d != "" {
			t.Errorf("Daily(%s…%s) row %d (%s %s, want %s %s):%s", from, to, i,
				got[i].Member, got[i].Day, want[i].Member, want[i].Day, d)
		}
	}
}

func diffDay(got, want cloud.MemberDay) string {
	var d diff
	d.check("Family", got.Family, want.Family)
	d.check("Member", got.Member, want.Member)
	d.check("Day", got.Day, want.Day)
	d.check("AgeBand", got.AgeBand, want.AgeBand)
	d.check("Trip", got.Trip, want.Trip)
	d.check("TripDay", got.TripDay, want.TripDay)
	d.check("SleepMin", got.SleepMin, want.SleepMin)
	d.check("NapMin", got.NapMin, want.NapMin)
	d.check("HabitualSleepMin", got.HabitualSleepMin, want.HabitualSleepMin)
	d.check("BrightLightMin", got.BrightLightMin, want.BrightLightMin)
	d.check("LightPlanned", got.LightPlanned, want.LightPlanned)
	d.check("LightKept", got.LightKept, want.LightKept)
	d.check("LightMissed", got.LightMissed, want.LightMissed)
	d.check("Meals", got.Meals, want.Meals)
	d.float("Misalignment", got.Misalignment, want.Misalignment)
	d.int("BedErrorMin", got.BedErrorMin, want.BedErrorMin)
	d.int("OnsetErrorPriorMin", got.OnsetErrorPriorMin, want.OnsetErrorPriorMin)
	d.int("OnsetErrorPersonalMin", got.OnsetErrorPersonalMin, want.OnsetErrorPersonalMin)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	return string(d)
}

func testMergeDailyUpsert(t *testing.T, w cloud.Warehouse) {
	family, member, trip := uuid.New(), uuid.New(), uuid.New()
	first := day(t, family, member, "2026-08-02")
	first.Trip, first.TripDay, first.Misalignment = trip, 1, ptr(-6.5)
	first.OnsetErrorPriorMin, first.OnsetErrorPersonalMin = ptr(95), ptr(-20)
	second := day(t, family, member, "2026-08-03")
	second.BedErrorMin, second.OnsetErrorPriorMin = ptr(12), ptr(-5)
	mustMergeDaily(t, w, first, second)
	checkDaily(t, w, family, "2026-08-01", "2026-08-31", first, second)

	// Every column changes; the optional ones swap between nil and set.
	first = cloud.MemberDay{
		Family: family, Member: member, Day: first.Day, AgeBand: syncproto.AgeTeen,
		SleepMin: 390, NapMin: 0, HabitualSleepMin: 540, BrightLightMin: 12,
		LightPlanned: 4, LightKept: 0, LightMissed: 3, Meals: 5,
		BedErrorMin: ptr(-40), UpdatedAt: first.UpdatedAt.Add(time.Hour + time.Millisecond),
	}
	second.Trip, second.TripDay = trip, 2
	second.Misalignment, second.BedErrorMin = ptr(3.25), nil
	second.OnsetErrorPriorMin, second.OnsetErrorPersonalMin = nil, ptr(33)
	mustMergeDaily(t, w, first, second)
	mustMergeDaily(t, w, first, second)
	mustMergeDaily(t, w)
	checkDaily(t, w, family, "2026-08-01", "2026-08-31", first, second)
}

// testDailyRange reads date ranges that cross a month's end, of a family
// with two members beside another family.
func testDailyRange(t *testing.T, w cloud.Warehouse) {
	family, other := uuid.New(), uuid.New()
	m := ids(3) // sorted, so m[0] comes first
	dates := map[uuid.UUID][]string{
		m[0]: {"2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"},
		m[1]: {"2026-01-31", "2026-02-01", "2026-02-03"},
	}
	var all []cloud.MemberDay
	byKey := map[string]cloud.MemberDay{}
	for _, member := range m[:2] {
		for i, date := range dates[member] {
			d := day(t, family, member, date)
			d.SleepMin += i
			all = append(all, d)
			byKey[member.String()+date] = d
		}
	}
	all = append(all, day(t, other, m[2], "2026-02-01"))
	mustMergeDaily(t, w, shuffled(2, all)...)

	get := func(member uuid.UUID, date string) cloud.MemberDay { return byKey[member.String()+date] }
	tests := []struct {
		name, from, to string
		want           []cloud.MemberDay
	}{
		{"AcrossMonths", "2026-01-31", "2026-02-02", []cloud.MemberDay{
			get(m[0], "2026-01-31"), get(m[0], "2026-02-01"), get(m[0], "2026-02-02"),
			get(m[1], "2026-01-31"), get(m[1], "2026-02-01"),
		}},
		{"OneDay", "2026-02-02", "2026-02-02", []cloud.MemberDay{get(m[0], "2026-02-02")}},
		{"Before", "2025-12-01", "2026-01-29", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDaily(t, w, family, tt.from, tt.to, tt.want...)
		})
	}
	checkDaily(t, w, uuid.New(), "2026-01-01", "2026-12-31")
}

// testMergeOutcomesUpsert rewrites an outcome and sees, through Analytics
// (the only reader of TRIP_OUTCOMES), that it was replaced, not added.
func testMergeOutcomesUpsert(t *testing.T, w cloud.Warehouse) {
	family, trip := uuid.New(), uuid.New()
	arrived, _ := syncproto.ParseDate("2026-08-02")
	at := time.Date(2026, 8, 9, 3, 0, 0, 0, time.UTC)
	a := cloud.TripOutcome{Family: family, Trip: trip, Member: uuid.New(), Direction: "east", Zones: 8,
		AgeBand: syncproto.AgeAdult, Arrived: arrived, PredictedDays: ptr(4), UpdatedAt: at}
	b := a
	b.Member, b.DaysToAdapt, b.PredictedDays = uuid.New(), ptr(2), ptr(3)
	mustMergeOutcomes(t, w, a, b)
	checkAnalytics(t, mustAnalytics(t, w), &cloud.Analytics{Adaptation: []cloud.AdaptationGroup{
		{Direction: "east", AgeBand: syncproto.AgeAdult, Travellers: 2, Adapted: 1, MeanDays: ptr(2.0), MeanPredicted: ptr(3.5)},
	}})

	a.Direction, a.Zones, a.DaysToAdapt, a.PredictedDays, a.UpdatedAt = "west", 7.5, ptr(3), nil, at.Add(time.Hour)
	mustMergeOutcomes(t, w, a, b)
	mustMergeOutcomes(t, w, a)
	mustMergeOutcomes(t, w)
	checkAnalytics(t, mustAnalytics(t, w), &cloud.Analytics{Adaptation: []cloud.AdaptationGroup{
		{Direction: "east", AgeBand: syncproto.AgeAdult, Travellers: 1, Adapted: 1, MeanDays: ptr(2.0), MeanPredicted: ptr(3.0)},
		{Direction: "west", AgeBand: syncproto.AgeAdult, Travellers: 1, Adapted: 1, MeanDays: ptr(3.0)},
	}})
}

// testClockGroups merges members' clocks, rewrites some, and pools them.
func testClockGroups(t *testing.T, w cloud.Warehouse) {
	family := uuid.New()
	at := time.Date(2026, 8, 9, 3, 0, 0, 0, time.UTC)
	clock := func(band syncproto.AgeBand, chronotype syncproto.Chronotype, tau, sd float64, nights int) cloud.MemberClock {
		return cloud.MemberClock{Family: family, Member: uuid.New(), AgeBand: band, Chronotype: chronotype,
			TauHours: tau, TauSDHours: sd, Nights: nights, Through: at.Add(-time.Hour), UpdatedAt: at}
	}
	a := clock(syncproto.AgeAdult, syncproto.ChronotypeIntermediate, 25.0, 0.1, 10)
	clocks := []cloud.MemberClock{
		a,
		clock(syncproto.AgeAdult, syncproto.ChronotypeIntermediate, 24.1, 0.1, 10),
		clock(syncproto.AgeAdult, syncproto.ChronotypeIntermediate, 24.3, 0.15, 5),
		// Not known: too wide, too few nights.
		clock(syncproto.AgeAdult, syncproto.ChronotypeIntermediate, 23.5, 0.3, 30),
		clock(syncproto.AgeAdult, syncproto.ChronotypeIntermediate, 23.5, 0.05, 4),
		clock(syncproto.AgeChild, syncproto.ChronotypeLate, 24.6, 0.12, 5),
		clock(syncproto.AgeTeen, syncproto.ChronotypeEarly, 24.0, 0.2, 8),
	}
	if err := w.MergeClocks(t.Context(), clocks); err != nil {
		t.Fatalf("MergeClocks: %v", err)
	}
	// The first member's clock is learned again: 24.5 h, replacing 25.0;
	// of two rows of one member in a call, the last wins.
	older, newer := a, a
	older.TauHours, newer.TauHours, newer.UpdatedAt = 23.9, 24.5, at.Add(time.Hour)
	for range 2 {
		if err := w.MergeClocks(t.Context(), []cloud.MemberClock{older, newer}); err != nil {
			t.Fatalf("MergeClocks: %v", err)
		}
	}
	if err := w.MergeClocks(t.Context(), nil); err != nil {
		t.Fatalf("MergeClocks(nil): %v", err)
	}
	got, err := w.ClockGroups(t.Context())
	if err != nil {
		t.Fatalf("ClockGroups: %v", err)
	}
	// Adults: 24.1, 24.3 and 24.5, mean 24.3, variance (0.04+0+0.04)/3.
	want := []cloud.ClockGroup{
		{AgeBand: syncproto.AgeAdult, Chronotype: syncproto.ChronotypeIntermediate, Members: 3, MeanTau: 24.3, SpreadTau: 0.16329931618554522},
		{AgeBand: syncproto.AgeChild, Chronotype: syncproto.ChronotypeLate, Members: 1, MeanTau: 24.6},
	}
	if len(got) != len(want) {
		t.Fatalf("ClockGroups = %+v, want %+v", got, want)
	}
	for i := range want {
		var d diff
		d.check("AgeBand", got[i].AgeBand, want[i].AgeBand)
		d.check("Chronotype", got[i].Chronotype, want[i].Chronotype)
		d.check("Members", got[i].Members, want[i].Members)
		if !nearTo(got[i].MeanTau, want[i].MeanTau, 1e-9) {
			d.add("MeanTau = %v, want %v", got[i].MeanTau, want[i].MeanTau)
		}
		// AVG(x²) − AVG(x)² loses digits to cancellation.
		if !nearTo(got[i].SpreadTau, want[i].SpreadTau, 1e-5) {
			d.add("SpreadTau = %v, want %v", got[i].SpreadTau, want[i].SpreadTau)
		}
		if d != "" {
			t.Errorf("ClockGroups[%d]:%s", i, d)
		}
	}
}

func testClockGroupsEmpty(t *testing.T, w cloud.Warehouse) {
	got, err := w.ClockGroups(t.Context())
	if err != nil || len(got) != 0 {
		t.Errorf("ClockGroups of an empty warehouse = %+v, %v; want none", got, err)
	}
}

func nearTo(a, b, tol float64) bool { return max(a-b, b-a) <= tol }
