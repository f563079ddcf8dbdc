package snowflake

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// The analytics queries return aggregates only. Averages are of FLOAT
// casts: Snowflake's AVG of a NUMBER is a NUMBER rounded to a few decimal
// places.
const (
	adaptationQuery = `SELECT DIRECTION, AGE_BAND, COUNT(*), COUNT(DAYS_TO_ADAPT),
		AVG(DAYS_TO_ADAPT::FLOAT), AVG(PREDICTED_DAYS::FLOAT)
	FROM TRIP_OUTCOMES
	GROUP BY DIRECTION, AGE_BAND
	ORDER BY DIRECTION, AGE_BAND`

	// dailyQuery answers Light and Accuracy in one pass.
	dailyQuery = `SELECT COALESCE(SUM(LIGHT_PLANNED), 0), COALESCE(SUM(LIGHT_KEPT), 0),
		COALESCE(SUM(LIGHT_MISSED), 0), COUNT(BED_ERROR_MIN), AVG(ABS(BED_ERROR_MIN)::FLOAT),
		COALESCE(SUM(CASE WHEN ABS(BED_ERROR_MIN) <= 30 THEN 1 ELSE 0 END), 0)
	FROM MEMBER_DAILY_METRICS`

	firstNightsQuery = `SELECT TRIP_DAY, COUNT(*), AVG(SLEEP_MIN::FLOAT), AVG(HABITUAL_SLEEP_MIN::FLOAT)
	FROM MEMBER_DAILY_METRICS
	WHERE TRIP_DAY BETWEEN 1 AND 3 AND SLEEP_MIN > 0
	GROUP BY TRIP_DAY
	ORDER BY TRIP_DAY`

	calibrationQuery = `SELECT COUNT(*), AVG(ABS(ONSET_ERROR_PRIOR_MIN)::FLOAT), AVG(ABS(ONSET_ERROR_PERSONAL_MIN)::FLOAT),
		AVG(CASE WHEN ABS(ONSET_ERROR_PERSONAL_MIN) < ABS(ONSET_ERROR_PRIOR_MIN) THEN 1.0 ELSE 0.0 END::FLOAT)
	FROM MEMBER_DAILY_METRICS
	WHERE ONSET_ERROR_PRIOR_MIN IS NOT NULL AND ONSET_ERROR_PERSONAL_MIN IS NOT NULL`

	eventsQuery = `SELECT COUNT(*), COUNT(DISTINCT FAMILY) FROM RAW_EVENTS`

	// clockGroupsQuery pools the periods that are known (sd at most
	// 0.15 h from five nights or more); the spread's square is
	// AVG(x²) − AVG(x)², the same query as on SQLite, which has no STDDEV.
	clockGroupsQuery = `SELECT AGE_BAND, CHRONOTYPE, COUNT(*), AVG(TAU_HOURS::FLOAT),
		AVG(TAU_HOURS::FLOAT * TAU_HOURS::FLOAT) - AVG(TAU_HOURS::FLOAT) * AVG(TAU_HOURS::FLOAT)
	FROM MEMBER_CLOCKS
	WHERE TAU_SD_HOURS <= 0.15 AND NIGHTS >= 5
	GROUP BY AGE_BAND, CHRONOTYPE
	ORDER BY AGE_BAND, CHRONOTYPE`
)

// Analytics runs the aggregate queries.
func (w *Warehouse) Analytics(ctx context.Context) (*cloud.Analytics, error) {
	var a cloud.Analytics
	var err error
	if a.Adaptation, err = w.adaptation(ctx); err != nil {
		return nil, fmt.Errorf("analytics: adaptation: %w", err)
	}
	var planned, kept, missed, nights, within int64
	var meanAbs sql.NullFloat64
	if err := w.db.QueryRowContext(ctx, dailyQuery).Scan(&planned, &kept, &missed, &nights, &meanAbs, &within); err != nil {
		return nil, fmt.Errorf("analytics: light and accuracy: %w", err)
	}
	a.Light = cloud.LightShare{Planned: int(planned), Kept: int(kept), Missed: int(missed)}
	a.Accuracy = cloud.Accuracy{Nights: int(nights), MeanAbsErrorMin: floatPtr(meanAbs), Within30: int(within)}
	var compared int64
	var prior, personal, better sql.NullFloat64
	if err := w.db.QueryRowContext(ctx, calibrationQuery).Scan(&compared, &prior, &personal, &better); err != nil {
		return nil, fmt.Errorf("analytics: calibration: %w", err)
	}
	a.Calibration = cloud.CalibrationAccuracy{Nights: int(compared), MeanAbsPriorMin: floatPtr(prior),
		MeanAbsPersonalMin: floatPtr(personal), PersonalBetter: floatPtr(better)}
	if a.FirstNights, err = w.firstNights(ctx); err != nil {
		return nil, fmt.Errorf("analytics: first nights: %w", err)
	}
	if err := w.db.QueryRowContext(ctx, eventsQuery).Scan(&a.Events, &a.Families); err != nil {
		return nil, fmt.Errorf("analytics: events: %w", err)
	}
	return &a, nil
}

func (w *Warehouse) adaptation(ctx context.Context) ([]cloud.AdaptationGroup, error) {
	rows, err := w.db.QueryContext(ctx, adaptationQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cloud.AdaptationGroup
	for rows.Next() {
		var (
			g                    cloud.AdaptationGroup
			band                 string
			travellers, adapted  int64
			meanDays, meanPredic sql.NullFloat64
		)
		if err := rows.Scan(&g.Direction, &band, &travellers, &adapted, &meanDays, &meanPredic); err != nil {
			return nil, err
		}
		g.AgeBand = syncproto.AgeBand(band)
		g.Travellers, g.Adapted = int(travellers), int(adapted)
		g.MeanDays, g.MeanPredicted = floatPtr(meanDays), floatPtr(meanPredic)
		out = append(out, g)
	}
	return out, rows.Err()
}

func (w *Warehouse) firstNights(ctx context.Context) ([]cloud.NightGroup, error) {
	rows, err := w.db.QueryContext(ctx, firstNightsQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cloud.NightGroup
	for rows.Next() {
		var night, members int64
		var g cloud.NightGroup
		if err := rows.Scan(&night, &members, &g.MeanSleepMin, &g.MeanHabitualMin); err != nil {
			return nil, err
		}
		g.Night, g.Members = int(night), int(members)
		out = append(out, g)
	}
	return out, rows.Err()
}

// ClockGroups pools MEMBER_CLOCKS by age band and chronotype.
func (w *Warehouse) ClockGroups(ctx context.Context) ([]cloud.ClockGroup, error) {
	rows, err := w.db.QueryContext(ctx, clockGroupsQuery)
	if err != nil {
		return nil, fmt.Errorf("clock groups: %w", err)
	}
	defer rows.Close()
	var out []cloud.ClockGroup
	for rows.Next() {
		var (
			g                cloud.ClockGroup
			band, chronotype string
			members          int64
			variance         float64
		)
		if err := rows.Scan(&band, &chronotype, &members, &g.MeanTau, &variance); err != nil {
			return nil, fmt.Errorf("clock groups: %w", err)
		}
		g.AgeBand, g.Chronotype, g.Members = syncproto.AgeBand(band), syncproto.Chronotype(chronotype), int(members)
		g.SpreadTau = math.Sqrt(math.Max(variance, 0))
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clock groups: %w", err)
	}
	return out, nil
}

// floatPtr is v's value, or nil for NULL.
func floatPtr(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}
