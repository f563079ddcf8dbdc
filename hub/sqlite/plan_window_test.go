package sqlite

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	famhistory "github.com/zoner-family/zoner/internal/history"
	"github.com/zoner-family/zoner/syncproto"
)

// historyNow is when the histories of these tests end: two days before
// the family flies.
var historyNow = time.Date(2026, 12, 18, 17, 0, 0, 0, time.UTC)

// storeWithHistory is a store holding a family's recent weeks (Setup and
// about 1,000 events, the same for every old), preceded by old more
// events of the same family's past, a sleep left open three years ago,
// and then a nap just logged. It returns the store and the family.
func storeWithHistory(t *testing.T, old int) (*Store, *famhistory.Family) {
	t.Helper()
	f := famhistory.New(42, historyNow)
	recent := f.History(1000)
	setup, logs := recent[:len(f.Setup())], recent[len(f.Setup()):]
	first := alignEnd(logs, historyNow.Add(-time.Hour))
	var past []syncproto.Envelope
	if old > 0 {
		// A family of its own ending where the recent weeks begin, its
		// logs moved onto this family's members.
		o := famhistory.New(43, first)
		who := map[uuid.UUID]uuid.UUID{}
		for i, m := range o.Members() {
			who[m] = f.Members()[i]
		}
		past = o.Logs(old)
		alignEnd(past, first)
		for i := range past {
			past[i].FamilyID, past[i].MemberID = f.ID, who[past[i].MemberID]
		}
	}
	clock := syncproto.NewClock(func() time.Time { return historyNow })
	ev := func(member uuid.UUID, start, end time.Time, data syncproto.Payload) syncproto.Envelope {
		return syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: f.ID, MemberID: member, Origin: "web:test",
			Type: data.Type(), Start: start, End: end, TZ: f.TZ, HLC: clock.Now(), V: syncproto.CurrentVersion}, Data: data}
	}
	// The ids of the last events are fixed, so the two stores' logs sort
	// alike.
	open := ev(f.Adults[1], historyNow.AddDate(-3, 0, 0), time.Time{}, &syncproto.Sleep{})
	open.ID = uuid.MustParse("0190a000-0000-7000-8000-000000000001")
	nap := ev(f.Toddler, historyNow.Add(-3*time.Hour), historyNow.Add(-2*time.Hour), &syncproto.Sleep{Nap: true})
	nap.ID = uuid.MustParse("0190a000-0000-7000-8000-000000000002")
	all := slices.Concat(setup, past, logs, []syncproto.Envelope{open, nap})

	s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
	events := encode(t, all)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	for i := 0; i < len(events); i += 500 {
		if _, err := s.Apply(t.Context(), events[i:min(i+500, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
	return s, f
}

// alignEnd moves the logged facts of es in time so that the last of them
// ends at end (history's days run out some days before its Now), and
// returns when the first begins.
func alignEnd(es []syncproto.Envelope, end time.Time) time.Time {
	fact := func(e syncproto.Envelope) bool {
		switch e.Data.(type) {
		case *syncproto.Sleep, *syncproto.Meal, *syncproto.LightExposure:
			return true
		}
		return false
	}
	var last, first time.Time
	for _, e := range es {
		if fact(e) {
			last = later(last, e.End)
			if first.IsZero() || e.Start.Before(first) {
				first = e.Start
			}
		}
	}
	shift := end.Sub(last)
	for i := range es {
		if fact(es[i]) {
			es[i].Start = es[i].Start.Add(shift)
			if !es[i].End.IsZero() {
				es[i].End = es[i].End.Add(shift)
			}
		}
	}
	return first.Add(shift)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestReplanReadsDoNotGrowWithHistory: two stores whose histories end
// with the same weeks, one of them 50,000 events longer, give the same
// planner inputs after a nap is logged, read the same rows for them, and
// these are a few hundred, the sleep left open three years ago among them.
func TestReplanReadsDoNotGrowWithHistory(t *testing.T) {
	old := 49_000
	if testing.Short() || raceEnabled {
		old = 9_000 // enough to show no growth, and quicker
	}
	short, f := storeWithHistory(t, 0)
	long, _ := storeWithHistory(t, old)
	var total int
	if err := long.db.QueryRow("SELECT count(*) FROM events").Scan(&total); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events in the long history", total)

	ctx := t.Context()
	type result struct {
		inputs string
		read   map[uuid.UUID]int
		logs   int
	}
	replan := func(s *Store) result {
		t.Helper()
		in, err := s.PlanInputs(ctx, f.Trip)
		if err != nil || in == nil || in.Problem != "" {
			t.Fatalf("plan inputs: %+v, %v", in, err)
		}
		w, err := circadian.LogWindowOf(in.Trip)
		if err != nil {
			t.Fatal(err)
		}
		r := result{inputs: inputs(t, &in.Inputs), read: map[uuid.UUID]int{}}
		for _, id := range in.Trip.Travellers {
			logs, read, err := countingIn(ctx, s.db, id, w)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := js(t, logs), js(t, in.Logs[id]); got != want {
				t.Fatalf("PlanInputs' logs of %s are not the window's", id)
			}
			r.read[id] = read
			r.logs += len(logs)
		}
		return r
	}
	a, b := replan(short), replan(long)
	if a.inputs != b.inputs {
		t.Errorf("the planner's inputs depend on the history before the window")
	}
	for id, n := range a.read {
		if b.read[id] != n {
			t.Errorf("member %s: %d rows read with the long history, %d with the short", id, b.read[id], n)
		}
		if n > 200 {
			t.Errorf("member %s: %d rows read for a re-plan", id, n)
		}
	}
	t.Logf("rows read by member: %v; logs kept: %d", a.read, a.logs)

	// The nap just logged and the sleep never ended are there.
	in, err := long.PlanInputs(ctx, f.Trip)
	if err != nil {
		t.Fatal(err)
	}
	hasLog := func(id uuid.UUID, start time.Time, open bool) bool {
		return slices.ContainsFunc(in.Logs[id], func(l circadian.Log) bool { return l.Start.Equal(start) && l.End.IsZero() == open })
	}
	if !hasLog(f.Toddler, historyNow.Add(-3*time.Hour), false) || !hasLog(f.Adults[1], historyNow.AddDate(-3, 0, 0), true) {
		t.Errorf("the nap just logged or the sleep never ended is missing from the inputs")
	}
}

// TestCountingInIsTheWindowOfCounting: for random facts (some long, some
// open, some not counting) and random windows, countingIn returns exactly
// the logs of counting that the window holds, in the same order.
func TestCountingInIsTheWindowOfCounting(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(5, 5))
	members := []uuid.UUID{uuid.New(), uuid.New()}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	kinds := []circadian.LogKind{circadian.LogSleep, circadian.LogNap, circadian.LogLight, circadian.LogMeal}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		start := time.Duration(rng.Int64N(int64(60 * 24 * time.Hour)))
		var end any = ms(start + time.Duration(rng.Int64N(int64(20*time.Hour))))
		switch rng.IntN(40) {
		case 0:
			end = nil // never ended
		case 1:
			end = ms(start + 24*time.Hour + time.Duration(rng.Int64N(int64(5*24*time.Hour)))) // longer than the rules allow
		case 2:
			end = ms(start + 24*time.Hour) // a day exactly
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO facts (id, member_id, type, kind, start_ms, end_ms, lux, counts) VALUES (?, ?, 'sleep', ?, ?, ?, ?, ?)`,
			strconv.Itoa(i), members[rng.IntN(2)].String(), kinds[rng.IntN(len(kinds))], ms(start), end, rng.Float64()*1000, rng.IntN(5) > 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	all := map[uuid.UUID][]circadian.Log{}
	for _, m := range members {
		var err error
		if all[m], err = counting(ctx, s.db, m); err != nil {
			t.Fatal(err)
		}
	}
	windows := 200
	if testing.Short() || raceEnabled {
		windows = 40
	}
	for i := range windows {
		from := t0.Add(time.Duration(rng.Int64N(int64(62*24*time.Hour))) - 24*time.Hour)
		if i%10 == 0 {
			from = from.Truncate(time.Hour) // on the hour, as many logs begin
		}
		w := circadian.LogWindow{From: from, To: from.Add(time.Duration(rng.Int64N(int64(20 * 24 * time.Hour))))}
		for _, m := range members {
			all := all[m]
			got, read, err := countingIn(ctx, s.db, m, w)
			if err != nil {
				t.Fatal(err)
			}
			if want := w.Filter(all); js(t, got) != js(t, want) {
				t.Fatalf("window %v–%v: countingIn has %d logs, the window of counting %d", w.From, w.To, len(got), len(want))
			}
			if read < len(got) || read > len(all) {
				t.Fatalf("read %d rows for %d logs of %d", read, len(got), len(all))
			}
		}
	}
}

// TestWindowQueryUsesBoundedRanges: SQLite answers the window's query with
// two index searches, bounded by member and start, and no scan; and the
// query, the index and longLog agree on what a long log is.
func TestWindowQueryUsesBoundedRanges(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
	rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+windowQuery, uuid.NewString(), int64(0), int64(1))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	text := strings.Join(plan, "\n")
	t.Logf("query plan:\n%s", text)
	for _, want := range []string{
		"SEARCH facts USING INDEX facts_counting (member_id=? AND counts=? AND start_ms>? AND start_ms<?)",
		"SEARCH facts USING INDEX facts_open_or_long (member_id=? AND start_ms<?)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the query plan lacks %q", want)
		}
	}
	if strings.Contains(text, "SCAN facts") {
		t.Errorf("the query plan scans facts")
	}
	lit := strconv.FormatInt(longLog.Milliseconds(), 10)
	mig, err := os.ReadFile("migrations/0003_plan_window.sql")
	if err != nil {
		t.Fatal(err)
	}
	cond := "(end_ms IS NULL OR end_ms - start_ms > " + lit + ")"
	if !strings.Contains(windowQuery, cond) || !strings.Contains(string(mig), cond) {
		t.Errorf("the query and the index must both say %s", cond)
	}
}
