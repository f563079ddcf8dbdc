package circadian

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// Person is one member of the family as the planner sees them: age and
// habits. Habitual times are clock times in Home.
type Person struct {
	ID   uuid.UUID
	Name string
	// Exactly one of BirthDate and AgeBand is set; a birth date lets the
	// planner know the age in months, which matters for babies.
	BirthDate syncproto.Date
	AgeBand   syncproto.AgeBand
	Home      *time.Location
	// Sleep and Wake are the habitual night: lights out and getting up.
	Sleep, Wake syncproto.ClockTime
	// Naps are the habitual daytime naps, if any.
	Naps       []syncproto.Nap
	Chronotype syncproto.Chronotype
	Light      syncproto.TypicalLight
	// Melatonin and Caffeine opt an adult in to that advice. They are
	// ignored for anyone under 18.
	Melatonin, Caffeine bool
	// Clock is what calibration learned of this person's clock, if
	// anything; the planner uses it when it is Confident.
	Clock *PersonalClock
}

// PersonFromMember builds a Person from a member.upserted payload.
func PersonFromMember(id uuid.UUID, m *syncproto.MemberUpserted) (Person, error) {
	loc, err := syncproto.LoadZone(m.HomeTZ)
	if err != nil {
		return Person{}, fmt.Errorf("member %s: %w", id, err)
	}
	p := Person{
		ID: id, Name: m.DisplayName, BirthDate: m.BirthDate, AgeBand: m.AgeBand, Home: loc,
		Sleep: m.SleepTime, Wake: m.WakeTime, Naps: m.Naps, Chronotype: m.Chronotype,
		Light: m.TypicalLight, Melatonin: m.MelatoninAdvice, Caffeine: m.CaffeineAdvice,
	}
	return p, p.check()
}

// check reports what keeps the planner from using p.
func (p Person) check() error {
	var errs []error
	if p.Home == nil {
		errs = append(errs, errors.New("no home zone"))
	}
	if p.BirthDate.IsZero() && p.AgeBand == "" {
		errs = append(errs, errors.New("neither a birth date nor an age band"))
	}
	if p.Sleep.IsZero() || p.Wake.IsZero() {
		errs = append(errs, errors.New("no habitual sleep and wake times"))
	} else if d := p.nightHours(); d < 4 || d > 16 {
		errs = append(errs, fmt.Errorf("a habitual night of %.1f h (from %s to %s) is not one the planner can use", d, p.Sleep, p.Wake))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("person %s (%s): %w", p.ID, p.Name, err)
	}
	return nil
}

// nightHours is the length of the habitual night.
func (p Person) nightHours() float64 {
	return hoursBetweenClocks(p.Sleep, p.Wake)
}

// hoursBetweenClocks is the time from a to b going forward, in (0, 24].
func hoursBetweenClocks(a, b syncproto.ClockTime) float64 {
	d := float64(b.Minutes()-a.Minutes()) / 60
	if d <= 0 {
		d += 24
	}
	return d
}

// Age is a person's age on one day.
type Age struct {
	Band syncproto.AgeBand
	// Months is the age in whole months; when only the band is known, a
	// typical age for the band.
	Months int
}

// AgeOn is p's age on day.
func (p Person) AgeOn(day syncproto.Date) Age {
	if !p.BirthDate.IsZero() {
		months := syncproto.AgeInMonths(p.BirthDate, day)
		return Age{Band: syncproto.AgeBandAt(p.BirthDate, day), Months: max(months, 0)}
	}
	typical := map[syncproto.AgeBand]int{
		syncproto.AgeUnder6Months: 3, syncproto.Age6To12Months: 9, syncproto.AgeToddler: 24,
		syncproto.AgeChild: 84, syncproto.AgeTeen: 180, syncproto.AgeAdult: 360,
	}
	return Age{Band: p.AgeBand, Months: typical[p.AgeBand]}
}

// Adult reports whether the age is 18 or over.
func (a Age) Adult() bool { return a.Band == syncproto.AgeAdult }

// Grown reports whether the age is 13 or over: teens and adults, who get
// adult naps, adult light windows and adult steps.
func (a Age) Grown() bool { return a.Band == syncproto.AgeAdult || a.Band == syncproto.AgeTeen }

// Infant reports whether the age is under six months: sleep then follows
// feeds and wake windows more than the clock.
func (a Age) Infant() bool { return a.Band == syncproto.AgeUnder6Months }

// SleepNeed is the recommended sleep per 24 h, naps included, in hours:
// AASM (Paruthi et al. 2016) from 4 months to 18 years, NSF (Hirshkowitz et
// al. 2015) for 0–3 months and adults.
func (a Age) SleepNeed() (lo, hi float64) {
	switch m := a.Months; {
	case a.Band == syncproto.AgeAdult:
		return 7, 9
	case m < 4:
		return 14, 17
	case m < 12:
		return 12, 16
	case m < 36:
		return 11, 14
	case m < 72:
		return 10, 13
	case m < 13*12:
		return 9, 12
	}
	return 8, 10
}

// WakeWindow is the typical time a young child can stay awake between
// sleeps, and how many naps a day go with it (parenting rules of thumb
// collected in docs/planner.md). Over three years it reports zero: naps are
// then only planned where the person habitually takes them.
func (a Age) WakeWindow() (window time.Duration, naps int) {
	switch m := a.Months; {
	case a.Band == syncproto.AgeAdult || a.Band == syncproto.AgeTeen || a.Band == syncproto.AgeChild:
		return 0, 0
	case m < 2:
		return 50 * time.Minute, 6
	case m < 4:
		return 60 * time.Minute, 5
	case m < 6:
		return 75 * time.Minute, 4
	case m < 9:
		return 2 * time.Hour, 3
	case m < 12:
		return 3 * time.Hour, 2
	case m < 18:
		return 3*time.Hour + 45*time.Minute, 1
	case m < 36:
		return 5 * time.Hour, 1
	}
	return 0, 0
}

// Light levels the planner assumes, in lux at the eye. The level names are
// syncproto's; the values are the ones docs/events.md states.
const (
	LuxOutdoor      = 10000.0 // outdoors in daylight, or right at a window
	LuxBrightIndoor = 1000.0  // a light box, a bright window seat
	LuxIndoor       = 200.0   // ordinary room lighting
	LuxEvening      = 50.0    // lamps in the evening at home
	LuxDim          = 10.0    // a bedside lamp, a dimmed cabin
	LuxAvoid        = 30.0    // avoiding light: sunglasses outside, lamps low inside
	LuxCabin        = 100.0   // an aircraft cabin with the lights on
)

// LuxOf is the illuminance the planner assumes for a named light level.
func LuxOf(l syncproto.LightLevel) float64 {
	switch l {
	case syncproto.LevelOutdoorDaylight:
		return LuxOutdoor
	case syncproto.LevelBrightIndoor:
		return LuxBrightIndoor
	case syncproto.LevelIndoor:
		return LuxIndoor
	case syncproto.LevelDim:
		return LuxDim
	}
	return 0
}

// outdoorHours is the daylight a person gets on an ordinary day, by how
// they describe themselves. This is the stated light assumption of the
// starting-clock estimate: the rest of the waking day is indoor light
// (200 lux), the last two hours before bed evening lamps (50 lux), sleep
// dark.
func outdoorHours(l syncproto.TypicalLight) float64 {
	switch l {
	case syncproto.LightMostlyIndoors:
		return 0.5
	case syncproto.LightMostlyOutdoors:
		return 5
	}
	return 2 // some_outdoors, the default
}

// PeriodDelta is how much p's intrinsic period differs from the model's
// population period, hours: early chronotypes run shorter and late ones
// longer (Duffy, Rimmer & Czeisler 2001 found morning types about 0.3 h
// shorter than evening types).
func (p Person) PeriodDelta() float64 {
	switch p.Chronotype {
	case syncproto.ChronotypeEarly:
		return -0.15
	case syncproto.ChronotypeLate:
		return 0.15
	}
	return 0
}

// habitualNaps are p's naps on an ordinary day at age: the member's own, or
// for a child under three the naps that wake windows give.
func (p Person) habitualNaps(age Age) []napSlot {
	if len(p.Naps) > 0 {
		out := make([]napSlot, len(p.Naps))
		for i, n := range p.Naps {
			out[i] = napSlot{start: float64(n.Start.Minutes()) / 60, hours: float64(n.DurationMin) / 60}
		}
		return out
	}
	window, _ := age.WakeWindow()
	if window == 0 {
		return nil
	}
	wake := float64(p.Wake.Minutes()) / 60
	return wakeWindowNaps(age, wake, wake+p.awakeHours(age))
}

// napSlot is a nap in hours: start is hours after midnight of the clock it
// is planned in (it may run past 24 for naps the next day), hours long.
type napSlot struct{ start, hours float64 }

// awakeHours is how long p's day lasts from wake to lights out.
func (p Person) awakeHours(age Age) float64 {
	return 24 - p.nightFor(age)
}

// nightFor is the night p is planned to sleep at age: the habitual night,
// moved into the recommended range if it falls outside it once naps are
// counted.
func (p Person) nightFor(age Age) float64 {
	night := p.nightHours()
	lo, hi := age.SleepNeed()
	var naps float64
	if len(p.Naps) > 0 {
		for _, n := range p.Naps {
			naps += float64(n.DurationMin) / 60
		}
	} else if window, count := age.WakeWindow(); window > 0 {
		naps = defaultNapHours(age, night, count)
	}
	// A night moved into the range lands half an hour inside it, so that a
	// bedtime moved by a step does not take the day outside again.
	switch total := night + naps; {
	case total < lo:
		night = lo + 0.5 - naps
	case total > hi:
		night = hi - 0.5 - naps
	}
	return math.Max(4, math.Min(night, 13))
}

// defaultNapHours is the day sleep of a child under three with no habitual
// naps on record: what the middle of the recommended total leaves after the
// night, shared over the naps, between 20 min and 2 h each.
func defaultNapHours(age Age, night float64, count int) float64 {
	lo, hi := age.SleepNeed()
	day := (lo+hi)/2 - night
	per := math.Max(1.0/3, math.Min(2, day/float64(count)))
	return per * float64(count)
}

// wakeWindowNaps spreads naps through a waking day from wake to bed (hours
// on one clock) by the age's wake window. The naps share the day sleep the
// recommended total leaves after the night, and the windows between them
// are equal, the last one ending at bedtime ("wake the child from the last
// nap early enough for bedtime"). A day too long for the usual number of
// naps gets one or two more rather than windows a third longer than the
// age's.
func wakeWindowNaps(age Age, wake, bed float64) []napSlot {
	window, count := age.WakeWindow()
	if window == 0 || bed <= wake {
		return nil
	}
	w := window.Hours()
	awake := bed - wake
	lo, hi := age.SleepNeed()
	daySleep := math.Max(0, (lo+hi)/2-(24-awake))
	n := count
	napLen := func(n int) float64 { return math.Max(1.0/3, math.Min(2, daySleep/float64(n))) }
	gap := func(n int) float64 { return (awake - float64(n)*napLen(n)) / float64(n+1) }
	for n < count+2 && gap(n) > 1.35*w {
		n++
	}
	for n > 0 && gap(n) < 0.75*w {
		n--
	}
	if n == 0 {
		return nil
	}
	length, g := napLen(n), gap(n)
	out := make([]napSlot, n)
	for i := range out {
		out[i] = napSlot{start: wake + g + float64(i)*(length+g), hours: length}
	}
	return out
}

// Baseline is a person's body clock living their habitual days at home,
// from which both the starting state of a plan and the targets come.
type Baseline struct {
	// State is the model state at 00:00 home time on an ordinary day.
	State [3]float64
	// CBTmin and DLMO are the clock times (hours after midnight at home)
	// of the entrained minimum and melatonin onset.
	CBTmin, DLMO float64
	// phase[k] is the entrained phase k steps after midnight.
	phase [stepsPerDay]float64
}

// EntrainDays is how many habitual days the starting-clock estimate lives
// through; the model forgets its starting state within about three weeks
// (TestConvergence).
const EntrainDays = 28

// Entrain estimates p's body clock by simulating EntrainDays of their
// habitual day under the light assumption of outdoorHours, starting from
// the model's 16:8 state.
func (p Person) Entrain(m Model, age Age) Baseline {
	day := p.habitualLux(age)
	s := m.Entrained()
	for range EntrainDays {
		s = Advance(m, s, day[:])
	}
	tr := Simulate(m, s, time.Time{}, append(append([]float64(nil), day[:]...), day[:]...))
	b := Baseline{State: s}
	for k := range stepsPerDay {
		b.phase[k] = tr.Phase(k)
	}
	if mins := tr.CBTMins(); len(mins) > 0 {
		h := mins[0].Sub(time.Time{}).Hours()
		b.CBTmin = math.Mod(h, 24)
		b.DLMO = math.Mod(h+24-DLMOBeforeCBTmin.Hours(), 24)
	}
	return b
}

// baseline is the planner's starting clock for p: the habitual-day
// estimate, moved by what calibration learned when it is confident.
func (p Person) baseline(m Model, age Age) Baseline {
	b := p.Entrain(m, age)
	if !p.Clock.Confident() || age.Infant() {
		return b
	}
	shift := p.Clock.Shift
	b.State = m.Shift(b.State, -shift) // Shift's positive is an advance
	b.CBTmin = math.Mod(b.CBTmin+shift+48, 24)
	b.DLMO = math.Mod(b.DLMO+shift+48, 24)
	for k := range b.phase {
		b.phase[k] = wrapPi(b.phase[k] - shift*math.Pi/12)
	}
	return b
}

// habitualLux is the light of p's ordinary day at home, one entry per Step
// from midnight.
func (p Person) habitualLux(age Age) [stepsPerDay]float64 {
	var day [stepsPerDay]float64
	wake := float64(p.Wake.Minutes()) / 60
	awake := p.awakeHours(age)
	bed := wake + awake
	out := outdoorHours(p.Light)
	mid := wake + awake/2
	naps := p.habitualNaps(age)
	for k := range day {
		h := (float64(k) + 0.5) * stepHours
		if h < wake {
			h += 24
		}
		lux := 0.0
		switch {
		case h >= bed:
			lux = 0
		case h >= bed-2:
			lux = LuxEvening
		case math.Abs(h-mid) < out/2:
			lux = LuxOutdoor
		default:
			lux = LuxIndoor
		}
		for _, n := range naps {
			s := n.start
			if s < wake {
				s += 24
			}
			if h >= s && h < s+n.hours {
				lux = 0
			}
		}
		day[k] = lux
	}
	return day
}

// PhaseAt is the entrained phase at a home clock time, hours after
// midnight, interpolated between steps.
func (b *Baseline) PhaseAt(clock float64) float64 {
	x := math.Mod(math.Mod(clock, 24)+24, 24) / stepHours
	k := int(math.Floor(x))
	a := b.phase[k%stepsPerDay]
	d := wrapPi(b.phase[(k+1)%stepsPerDay] - a)
	return a + (x-float64(k))*d
}
