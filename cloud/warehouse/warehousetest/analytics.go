package warehousetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// testAnalytics computes the figures of a small data set whose answers are
// worked out by hand below.
func testAnalytics(t *testing.T, w cloud.Warehouse) {
	f := newFixture(t)
	fams := ids(3)
	family, trip := fams[0], uuid.New()
	adult, child := uuid.New(), uuid.New()

	// Four events of three families, one of them merged twice.
	events := []cloud.Row{f.familyUpserted(fams[0]), f.sleep(fams[0], adult), f.meal(fams[1], uuid.New()), f.familyUpserted(fams[2])}
	mustMerge(t, w, events)
	mustMerge(t, w, events[1:2])

	days := []struct {
		member                   uuid.UUID
		date                     string
		tripDay, sleep, habitual int
		planned, kept, missed    int
		bedError                 *int
	}{
		{adult, "2026-08-01", 0, 470, 480, 0, 0, 0, nil}, // before landing
		{adult, "2026-08-02", 1, 400, 480, 3, 2, 1, ptr(-20)},
		{adult, "2026-08-03", 2, 420, 480, 2, 1, 1, ptr(45)},
		{adult, "2026-08-04", 3, 460, 480, 2, 2, 0, ptr(30)},
		{adult, "2026-08-05", 4, 480, 480, 1, 0, 0, nil}, // after the first three nights
		{child, "2026-08-02", 1, 500, 600, 2, 1, 1, ptr(-31)},
		{child, "2026-08-03", 2, 0, 600, 2, 0, 2, nil}, // no night logged
		{child, "2026-08-04", 3, 580, 600, 1, 1, 0, ptr(5)},
	}
	var metrics []cloud.MemberDay
	for _, d := range days {
		m := day(t, family, d.member, d.date)
		m.Trip, m.TripDay, m.SleepMin, m.HabitualSleepMin = trip, d.tripDay, d.sleep, d.habitual
		m.LightPlanned, m.LightKept, m.LightMissed, m.BedErrorMin = d.planned, d.kept, d.missed, d.bedError
		if d.member == child {
			m.AgeBand = syncproto.AgeChild
		}
		metrics = append(metrics, m)
	}
	// Onset errors at home, questionnaire's and calibrated: the calibrated
	// clock is closer on the first night, further on the second, as close
	// on the third; the fourth has no calibrated prediction.
	metrics[0].OnsetErrorPriorMin, metrics[0].OnsetErrorPersonalMin = ptr(90), ptr(30)
	metrics[4].OnsetErrorPriorMin, metrics[4].OnsetErrorPersonalMin = ptr(-60), ptr(-75)
	metrics[5].OnsetErrorPriorMin, metrics[5].OnsetErrorPersonalMin = ptr(10), ptr(-10)
	metrics[6].OnsetErrorPriorMin = ptr(20)
	mustMergeDaily(t, w, metrics...)

	outcome := func(direction string, band syncproto.AgeBand, days, predicted *int) cloud.TripOutcome {
		return cloud.TripOutcome{Family: family, Trip: uuid.New(), Member: uuid.New(), Direction: direction,
			Zones: 8, AgeBand: band, Arrived: syncproto.Date{Year: 2026, Month: time.August, Day: 2},
			DaysToAdapt: days, PredictedDays: predicted, UpdatedAt: time.Date(2026, 8, 9, 3, 0, 0, 0, time.UTC)}
	}
	mustMergeOutcomes(t, w,
		outcome("west", syncproto.AgeAdult, ptr(1), ptr(2)),
		outcome("east", syncproto.AgeAdult, ptr(3), ptr(4)),
		outcome("none", syncproto.AgeTeen, nil, nil),
		outcome("east", syncproto.AgeChild, ptr(2), nil),
		outcome("west", syncproto.AgeAdult, ptr(2), ptr(2)),
		outcome("east", syncproto.AgeAdult, nil, ptr(5)),
	)

	checkAnalytics(t, mustAnalytics(t, w), &cloud.Analytics{
		// By direction, then age band.
		Adaptation: []cloud.AdaptationGroup{
			// Days 3 and (not yet); predicted 4 and 5.
			{Direction: "east", AgeBand: syncproto.AgeAdult, Travellers: 2, Adapted: 1, MeanDays: ptr(3.0), MeanPredicted: ptr(4.5)},
			{Direction: "east", AgeBand: syncproto.AgeChild, Travellers: 1, Adapted: 1, MeanDays: ptr(2.0)},
			{Direction: "none", AgeBand: syncproto.AgeTeen, Travellers: 1},
			// Days 1 and 2; predicted 2 and 2.
			{Direction: "west", AgeBand: syncproto.AgeAdult, Travellers: 2, Adapted: 2, MeanDays: ptr(1.5), MeanPredicted: ptr(2.0)},
		},
		// Planned 0+3+2+2+1+2+2+1, kept 0+2+1+2+0+1+0+1, missed 0+1+1+0+0+1+2+0.
		Light: cloud.LightShare{Planned: 13, Kept: 7, Missed: 5},
		FirstNights: []cloud.NightGroup{
			{Night: 1, Members: 2, MeanSleepMin: 450, MeanHabitualMin: 540}, // (400+500)/2, (480+600)/2
			{Night: 2, Members: 1, MeanSleepMin: 420, MeanHabitualMin: 480}, // the child's night is not logged
			{Night: 3, Members: 2, MeanSleepMin: 520, MeanHabitualMin: 540}, // (460+580)/2, (480+600)/2
		},
		// Errors −20, 45, 30, −31, 5: |sum| 131 over 5; within 30 are −20, 30 and 5.
		Accuracy: cloud.Accuracy{Nights: 5, MeanAbsErrorMin: ptr(26.2), Within30: 3},
		// |90|, |−60|, |10| and |30|, |−75|, |−10|: personal better once.
		Calibration: cloud.CalibrationAccuracy{Nights: 3, MeanAbsPriorMin: ptr(160.0 / 3),
			MeanAbsPersonalMin: ptr(115.0 / 3), PersonalBetter: ptr(1.0 / 3)},
		Events:   4,
		Families: 3,
	})
}

func testAnalyticsEmpty(t *testing.T, w cloud.Warehouse) {
	checkAnalytics(t, mustAnalytics(t, w), &cloud.Analytics{})
}

// checkAnalytics compares every figure; means to within rounding.
func checkAnalytics(t *testing.T, got, want *cloud.Analytics) {
	t.Helper()
	var d diff
	if len(got.Adaptation) != len(want.Adaptation) {
		d.add("Adaptation has %d groups, want %d: %s", len(got.Adaptation), len(want.Adaptation), groups(got.Adaptation))
	}
	for i := range min(len(got.Adaptation), len(want.Adaptation)) {
		g, w := got.Adaptation[i], want.Adaptation[i]
		f := fmt.Sprintf("Adaptation[%d] (%s %s).", i, w.Direction, w.AgeBand)
		d.check(f+"Direction", g.Direction, w.Direction)
		d.check(f+"AgeBand", g.AgeBand, w.AgeBand)
		d.check(f+"Travellers", g.Travellers, w.Travellers)
		d.check(f+"Adapted", g.Adapted, w.Adapted)
		d.float(f+"MeanDays", g.MeanDays, w.MeanDays)
		d.float(f+"MeanPredicted", g.MeanPredicted, w.MeanPredicted)
	}
	d.check("Light", got.Light, want.Light)
	if len(got.FirstNights) != len(want.FirstNights) {
		d.add("FirstNights = %+v, want %+v", got.FirstNights, want.FirstNights)
	}
	for i := range min(len(got.FirstNights), len(want.FirstNights)) {
		g, w := got.FirstNights[i], want.FirstNights[i]
		f := fmt.Sprintf("FirstNights[%d].", i)
		d.check(f+"Night", g.Night, w.Night)
		d.check(f+"Members", g.Members, w.Members)
		d.float(f+"MeanSleepMin", &g.MeanSleepMin, &w.MeanSleepMin)
		d.float(f+"MeanHabitualMin", &g.MeanHabitualMin, &w.MeanHabitualMin)
	}
	d.check("Accuracy.Nights", got.Accuracy.Nights, want.Accuracy.Nights)
	d.float("Accuracy.MeanAbsErrorMin", got.Accuracy.MeanAbsErrorMin, want.Accuracy.MeanAbsErrorMin)
	d.check("Accuracy.Within30", got.Accuracy.Within30, want.Accuracy.Within30)
	d.check("Calibration.Nights", got.Calibration.Nights, want.Calibration.Nights)
	d.float("Calibration.MeanAbsPriorMin", got.Calibration.MeanAbsPriorMin, want.Calibration.MeanAbsPriorMin)
	d.float("Calibration.MeanAbsPersonalMin", got.Calibration.MeanAbsPersonalMin, want.Calibration.MeanAbsPersonalMin)
	d.float("Calibration.PersonalBetter", got.Calibration.PersonalBetter, want.Calibration.PersonalBetter)
	d.check("Events", got.Events, want.Events)
	d.check("Families", got.Families, want.Families)
	if d != "" {
		t.Errorf("Analytics:%s", d)
	}
}

func groups(gs []cloud.AdaptationGroup) string {
	s := ""
	for _, g := range gs {
		s += fmt.Sprintf("[%s %s %d/%d] ", g.Direction, g.AgeBand, g.Adapted, g.Travellers)
	}
	return s
}
