package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/syncproto"
)

const upsertDaily = `INSERT INTO MEMBER_DAILY_METRICS (family, member, day, age_band, trip, trip_day,
	sleep_min, nap_min, habitual_sleep_min, bright_light_min,
	light_planned, light_kept, light_missed, meals, misalignment_h, bed_error_min,
	onset_error_prior_min, onset_error_personal_min, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (member, day) DO UPDATE SET
	family = excluded.family, age_band = excluded.age_band,
	trip = excluded.trip, trip_day = excluded.trip_day,
	sleep_min = excluded.sleep_min, nap_min = excluded.nap_min,
	habitual_sleep_min = excluded.habitual_sleep_min, bright_light_min = excluded.bright_light_min,
	light_planned = excluded.light_planned, light_kept = excluded.light_kept,
	light_missed = excluded.light_missed, meals = excluded.meals,
	misalignment_h = excluded.misalignment_h, bed_error_min = excluded.bed_error_min,
	onset_error_prior_min = excluded.onset_error_prior_min,
	onset_error_personal_min = excluded.onset_error_personal_min,
	updated_at = excluded.updated_at`

// MergeDaily upserts MEMBER_DAILY_METRICS rows on (Member, Day), replacing
// every column of a row already there.
func (wh *Warehouse) MergeDaily(ctx context.Context, days []cloud.MemberDay) error {
	err := wh.upsert(ctx, upsertDaily, len(days), func(i int) []any {
		m := days[i]
		return []any{m.Family.String(), m.Member.String(), nullDate(m.Day), string(m.AgeBand),
			nullUUID(m.Trip), m.TripDay, m.SleepMin, m.NapMin, m.HabitualSleepMin, m.BrightLightMin,
			m.LightPlanned, m.LightKept, m.LightMissed, m.Meals,
			nullFloat(m.Misalignment), nullInt(m.BedErrorMin),
			nullInt(m.OnsetErrorPriorMin), nullInt(m.OnsetErrorPersonalMin), formatTime(m.UpdatedAt)}
	})
	if err != nil {
		return fmt.Errorf("merge daily: %w", err)
	}
	return nil
}

const upsertOutcome = `INSERT INTO TRIP_OUTCOMES (family, trip, member, direction, zones, age_band,
	arrived, days_to_adapt, predicted_days, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (trip, member) DO UPDATE SET
	family = excluded.family, direction = excluded.direction, zones = excluded.zones,
	age_band = excluded.age_band, arrived = excluded.arrived,
	days_to_adapt = excluded.days_to_adapt, predicted_days = excluded.predicted_days,
	updated_at = excluded.updated_at`

// MergeOutcomes upserts TRIP_OUTCOMES rows on (Trip, Member), replacing
// every column of a row already there.
func (wh *Warehouse) MergeOutcomes(ctx context.Context, outcomes []cloud.TripOutcome) error {
	err := wh.upsert(ctx, upsertOutcome, len(outcomes), func(i int) []any {
		o := outcomes[i]
		return []any{o.Family.String(), o.Trip.String(), o.Member.String(), o.Direction, o.Zones,
			string(o.AgeBand), nullDate(o.Arrived), nullInt(o.DaysToAdapt), nullInt(o.PredictedDays),
			formatTime(o.UpdatedAt)}
	})
	if err != nil {
		return fmt.Errorf("merge outcomes: %w", err)
	}
	return nil
}

const upsertClock = `INSERT INTO MEMBER_CLOCKS (family, member, age_band, chronotype,
	tau_hours, tau_sd_hours, nights, through, updated)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (member) DO UPDATE SET
	family = excluded.family, age_band = excluded.age_band, chronotype = excluded.chronotype,
	tau_hours = excluded.tau_hours, tau_sd_hours = excluded.tau_sd_hours,
	nights = excluded.nights, through = excluded.through, updated = excluded.updated`

// MergeClocks upserts MEMBER_CLOCKS rows on Member, replacing every column
// of a row already there.
func (wh *Warehouse) MergeClocks(ctx context.Context, clocks []cloud.MemberClock) error {
	err := wh.upsert(ctx, upsertClock, len(clocks), func(i int) []any {
		c := clocks[i]
		return []any{c.Family.String(), c.Member.String(), string(c.AgeBand), string(c.Chronotype),
			c.TauHours, c.TauSDHours, c.Nights, formatTime(c.Through), formatTime(c.UpdatedAt)}
	})
	if err != nil {
		return fmt.Errorf("merge clocks: %w", err)
	}
	return nil
}

// upsert runs query with the arguments of each of n rows in one
// transaction.
func (wh *Warehouse) upsert(ctx context.Context, query string, n int, args func(i int) []any) error {
	if n == 0 {
		return nil
	}
	tx, err := wh.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range n {
		if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
	}
	return tx.Commit()
}

const selectDaily = `SELECT family, member, day, age_band, trip, trip_day,
	sleep_min, nap_min, habitual_sleep_min, bright_light_min,
	light_planned, light_kept, light_missed, meals, misalignment_h, bed_error_min,
	onset_error_prior_min, onset_error_personal_min, updated_at
FROM MEMBER_DAILY_METRICS
WHERE family = ? AND day BETWEEN ? AND ?
ORDER BY member, day`

// Daily returns a family's daily metrics from one date to another, both
// included, ordered by member and day.
func (wh *Warehouse) Daily(ctx context.Context, family uuid.UUID, from, to syncproto.Date) ([]cloud.MemberDay, error) {
	rows, err := wh.r.QueryContext(ctx, selectDaily, family.String(), from.String(), to.String())
	if err != nil {
		return nil, fmt.Errorf("daily: %w", err)
	}
	defer rows.Close()
	var out []cloud.MemberDay
	var d decoder
	for rows.Next() {
		var (
			fam, member, ageBand, updated string
			day, trip                     sql.NullString
			misalignment                  sql.NullFloat64
			bedError, prior, personal     sql.NullInt64
			m                             cloud.MemberDay
		)
		err := rows.Scan(&fam, &member, &day, &ageBand, &trip, &m.TripDay,
			&m.SleepMin, &m.NapMin, &m.HabitualSleepMin, &m.BrightLightMin,
			&m.LightPlanned, &m.LightKept, &m.LightMissed, &m.Meals, &misalignment, &bedError,
			&prior, &personal, &updated)
		if err != nil {
			return nil, fmt.Errorf("daily: %w", err)
		}
		m.Family, m.Member, m.Trip = d.uuid(fam), d.uuid(member), d.nullUUID(trip)
		m.Day, m.AgeBand = d.nullDate(day), syncproto.AgeBand(ageBand)
		m.Misalignment, m.BedErrorMin = floatPtr(misalignment), intPtr(bedError)
		m.OnsetErrorPriorMin, m.OnsetErrorPersonalMin = intPtr(prior), intPtr(personal)
		m.UpdatedAt = d.time(updated)
		if d.err != nil {
			return nil, fmt.Errorf("daily: %w", d.err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("daily: %w", err)
	}
	return out, nil
}
