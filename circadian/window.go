package circadian

import "time"

// How far the planner reaches into the logs around its days. Each margin
// is used by the one place that reads logs that far, and by LogWindowOf.
const (
	// sleptBefore counts the logged sleep of the day before a waking.
	sleptLookback = 24 * time.Hour
	// missedNap asks whether anything was logged from this long before a
	// day began.
	missedNapLookback = 12 * time.Hour
	// lastNight matches logged sleep to a planned night this far either
	// side of it.
	lastNightSlack = 4 * time.Hour
	// wakeIn takes a night that ends this long into a day, at most, as
	// the day's waking.
	wakeWithin = 16 * time.Hour
	// longestNight bounds a planned night on the ground that has begun
	// before the plan's first day and not ended: nightFor caps a night
	// at 13 h, and nights adds at most its half-hour probe and a change
	// of clocks. Nights on board begin after a take-off, inside the plan.
	longestNight = 20 * time.Hour
)

// LogWindow is the span of time whose logs can change a trip's plan: a
// Log counts when it overlaps [From, To), an open one (End zero, a sleep
// still going on) reaching on for ever, as the planner reads it.
type LogWindow struct {
	From, To time.Time
}

// Holds reports whether l can change a plan with window w. The planner
// treats an open log as lasting until now and beyond, so an open log that
// began before w.From, however long ago, is held.
func (w LogWindow) Holds(l Log) bool {
	return l.Start.Before(w.To) && (l.End.IsZero() || l.End.After(w.From))
}

// Filter is the logs w holds, in their order.
func (w LogWindow) Filter(logs []Log) []Log {
	var out []Log
	for _, l := range logs {
		if w.Holds(l) {
			out = append(out, l)
		}
	}
	return out
}

// LogWindowOf is the window of logs that can change the plan of t, for
// every traveller and at any Now: planning with only the logs it holds
// makes the same plan as planning with all of them. It is made from the
// days the planner lays out for t, widened by the margins the planner
// reads logs with:
//
//   - the light really had (actualLux) is read over the days of the plan;
//   - sleptBefore looks back a day from a waking, which lies at or after
//     the start of its day and less than wakeWithin after it;
//   - missedNap looks from missedNapLookback before a day to its end;
//   - lastNight looks lastNightSlack either side of a planned night that
//     ends in a day, and such a night began at most longestNight before
//     the first day.
//
// It fails only for a trip the planner cannot plan.
func LogWindowOf(t Trip) (LogWindow, error) {
	tp, err := newTripPlan(t)
	if err != nil {
		return LogWindow{}, err
	}
	first, last := tp.frames[0], tp.frames[len(tp.frames)-1]
	back := max(sleptLookback, missedNapLookback, lastNightSlack+longestNight)
	// Frames are in order and follow one another without gaps: the last
	// one starts latest and ends the plan.
	return LogWindow{
		From: first.start.Add(-back),
		To:   later(last.end.Add(lastNightSlack), last.start.Add(wakeWithin)),
	}, nil
}
