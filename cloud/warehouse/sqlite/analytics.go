package sqlite

import (
	"context"
	"database/sql"
	"fmt"

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

	selectCounts = `SELECT COUNT(*), COUNT(DISTINCT family) FROM RAW_EVENTS`
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
