package cloud

import (
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
