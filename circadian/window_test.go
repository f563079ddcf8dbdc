package circadian

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestLogWindowKeepsPlans: for random trips, travellers, moments to plan
// from and histories of logs reaching far before and after the window
// (sleeps straddling its ends, logs ending or starting right on them, open
// sleeps long ago, inside and after it), planning with only the logs the
// window holds makes exactly the plan that all of them make.
func TestLogWindowKeepsPlans(t *testing.T) {
	seed := uint64(3)
	if s := os.Getenv("ZONER_PLAN_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	n := 120
	if testing.Short() {
		n = 20
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	var pl Planner
	changed, dropped, reachedBack := 0, 0, 0
	for i, req := range randomTrips(t, n, seed) {
		w, err := LogWindowOf(req.Trip)
		if err != nil {
			t.Fatalf("trip %d %s: %v", i, req.Trip.Name, err)
		}
		tp, err := newTripPlan(req.Trip)
		if err != nil {
			t.Fatal(err)
		}
		start, end := tp.start, tp.frames[len(tp.frames)-1].end
		if !w.From.Before(start) || !w.To.After(end) {
			t.Fatalf("trip %d: window %v–%v does not hold the plan's days %v–%v", i, w.From, w.To, start, end)
		}
		if span := w.To.Sub(w.From); span > end.Sub(start)+2*24*time.Hour {
			t.Errorf("trip %d: a window of %v for days spanning %v", i, span, end.Sub(start))
		}
		id := everyone[rng.IntN(len(everyone))]
		// Mostly near the start or the end of the plan, where the window's
		// margins tell; else from a day before the plan to a day after it.
		var now time.Time
		switch rng.IntN(8) {
		case 0, 1, 2, 3:
			now = start.Add(time.Duration(rng.Int64N(int64(36 * time.Hour))))
		case 4, 5:
			now = end.Add(-36 * time.Hour).Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
		case 6:
			now = start.Add(-24 * time.Hour).Add(time.Duration(rng.Int64N(int64(end.Sub(start) + 48*time.Hour))))
		}
		logs := randomHistory(rng, w, start, end)
		kept := w.Filter(logs)
		if len(kept) < len(logs) {
			dropped++
		}
		req.Now = now
		plan := func(logs []Log) []byte {
			t.Helper()
			req.Logs = map[uuid.UUID][]Log{id: logs}
			mp, err := pl.PlanMember(req, id)
			if err != nil {
				t.Fatalf("trip %d %s, %s at %v: %v", i, req.Trip.Name, id, now, err)
			}
			b, err := json.Marshal(mp)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		all, windowed := plan(logs), plan(kept)
		if !bytes.Equal(all, windowed) {
			t.Errorf("trip %d %s, member %s, now %v: the plan with the %d logs of the window differs from the plan with all %d",
				i, req.Trip.Name, id, now, len(kept), len(logs))
			continue
		}
		if !bytes.Equal(all, plan(nil)) {
			changed++
		}
		// Logs that ended before the plan's first day can still change
		// it: the window must reach back.
		if slices.ContainsFunc(kept, func(l Log) bool { return !l.End.IsZero() && !l.End.After(start) }) &&
			!bytes.Equal(all, plan(LogWindow{From: start, To: w.To}.Filter(logs))) {
			reachedBack++
		}
	}
	t.Logf("of %d plans the logs changed %d, the window dropped logs from %d, and logs before the first day changed %d", n, changed, dropped, reachedBack)
	// The test means something only if the logs change plans and the
	// window leaves some out.
	if changed < n/3 || dropped < n*3/4 || (reachedBack == 0 && !testing.Short()) {
		t.Errorf("of %d plans the logs changed %d, the window dropped logs from %d, and logs before the first day changed %d", n, changed, dropped, reachedBack)
	}
}

// randomHistory is a person's logs, oldest first. Half the time it is a
// history from ten days before w to three days after it: most nights,
// naps, meals and light, with gaps. Otherwise it is a few logs about each
// end of the plan, where one more or less tips a decision (after a short
// night, a nap). Both have the awkward ones: sleeps and long light across
// w's ends, logs that end or begin right on them, and sleeps never ended,
// long before, inside and after the window.
func randomHistory(rng *rand.Rand, w LogWindow, start, end time.Time) []Log {
	var logs []Log
	jit := func(m int) time.Duration { return time.Duration(rng.IntN(2*m+1)-m) * time.Minute }
	kinds := []LogKind{LogSleep, LogSleep, LogNap, LogLight}
	some := func(from time.Time, span time.Duration, n int) {
		for range n {
			a := from.Add(time.Duration(rng.Int64N(int64(span))))
			l := Log{Kind: kinds[rng.IntN(len(kinds))], Start: a, End: a.Add(time.Duration(15+rng.IntN(8*60)) * time.Minute)}
			if l.Kind == LogLight {
				l.Lux = float64(10 + rng.IntN(30000))
			}
			logs = append(logs, l)
		}
	}
	if rng.IntN(3) == 0 {
		day0 := w.From.Add(-10 * 24 * time.Hour).Truncate(24 * time.Hour)
		for d := day0; d.Before(w.To.Add(3 * 24 * time.Hour)); d = d.Add(24 * time.Hour) {
			if rng.IntN(5) == 0 {
				continue // nothing logged that day
			}
			bed := d.Add(22*time.Hour + jit(180))
			logs = append(logs, Log{Kind: LogSleep, Start: bed, End: bed.Add(7*time.Hour + jit(120))})
			if rng.IntN(2) == 0 {
				nap := d.Add(13*time.Hour + jit(120))
				logs = append(logs, Log{Kind: LogNap, Start: nap, End: nap.Add(time.Duration(20+rng.IntN(100)) * time.Minute)})
			}
			if rng.IntN(2) == 0 {
				l := d.Add(9*time.Hour + jit(240))
				logs = append(logs, Log{Kind: LogLight, Start: l, End: l.Add(time.Duration(10+rng.IntN(120)) * time.Minute), Lux: float64(50 + rng.IntN(20000))})
			}
			meal := d.Add(12*time.Hour + jit(60))
			logs = append(logs, Log{Kind: LogMeal, Start: meal, End: meal.Add(30 * time.Minute)})
		}
		some(start.Add(-30*time.Hour), 40*time.Hour, 4)
		some(end.Add(-30*time.Hour), 40*time.Hour, 4)
	} else {
		some(start.Add(-30*time.Hour), 40*time.Hour, 1+rng.IntN(3))
		some(end.Add(-30*time.Hour), 40*time.Hour, 1+rng.IntN(3))
		some(w.From.Add(-10*24*time.Hour), 10*24*time.Hour, 5)
		some(w.To, 3*24*time.Hour, 3)
	}
	edges := []Log{
		{Kind: LogSleep, Start: w.From.Add(-8 * time.Hour), End: w.From},                            // ends right at From: out
		{Kind: LogSleep, Start: w.From.Add(-6 * time.Hour), End: w.From.Add(time.Minute)},           // across From
		{Kind: LogLight, Start: w.From.Add(-23 * time.Hour), End: w.From.Add(time.Hour), Lux: 9000}, // across From
		{Kind: LogNap, Start: w.To, End: w.To.Add(time.Hour)},                                       // begins at To: out
		{Kind: LogSleep, Start: w.To.Add(-time.Minute), End: w.To.Add(6 * time.Hour)},               // across To
		{Kind: LogSleep, Start: w.To.Add(24 * time.Hour)},                                           // never ended, after To: out
	}
	for _, l := range edges {
		if rng.IntN(3) == 0 {
			logs = append(logs, l)
		}
	}
	// A sleep never ended is dark until now, and beyond: rarely, or it
	// darkens every plan.
	if rng.IntN(8) == 0 {
		logs = append(logs, Log{Kind: LogSleep, Start: w.From.Add(-3 * 365 * 24 * time.Hour)}) // three years ago
	}
	if rng.IntN(8) == 0 {
		logs = append(logs, Log{Kind: LogSleep, Start: start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)))))})
	}
	slices.SortStableFunc(logs, func(a, b Log) int { return a.Start.Compare(b.Start) })
	return logs
}

// TestLogWindowReachesBack: a sleep logged the afternoon before the
// plan's first day, with a short night across its start, is enough sleep
// in the day before waking, and no nap is planned after the short night;
// without it, one is. The window holds it.
func TestLogWindowReachesBack(t *testing.T) {
	trip := Trip{ID: idTrip, Travellers: []uuid.UUID{idAda},
		Legs: []Leg{leg(t, "BA177", "LHR", "Europe/London", "2026-12-10 11:00", "JFK", "America/New_York", "2026-12-10 14:00")}}
	w, err := LogWindowOf(trip)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := newTripPlan(trip)
	if err != nil {
		t.Fatal(err)
	}
	start := tp.start
	h := time.Hour
	logs := []Log{
		{Kind: LogSleep, Start: start.Add(-9 * h), End: start.Add(-6 * h)},                       // 15:00–18:00 the day before
		{Kind: LogSleep, Start: start.Add(-30 * time.Minute), End: start.Add(150 * time.Minute)}, // a short night
	}
	if !w.Holds(logs[0]) {
		t.Fatalf("the window from %v does not hold the sleep of the afternoon before the plan", w.From)
	}
	var pl Planner
	naps := func(logs []Log) int {
		t.Helper()
		mp, err := pl.PlanMember(Request{Trip: trip, People: family(t, "Europe/London"), Now: start.Add(3 * h),
			Logs: map[uuid.UUID][]Log{idAda: logs}}, idAda)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, it := range mp.Days[0].Items {
			if it.Kind == ItemNap {
				n++
			}
		}
		return n
	}
	if all, fromFirstDay := naps(logs), naps(logs[1:]); all != 0 || fromFirstDay != 1 {
		t.Errorf("naps on the first day: %d with the afternoon's sleep, %d without; want 0 and 1", all, fromFirstDay)
	}
}

// TestLogWindowHolds: the window's edges, and open logs.
func TestLogWindowHolds(t *testing.T) {
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	w := LogWindow{From: from, To: from.Add(10 * 24 * time.Hour)}
	h := time.Hour
	for _, tc := range []struct {
		name string
		l    Log
		want bool
	}{
		{"inside", Log{Start: from.Add(h), End: from.Add(2 * h)}, true},
		{"ends at From", Log{Start: from.Add(-h), End: from}, false},
		{"ends just after From", Log{Start: from.Add(-h), End: from.Add(time.Millisecond)}, true},
		{"begins at To", Log{Start: w.To, End: w.To.Add(h)}, false},
		{"begins just before To", Log{Start: w.To.Add(-time.Millisecond), End: w.To.Add(h)}, true},
		{"around the window", Log{Start: from.Add(-h), End: w.To.Add(h)}, true},
		{"open, years before", Log{Start: from.AddDate(-3, 0, 0)}, true},
		{"open, inside", Log{Start: from.Add(h)}, true},
		{"open, from To", Log{Start: w.To}, false},
	} {
		if got := w.Holds(tc.l); got != tc.want {
			t.Errorf("%s: Holds = %v, want %v", tc.name, got, tc.want)
		}
	}
}
