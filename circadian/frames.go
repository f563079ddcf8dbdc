package circadian

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// Thresholds for multi-leg trips (as the best open planners do).
const (
	throughBelow = 48 * time.Hour // a shorter stop is planned straight through
	fullFrom     = 96 * time.Hour // a stop this long is a destination of its own
	// keepHomeBelow: a round trip shorter than this keeps home time.
	keepHomeBelow = 72 * time.Hour
	// connectionBelow: legs closer than this are one travel day.
	connectionBelow = 12 * time.Hour
	// Before a departure from a hotel or home one needs to be up and
	// away in good time; at a connection, less.
	beforeDeparture  = 3 * time.Hour
	beforeConnection = time.Hour
	afterLanding     = time.Hour
	// Sleep on board starts after take-off and ends before landing.
	boardSettle  = 30 * time.Minute
	boardLanding = 45 * time.Minute
)

// aim is the clock a part of the trip plans for: zone a, or a mix of two
// zones' offsets for a stop where the body should partly adapt.
type aim struct {
	a, b *time.Location
	frac float64 // weight of b
	// ref, when set, is the instant whose offsets the aim keeps: a clock
	// aimed at from elsewhere does not follow that zone's change of the
	// clocks while one is away, since the body does not.
	ref time.Time
}

func (a aim) offset(t time.Time) float64 {
	if !a.ref.IsZero() {
		t = a.ref
	}
	o := offsetHours(a.a, t)
	if a.b != nil && a.frac > 0 {
		o += a.frac * wrap12(offsetHours(a.b, t)-o)
	}
	return o
}

// stop is the time on the ground after leg i.
type stop struct {
	zone           *time.Location
	name           string
	arrive, depart time.Time // depart is zero after the last leg
	aim            aim
	full           bool
}

// journey is one or more legs flown with only connections between them.
type journey struct {
	first, last int // legs
	// shift is the change of aim it brings, in hours: positive means the
	// body must advance. The direction of a ±10–12 h change is the faster
	// one: advances go about 1 h a day, delays 1.5 h (Eastman & Burgess 2009).
	shift float64
	// preDays is how many days before it are shifting days.
	preDays int
}

// frame is one day of the plan: the same for every traveller.
type frame struct {
	start, end time.Time
	zone       *time.Location
	date       syncproto.Date
	kind       DayKind
	label      string
	journey    int // the journey whose shift governs the day
	preShift   int // k-th shifting day before journey (1-based), or 0
	hidden     bool
}

// tripPlan is what every traveller's plan shares.
type tripPlan struct {
	trip     Trip
	legs     []Leg
	origin   *time.Location
	stops    []stop
	journeys []journey
	frames   []frame
	keepHome bool
	start    time.Time // the first frame's start: the simulation grid's origin
	steps    int
	notes    []string
}

func (tp *tripPlan) step(t time.Time) int {
	return int(math.Floor(float64(t.Sub(tp.start)) / float64(Step)))
}

func (tp *tripPlan) at(i int) time.Time { return tp.start.Add(time.Duration(i) * Step) }

// frameAt is the index of the frame holding t: the last one for t past
// the plan.
func (tp *tripPlan) frameAt(t time.Time) int {
	i := sort.Search(len(tp.frames), func(i int) bool { return tp.frames[i].end.After(t) })
	return min(i, len(tp.frames)-1)
}

func newTripPlan(t Trip) (*tripPlan, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	tp := &tripPlan{trip: t, legs: t.flown(), origin: t.Legs[0].FromTZ}
	if len(tp.legs) == 0 {
		return nil, fmt.Errorf("the first flight (%s) is cancelled: nothing to plan until a new one is added", orDash(t.Legs[0].Flight))
	}
	if len(tp.legs) < len(t.Legs) {
		tp.notes = append(tp.notes, fmt.Sprintf("Flight %s cannot be flown as planned (cancelled, or the connection is missed): the plan stops at %s until a new flight is added.",
			orDash(t.Legs[len(tp.legs)].Flight), placeName(tp.legs[len(tp.legs)-1].To, tp.legs[len(tp.legs)-1].ToTZ)))
	}
	tp.makeStops()
	tp.makeJourneys(t.Intensity)
	tp.makeFrames()
	last := tp.frames[len(tp.frames)-1]
	tp.start = tp.frames[0].start
	tp.steps = tp.step(last.end)
	return tp, nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// cityName is a zone's city with the airport code: "London (LHR)".
func cityName(code string, loc *time.Location) string {
	if code == "" {
		return placeName("", loc)
	}
	return placeName("", loc) + " (" + code + ")"
}

// placeName is an airport code, or the city of a zone ("Europe/London" is
// "London").
func placeName(code string, loc *time.Location) string {
	if code != "" {
		return code
	}
	name := loc.String()
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return strings.ReplaceAll(name, "_", " ")
}

func (tp *tripPlan) makeStops() {
	legs := tp.legs
	for i, l := range legs {
		s := stop{zone: l.ToTZ, name: cityName(l.To, l.ToTZ), arrive: l.Arrive}
		if i+1 < len(legs) {
			s.depart = legs[i+1].Depart
		}
		s.full = s.depart.IsZero() || s.depart.Sub(s.arrive) >= fullFrom
		tp.stops = append(tp.stops, s)
	}
	first, lastStop := legs[0], tp.stops[len(tp.stops)-1]
	back := offsetHours(lastStop.zone, lastStop.arrive) == offsetHours(tp.origin, lastStop.arrive)
	if len(legs) > 1 && back && lastStop.arrive.Sub(first.Depart) < keepHomeBelow {
		tp.keepHome = true
		tp.notes = append(tp.notes, "This trip is too short to adapt: everyone stays on home time. Keep sleep and meals as close to home hours as the days allow.")
		for i := range tp.stops {
			tp.stops[i].aim = aim{a: tp.origin, ref: tp.stops[i].arrive}
		}
		return
	}
	prev := aim{a: tp.origin}
	for i := range tp.stops {
		s := &tp.stops[i]
		if s.full {
			s.aim = aim{a: s.zone}
			prev = s.aim
			continue
		}
		next := i + 1
		for !tp.stops[next].full {
			next++
		}
		if s.depart.Sub(s.arrive) < throughBelow {
			s.aim = aim{a: tp.stops[next].zone, ref: s.arrive}
		} else {
			s.aim = aim{a: prev.a, b: tp.stops[next].zone, frac: 0.5, ref: s.arrive}
		}
	}
}

// aimAt is the clock the plan aims for at t.
func (tp *tripPlan) aimAt(t time.Time) aim {
	a := aim{a: tp.origin}
	for i, l := range tp.legs {
		if t.Before(l.Depart) {
			break
		}
		a = tp.stops[i].aim
	}
	return a
}

// preShiftDays is how many shifting days go before a shift of h hours: none
// up to 2 h, one for 3–4, two for 5–6, three for 7–9, five from 10 (the
// open-source planner Dawnward uses), halved for a gentle plan.
func preShiftDays(h float64, in syncproto.Intensity) int {
	h = math.Abs(h)
	var n int
	switch {
	case h <= 2.5:
		n = 0
	case h <= 4.5:
		n = 1
	case h <= 6.5:
		n = 2
	case h <= 9.5:
		n = 3
	default:
		n = 5
	}
	if in == syncproto.IntensityGentle {
		n /= 2
	}
	return n
}

// direction is the shift between two offsets, as the faster way round.
func direction(from, to float64) float64 {
	d := wrap12(to - from)
	// Advancing d hours takes about d days, delaying 24-d takes (24-d)/1.5:
	// from d = 9.6 the delay is faster.
	if d >= 9.6 {
		d -= 24
	}
	return d
}

func (tp *tripPlan) makeJourneys(in syncproto.Intensity) {
	for i := 0; i < len(tp.legs); {
		j := journey{first: i, last: i}
		for j.last+1 < len(tp.legs) && tp.legs[j.last+1].Depart.Sub(tp.legs[j.last].Arrive) < connectionBelow {
			j.last++
		}
		dep := tp.legs[j.first].Depart
		before := tp.aimAt(dep.Add(-time.Minute)).offset(dep)
		after := tp.stops[j.last].aim.offset(tp.legs[j.last].Arrive)
		j.shift = direction(before, after)
		// Shifting days only make sense from a place one has adapted to,
		// towards a destination.
		from := -1
		if j.first > 0 {
			from = j.first - 1
		}
		if from < 0 || tp.stops[from].full {
			j.preDays = preShiftDays(j.shift, in)
		}
		tp.journeys = append(tp.journeys, j)
		i = j.last + 1
	}
}

// midnight is the start of the local day of t in loc.
func midnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// nextMidnight is the start of the local day after the one holding t.
func nextMidnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// adaptEstimate is the rule-of-thumb days to adapt to a shift: about an
// hour a day east, an hour and a half west (field data: 57 min a day east, 92 west).
func adaptEstimate(shift float64) int {
	if shift >= 0 {
		return int(math.Ceil(shift))
	}
	return int(math.Ceil(-shift / 1.5))
}

// afterArrivalDays is how many days after the last landing the plan runs.
func afterArrivalDays(shift float64) int {
	return min(14, max(3, adaptEstimate(shift)+2))
}

func (tp *tripPlan) makeFrames() {
	first := tp.journeys[0]
	dep := tp.legs[0].Depart
	day := midnight(dep, tp.origin).AddDate(0, 0, -max(first.preDays, 1))
	zone, place := tp.origin, cityName(tp.legs[0].From, tp.origin)
	stopIdx := -1
	for ji, j := range tp.journeys {
		dep := tp.legs[j.first].Depart
		depDay := midnight(dep, zone)
		// Ground days before the journey.
		var ground []frame
		arrivedAt := day
		for d := day; d.Before(depDay); d = nextMidnight(d.Add(time.Hour), zone) {
			f := frame{start: d, end: nextMidnight(d.Add(time.Hour), zone), zone: zone, date: syncproto.DateOf(d), kind: DayStay, journey: ji - 1}
			if stopIdx < 0 {
				f.kind, f.journey = DayPreTrip, ji
			}
			ground = append(ground, f)
		}
		if len(tp.frames) > 0 && len(ground) > 0 && ground[0].start.Before(tp.frames[len(tp.frames)-1].end) {
			ground[0].start = tp.frames[len(tp.frames)-1].end
		}
		// The last preDays of them shift towards the journey, but not the
		// first two days after an arrival.
		// When fewer days are free than the shift asks for, the shifting
		// starts later and moves less: never more than a step a day.
		n := 0
		for n < j.preDays && n < len(ground) {
			if stopIdx >= 0 && ground[len(ground)-1-n].start.Sub(arrivedAt) < 48*time.Hour {
				break
			}
			n++
		}
		for k := range n {
			g := &ground[len(ground)-1-k]
			g.preShift = n - k
			g.journey = ji
		}
		j.preDays = n
		tp.journeys[ji].preDays = n
		tp.labelGround(ground, stopIdx, place)
		tp.frames = append(tp.frames, ground...)
		// The travel day: from the departure day's midnight to the landing.
		land := tp.legs[j.last].Arrive
		travel := frame{start: depDay, end: land, zone: zone, date: syncproto.DateOf(depDay), kind: DayTravel, journey: ji, preShift: j.preDays}
		if n := len(tp.frames); n > 0 && travel.start.Before(tp.frames[n-1].end) {
			travel.start = tp.frames[n-1].end
		}
		var route []string
		for i := j.first; i <= j.last; i++ {
			l := tp.legs[i]
			route = append(route, fmt.Sprintf("%s %s→%s", orDash(l.Flight), placeName(l.From, l.FromTZ), placeName(l.To, l.ToTZ)))
		}
		travel.label = "Travel day: " + strings.Join(route, ", ")
		tp.frames = append(tp.frames, travel)
		// Landing: the rest of that local day.
		stopIdx = j.last
		s := tp.stops[stopIdx]
		zone, place = s.zone, s.name
		arr := frame{start: land, end: nextMidnight(land, zone), zone: zone, date: syncproto.DateOf(land.In(zone)), kind: DayArrival, journey: ji}
		arr.label = "Arrival in " + s.name
		if skipped := skippedDates(dep, tp.legs[j.first].FromTZ, land, zone); skipped != "" {
			arr.label += " (crossing the date line skips " + skipped + ")"
		}
		tp.frames = append(tp.frames, arr)
		day = arr.end
		arrivedAt = land
		if ji == len(tp.journeys)-1 {
			n := afterArrivalDays(j.shift)
			for k := 1; k <= n; k++ {
				f := frame{start: day, end: nextMidnight(day.Add(time.Hour), zone), zone: zone, date: syncproto.DateOf(day), kind: DayStay, journey: ji}
				f.label = fmt.Sprintf("Day %d in %s", k, place)
				tp.frames = append(tp.frames, f)
				day = f.end
			}
		}
	}
}

// labelGround names the ground days before journey j and hides the long
// middle of a stay where nothing but local time is advised.
func (tp *tripPlan) labelGround(ground []frame, stopIdx int, place string) {
	if len(ground) == 0 {
		return
	}
	visible := len(ground)
	if stopIdx >= 0 {
		visible = afterArrivalDays(tp.journeys[ground[0].journey].shift)
	}
	for k := range ground {
		g := &ground[k]
		if stopIdx < 0 {
			before := len(ground) - k
			g.label = fmt.Sprintf("%d days before the trip", before)
			if before == 1 {
				g.label = "The day before the trip"
			}
			continue
		}
		g.label = fmt.Sprintf("Day %d in %s", k+1, place)
		if g.preShift > 0 {
			g.label += fmt.Sprintf(" · %d before leaving", len(ground)-k)
		} else if k >= visible {
			g.hidden = true
		}
	}
}

// skippedDates names the calendar dates a traveller never lives through,
// flying east over the date line in less than a day: "Tue 24 Nov".
func skippedDates(dep time.Time, from *time.Location, land time.Time, to *time.Location) string {
	if land.Sub(dep) >= 24*time.Hour {
		return ""
	}
	start, end := dep.In(from), land.In(to)
	var skipped []string
	d := time.Date(start.Year(), start.Month(), start.Day()+1, 0, 0, 0, 0, time.UTC)
	last := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
	for ; d.Before(last); d = d.AddDate(0, 0, 1) {
		skipped = append(skipped, d.Format("Mon 2 Jan"))
	}
	return strings.Join(skipped, ", ")
}
