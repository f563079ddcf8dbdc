package circadian

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

// Problem is one way a plan breaks a rule the planner promises to keep.
type Problem struct {
	Member string
	// Day is the date of the day the problem is on, in that day's zone.
	Day  syncproto.Date
	Rule Rule
	// Detail says what is wrong, with the times involved.
	Detail string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s %s [%s] %s", p.Member, p.Day, p.Rule, p.Detail)
}

// Rule names an invariant of a plan.
type Rule string

// The invariants every plan keeps. Check tests each of them.
const (
	// RuleClockRate: the predicted body clock (CBTmin, read from the
	// model's phase) moves at most MaxAdvancePerDay earlier and
	// MaxDelayPerDay later per day.
	RuleClockRate Rule = "clock_rate"
	// RuleScheduleStep: on the ground in one zone, bedtime moves at most
	// the person's step from one night to the next.
	RuleScheduleStep Rule = "schedule_step"
	// RuleAdultSleep: adults have at least MinAdultSleep of sleep
	// opportunity in every day's 24 h, travel days included, and are never
	// awake for longer than MaxAwake.
	RuleAdultSleep Rule = "adult_sleep"
	// RuleChildSleep: children's sleep in 24 h lies inside the
	// recommended range for their age on ordinary days.
	RuleChildSleep Rule = "child_sleep"
	// RuleLight: advancing light after CBTmin; delaying light before
	// CBTmin, ending by bedtime and starting at most 7 h before it; never
	// during sleep; outdoors only in daylight.
	RuleLight Rule = "light"
	// RuleMelatonin: 0.5 mg, 0–10 h before the predicted DLMO, never at
	// night or during sleep, for adults who opted in, to advance only.
	RuleMelatonin Rule = "melatonin"
	// RuleCaffeine: the cut-off is 6 h before the real next sleep
	// (on-board sleep counts), at least 3 h after waking; no window runs
	// into or out of a flight; adults who opted in only.
	RuleCaffeine Rule = "caffeine"
	// RuleOverlap: a person's sleep, naps and meals never overlap.
	RuleOverlap Rule = "overlap"
	// RuleTimetable: nothing on the ground while in the air and nothing
	// marked in flight on the ground; every item starts inside its day.
	RuleTimetable Rule = "timetable"
	// RuleReason: each reason is true for its day.
	RuleReason Rule = "reason"
	// RuleNaps: a young child's entered naps are kept on ordinary days,
	// or the plan says why not.
	RuleNaps Rule = "naps"
)

// Limits the checks hold plans to.
const (
	// MaxAdvancePerDay and MaxDelayPerDay are the fastest the human clock
	// is known to move: about 1–1.5 h a day earlier and 1.5–2 h a day
	// later (Eastman & Burgess 2009; Aschoff et al. 1975).
	MaxAdvancePerDay = 1.5
	MaxDelayPerDay   = 2.0
	// MinAdultSleep is the least sleep opportunity an adult's plan gives
	// in any day.
	MinAdultSleep = 6 * time.Hour
	// MaxAwake is the longest an adult's plan keeps them awake: no
	// all-nighters.
	MaxAwake = 24 * time.Hour
	// caffeineCutoff is how long before sleep caffeine stops (Burke 2015).
	caffeineCutoff = 6 * time.Hour
	// caffeineFirst is how long after waking a cut-off may come at the
	// earliest: a "no coffee after" an hour after getting up is no advice.
	caffeineFirst = 3 * time.Hour
	// melatoninWindow is how far before the predicted DLMO melatonin is
	// taken, at most (Burgess 2010: advances from up to about 10 h before).
	melatoninWindow = 10 * time.Hour
	// delayLightBeforeBed is how long before bedtime a delaying light
	// window may start, at most.
	delayLightBeforeBed = 7 * time.Hour
)

// slack absorbs the rounding of times to the minute in the checks.
const slack = 2 * time.Minute

// Check tests every member plan of plan against the invariants for req and
// returns the problems found, none for a good plan.
func Check(req Request, plan *Plan) []Problem {
	byID := map[string]Person{}
	for _, p := range req.People {
		byID[p.ID.String()] = p
	}
	var out []Problem
	for i := range plan.Members {
		mp := &plan.Members[i]
		p, ok := byID[mp.MemberID.String()]
		if !ok {
			out = append(out, Problem{Member: mp.Name, Rule: RuleReason, Detail: "the plan is for someone not in the family"})
			continue
		}
		out = append(out, CheckMember(req.Trip, p, mp)...)
	}
	return out
}

// checker holds what the checks of one member plan share.
type checker struct {
	tp    *tripPlan // nil when the trip cannot be planned
	legs  []Leg
	p     Person
	mp    *MemberPlan
	age   Age
	step  time.Duration
	out   []Problem
	items []dayItem // every item of the plan, in order
	ss    []Item    // the sleep and nap items, by start
}

type dayItem struct {
	day int
	it  Item
}

func (c *checker) add(day int, rule Rule, format string, args ...any) {
	var date syncproto.Date
	if day >= 0 && day < len(c.mp.Days) {
		date = c.mp.Days[day].Date
	}
	c.out = append(c.out, Problem{Member: c.mp.Name, Day: date, Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

// CheckMember tests one person's plan for trip against the invariants.
func CheckMember(trip Trip, p Person, mp *MemberPlan) []Problem {
	c := &checker{legs: trip.flown(), p: p, mp: mp}
	if len(c.legs) == 0 {
		return nil
	}
	c.tp, _ = newTripPlan(trip)
	c.age = p.AgeOn(syncproto.DateOf(c.legs[0].Depart.In(c.legs[0].FromTZ)))
	c.step = time.Duration(preShiftStep(c.age, trip.Intensity) * float64(time.Hour))
	for di, d := range mp.Days {
		for _, it := range d.Items {
			c.items = append(c.items, dayItem{di, it})
		}
	}
	c.ss = c.collectSleeps()
	c.clockRate()
	c.timetable()
	c.overlap()
	c.scheduleStep()
	if c.age.Adult() {
		c.adultSleep()
	} else {
		c.childSleep()
	}
	c.light()
	c.melatonin()
	c.caffeine()
	c.reasons()
	c.naps()
	return c.out
}

func clock(t time.Time) string { return t.Format("Mon 2 Jan 15:04 MST") }

// populationPeriod is the mean adult intrinsic period the rate limits
// were measured on (Czeisler et al. 1999: 24.18 h).
const populationPeriod = 24.2

// clockRate: consecutive predicted CBTmins lie 24 h apart, less at most
// MaxAdvancePerDay for each day between them, more at most MaxDelayPerDay.
// The limits are for someone of the population's period: a plan made with
// a person's own shorter period may advance faster by the difference each
// day, one with a longer period delay faster.
func (c *checker) clockRate() {
	maxAdvance, maxDelay := float64(MaxAdvancePerDay), float64(MaxDelayPerDay)
	if pc := c.mp.PersonalClock; pc != nil {
		maxAdvance += math.Max(0, populationPeriod-pc.PlanTau)
		maxDelay += math.Max(0, pc.PlanTau-populationPeriod)
	}
	prev, prevDay := time.Time{}, -1
	for di, d := range c.mp.Days {
		if d.CBTMin == nil {
			continue
		}
		cur := *d.CBTMin
		if prevDay >= 0 && !d.Past {
			gap := cur.Sub(prev).Hours()
			days := math.Round(gap / 24)
			if days >= 1 {
				move := (days*24 - gap) / days // positive: an advance per day
				if move > maxAdvance+0.05 {
					c.add(di, RuleClockRate, "the body clock advances %.2f h a day (CBTmin %s, then %s); at most %.1f h a day is possible", move, clock(prev), clock(cur), maxAdvance)
				}
				if -move > maxDelay+0.05 {
					c.add(di, RuleClockRate, "the body clock delays %.2f h a day (CBTmin %s, then %s); at most %.1f h a day is possible", -move, clock(prev), clock(cur), maxDelay)
				}
			}
		}
		prev, prevDay = cur, di
	}
}

// inAir reports whether t lies strictly inside a flight.
func (c *checker) inAir(a, b time.Time) (Leg, bool) {
	for _, l := range c.legs {
		if a.Before(l.Arrive) && b.After(l.Depart) {
			return l, true
		}
	}
	return Leg{}, false
}

// timetable: ground items are not during flights, flight items are inside
// one, and every item starts inside its day.
func (c *checker) timetable() {
	for _, x := range c.items {
		d, it := c.mp.Days[x.day], x.it
		if it.Start.Before(d.Start) || !it.Start.Before(d.End) {
			c.add(x.day, RuleTimetable, "%s at %s lies outside its day (%s to %s)", it.Kind, clock(it.Start), clock(d.Start), clock(d.End))
		}
		if it.End.Before(it.Start) {
			c.add(x.day, RuleTimetable, "%s ends (%s) before it starts (%s)", it.Kind, clock(it.End), clock(it.Start))
		}
		end := it.End
		if end.Equal(it.Start) {
			end = end.Add(time.Minute)
		}
		if it.InFlight {
			inside := false
			for _, l := range c.legs {
				inside = inside || (!it.Start.Before(l.Depart) && !end.After(l.Arrive.Add(time.Minute)))
			}
			if !inside {
				c.add(x.day, RuleTimetable, "%s %s–%s is marked in flight but is not inside one flight", it.Kind, clock(it.Start), clock(it.End))
			}
			continue
		}
		if it.Kind == ItemLightAvoid {
			continue // sunglasses at the gate and the shade down on board are one piece of advice
		}
		if l, air := c.inAir(it.Start.Add(slack), end.Add(-slack)); air {
			c.add(x.day, RuleTimetable, "%s %s–%s on the ground while flight %s is in the air (%s–%s)", it.Kind, clock(it.Start), clock(it.End), orDash(l.Flight), clock(l.Depart), clock(l.Arrive))
		}
	}
}

func exclusive(k ItemKind) bool { return k == ItemSleep || k == ItemNap || k == ItemMeal }

// overlap: no two of a person's sleeps, naps and meals overlap.
func (c *checker) overlap() {
	var ex []dayItem
	for _, x := range c.items {
		if exclusive(x.it.Kind) {
			ex = append(ex, x)
		}
	}
	slices.SortStableFunc(ex, func(a, b dayItem) int { return a.it.Start.Compare(b.it.Start) })
	for i := range ex {
		for j := i + 1; j < len(ex) && ex[j].it.Start.Before(ex[i].it.End.Add(-slack)); j++ {
			a, b := ex[i].it, ex[j].it
			c.add(ex[j].day, RuleOverlap, "%s %s–%s overlaps %s %s–%s", b.Kind, clock(b.Start), clock(b.End), a.Kind, clock(a.Start), clock(a.End))
		}
	}
}

// sleeps are the plan's sleep and nap items, in order.
func (c *checker) sleeps() []Item { return c.ss }

// collectSleeps gathers the plan's sleep and nap items, in order.
func (c *checker) collectSleeps() []Item {
	var out []Item
	for _, x := range c.items {
		if x.it.Kind == ItemSleep || x.it.Kind == ItemNap {
			out = append(out, x.it)
		}
	}
	slices.SortStableFunc(out, func(a, b Item) int { return a.Start.Compare(b.Start) })
	return out
}

// sleepIn is the sleep opportunity in [a, b).
func (c *checker) sleepIn(a, b time.Time) time.Duration {
	var d time.Duration
	for _, s := range c.sleeps() {
		lo, hi := later(s.Start, a), earlier(s.End, b)
		if hi.After(lo) {
			d += hi.Sub(lo)
		}
	}
	return d
}

// scheduleStep: bedtime on the ground moves at most a step a day between
// nights in one zone.
func (c *checker) scheduleStep() {
	var prev *Item
	for _, x := range c.items {
		it := x.it
		if it.Kind != ItemSleep || it.InFlight {
			continue
		}
		if prev != nil && prev.TZ == it.TZ && c.covered(prev.Start, it.Start) && !c.flightBetween(prev.Start, it.Start) {
			gap := it.Start.Sub(prev.Start)
			days := math.Round(gap.Hours() / 24)
			if days >= 1 && days <= 2 {
				_, o1 := prev.Start.Zone()
				_, o2 := it.Start.Zone()
				// On the local clock: a DST change is not a move.
				move := gap - time.Duration(days)*24*time.Hour + time.Duration(o2-o1)*time.Second
				// A first night after landing that starts late, as soon as
				// one can be in bed, is not a step of the schedule; nor is
				// a change of the clocks, when the plan keeps to another
				// zone's clock.
				late := move < 0 && c.soonAfterLanding(prev.Start)
				limit := time.Duration(days)*c.step + slack
				if o1 != o2 && (gap-time.Duration(days)*24*time.Hour).Abs() <= limit {
					late = true
				}
				if !late && move.Abs() > limit {
					c.add(x.day, RuleScheduleStep, "bedtime moves %s in a day (%s, then %s); the step is %s", fmtDuration(move.Abs()), clock(prev.Start), clock(it.Start), fmtDuration(c.step))
				}
			}
		}
		cp := it
		prev = &cp
	}
}

// beforeDeparture reports whether t falls in the 4 h before a flight
// leaves: a nap then is for the journey.
func (c *checker) beforeDeparture(t time.Time) bool {
	for _, l := range c.legs {
		if d := l.Depart.Sub(t); d >= 0 && d <= 4*time.Hour {
			return true
		}
	}
	return false
}

// flightBetween reports whether a flight leaves in [a, b).
func (c *checker) flightBetween(a, b time.Time) bool {
	for _, l := range c.legs {
		if !l.Depart.Before(a) && l.Depart.Before(b) {
			return true
		}
	}
	return false
}

// soonAfterLanding reports whether a night starting at t starts within
// 3 h of a landing.
func (c *checker) soonAfterLanding(t time.Time) bool {
	for _, l := range c.legs {
		if d := t.Sub(l.Arrive); d >= 0 && d <= 3*time.Hour {
			return true
		}
	}
	return false
}

// dayWindows are the 24-h spans a day's sleep is counted over: from its
// start, and for a day longer than that, also the 24 h to its end. A
// window that runs past the plan is not counted.
func (c *checker) dayWindows(d Day) [][2]time.Time {
	end := c.mp.Days[len(c.mp.Days)-1].End
	var out [][2]time.Time
	if w := d.Start.Add(24 * time.Hour); !w.After(end) {
		out = append(out, [2]time.Time{d.Start, w})
	}
	if d.End.Sub(d.Start) > 24*time.Hour {
		out = append(out, [2]time.Time{d.End.Add(-24 * time.Hour), d.End})
	}
	return out
}

// adultSleep: at least MinAdultSleep in every 24 h — counted from the end
// of each sleep, where a window holds the least — and no awake span
// longer than MaxAwake.
func (c *checker) adultSleep() {
	ss := c.sleeps()
	end := c.mp.Days[len(c.mp.Days)-1].End
	for _, s := range ss {
		w0, w1 := s.End, s.End.Add(24*time.Hour)
		if w1.After(end) || c.past(w0) || !c.covered(w0, w1) {
			continue
		}
		if got := c.sleepIn(w0, w1); got < MinAdultSleep-slack {
			c.add(c.dayOf(w0), RuleAdultSleep, "%s of sleep in the 24 h from %s; an adult needs at least %s", fmtDuration(got), clock(w0), fmtDuration(MinAdultSleep))
		}
	}
	for i := 1; i < len(ss); i++ {
		if gap := ss[i].Start.Sub(ss[i-1].End); gap > MaxAwake && c.covered(ss[i-1].End, ss[i].Start) {
			c.add(c.dayOf(ss[i].Start), RuleAdultSleep, "awake for %s (%s to %s): an all-nighter", fmtDuration(gap), clock(ss[i-1].End), clock(ss[i].Start))
		}
	}
}

// covered reports whether [a, b) lies wholly inside the plan's listed
// days: the long middle of a stay, summarised in a note, has no items to
// count.
func (c *checker) covered(a, b time.Time) bool {
	days := c.mp.Days
	if len(days) == 0 || a.Before(days[0].Start) || b.After(days[len(days)-1].End) {
		return false
	}
	for i := 1; i < len(days); i++ {
		if days[i].Start.After(days[i-1].End) && days[i].Start.After(a) && days[i-1].End.Before(b) {
			return false
		}
	}
	return true
}

// past reports whether t lies in a day that ended before the plan's now.
func (c *checker) past(t time.Time) bool { return c.mp.Days[c.dayOf(t)].Past }

// dayOf is the index of the day holding t.
func (c *checker) dayOf(t time.Time) int {
	for i, d := range c.mp.Days {
		if !t.Before(d.Start) && t.Before(d.End) {
			return i
		}
	}
	return len(c.mp.Days) - 1
}

// childSleep: on ordinary days (not a travel or arrival day, not the day
// after one, not a day a flight or the way to it touches) a child's 24-h
// sleep lies inside the recommended range.
func (c *checker) childSleep() {
	lo, hi := c.age.SleepNeed()
	for di, d := range c.mp.Days {
		if d.Past || di == 0 || d.Kind == DayTravel || d.Kind == DayArrival || d.End.Sub(d.Start) < 22*time.Hour {
			continue
		}
		if di > 0 && (c.mp.Days[di-1].Kind == DayArrival || c.mp.Days[di-1].Kind == DayTravel) {
			continue
		}
		touches := false
		for _, l := range c.legs {
			touches = touches || (d.Start.Before(l.Arrive.Add(afterLanding)) && d.End.Add(beforeDeparture).After(l.Depart))
		}
		if di+1 < len(c.mp.Days) && c.mp.Days[di+1].Kind == DayTravel {
			touches = true
		}
		if touches {
			continue
		}
		if c.shifting(d.Start.Add(-12*time.Hour), d.End) {
			continue // a night moving by a step is not an ordinary day
		}
		for _, w := range c.dayWindows(d) {
			if !c.covered(w[0].Add(-24*time.Hour), w[1]) {
				continue
			}
			got := c.sleepIn(w[0], w[1]).Hours()
			if got < lo-0.05 || got > hi+0.05 {
				c.add(di, RuleChildSleep, "%.1f h of sleep from %s to %s; %g–%g h is recommended at this age", got, clock(w[0]), clock(w[1]), lo, hi)
			}
		}
	}
}

// shifting reports whether a night starting in [a, b) is moved on a
// shifting day.
func (c *checker) shifting(a, b time.Time) bool {
	for _, x := range c.items {
		if it := x.it; it.Kind == ItemSleep && !it.Start.Before(a) && it.Start.Before(b) && strings.Contains(it.Reason, "Shifting day") {
			return true
		}
	}
	return false
}

// cbtMins are the plan's predicted CBTmins, in order: all of them where
// the plan lists them, else each day's.
func (c *checker) cbtMins() []time.Time {
	if len(c.mp.CBTMins) > 0 {
		return c.mp.CBTMins
	}
	var out []time.Time
	for _, d := range c.mp.Days {
		if d.CBTMin != nil {
			out = append(out, *d.CBTMin)
		}
	}
	return out
}

// nearestCBTmin is the predicted CBTmin closest to t, if one lies within
// 14 h.
func nearestCBTmin(mins []time.Time, t time.Time) (time.Time, bool) {
	var best time.Time
	for _, m := range mins {
		if best.IsZero() || m.Sub(t).Abs() < best.Sub(t).Abs() {
			best = m
		}
	}
	return best, !best.IsZero() && best.Sub(t).Abs() <= 14*time.Hour
}

// nextSleep is the first main sleep or nap starting at or after t.
func (c *checker) nextSleep(t time.Time, kinds ...ItemKind) (Item, bool) {
	for _, s := range c.sleeps() {
		if !s.Start.Before(t) && slices.Contains(kinds, s.Kind) {
			return s, true
		}
	}
	return Item{}, false
}

// light: advancing light lies after CBTmin, delaying light before it and
// in the 7 h before bedtime; no light window overlaps sleep; outdoors only
// in daylight.
func (c *checker) light() {
	mins := c.cbtMins()
	ss := c.sleeps()
	for _, x := range c.items {
		it := x.it
		if it.Kind != ItemLightSeek {
			continue
		}
		for _, s := range ss {
			if it.Start.Before(s.End.Add(-slack)) && it.End.After(s.Start.Add(slack)) {
				c.add(x.day, RuleLight, "light %s–%s runs into %s %s–%s", clock(it.Start), clock(it.End), s.Kind, clock(s.Start), clock(s.End))
			}
		}
		if it.Outdoors && !c.daylight(it.Start, it.End) {
			c.add(x.day, RuleLight, "outdoor light %s–%s is not all in daylight", clock(it.Start), clock(it.End))
		}
		m, ok := nearestCBTmin(mins, it.Start.Add(it.End.Sub(it.Start)/2))
		if !ok {
			continue
		}
		switch it.Effect {
		case EffectAdvance:
			if it.Start.Before(m.Add(-slack)) {
				c.add(x.day, RuleLight, "advancing light %s–%s starts before the body clock's low point (%s)", clock(it.Start), clock(it.End), clock(m))
			}
		case EffectDelay:
			if it.End.After(m.Add(slack)) {
				c.add(x.day, RuleLight, "delaying light %s–%s ends after the body clock's low point (%s)", clock(it.Start), clock(it.End), clock(m))
			}
			if bed, ok := c.nextSleep(it.Start, ItemSleep); ok {
				if it.End.After(bed.Start.Add(slack)) || it.Start.Before(bed.Start.Add(-delayLightBeforeBed-slack)) {
					c.add(x.day, RuleLight, "delaying light %s–%s is not in the 7 h before bedtime (%s)", clock(it.Start), clock(it.End), clock(bed.Start))
				}
			}
		default:
			c.add(x.day, RuleLight, "light %s–%s does not say whether it advances or delays", clock(it.Start), clock(it.End))
		}
	}
}

// daylight reports whether the sun is up over all of [a, b) where the
// person is; where that place is not known, whether [a, b) lies within
// 07:00–19:00 local time.
func (c *checker) daylight(a, b time.Time) bool {
	p, loc := c.legs[0].FromAt, c.legs[0].FromTZ
	for _, l := range c.legs {
		if a.Before(l.Depart) {
			break
		}
		p, loc = l.ToAt, l.ToTZ
	}
	if !p.Known() {
		la, lb := a.In(loc), b.Add(-time.Second).In(loc)
		return la.Hour() >= 7 && lb.Hour() < 19 && la.YearDay() == lb.YearDay()
	}
	for t := a; t.Before(b); t = t.Add(5 * time.Minute) {
		if p.Elevation(t) < SunriseElevation {
			return false
		}
	}
	return p.Elevation(b.Add(-time.Second)) >= SunriseElevation
}

// melatonin: adults who opted in, 0.5 mg, 0–10 h before DLMO, not at night
// or in sleep, on days that advance.
func (c *checker) melatonin() {
	ss := c.sleeps()
	for _, x := range c.items {
		it, d := x.it, c.mp.Days[x.day]
		if it.Kind != ItemMelatonin {
			continue
		}
		if !c.age.Adult() || !c.p.Melatonin {
			c.add(x.day, RuleMelatonin, "melatonin for someone who is not an adult who asked for it")
		}
		if !strings.Contains(it.Text, "0.5 mg") {
			c.add(x.day, RuleMelatonin, "melatonin of another dose than 0.5 mg: %q", it.Text)
		}
		if d.DLMO == nil {
			c.add(x.day, RuleMelatonin, "melatonin at %s on a day with no predicted DLMO", clock(it.Start))
		} else if before := d.DLMO.Sub(it.Start); before <= 0 || before > melatoninWindow {
			c.add(x.day, RuleMelatonin, "melatonin at %s is not 0–10 h before the predicted DLMO (%s)", clock(it.Start), clock(*d.DLMO))
		}
		if c.tp != nil {
			f := c.tp.frames[c.tp.frameAt(it.Start)]
			if j := f.journey; j >= 0 && j < len(c.tp.journeys) && c.tp.journeys[j].shift <= 0 {
				c.add(x.day, RuleMelatonin, "melatonin at %s while the clock is being delayed", clock(it.Start))
			}
		}
		for _, s := range ss {
			if !it.Start.Before(s.Start) && it.Start.Before(s.End) {
				c.add(x.day, RuleMelatonin, "melatonin at %s during %s %s–%s", clock(it.Start), s.Kind, clock(s.Start), clock(s.End))
			}
		}
		if h := it.Start.Hour(); h < 5 {
			c.add(x.day, RuleMelatonin, "melatonin at %s, in the night", clock(it.Start))
		}
	}
}

// caffeine: cut-offs come 6 h before the real next sleep and at least 3 h
// after waking; windows do not cross a take-off or landing.
func (c *checker) caffeine() {
	for _, x := range c.items {
		it := x.it
		if it.Kind != ItemCaffeineOK && it.Kind != ItemCaffeineCutoff {
			continue
		}
		if !c.age.Adult() || !c.p.Caffeine {
			c.add(x.day, RuleCaffeine, "caffeine advice for someone who is not an adult who asked for it")
		}
		for _, l := range c.legs {
			for _, edge := range []time.Time{l.Depart, l.Arrive} {
				if it.Start.Before(edge.Add(-slack)) && it.End.After(edge.Add(slack)) {
					c.add(x.day, RuleCaffeine, "%s %s–%s runs across flight %s's %s", it.Kind, clock(it.Start), clock(it.End), orDash(l.Flight), clock(edge))
				}
			}
		}
		if it.Kind != ItemCaffeineCutoff {
			continue
		}
		if s, ok := c.nextSleep(it.Start, ItemSleep); !ok {
			c.add(x.day, RuleCaffeine, "a caffeine cut-off at %s with no sleep after it", clock(it.Start))
		} else if d := s.Start.Sub(it.Start); d < caffeineCutoff-15*time.Minute-slack || d > caffeineCutoff+15*time.Minute+slack {
			c.add(x.day, RuleCaffeine, "the caffeine cut-off at %s is %s before the next sleep (%s), not 6 h", clock(it.Start), fmtDuration(d), clock(s.Start))
		}
		var woke time.Time
		for _, s := range c.sleeps() {
			if s.Kind == ItemSleep && !s.End.After(it.Start) {
				woke = s.End
			}
		}
		if !woke.IsZero() && it.Start.Sub(woke) < caffeineFirst-slack {
			c.add(x.day, RuleCaffeine, "a caffeine cut-off at %s only %s after waking (%s)", clock(it.Start), fmtDuration(it.Start.Sub(woke)), clock(woke))
		}
	}
}

// reasons: a shifting day's reason only on a day before a departure.
func (c *checker) reasons() {
	for _, x := range c.items {
		d := c.mp.Days[x.day]
		departed := false
		for _, l := range c.legs {
			departed = departed || (!x.it.Start.Before(l.Depart) && l.Depart.After(d.Start))
		}
		if strings.Contains(x.it.Reason, "Shifting day") && (d.Kind == DayArrival || d.Kind == DayTravel && departed) {
			c.add(x.day, RuleReason, "%s on a %s day says %q", x.it.Kind, d.Kind, x.it.Reason)
		}
	}
}

// naps: a child under three with entered naps gets them on ordinary days,
// each saying it is the usual nap, or the day says why one is left out.
func (c *checker) naps() {
	if len(c.p.Naps) == 0 || c.age.Grown() || c.age.Band == syncproto.AgeChild {
		return
	}
	for di, d := range c.mp.Days {
		if d.Past || d.Kind != DayStay && d.Kind != DayPreTrip || di == 0 {
			continue
		}
		var naps int
		explained := false
		for _, it := range d.Items {
			if it.Kind == ItemNap && !c.beforeDeparture(it.End) {
				naps++
				if !strings.Contains(it.Reason, "usual nap") {
					c.add(di, RuleNaps, "nap %s–%s replaces the naps the parents entered without saying why", clock(it.Start), clock(it.End))
				}
			}
			explained = explained || strings.Contains(it.Reason, "usual nap at")
		}
		if naps != len(c.p.Naps) && !explained {
			c.add(di, RuleNaps, "%d naps planned where %d were entered, with no reason given", naps, len(c.p.Naps))
		}
	}
}
