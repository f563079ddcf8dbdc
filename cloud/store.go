package cloud

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// Store writes ingested events into a warehouse together with the daily
// metrics and trip outcomes they change. A write can be repeated after any
// failure: every step merges.
type Store struct {
	W      Warehouse
	Now    func() time.Time
	Logger *slog.Logger
}

// historyMargin is how far before a batch's earliest event a family's
// facts are read back to recompute the days the batch touches.
const historyMargin = 3 * 24 * time.Hour

// Write stores rows in RAW_EVENTS (keyed on id) and merges the metrics of
// the member-days and trips they affect, and the clocks of the members
// calibrated for them. It returns how many rows were new.
func (s *Store) Write(ctx context.Context, rows []Row) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	n, err := s.W.MergeEvents(ctx, rows)
	if err != nil {
		return 0, err
	}
	var families []uuid.UUID
	seen := map[uuid.UUID]bool{}
	first := rows[0].Start
	margin := historyMargin
	for _, r := range rows {
		if r.Type == syncproto.TypeSleep || r.Type == syncproto.TypeLogRetracted {
			// A night's onset errors are predicted from the nights before.
			margin = historyMargin + calibrationDays*24*time.Hour
		}
		if !seen[r.Family] {
			seen[r.Family] = true
			families = append(families, r.Family)
		}
		if r.Start.Before(first) {
			first = r.Start
		}
	}
	from := first.Add(-margin)
	history, err := s.W.Events(ctx, families, from)
	if err != nil {
		return n, fmt.Errorf("read back families: %w", err)
	}
	states := Fold(history, s.Logger)
	// A stay under way needs its facts from the landing on, for the
	// trip's outcome: read further back when the window starts later.
	if stay := earliestStay(states, families, first); !stay.IsZero() && stay.Before(from) {
		if history, err = s.W.Events(ctx, families, stay); err != nil {
			return n, fmt.Errorf("read back families: %w", err)
		}
		states = Fold(history, s.Logger)
	}
	now := s.Now()
	var days []MemberDay
	var clocks []MemberClock
	var outcomes []TripOutcome
	for _, fam := range families {
		f := states[fam]
		if f == nil {
			continue
		}
		d, c := DailyMetricsAndClocks(f, affectedDays(f, rows), now)
		days, clocks = append(days, d...), append(clocks, c...)
		outcomes = append(outcomes, Outcomes(f, now)...)
	}
	if err := s.W.MergeDaily(ctx, days); err != nil {
		return n, err
	}
	if err := s.W.MergeClocks(ctx, clocks); err != nil {
		return n, err
	}
	if err := s.W.MergeOutcomes(ctx, outcomes); err != nil {
		return n, err
	}
	return n, nil
}

// Fold folds warehouse rows into family states. Rows that do not decode
// (a newer schema version, say) are skipped.
func Fold(rows []Row, logger *slog.Logger) map[uuid.UUID]*Family {
	out := map[uuid.UUID]*Family{}
	for _, r := range rows {
		e, err := syncproto.Unmarshal(r.Payload)
		if err != nil {
			if logger != nil {
				logger.Debug("fold: event skipped", "id", r.ID, "err", err)
			}
			continue
		}
		f := out[e.FamilyID]
		if f == nil {
			f = NewFamily(e.FamilyID)
			out[e.FamilyID] = f
		}
		f.Apply(e)
	}
	return out
}

// affectedDays lists, per member, the days whose metrics rows of family f
// may change: each logged fact's day and the next (a night logged late
// changes the following day's light), a recommendation's two days ahead,
// and the whole stay of a trip whose plan or flights changed.
func affectedDays(f *Family, rows []Row) map[uuid.UUID][]syncproto.Date {
	out := map[uuid.UUID][]syncproto.Date{}
	addSpan := func(m uuid.UUID, from syncproto.Date, n int) {
		t := civil(from)
		for i := range n {
			out[m] = append(out[m], syncproto.DateOf(t.AddDate(0, 0, i)))
		}
	}
	for _, r := range rows {
		if r.Family != f.ID {
			continue
		}
		loc := zoneOf(r.TZ)
		switch r.Type {
		case syncproto.TypeSleep, syncproto.TypeMeal, syncproto.TypeLightExposure, syncproto.TypeLogRetracted:
			addSpan(r.Member, nightDate(r.Start, loc), 3)
		case syncproto.TypeRecommendationUpdated:
			addSpan(r.Member, syncproto.DateOf(r.Start.In(loc)), 3)
		case syncproto.TypeTripUpserted, syncproto.TypeTripRemoved, syncproto.TypeFlightUpdated, syncproto.TypeMemberUpserted:
			for _, t := range f.LiveTrips() {
				if r.Member != uuid.Nil && !containsID(t.Data.Travellers, r.Member) {
					continue
				}
				s, ok := f.stopOf(t)
				if !ok {
					continue
				}
				for _, m := range t.Data.Travellers {
					addSpan(m, syncproto.DateOf(s.arrived.In(s.loc)), outcomeDays)
				}
			}
		}
	}
	return out
}

func containsID(ids []uuid.UUID, id uuid.UUID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// earliestStay is the earliest landing, less a day, of a stay that t falls
// in (up to outcomeDays after the landing) among the families' trips; the
// zero time when t is in none.
func earliestStay(states map[uuid.UUID]*Family, families []uuid.UUID, t time.Time) time.Time {
	var out time.Time
	for _, id := range families {
		f := states[id]
		if f == nil {
			continue
		}
		for _, tr := range f.LiveTrips() {
			s, ok := f.stopOf(tr)
			if !ok || s.arrived.After(t.Add(historyMargin)) || s.arrived.Add(outcomeDays*24*time.Hour).Before(t) {
				continue
			}
			if a := s.arrived.Add(-24 * time.Hour); out.IsZero() || a.Before(out) {
				out = a
			}
		}
	}
	return out
}
