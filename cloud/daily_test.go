package cloud

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/syncproto"
)

func TestDailyMetrics(t *testing.T) {
	f, es := trip(t, 8)
	adult := f.Members[0]
	away, _ := syncproto.LoadZone(cloudtest.Away)
	base := f.Arrive.In(away)
	day1 := time.Date(base.Year(), base.Month(), base.Day()+1, 0, 0, 0, 0, away)
	// At 01:00, the cloud advised two light windows on day 1 (the
	// family logs 09:00–09:45 outdoors: the first is kept) and a bedtime
	// of 02:00 (they slept at 02:30).
	rec := f.Event(adult, day1.Add(time.Hour), cloudtest.Away, &syncproto.RecommendationUpdated{
		TripID: f.Trip, BasedOn: syncproto.NewHLC(day1.Add(-3*time.Hour), 0), Misalignment: ptr(-6.5),
		AdaptDays: ptr(5),
		Items: []syncproto.Advice{
			{Kind: syncproto.AdviceLightSeek, Start: day1.Add(9 * time.Hour), End: day1.Add(10 * time.Hour)},
			{Kind: syncproto.AdviceLightSeek, Start: day1.Add(15 * time.Hour), End: day1.Add(16 * time.Hour)},
			{Kind: syncproto.AdviceSleep, Start: day1.Add(26 * time.Hour), End: day1.Add(34 * time.Hour)},
		}})
	fam := fold(f.ID, append(es, rec))
	now := day1.Add(5 * 24 * time.Hour)
	d1 := syncproto.DateOf(day1)
	rows := DailyMetrics(fam, map[uuid.UUID][]syncproto.Date{adult: {d1, d1}, uuid.New(): {d1}}, now)
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1 (dates deduplicated, unknown member skipped)", len(rows))
	}
	r := rows[0]
	want := MemberDay{Family: f.ID, Member: adult, Day: d1, AgeBand: syncproto.AgeAdult, Trip: f.Trip, TripDay: 2,
		SleepMin: 480, HabitualSleepMin: 480, BrightLightMin: 45, LightPlanned: 2, LightKept: 1, LightMissed: 1, Meals: 3}
	r.Misalignment, r.BedErrorMin, r.UpdatedAt = nil, nil, time.Time{}
	if r != want {
		t.Errorf("day 1:\n got %+v\nwant %+v", r, want)
	}
	if m := rows[0].Misalignment; m == nil || *m != -6.5 {
		t.Errorf("misalignment %v, want -6.5 from the day's recommendation", m)
	}
	if e := rows[0].BedErrorMin; e == nil || *e != 30 {
		t.Errorf("bed error %v, want +30 min (slept 02:30, predicted 02:00)", e)
	}

	outs := Outcomes(fam, now)
	if len(outs) != 3 {
		t.Fatalf("%d outcomes, want one per traveller", len(outs))
	}
	for _, o := range outs {
		if o.Direction != "east" || o.Zones != 8 || o.Arrived != syncproto.DateOf(f.Arrive) {
			t.Errorf("outcome %+v: want east, 8 zones, arrived %s", o, syncproto.DateOf(f.Arrive))
		}
		// Bedtimes are (8−n)/2 hours late on day n: within the hour from day 6.
		if o.DaysToAdapt == nil || *o.DaysToAdapt != 6 {
			t.Errorf("member %s: days to adapt %v, want 6", o.Member, o.DaysToAdapt)
		}
		// The only recommendation came after landing: no forecast.
		if o.PredictedDays != nil {
			t.Errorf("member %s: predicted %v from advice made after landing", o.Member, *o.PredictedDays)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestOnsetErrors: a member whose body clock runs later than their
// questionnaire says (in bed about 00:40, not 23:00) logs 20 nights at
// home; from the nights before each, calibration predicts their onsets
// better than the questionnaire does.
func TestOnsetErrors(t *testing.T) {
	f, es, first := lateSleeper(20)
	adult := f.Members[0]
	var dates []syncproto.Date
	for n := 12; n < 20; n++ {
		dates = append(dates, syncproto.DateOf(first.AddDate(0, 0, n)))
	}
	// A night away is not compared.
	away := f.Event(adult, first.AddDate(0, 0, 20).Add(23*time.Hour), "America/New_York", &syncproto.Sleep{})
	away.End = away.Start.Add(8 * time.Hour)
	es = append(es, away)
	dates = append(dates, syncproto.DateOf(first.AddDate(0, 0, 20)))
	fam := fold(f.ID, es)
	now := first.AddDate(0, 0, 22)
	rows, clocks := DailyMetricsAndClocks(fam, map[uuid.UUID][]syncproto.Date{adult: dates}, now)
	if len(rows) != len(dates) {
		t.Fatalf("%d rows, want %d", len(rows), len(dates))
	}
	var sumPrior, sumPersonal float64
	n := 0
	for _, r := range rows[:len(rows)-1] {
		if r.OnsetErrorPriorMin == nil || r.OnsetErrorPersonalMin == nil {
			t.Fatalf("day %s: onset errors %v, %v: want both", r.Day, r.OnsetErrorPriorMin, r.OnsetErrorPersonalMin)
		}
		sumPrior += math.Abs(float64(*r.OnsetErrorPriorMin))
		sumPersonal += math.Abs(float64(*r.OnsetErrorPersonalMin))
		n++
	}
	meanPrior, meanPersonal := sumPrior/float64(n), sumPersonal/float64(n)
	t.Logf("mean absolute onset error over %d nights: questionnaire %.0f min, calibrated %.0f min", n, meanPrior, meanPersonal)
	if meanPrior < 60 {
		t.Errorf("questionnaire's error %.0f min: the member sleeps about 100 min after its bedtime", meanPrior)
	}
	if meanPersonal >= meanPrior {
		t.Errorf("calibrated error %.0f min is not below the questionnaire's %.0f min", meanPersonal, meanPrior)
	}
	if last := rows[len(rows)-1]; last.OnsetErrorPriorMin != nil || last.OnsetErrorPersonalMin != nil {
		t.Errorf("night away %s: onset errors %v, %v: want none", last.Day, last.OnsetErrorPriorMin, last.OnsetErrorPersonalMin)
	}
	// Deterministic: the same nights give the same errors.
	again := DailyMetrics(fam, map[uuid.UUID][]syncproto.Date{adult: dates[len(dates)-3:]}, now)
	for i, r := range again {
		want := rows[len(rows)-3+i]
		if !reflect.DeepEqual(r.OnsetErrorPersonalMin, want.OnsetErrorPersonalMin) {
			t.Errorf("day %s: personal error %v, then %v", r.Day, *want.OnsetErrorPersonalMin, r.OnsetErrorPersonalMin)
		}
	}
	if len(clocks) != 1 || clocks[0].Member != adult || clocks[0].Nights < 15 || clocks[0].AgeBand != syncproto.AgeAdult ||
		clocks[0].Chronotype != syncproto.ChronotypeIntermediate {
		t.Fatalf("clocks %+v: want the adult's, from 15 nights or more", clocks)
	}
	t.Logf("clock: %+v", clocks[0])
}

// lateSleeper is a family whose first adult logs nights at home from
// first on, in bed about 00:40 though the questionnaire says 23:00.
func lateSleeper(nights int) (*cloudtest.Family, []syncproto.Envelope, time.Time) {
	depart := time.Date(2026, 12, 18, 18, 0, 0, 0, time.UTC).Add(8 * time.Hour)
	f := cloudtest.NewFamily(depart, "BA286")
	es := f.Setup()
	home, _ := syncproto.LoadZone(cloudtest.Home)
	first := time.Date(2026, 12, 17, 0, 0, 0, 0, home).AddDate(0, 0, -nights-1)
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range nights {
		day := first.AddDate(0, 0, n)
		jitter := time.Duration(rng.NormFloat64() * 20 * float64(time.Minute))
		start := day.Add(24*time.Hour + 40*time.Minute + jitter)
		e := f.Event(f.Members[0], start, cloudtest.Home, &syncproto.Sleep{})
		e.End = start.Add(7*time.Hour + 30*time.Minute)
		es = append(es, e)
	}
	return f, es, first
}

// BenchmarkOnsetErrors is the cost of one night's onset errors after 60
// logged nights: a calibration on them and two predictions.
func BenchmarkOnsetErrors(b *testing.B) {
	f, es, first := lateSleeper(61)
	fam := fold(f.ID, es)
	d := syncproto.DateOf(first.AddDate(0, 0, 60))
	days := map[uuid.UUID][]syncproto.Date{f.Members[0]: {d}}
	now := first.AddDate(0, 0, 62)
	for b.Loop() {
		rows := DailyMetrics(fam, days, now)
		if rows[0].OnsetErrorPersonalMin == nil {
			b.Fatal("no onset error")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/night")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N)/60, "ms/calibrated-night")
}
