package cloud

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// Thresholds of the daily metrics.
const (
	brightLux = circadian.LuxBrightIndoor // light that counts as bright
	// adaptedWithin: a night that begins this close to the habitual
	// bedtime, in local time, counts as adapted.
	adaptedWithin = 60
	// predictionReach: a predicted bedtime further than this from the
	// logged one is a prediction of another night.
	predictionReach = 6 * time.Hour
	// outcomeDays: days after landing a trip's outcome looks at.
	outcomeDays = 21
)

// nightDate is the date of the evening a night's sleep began: a sleep
// begun at 01:00 belongs to the day before.
func nightDate(t time.Time, loc *time.Location) syncproto.Date {
	return syncproto.DateOf(t.In(loc).Add(-12 * time.Hour))
}

// zoneOf loads an event's zone; UTC when it cannot be loaded.
func zoneOf(name string) *time.Location {
	loc, err := syncproto.LoadZone(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// dayOf is the day a fact belongs to: nights by their evening, everything
// else by the local date it began.
func dayOf(f Fact) syncproto.Date {
	loc := zoneOf(f.TZ)
	if f.Log.Kind == circadian.LogSleep {
		return nightDate(f.Log.Start, loc)
	}
	return syncproto.DateOf(f.Log.Start.In(loc))
}

// stop is where a trip's travellers adapt: the first landing with the
// largest time difference from the trip's origin.
type stop struct {
	trip    *TripState
	loc     *time.Location
	arrived time.Time
	leave   time.Time // the next departure, or zero
	shift   float64   // hours, positive eastwards
}

func (f *Family) stopOf(t *TripState) (stop, bool) {
	legs := t.Data.Legs
	origin := zoneOf(legs[0].FromTZ)
	best := stop{trip: t}
	found := false
	for i, l := range legs {
		to := zoneOf(l.ToTZ)
		shift := offsetHours(to, l.Arrive) - offsetHours(origin, l.Arrive)
		shift = math.Remainder(shift, 24)
		if !found || math.Abs(shift) > math.Abs(best.shift)+1e-9 {
			best = stop{trip: t, loc: to, arrived: l.Arrive, shift: shift}
			if i+1 < len(legs) {
				best.leave = legs[i+1].Depart
			}
			found = true
		}
	}
	// Flight news moves the landing.
	for _, u := range f.Updates(t) {
		if u.Data.Leg >= 1 && u.Data.Leg <= len(legs) && legs[u.Data.Leg-1].Arrive.Equal(best.arrived) && !u.Data.Arrive.IsZero() {
			best.arrived = u.Data.Arrive
		}
	}
	return best, found
}

func offsetHours(loc *time.Location, t time.Time) float64 {
	_, off := t.In(loc).Zone()
	return float64(off) / 3600
}

func direction(shift float64) string {
	switch {
	case shift >= 1:
		return "east"
	case shift <= -1:
		return "west"
	}
	return "none"
}

// DailyMetrics computes MEMBER_DAILY_METRICS rows of the given days from
// the family's state; now decides which planned light windows are over.
// Days of members the family does not have are skipped.
func DailyMetrics(f *Family, days map[uuid.UUID][]syncproto.Date, now time.Time) []MemberDay {
	out, _ := DailyMetricsAndClocks(f, days, now)
	return out
}

// DailyMetricsAndClocks is DailyMetrics with, for each member whose clock
// was calibrated for the days' onset errors on at least
// circadian.PeriodNights nights, the MEMBER_CLOCKS row of the latest of
// those calibrations.
func DailyMetricsAndClocks(f *Family, days map[uuid.UUID][]syncproto.Date, now time.Time) ([]MemberDay, []MemberClock) {
	var out []MemberDay
	var clocks []MemberClock
	for member, dates := range days {
		if !f.Live(member) {
			continue
		}
		m := f.Members[member].Data
		p, err := circadian.PersonFromMember(member, m)
		if err != nil {
			continue
		}
		facts := f.Facts(member)
		byDay := map[syncproto.Date][]Fact{}
		for _, x := range facts {
			d := dayOf(x)
			byDay[d] = append(byDay[d], x)
		}
		habitual := (m.WakeTime.Minutes() - m.SleepTime.Minutes() + 24*60) % (24 * 60)
		stops := memberStops(f, member)
		dates := uniqueDates(dates)
		onsets := newOnsetErrors(p, facts, dates, now)
		for _, d := range dates {
			row := MemberDay{Family: f.ID, Member: member, Day: d, AgeBand: p.AgeOn(d).Band,
				HabitualSleepMin: habitual, UpdatedAt: now.UTC()}
			if s, n := tripDay(stops, d); n > 0 {
				row.Trip, row.TripDay = s.trip.ID, n
			}
			for _, x := range byDay[d] {
				mins := int(x.Log.End.Sub(x.Log.Start).Minutes())
				switch x.Log.Kind {
				case circadian.LogSleep:
					if !x.Log.End.IsZero() {
						row.SleepMin += mins
					}
				case circadian.LogNap:
					if !x.Log.End.IsZero() {
						row.NapMin += mins
					}
				case circadian.LogMeal:
					row.Meals++
				case circadian.LogLight:
					if x.Log.Lux >= brightLux {
						row.BrightLightMin += mins
					}
				}
			}
			lightWindows(&row, f.Recs(member), facts, now)
			row.BedErrorMin = bedError(f.Recs(member), byDay[d])
			row.OnsetErrorPriorMin, row.OnsetErrorPersonalMin = onsets.night(d, byDay[d])
			out = append(out, row)
		}
		if c := onsets.latest; c != nil && c.Nights >= circadian.PeriodNights {
			clocks = append(clocks, MemberClock{Family: f.ID, Member: member,
				AgeBand: p.AgeOn(syncproto.DateOf(c.Through.In(p.Home))).Band, Chronotype: chronotypeOf(p),
				TauHours: c.Tau, TauSDHours: c.TauSD, Nights: c.Nights, Through: c.Through.UTC(), UpdatedAt: now.UTC()})
		}
	}
	slices.SortFunc(clocks, func(a, b MemberClock) int { return slices.Compare(a.Member[:], b.Member[:]) })
	slices.SortFunc(out, func(a, b MemberDay) int {
		if c := slices.Compare(a.Member[:], b.Member[:]); c != 0 {
			return c
		}
		return compareDates(a.Day, b.Day)
	})
	return out, clocks
}

func compareDates(a, b syncproto.Date) int {
	switch {
	case a.Before(b):
		return -1
	case b.Before(a):
		return 1
	}
	return 0
}

func uniqueDates(ds []syncproto.Date) []syncproto.Date {
	out := slices.Clone(ds)
	slices.SortFunc(out, compareDates)
	return slices.Compact(out)
}

// memberStops lists the stops of the member's live trips.
func memberStops(f *Family, member uuid.UUID) []stop {
	var out []stop
	for _, t := range f.TripsOf(member) {
		if s, ok := f.stopOf(t); ok {
			out = append(out, s)
		}
	}
	return out
}

// tripDay finds the stop day d is after: 1 for the night of the landing,
// up to outcomeDays, and not after leaving the stop.
func tripDay(stops []stop, d syncproto.Date) (stop, int) {
	for _, s := range stops {
		a := syncproto.DateOf(s.arrived.In(s.loc))
		n := daysBetween(a, d) + 1
		if n < 1 || n > outcomeDays {
			continue
		}
		if !s.leave.IsZero() && !civil(d).Before(civil(syncproto.DateOf(s.leave.In(s.loc)))) {
			continue
		}
		return s, n
	}
	return stop{}, 0
}

func civil(d syncproto.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

func daysBetween(a, b syncproto.Date) int {
	return int(math.Round(civil(b).Sub(civil(a)).Hours() / 24))
}

// lightWindows counts the day's planned light-seeking windows: those of
// the latest recommendation made before the day ended.
func lightWindows(row *MemberDay, recs []Rec, facts []Fact, now time.Time) {
	var latest *Rec
	for i := range recs {
		r := &recs[i]
		loc := zoneOf(r.TZ)
		if d := syncproto.DateOf(r.Start.In(loc)); !row.Day.Before(d) {
			latest = r
		}
	}
	if latest == nil {
		return
	}
	loc := zoneOf(latest.TZ)
	if syncproto.DateOf(latest.Start.In(loc)) == row.Day {
		row.Misalignment = latest.Data.Misalignment
	}
	for _, a := range latest.Data.Items {
		if a.Kind != syncproto.AdviceLightSeek || syncproto.DateOf(a.Start.In(loc)) != row.Day {
			continue
		}
		row.LightPlanned++
		switch {
		case kept(a, facts):
			row.LightKept++
		case !a.End.After(now):
			row.LightMissed++
		}
	}
}

// kept reports whether bright light was logged for at least half of a.
func kept(a syncproto.Advice, facts []Fact) bool {
	want := a.End.Sub(a.Start) / 2
	var got time.Duration
	for _, x := range facts {
		if x.Log.Kind != circadian.LogLight || x.Log.Lux < brightLux {
			continue
		}
		lo, hi := maxTime(a.Start, x.Log.Start), minTime(a.End, x.Log.End)
		if hi.After(lo) {
			got += hi.Sub(lo)
		}
	}
	return want > 0 && got >= want
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// bedError is how far the day's logged night began from the bedtime
// predicted by the last recommendation made before it, in minutes.
func bedError(recs []Rec, facts []Fact) *int {
	var night *Fact
	for i := range facts {
		if facts[i].Log.Kind == circadian.LogSleep {
			night = &facts[i]
			break
		}
	}
	if night == nil {
		return nil
	}
	start := night.Log.Start
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		if !r.Start.Before(start) {
			continue
		}
		var best *time.Time
		for _, a := range r.Data.Items {
			if a.Kind != syncproto.AdviceSleep {
				continue
			}
			if d := absDur(a.Start.Sub(start)); d <= predictionReach && (best == nil || d < absDur(best.Sub(start))) {
				t := a.Start
				best = &t
			}
		}
		if best != nil {
			e := int(math.Round(start.Sub(*best).Minutes()))
			return &e
		}
		return nil
	}
	return nil
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// Outcomes computes TRIP_OUTCOMES rows for the family's trips that landed
// at their stop before now and whose outcome window is not long over.
func Outcomes(f *Family, now time.Time) []TripOutcome {
	var out []TripOutcome
	for _, t := range f.LiveTrips() {
		s, ok := f.stopOf(t)
		if !ok || s.arrived.After(now) {
			continue
		}
		arrived := syncproto.DateOf(s.arrived.In(s.loc))
		for _, member := range t.Data.Travellers {
			if !f.Live(member) {
				continue
			}
			m := f.Members[member].Data
			p, err := circadian.PersonFromMember(member, m)
			if err != nil {
				continue
			}
			o := TripOutcome{Family: f.ID, Trip: t.ID, Member: member, Direction: direction(s.shift),
				Zones: math.Abs(s.shift), AgeBand: p.AgeOn(syncproto.DateOf(t.Data.Legs[0].Depart)).Band,
				Arrived: arrived, UpdatedAt: now.UTC()}
			o.DaysToAdapt = daysToAdapt(f.Facts(member), s, m.SleepTime.Minutes())
			o.PredictedDays = predicted(f.Recs(member), t.ID, s.arrived)
			out = append(out, o)
		}
	}
	return out
}

// daysToAdapt is the first day after landing whose night began within an
// hour of the habitual bedtime in the stop's local time.
func daysToAdapt(facts []Fact, s stop, habitual int) *int {
	for _, x := range facts {
		if x.Log.Kind != circadian.LogSleep || x.Log.Start.Before(s.arrived) {
			continue
		}
		_, n := tripDay([]stop{s}, nightDate(x.Log.Start, s.loc))
		if n < 1 {
			continue
		}
		local := x.Log.Start.In(s.loc)
		clock := local.Hour()*60 + local.Minute()
		diff := (clock - habitual + 36*60) % (24 * 60)
		diff -= 12 * 60 // now −720 … 719
		if diff >= -adaptedWithin && diff <= adaptedWithin {
			d := n - 1 // the landing night is day 0
			return &d
		}
	}
	return nil
}

// predicted is the adaptation the first recommendation for the trip made
// before landing predicted: the forecast, not a later correction.
func predicted(recs []Rec, trip uuid.UUID, arrived time.Time) *int {
	for _, r := range recs {
		if r.Data.TripID == trip && r.Start.Before(arrived) && r.Data.AdaptDays != nil {
			d := *r.Data.AdaptDays
			return &d
		}
	}
	return nil
}

// Onset errors: how far each night at home began from the onset predicted
// before it, by the questionnaire's clock and by the member's calibrated
// clock.
const (
	// calibrationDays bounds the logs a night's calibration reads: three
	// weeks hold most of what calibration gains (docs/planner.md), and
	// the ingest path reads them back with every batch holding a night.
	calibrationDays = 21
	// calibrationParticles and calibrationSeed: a smaller filter than the
	// hub's, repeatable.
	calibrationParticles = 120
	calibrationSeed      = 1
	// onsetNightsPerRun: of a member's nights in one computation, the
	// latest this many get onset errors. The computation runs in the
	// warehouse's ingest path, once per batch; an import of a year of
	// nights would otherwise cost a calibration each.
	onsetNightsPerRun = 8
)

// onsetErrors computes a member's onset errors for the nights of the days
// being computed; latest is the clock of the latest calibration made.
type onsetErrors struct {
	p      circadian.Person
	logs   []circadian.Log
	where  func(time.Time) *time.Location
	nights map[syncproto.Date]bool // the nights that get errors
	latest *circadian.PersonalClock
}

func newOnsetErrors(p circadian.Person, facts []Fact, dates []syncproto.Date, now time.Time) *onsetErrors {
	o := &onsetErrors{p: p, nights: map[syncproto.Date]bool{}}
	oldest := syncproto.DateOf(now.In(p.Home).AddDate(0, 0, -calibrationDays))
	for i := len(dates) - 1; i >= 0 && len(o.nights) < onsetNightsPerRun; i-- {
		d := dates[i]
		if d.Before(oldest) || !civil(d).Before(now.UTC()) {
			continue
		}
		if night := homeNight(p, facts, d); night != nil {
			o.nights[d] = true
		}
	}
	if len(o.nights) == 0 {
		return o
	}
	o.logs = make([]circadian.Log, len(facts))
	type zoneAt struct {
		at  time.Time
		loc *time.Location
	}
	zones := make([]zoneAt, 0, len(facts))
	for i, x := range facts {
		o.logs[i] = x.Log
		zones = append(zones, zoneAt{x.Log.Start, zoneOf(x.TZ)})
	}
	// Where a member was: the zone of their latest fact begun by then.
	o.where = func(t time.Time) *time.Location {
		k := sort.Search(len(zones), func(i int) bool { return zones[i].at.After(t) })
		if k == 0 {
			return p.Home
		}
		return zones[k-1].loc
	}
	return o
}

// homeNight is the member's logged night of day d when it began at home
// (on the home zone's clock), or nil.
func homeNight(p circadian.Person, facts []Fact, d syncproto.Date) *Fact {
	for i := range facts {
		x := &facts[i]
		if x.Log.Kind != circadian.LogSleep || x.Log.End.IsZero() {
			continue
		}
		loc := zoneOf(x.TZ)
		if nightDate(x.Log.Start, loc) != d {
			continue
		}
		if offsetHours(loc, x.Log.Start) != offsetHours(p.Home, x.Log.Start) {
			return nil
		}
		return x
	}
	return nil
}

// night returns the night of day d's onset errors in minutes, prior's and
// personal, each nil when it cannot be computed. The calibration reads the
// logs of the calibrationDays before noon at home on d, and no later ones.
func (o *onsetErrors) night(d syncproto.Date, facts []Fact) (prior, personal *int) {
	if !o.nights[d] {
		return nil, nil
	}
	var night *Fact
	for i := range facts {
		if facts[i].Log.Kind == circadian.LogSleep && !facts[i].Log.End.IsZero() {
			night = &facts[i]
			break
		}
	}
	if night == nil {
		return nil, nil
	}
	onset := night.Log.Start
	end := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, o.p.Home)
	if !onset.After(end) {
		return nil, nil
	}
	q := o.p
	q.Clock = nil
	prior = onsetError(q, end, onset)
	start := end.AddDate(0, 0, -calibrationDays)
	var logs []circadian.Log
	for _, l := range o.logs {
		if !l.Start.Before(start) && l.Start.Before(end) && (l.End.IsZero() || !l.End.After(end)) {
			logs = append(logs, l)
		}
	}
	c, err := circadian.Calibrate(circadian.CalibrationInput{Person: q, Start: start, End: end, Logs: logs,
		Where: o.where, Particles: calibrationParticles, Seed: calibrationSeed})
	if err != nil || c.Nights == 0 {
		return prior, nil
	}
	pc := c.Personal()
	if o.latest == nil || pc.Through.After(o.latest.Through) {
		o.latest = &pc
	}
	q.Clock = &pc
	return prior, onsetError(q, end, onset)
}

// onsetError is how far onset is, in minutes, from the nearest onset
// PredictOnsets gives p from `from`; nil when none is within
// predictionReach.
func onsetError(p circadian.Person, from, onset time.Time) *int {
	pred, err := circadian.PredictOnsets("", p, from, 2)
	if err != nil {
		return nil
	}
	var best *time.Time
	for i := range pred {
		if d := absDur(pred[i].Sub(onset)); d <= predictionReach && (best == nil || d < absDur(best.Sub(onset))) {
			best = &pred[i]
		}
	}
	if best == nil {
		return nil
	}
	e := int(math.Round(onset.Sub(*best).Minutes()))
	return &e
}

// chronotypeOf is p's chronotype, intermediate when not given.
func chronotypeOf(p circadian.Person) syncproto.Chronotype {
	if p.Chronotype == "" {
		return syncproto.ChronotypeIntermediate
	}
	return p.Chronotype
}
