package family

import (
	"fmt"
	"math"

	"github.com/zoner-family/zoner/circadian"
)

// The states of what calibration learned of someone's body clock.
const (
	ClockNone     = "none"     // nothing logged to learn from
	ClockLearning = "learning" // some nights, not yet enough to plan from
	ClockPhase    = "phase"    // plans start from their own clock's phase
	ClockPeriod   = "period"   // plans use their own phase and period
)

// populationTau is the adult mean intrinsic period the words compare a
// person's with (Czeisler et al. 1999: 24.18 h).
const populationTau = 24.2

// ClockWords says in plain words what calibration learned of name's body
// clock (c nil: nothing yet), and which state that is.
func ClockWords(name string, c *circadian.PersonalClock) (state, summary string) {
	switch {
	case c == nil || c.Nights == 0:
		return ClockNone, fmt.Sprintf("Zoner has not learned %s's body clock yet. It learns from logged or imported nights; until then plans start from the usual bedtime and wake time.", name)
	case !c.Confident():
		return ClockLearning, fmt.Sprintf("Zoner is learning %s's body clock from %s; plans start from the usual bedtime and wake time until it is surer.", name, nights(c.Nights))
	case !c.KnowsPeriod():
		return ClockPhase, fmt.Sprintf("%s, from %s; plans start from there. How fast it runs needs a few more nights.", phaseWords(name, c.Shift), nights(c.Nights))
	}
	sd := math.Max(0.1, math.Round(c.TauSD*10)/10)
	return ClockPeriod, fmt.Sprintf("%s's clock runs %s: %.1f h ± %.1f, from %s. Plans use it.", name, paceWords(c.Tau), c.Tau, sd, nights(c.Nights))
}

// paceWords places a period against the population's.
func paceWords(tau float64) string {
	switch d := tau - populationTau; {
	case d <= -0.25:
		return "early"
	case d <= -0.1:
		return "a little early"
	case d < 0.1:
		return "about average"
	case d < 0.25:
		return "a little late"
	}
	return "late"
}

// phaseWords says where a body clock sits against the usual bedtime.
func phaseWords(name string, shift float64) string {
	mins := int(math.Round(math.Abs(shift)*60/5) * 5)
	switch {
	case mins < 15:
		return fmt.Sprintf("%s's body clock keeps time with the usual bedtime", name)
	case shift > 0:
		return fmt.Sprintf("%s's body clock runs about %s later than the usual bedtime suggests", name, duration(mins))
	}
	return fmt.Sprintf("%s's body clock runs about %s earlier than the usual bedtime suggests", name, duration(mins))
}

func duration(mins int) string {
	if mins < 60 {
		return fmt.Sprintf("%d min", mins)
	}
	if mins%60 == 0 {
		return fmt.Sprintf("%d h", mins/60)
	}
	return fmt.Sprintf("%d h %d min", mins/60, mins%60)
}

func nights(n int) string {
	if n == 1 {
		return "1 night"
	}
	return fmt.Sprintf("%d nights", n)
}
