package snowflake

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	sf "github.com/snowflakedb/gosnowflake"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

// dailyStage stages MergeDaily's rows: TRIP is "" for none, and
// MISALIGNMENT, BED_ERROR_MIN and the onset errors count only where their
// flags are set.
func dailyStage() staging {
	return staging{table: "MEMBER_DAILY_METRICS_STAGE", columns: []string{
		"SEQ NUMBER(10, 0)",
		"FAMILY VARCHAR(36)",
		"MEMBER VARCHAR(36)",
		"DAY DATE",
		"AGE_BAND VARCHAR",
		"TRIP VARCHAR(36)",
		"TRIP_DAY NUMBER(10, 0)",
		"SLEEP_MIN NUMBER(10, 0)",
		"NAP_MIN NUMBER(10, 0)",
		"HABITUAL_SLEEP_MIN NUMBER(10, 0)",
		"BRIGHT_LIGHT_MIN NUMBER(10, 0)",
		"LIGHT_PLANNED NUMBER(10, 0)",
		"LIGHT_KEPT NUMBER(10, 0)",
		"LIGHT_MISSED NUMBER(10, 0)",
		"MEALS NUMBER(10, 0)",
		"HAS_MISALIGNMENT BOOLEAN",
		"MISALIGNMENT FLOAT",
		"HAS_BED_ERROR BOOLEAN",
		"BED_ERROR_MIN NUMBER(10, 0)",
		"HAS_ONSET_ERRORS BOOLEAN",
		"ONSET_ERROR_PRIOR_MIN NUMBER(10, 0)",
		"HAS_PERSONAL_ERROR BOOLEAN",
		"ONSET_ERROR_PERSONAL_MIN NUMBER(10, 0)",
		"UPDATED_AT TIMESTAMP_NTZ(9)",
	}}
}

// mergeDaily upserts the staged days, the last of each (member, day) in
// the call: Snowflake fails a MERGE that would update one row from two
// source rows.
const mergeDaily = `MERGE INTO MEMBER_DAILY_METRICS T
USING (
	SELECT FAMILY, MEMBER, DAY, AGE_BAND, NULLIF(TRIP, '') AS TRIP, TRIP_DAY,
		SLEEP_MIN, NAP_MIN, HABITUAL_SLEEP_MIN, BRIGHT_LIGHT_MIN,
		LIGHT_PLANNED, LIGHT_KEPT, LIGHT_MISSED, MEALS,
		CASE WHEN HAS_MISALIGNMENT THEN MISALIGNMENT END AS MISALIGNMENT,
		CASE WHEN HAS_BED_ERROR THEN BED_ERROR_MIN END AS BED_ERROR_MIN,
		CASE WHEN HAS_ONSET_ERRORS THEN ONSET_ERROR_PRIOR_MIN END AS ONSET_ERROR_PRIOR_MIN,
		CASE WHEN HAS_PERSONAL_ERROR THEN ONSET_ERROR_PERSONAL_MIN END AS ONSET_ERROR_PERSONAL_MIN,
		UPDATED_AT
	FROM MEMBER_DAILY_METRICS_STAGE
	QUALIFY ROW_NUMBER() OVER (PARTITION BY MEMBER, DAY ORDER BY SEQ DESC) = 1
) S
ON T.MEMBER = S.MEMBER AND T.DAY = S.DAY
WHEN MATCHED THEN UPDATE SET
	FAMILY = S.FAMILY, AGE_BAND = S.AGE_BAND, TRIP = S.TRIP, TRIP_DAY = S.TRIP_DAY,
	SLEEP_MIN = S.SLEEP_MIN, NAP_MIN = S.NAP_MIN, HABITUAL_SLEEP_MIN = S.HABITUAL_SLEEP_MIN,
	BRIGHT_LIGHT_MIN = S.BRIGHT_LIGHT_MIN, LIGHT_PLANNED = S.LIGHT_PLANNED,
	LIGHT_KEPT = S.LIGHT_KEPT, LIGHT_MISSED = S.LIGHT_MISSED, MEALS = S.MEALS,
	MISALIGNMENT = S.MISALIGNMENT, BED_ERROR_MIN = S.BED_ERROR_MIN,
	ONSET_ERROR_PRIOR_MIN = S.ONSET_ERROR_PRIOR_MIN, ONSET_ERROR_PERSONAL_MIN = S.ONSET_ERROR_PERSONAL_MIN,
	UPDATED_AT = S.UPDATED_AT
WHEN NOT MATCHED THEN INSERT
	(FAMILY, MEMBER, DAY, AGE_BAND, TRIP, TRIP_DAY, SLEEP_MIN, NAP_MIN, HABITUAL_SLEEP_MIN,
	 BRIGHT_LIGHT_MIN, LIGHT_PLANNED, LIGHT_KEPT, LIGHT_MISSED, MEALS, MISALIGNMENT,
	 BED_ERROR_MIN, ONSET_ERROR_PRIOR_MIN, ONSET_ERROR_PERSONAL_MIN, UPDATED_AT)
VALUES
	(S.FAMILY, S.MEMBER, S.DAY, S.AGE_BAND, S.TRIP, S.TRIP_DAY, S.SLEEP_MIN, S.NAP_MIN,
	 S.HABITUAL_SLEEP_MIN, S.BRIGHT_LIGHT_MIN, S.LIGHT_PLANNED, S.LIGHT_KEPT, S.LIGHT_MISSED,
	 S.MEALS, S.MISALIGNMENT, S.BED_ERROR_MIN, S.ONSET_ERROR_PRIOR_MIN, S.ONSET_ERROR_PERSONAL_MIN,
	 S.UPDATED_AT)`

// MergeDaily upserts MEMBER_DAILY_METRICS rows on (Member, Day); of two
// days with one key in days, the last wins.
func (w *Warehouse) MergeDaily(ctx context.Context, days []cloud.MemberDay) error {
	if len(days) == 0 {
		return nil
	}
	dates := make([]time.Time, len(days))
	for i, d := range days {
		t, err := dateTime(d.Day)
		if err != nil {
			return fmt.Errorf("merge daily: member %s: %w", d.Member, err)
		}
		dates[i] = t
	}
	_, err := w.merge(ctx, dailyStage(), len(days), func(lo, hi int) []any {
		return dailyArrays(days[lo:hi], dates[lo:hi], lo)
	}, mergeDaily)
	if err != nil {
		return fmt.Errorf("merge daily: %w", err)
	}
	return nil
}

func dailyArrays(days []cloud.MemberDay, dates []time.Time, seq0 int) []any {
	n := len(days)
	var (
		families, members, bands, trips = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		tripDays, sleep, naps, habitual = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		light, planned, kept, missed    = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		meals, bedErr                   = make([]int64, n), make([]int64, n)
		prior, personal                 = make([]int64, n), make([]int64, n)
		hasMis, hasBedErr               = make([]bool, n), make([]bool, n)
		hasPrior, hasPersonal           = make([]bool, n), make([]bool, n)
		mis                             = make([]float64, n)
		updated                         = make([]time.Time, n)
	)
	for i, d := range days {
		families[i], members[i], bands[i], trips[i] = d.Family.String(), d.Member.String(), string(d.AgeBand), idText(d.Trip)
		tripDays[i], sleep[i], naps[i], habitual[i] = int64(d.TripDay), int64(d.SleepMin), int64(d.NapMin), int64(d.HabitualSleepMin)
		light[i], planned[i], kept[i], missed[i] = int64(d.BrightLightMin), int64(d.LightPlanned), int64(d.LightKept), int64(d.LightMissed)
		meals[i] = int64(d.Meals)
		if d.Misalignment != nil {
			mis[i], hasMis[i] = *d.Misalignment, true
		}
		if d.BedErrorMin != nil {
			bedErr[i], hasBedErr[i] = int64(*d.BedErrorMin), true
		}
		if d.OnsetErrorPriorMin != nil {
			prior[i], hasPrior[i] = int64(*d.OnsetErrorPriorMin), true
		}
		if d.OnsetErrorPersonalMin != nil {
			personal[i], hasPersonal[i] = int64(*d.OnsetErrorPersonalMin), true
		}
		updated[i] = utc(d.UpdatedAt)
	}
	seq := seqs(seq0, seq0+n)
	return []any{
		sf.Array(&seq), sf.Array(&families), sf.Array(&members), sf.Array(&dates, sf.DateType),
		sf.Array(&bands), sf.Array(&trips), sf.Array(&tripDays), sf.Array(&sleep), sf.Array(&naps),
		sf.Array(&habitual), sf.Array(&light), sf.Array(&planned), sf.Array(&kept), sf.Array(&missed),
		sf.Array(&meals), sf.Array(&hasMis), sf.Array(&mis), sf.Array(&hasBedErr), sf.Array(&bedErr),
		sf.Array(&hasPrior), sf.Array(&prior), sf.Array(&hasPersonal), sf.Array(&personal),
		sf.Array(&updated, sf.TimestampNTZType),
	}
}

// outcomesStage stages MergeOutcomes' rows; ARRIVED, DAYS_TO_ADAPT and
// PREDICTED_DAYS count only where their flags are set.
func outcomesStage() staging {
	return staging{table: "TRIP_OUTCOMES_STAGE", columns: []string{
		"SEQ NUMBER(10, 0)",
		"FAMILY VARCHAR(36)",
		"TRIP VARCHAR(36)",
		"MEMBER VARCHAR(36)",
		"DIRECTION VARCHAR",
		"ZONES FLOAT",
		"AGE_BAND VARCHAR",
		"HAS_ARRIVED BOOLEAN",
		"ARRIVED DATE",
		"HAS_DAYS_TO_ADAPT BOOLEAN",
		"DAYS_TO_ADAPT NUMBER(10, 0)",
		"HAS_PREDICTED_DAYS BOOLEAN",
		"PREDICTED_DAYS NUMBER(10, 0)",
		"UPDATED_AT TIMESTAMP_NTZ(9)",
	}}
}

// mergeOutcomes upserts the staged outcomes, the last of each (trip,
// member) in the call.
const mergeOutcomes = `MERGE INTO TRIP_OUTCOMES T
USING (
	SELECT FAMILY, TRIP, MEMBER, DIRECTION, ZONES, AGE_BAND,
		CASE WHEN HAS_ARRIVED THEN ARRIVED END AS ARRIVED,
		CASE WHEN HAS_DAYS_TO_ADAPT THEN DAYS_TO_ADAPT END AS DAYS_TO_ADAPT,
		CASE WHEN HAS_PREDICTED_DAYS THEN PREDICTED_DAYS END AS PREDICTED_DAYS,
		UPDATED_AT
	FROM TRIP_OUTCOMES_STAGE
	QUALIFY ROW_NUMBER() OVER (PARTITION BY TRIP, MEMBER ORDER BY SEQ DESC) = 1
) S
ON T.TRIP = S.TRIP AND T.MEMBER = S.MEMBER
WHEN MATCHED THEN UPDATE SET
	FAMILY = S.FAMILY, DIRECTION = S.DIRECTION, ZONES = S.ZONES, AGE_BAND = S.AGE_BAND,
	ARRIVED = S.ARRIVED, DAYS_TO_ADAPT = S.DAYS_TO_ADAPT, PREDICTED_DAYS = S.PREDICTED_DAYS,
	UPDATED_AT = S.UPDATED_AT
WHEN NOT MATCHED THEN INSERT
	(FAMILY, TRIP, MEMBER, DIRECTION, ZONES, AGE_BAND, ARRIVED, DAYS_TO_ADAPT, PREDICTED_DAYS, UPDATED_AT)
VALUES
	(S.FAMILY, S.TRIP, S.MEMBER, S.DIRECTION, S.ZONES, S.AGE_BAND, S.ARRIVED, S.DAYS_TO_ADAPT,
	 S.PREDICTED_DAYS, S.UPDATED_AT)`

// MergeOutcomes upserts TRIP_OUTCOMES rows on (Trip, Member); of two
// outcomes with one key in outcomes, the last wins.
func (w *Warehouse) MergeOutcomes(ctx context.Context, outcomes []cloud.TripOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	arrived := make([]time.Time, len(outcomes))
	hasArrived := make([]bool, len(outcomes))
	for i, o := range outcomes {
		arrived[i] = time.Unix(0, 0).UTC()
		if o.Arrived.IsZero() {
			continue
		}
		t, err := dateTime(o.Arrived)
		if err != nil {
			return fmt.Errorf("merge outcomes: trip %s member %s: arrived: %w", o.Trip, o.Member, err)
		}
		arrived[i], hasArrived[i] = t, true
	}
	_, err := w.merge(ctx, outcomesStage(), len(outcomes), func(lo, hi int) []any {
		return outcomeArrays(outcomes[lo:hi], arrived[lo:hi], hasArrived[lo:hi], lo)
	}, mergeOutcomes)
	if err != nil {
		return fmt.Errorf("merge outcomes: %w", err)
	}
	return nil
}

func outcomeArrays(outcomes []cloud.TripOutcome, arrived []time.Time, hasArrived []bool, seq0 int) []any {
	n := len(outcomes)
	var (
		families, trips, members, dirs, bands = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		zones                                 = make([]float64, n)
		days, predicted                       = make([]int64, n), make([]int64, n)
		hasDays, hasPredicted                 = make([]bool, n), make([]bool, n)
		updated                               = make([]time.Time, n)
	)
	for i, o := range outcomes {
		families[i], trips[i], members[i] = o.Family.String(), o.Trip.String(), o.Member.String()
		dirs[i], bands[i], zones[i] = o.Direction, string(o.AgeBand), o.Zones
		if o.DaysToAdapt != nil {
			days[i], hasDays[i] = int64(*o.DaysToAdapt), true
		}
		if o.PredictedDays != nil {
			predicted[i], hasPredicted[i] = int64(*o.PredictedDays), true
		}
		updated[i] = utc(o.UpdatedAt)
	}
	seq := seqs(seq0, seq0+n)
	return []any{
		sf.Array(&seq), sf.Array(&families), sf.Array(&trips), sf.Array(&members), sf.Array(&dirs),
		sf.Array(&zones), sf.Array(&bands), sf.Array(&hasArrived), sf.Array(&arrived, sf.DateType),
		sf.Array(&hasDays), sf.Array(&days), sf.Array(&hasPredicted), sf.Array(&predicted),
		sf.Array(&updated, sf.TimestampNTZType),
	}
}

// merge stages n rows in s on one session, runs the MERGE statement q
// over them, and reports how many rows it inserted or updated.
func (w *Warehouse) merge(ctx context.Context, s staging, n int, bind func(lo, hi int) []any, q string) (int64, error) {
	start := time.Now()
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if err := s.create(ctx, conn); err != nil {
		return 0, err
	}
	if err := s.load(ctx, conn, n, w.chunk, bind); err != nil {
		return 0, err
	}
	res, err := conn.ExecContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("merge from %s: %w", s.table, err)
	}
	merged, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("merge from %s: rows merged: %w", s.table, err)
	}
	w.logger.Debug("rows merged", "table", s.table, "rows", n, "merged", merged, "took", time.Since(start))
	return merged, nil
}

// dateTime is midnight UTC of d, as a DATE binds; it fails for a date
// that does not exist, the zero Date among them.
func dateTime(d syncproto.Date) (time.Time, error) {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	if d.IsZero() || syncproto.DateOf(t) != d || d.Year > 9999 {
		return time.Time{}, fmt.Errorf("date %s does not exist", d)
	}
	return t, nil
}

// dailyColumns are the columns scanDay reads, in its order.
const dailyColumns = `FAMILY, MEMBER, DAY, AGE_BAND, TRIP, TRIP_DAY, SLEEP_MIN, NAP_MIN,
	HABITUAL_SLEEP_MIN, BRIGHT_LIGHT_MIN, LIGHT_PLANNED, LIGHT_KEPT, LIGHT_MISSED, MEALS,
	MISALIGNMENT, BED_ERROR_MIN, ONSET_ERROR_PRIOR_MIN, ONSET_ERROR_PERSONAL_MIN, UPDATED_AT`

// Daily returns a family's daily metrics from one date to another, both
// included, ordered by member and day.
func (w *Warehouse) Daily(ctx context.Context, family uuid.UUID, from, to syncproto.Date) ([]cloud.MemberDay, error) {
	if _, err := dateTime(from); err != nil {
		return nil, fmt.Errorf("daily: from: %w", err)
	}
	if _, err := dateTime(to); err != nil {
		return nil, fmt.Errorf("daily: to: %w", err)
	}
	rows, err := w.db.QueryContext(ctx, `SELECT `+dailyColumns+`
		FROM MEMBER_DAILY_METRICS
		WHERE FAMILY = ? AND DAY BETWEEN TO_DATE(?) AND TO_DATE(?)
		ORDER BY MEMBER, DAY`, family.String(), from.String(), to.String())
	if err != nil {
		return nil, fmt.Errorf("daily: %w", err)
	}
	defer rows.Close()
	var out []cloud.MemberDay
	for rows.Next() {
		d, err := scanDay(rows)
		if err != nil {
			return nil, fmt.Errorf("daily: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("daily: %w", err)
	}
	return out, nil
}

func scanDay(rows *sql.Rows) (cloud.MemberDay, error) {
	var (
		d                                     cloud.MemberDay
		family, member, trip                  sql.NullString
		day, updated                          time.Time
		band                                  string
		tripDay, sleep, naps, habitual, light int64
		planned, kept, missed, meals          int64
		mis                                   sql.NullFloat64
		bedErr, prior, personal               sql.NullInt64
		errFamily, errMember, errTrip         error
	)
	if err := rows.Scan(&family, &member, &day, &band, &trip, &tripDay, &sleep, &naps, &habitual, &light,
		&planned, &kept, &missed, &meals, &mis, &bedErr, &prior, &personal, &updated); err != nil {
		return d, err
	}
	d.Family, errFamily = parseID(family)
	d.Member, errMember = parseID(member)
	d.Trip, errTrip = parseID(trip)
	if err := firstErr(errFamily, errMember, errTrip); err != nil {
		return d, err
	}
	d.Day = syncproto.DateOf(day.UTC())
	d.AgeBand = syncproto.AgeBand(band)
	d.TripDay, d.SleepMin, d.NapMin, d.HabitualSleepMin = int(tripDay), int(sleep), int(naps), int(habitual)
	d.BrightLightMin, d.LightPlanned, d.LightKept, d.LightMissed = int(light), int(planned), int(kept), int(missed)
	d.Meals = int(meals)
	if mis.Valid {
		d.Misalignment = &mis.Float64
	}
	if bedErr.Valid {
		v := int(bedErr.Int64)
		d.BedErrorMin = &v
	}
	d.OnsetErrorPriorMin, d.OnsetErrorPersonalMin = intPtr(prior), intPtr(personal)
	d.UpdatedAt = updated.UTC()
	return d, nil
}

// intPtr is v's value, or nil for NULL.
func intPtr(v sql.NullInt64) *int {
	if !v.Valid {
		return nil
	}
	i := int(v.Int64)
	return &i
}

// clocksStage stages MergeClocks' rows.
func clocksStage() staging {
	return staging{table: "MEMBER_CLOCKS_STAGE", columns: []string{
		"SEQ NUMBER(10, 0)",
		"FAMILY VARCHAR(36)",
		"MEMBER VARCHAR(36)",
		"AGE_BAND VARCHAR",
		"CHRONOTYPE VARCHAR",
		"TAU_HOURS FLOAT",
		"TAU_SD_HOURS FLOAT",
		"NIGHTS NUMBER(10, 0)",
		"THROUGH TIMESTAMP_NTZ(9)",
		"UPDATED TIMESTAMP_NTZ(9)",
	}}
}

// mergeClocks upserts the staged clocks, the last of each member in the
// call.
const mergeClocks = `MERGE INTO MEMBER_CLOCKS T
USING (
	SELECT FAMILY, MEMBER, AGE_BAND, CHRONOTYPE, TAU_HOURS, TAU_SD_HOURS, NIGHTS, THROUGH, UPDATED
	FROM MEMBER_CLOCKS_STAGE
	QUALIFY ROW_NUMBER() OVER (PARTITION BY MEMBER ORDER BY SEQ DESC) = 1
) S
ON T.MEMBER = S.MEMBER
WHEN MATCHED THEN UPDATE SET
	FAMILY = S.FAMILY, AGE_BAND = S.AGE_BAND, CHRONOTYPE = S.CHRONOTYPE, TAU_HOURS = S.TAU_HOURS,
	TAU_SD_HOURS = S.TAU_SD_HOURS, NIGHTS = S.NIGHTS, THROUGH = S.THROUGH, UPDATED = S.UPDATED
WHEN NOT MATCHED THEN INSERT
	(FAMILY, MEMBER, AGE_BAND, CHRONOTYPE, TAU_HOURS, TAU_SD_HOURS, NIGHTS, THROUGH, UPDATED)
VALUES
	(S.FAMILY, S.MEMBER, S.AGE_BAND, S.CHRONOTYPE, S.TAU_HOURS, S.TAU_SD_HOURS, S.NIGHTS, S.THROUGH, S.UPDATED)`

// MergeClocks upserts MEMBER_CLOCKS rows on Member; of two clocks of one
// member in clocks, the last wins.
func (w *Warehouse) MergeClocks(ctx context.Context, clocks []cloud.MemberClock) error {
	if len(clocks) == 0 {
		return nil
	}
	_, err := w.merge(ctx, clocksStage(), len(clocks), func(lo, hi int) []any {
		return clockArrays(clocks[lo:hi], lo)
	}, mergeClocks)
	if err != nil {
		return fmt.Errorf("merge clocks: %w", err)
	}
	return nil
}

func clockArrays(clocks []cloud.MemberClock, seq0 int) []any {
	n := len(clocks)
	var (
		families, members, bands, chronotypes = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		tau, sd                               = make([]float64, n), make([]float64, n)
		nights                                = make([]int64, n)
		through, updated                      = make([]time.Time, n), make([]time.Time, n)
	)
	for i, c := range clocks {
		families[i], members[i], bands[i], chronotypes[i] = c.Family.String(), c.Member.String(), string(c.AgeBand), string(c.Chronotype)
		tau[i], sd[i], nights[i] = c.TauHours, c.TauSDHours, int64(c.Nights)
		through[i], updated[i] = utc(c.Through), utc(c.UpdatedAt)
	}
	seq := seqs(seq0, seq0+n)
	return []any{
		sf.Array(&seq), sf.Array(&families), sf.Array(&members), sf.Array(&bands), sf.Array(&chronotypes),
		sf.Array(&tau), sf.Array(&sd), sf.Array(&nights),
		sf.Array(&through, sf.TimestampNTZType), sf.Array(&updated, sf.TimestampNTZType),
	}
}
