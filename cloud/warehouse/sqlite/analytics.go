package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// The aggregate queries. None of them returns an id.
const (
	selectAdaptation = `SELECT direction, age_band, COUNT(*), COUNT(days_to_adapt),
	AVG(days_to_adapt), AVG(predicted_days)
FROM TRIP_OUTCOMES
GROUP BY direction, age_band
ORDER BY direction, age_band`

	selectLight = `SELECT COALESCE(SUM(light_planned), 0), COALESCE(SUM(light_kept), 0),
	COALESCE(SUM(light_missed), 0)
FROM MEMBER_DAILY_METRICS`

	selectFirstNights = `SELECT trip_day, COUNT(*), AVG(sleep_min), AVG(habitual_sleep_min)
FROM MEMBER_DAILY_METRICS
WHERE trip_day BETWEEN 1 AND 3 AND sleep_min > 0
GROUP BY trip_day
ORDER BY trip_day`

	selectAccuracy = `SELECT COUNT(bed_error_min), AVG(ABS(bed_error_min)),
	COALESCE(SUM(CASE WHEN ABS(bed_error_min) <= 30 THEN 1 ELSE 0 END), 0)
FROM MEMBER_DAILY_METRICS`

	selectCalibration = `SELECT COUNT(*), AVG(ABS(onset_error_prior_min)), AVG(ABS(onset_error_personal_min)),
	AVG(CASE WHEN ABS(onset_error_personal_min) < ABS(onset_error_prior_min) THEN 1.0 ELSE 0.0 END)
FROM MEMBER_DAILY_METRICS
WHERE onset_error_prior_min IS NOT NULL AND onset_error_personal_min IS NOT NULL`

	selectCounts = `SELECT COUNT(*), COUNT(DISTINCT family) FROM RAW_EVENTS`

	// selectClockGroups pools the periods that are known (sd at most
	// 0.15 h from five nights or more): the spread is the population
	// standard deviation's square, AVG(x²) − AVG(x)², as SQLite has no
	// STDDEV.
	selectClockGroups = `SELECT age_band, chronotype, COUNT(*), AVG(tau_hours),
	AVG(tau_hours * tau_hours) - AVG(tau_hours) * AVG(tau_hours)
FROM MEMBER_CLOCKS
WHERE tau_sd_hours <= 0.15 AND nights >= 5
GROUP BY age_band, chronotype
ORDER BY age_band, chronotype`
)

// Analytics runs the aggregate queries in one read transaction, so that the
// figures agree with each other.
func (wh *Warehouse) Analytics(ctx context.Context) (*cloud.Analytics, error) {
	tx, err := wh.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("analytics: %w", err)
	}
	defer tx.Rollback()
	a := &cloud.Analytics{Adaptation: []cloud.AdaptationGroup{}, FirstNights: []cloud.NightGroup{}}
	if err := adaptation(ctx, tx, a); err != nil {
		return nil, fmt.Errorf("analytics: adaptation: %w", err)
	}
	if err := firstNights(ctx, tx, a); err != nil {
		return nil, fmt.Errorf("analytics: first nights: %w", err)
	}
	err = tx.QueryRowContext(ctx, selectLight).Scan(&a.Light.Planned, &a.Light.Kept, &a.Light.Missed)
	if err != nil {
		return nil, fmt.Errorf("analytics: light: %w", err)
	}
	var meanAbs sql.NullFloat64
	err = tx.QueryRowContext(ctx, selectAccuracy).Scan(&a.Accuracy.Nights, &meanAbs, &a.Accuracy.Within30)
	if err != nil {
		return nil, fmt.Errorf("analytics: accuracy: %w", err)
	}
	a.Accuracy.MeanAbsErrorMin = floatPtr(meanAbs)
	var prior, personal, better sql.NullFloat64
	err = tx.QueryRowContext(ctx, selectCalibration).Scan(&a.Calibration.Nights, &prior, &personal, &better)
	if err != nil {
		return nil, fmt.Errorf("analytics: calibration: %w", err)
	}
	a.Calibration.MeanAbsPriorMin, a.Calibration.MeanAbsPersonalMin = floatPtr(prior), floatPtr(personal)
	a.Calibration.PersonalBetter = floatPtr(better)
	if err := tx.QueryRowContext(ctx, selectCounts).Scan(&a.Events, &a.Families); err != nil {
		return nil, fmt.Errorf("analytics: events: %w", err)
	}
	return a, nil
}

func adaptation(ctx context.Context, tx *sql.Tx, a *cloud.Analytics) error {
	rows, err := tx.QueryContext(ctx, selectAdaptation)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			g               cloud.AdaptationGroup
			band            string
			days, predicted sql.NullFloat64
		)
		if err := rows.Scan(&g.Direction, &band, &g.Travellers, &g.Adapted, &days, &predicted); err != nil {
			return err
		}
		g.AgeBand = syncproto.AgeBand(band)
		g.MeanDays, g.MeanPredicted = floatPtr(days), floatPtr(predicted)
		a.Adaptation = append(a.Adaptation, g)
	}
	return rows.Err()
}

func firstNights(ctx context.Context, tx *sql.Tx, a *cloud.Analytics) error {
	rows, err := tx.QueryContext(ctx, selectFirstNights)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var g cloud.NightGroup
		if err := rows.Scan(&g.Night, &g.Members, &g.MeanSleepMin, &g.MeanHabitualMin); err != nil {
			return err
		}
		a.FirstNights = append(a.FirstNights, g)
	}
	return rows.Err()
}

// ClockGroups pools MEMBER_CLOCKS by age band and chronotype.
func (wh *Warehouse) ClockGroups(ctx context.Context) ([]cloud.ClockGroup, error) {
	rows, err := wh.r.QueryContext(ctx, selectClockGroups)
	if err != nil {
		return nil, fmt.Errorf("clock groups: %w", err)
	}
	defer rows.Close()
	var out []cloud.ClockGroup
	for rows.Next() {
		var (
			g                cloud.ClockGroup
			band, chronotype string
			variance         float64
		)
		if err := rows.Scan(&band, &chronotype, &g.Members, &g.MeanTau, &variance); err != nil {
			return nil, fmt.Errorf("clock groups: %w", err)
		}
		g.AgeBand, g.Chronotype = syncproto.AgeBand(band), syncproto.Chronotype(chronotype)
		g.SpreadTau = math.Sqrt(math.Max(variance, 0))
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clock groups: %w", err)
	}
	return out, nil
}
