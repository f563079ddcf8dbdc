package sqlite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

func mustOpen(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

type gen struct {
	tb     testing.TB
	family uuid.UUID
	wall   time.Time
}

// event makes an encoded event stamped at the given offset in seconds, so
// tests control which writer is last.
func (g *gen) event(member uuid.UUID, stamp int, start, end time.Time, data syncproto.Payload) hub.Event {
	g.tb.Helper()
	e := syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: g.family, MemberID: member, Origin: "hub:test",
		Type: data.Type(), Start: start, End: end, TZ: "Europe/London", HLC: syncproto.NewHLC(g.wall.Add(time.Duration(stamp)*time.Second), 0),
		V: syncproto.CurrentVersion}, Data: data}
	b, err := syncproto.Marshal(e)
	if err != nil {
		g.tb.Fatal(err)
	}
	return hub.Event{Header: e.Header, Raw: b}
}

// dump is the state as the API shows it, plus each member's effective logs.
func dump(tb testing.TB, s *Store, trip uuid.UUID, members ...uuid.UUID) string {
	ctx := context.Background()
	f, err := s.Family(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	ms, err := s.Members(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	ts, err := s.Trips(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	logs := map[uuid.UUID]any{}
	for _, m := range members {
		l, err := counting(ctx, s.db, m)
		if err != nil {
			tb.Fatal(err)
		}
		logs[m] = l
	}
	in, err := s.PlanInputs(ctx, trip)
	if err != nil {
		tb.Fatal(err)
	}
	var people []uuid.UUID
	if in != nil {
		for _, p := range in.People {
			people = append(people, p.ID)
		}
	}
	b, err := json.MarshalIndent(map[string]any{"family": f, "members": ms, "trips": ts, "logs": logs, "planned_people": people}, "", " ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// Two hubs holding the same events hold the same state, whatever order the
// events arrived in: upserts and removals are last-writer-wins by HLC,
// corrections and retractions apply whichever comes first.
func TestStateIsIndependentOfArrivalOrder(t *testing.T) {
	g := &gen{tb: t, family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	ada, kemi, trip := syncproto.NewID(), syncproto.NewID(), syncproto.NewID()
	at := func(h int) time.Time { return time.Date(2026, 12, 21, h, 0, 0, 0, time.UTC) }
	member := func(name string) *syncproto.MemberUpserted {
		return &syncproto.MemberUpserted{DisplayName: name, AgeBand: syncproto.AgeAdult, HomeTZ: "Europe/London",
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}
	}
	tripData := func(name string) *syncproto.TripUpserted {
		return &syncproto.TripUpserted{TripID: trip, Name: name, Travellers: []uuid.UUID{ada, kemi}, Legs: []syncproto.Leg{{
			FromTZ: "America/Los_Angeles", ToTZ: "Europe/London",
			Depart: time.Date(2026, 12, 20, 16, 40, 0, 0, time.FixedZone("", -8*3600)), Arrive: time.Date(2026, 12, 21, 10, 55, 0, 0, time.UTC)}}}
	}
	nightA := g.event(ada, 30, at(0), at(7), &syncproto.Sleep{})
	nightB := g.event(kemi, 31, at(1), at(6), &syncproto.Sleep{})
	events := []hub.Event{
		g.event(uuid.Nil, 1, at(0), time.Time{}, &syncproto.FamilyUpserted{Name: "Okafor", HomeTZ: "Europe/London"}),
		g.event(uuid.Nil, 20, at(0), time.Time{}, &syncproto.FamilyUpserted{Name: "The Okafors", HomeTZ: "Europe/London"}),
		g.event(ada, 2, at(0), time.Time{}, member("Ada")),
		g.event(ada, 12, at(0), time.Time{}, member("Ada O.")), // the last writer
		g.event(kemi, 3, at(0), time.Time{}, member("Kemi")),
		g.event(kemi, 13, at(0), time.Time{}, &syncproto.MemberRemoved{}), // removed …
		g.event(kemi, 14, at(0), time.Time{}, member("Kemi again")),       // … and back, later
		g.event(uuid.Nil, 4, at(0), time.Time{}, tripData("London")),
		g.event(uuid.Nil, 15, at(0), time.Time{}, tripData("Christmas in London")),
		nightA, nightB,
		g.event(ada, 32, at(0), at(8), &syncproto.Sleep{Supersedes: nightA.Header.ID}), // corrected
		g.event(kemi, 33, at(0), time.Time{}, &syncproto.LogRetracted{EventID: nightB.Header.ID}),
		g.event(ada, 34, at(9), at(10), &syncproto.LightExposure{Level: syncproto.LevelOutdoorDaylight}),
	}
	var want string
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 12 {
		order := append([]hub.Event(nil), events...)
		if round > 0 {
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
		// Arrive in batches of varying size, as a projector would apply them.
		for i, seq := 0, uint64(1); i < len(order); {
			n := min(1+rng.IntN(4), len(order)-i)
			batch := make([]hub.Event, n)
			for j := range n {
				batch[j] = order[i+j]
				batch[j].Seq = seq
				seq++
			}
			if _, err := s.Apply(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			i += n
		}
		got := dump(t, s, trip, ada, kemi)
		if round == 0 {
			want = got
			continue
		}
		if got != want {
			t.Fatalf("round %d: state differs with another arrival order:\n%s\nwant:\n%s", round, got, want)
		}
	}
	for _, must := range []string{`"The Okafors"`, `"Ada O."`, `"Kemi again"`, `"Christmas in London"`} {
		if !strings.Contains(want, must) {
			t.Errorf("the last writer's %s is not in the state:\n%s", must, want)
		}
	}
	var st struct {
		Logs map[uuid.UUID][]struct{ Kind string } `json:"logs"`
	}
	json.Unmarshal([]byte(want), &st)
	if len(st.Logs[ada]) != 2 || len(st.Logs[kemi]) != 0 {
		t.Errorf("effective logs: Ada %d (want the corrected night and the light), Kemi %d (want 0: retracted)", len(st.Logs[ada]), len(st.Logs[kemi]))
	}
}

// Applying a batch again changes nothing; events of another family and of
// a newer schema are kept and listed but not applied.
func TestApplyIsIdempotentAndKeepsWhatItCannotApply(t *testing.T) {
	ctx := context.Background()
	g := &gen{tb: t, family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
	fam := g.event(uuid.Nil, 1, g.wall, time.Time{}, &syncproto.FamilyUpserted{Name: "Okafor", HomeTZ: "Europe/London"})
	fam.Seq = 1
	other := (&gen{tb: t, family: syncproto.NewID(), wall: g.wall}).event(uuid.Nil, 2, g.wall, time.Time{}, &syncproto.FamilyUpserted{Name: "Someone else", HomeTZ: "Europe/Paris"})
	other.Seq = 2
	newer := hub.Event{Seq: 3, Raw: []byte(fmt.Sprintf(`{"id":"%s","family_id":"%s","origin":"web:x","type":"family.renamed","start":"2026-12-01T09:00:00Z","tz":"Europe/London","hlc":"2026-12-01T09:00:03.000Z-0000","v":2,"data":{"name":"x"}}`, syncproto.NewID(), g.family))}
	garbage := hub.Event{Seq: 4, Raw: []byte("not json")}
	batch := []hub.Event{fam, other, newer, garbage}
	for range 2 {
		if _, err := s.Apply(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := s.Events(ctx, hub.EventQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Fatalf("%d events listed, want 4", len(evs))
	}
	want := []hub.EventStatus{hub.StatusApplied, hub.StatusIgnored, hub.StatusUnsupported, hub.StatusIgnored}
	for i, e := range evs {
		if e.Status != want[i] {
			t.Errorf("event %d: status %s (%s), want %s", e.Seq, e.Status, e.Reason, want[i])
		}
	}
	f, _ := s.Family(ctx)
	if f == nil || f.Name != "Okafor" {
		t.Errorf("family: %+v", f)
	}
	if seq, _ := s.AppliedSeq(ctx); seq != 4 {
		t.Errorf("applied %d", seq)
	}
}

// A database of another schema version is set aside and started afresh;
// so is one holding events of a newer version this build now reads.
func TestOpenSetsAsideUnusableDatabases(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.db")
	s := mustOpen(t, path)
	if s.Rebuilt == "" {
		t.Error("a new database should say it starts empty")
	}
	if _, err := s.db.ExecContext(ctx, "PRAGMA user_version = 0"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, path)
	if s.Rebuilt == "" || !strings.Contains(s.Rebuilt, "schema version 0") {
		t.Errorf("old schema: rebuilt %q", s.Rebuilt)
	}
	aside, _ := filepath.Glob(path + ".broken-*")
	if len(aside) == 0 {
		t.Error("the old database was not kept aside")
	}
	if _, err := s.db.ExecContext(ctx, "INSERT INTO events (seq, id, type, hlc, v, status) VALUES (1, X'78', 'sleep', 0, 1, 'unsupported')"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, f := range aside {
		os.Remove(f)
	}
	s = mustOpen(t, path)
	if !strings.Contains(s.Rebuilt, "now readable") {
		t.Errorf("readable newer events: rebuilt %q", s.Rebuilt)
	}
}

// A batch that does not follow the applied position is refused whole: the
// events between were delivered and not applied, and recording the later
// position would lose them.
func TestApplyRefusesAGap(t *testing.T) {
	ctx := context.Background()
	g := &gen{tb: t, family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
	fam := g.event(uuid.Nil, 1, g.wall, time.Time{}, &syncproto.FamilyUpserted{Name: "Okafor", HomeTZ: "Europe/London"})
	ada := g.event(syncproto.NewID(), 2, g.wall, time.Time{}, &syncproto.MemberUpserted{DisplayName: "Ada", AgeBand: syncproto.AgeAdult,
		HomeTZ: "Europe/London", SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)})
	fam.Seq, ada.Seq = 1, 2
	if _, err := s.Apply(ctx, []hub.Event{ada}); err == nil {
		t.Fatal("applied event 2 before event 1")
	}
	if seq, _ := s.AppliedSeq(ctx); seq != 0 {
		t.Fatalf("applied position %d after a refused batch", seq)
	}
	if _, err := s.Apply(ctx, []hub.Event{fam, ada}); err != nil {
		t.Fatal(err)
	}
	if ms, _ := s.Members(ctx); len(ms) != 1 {
		t.Errorf("%d members after the whole batch", len(ms))
	}
}

// A database closed cleanly and untouched since opens without the full
// check; one damaged after a clean close, or after a crash (no marker),
// is still found corrupt, set aside and started afresh.
func TestOpenChecksWhatAStopMayHaveDamaged(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	damage := func(t *testing.T, path string) {
		// The last page, overwritten: the header, the schema and the
		// meta rows still read.
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, 4096), info.Size()-4096); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	for _, tc := range []struct {
		name    string
		damage  bool
		crash   bool
		rebuilt string
	}{
		{name: "untouched"},
		{name: "damaged after a clean stop", damage: true, rebuilt: "corrupt"},
		{name: "damaged after a crash", damage: true, crash: true, rebuilt: "corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hub.db")
			s, err := Open(ctx, path, log)
			if err != nil {
				t.Fatal(err)
			}
			events, _, _ := snapshotEvents(t, 300)
			applyAll(t, s, events)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path + cleanSuffix); err != nil {
				t.Fatalf("a clean close left no marker: %v", err)
			}
			if tc.crash {
				os.Remove(path + cleanSuffix)
			}
			if tc.damage {
				damage(t, path)
			}
			s, err = Open(ctx, path, log)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := os.Stat(path + cleanSuffix); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the marker of a clean close outlived the open: %v", err)
			}
			if tc.rebuilt == "" {
				if s.Rebuilt != "" {
					t.Fatalf("rebuilt: %q", s.Rebuilt)
				}
				if seq, err := s.AppliedSeq(ctx); err != nil || seq != uint64(len(events)) {
					t.Errorf("applied %d, %v", seq, err)
				}
				return
			}
			if !strings.Contains(s.Rebuilt, tc.rebuilt) {
				t.Errorf("rebuilt %q, want %q", s.Rebuilt, tc.rebuilt)
			}
			if aside, _ := filepath.Glob(path + ".broken-*"); len(aside) == 0 {
				t.Error("the damaged database was not kept aside")
			}
		})
	}
}

// What a start reads about the events goes through an index, not through
// every event: the greatest stamp, and the events kept unapplied.
func TestStartReadsThroughIndexes(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
	for query, index := range map[string]string{
		"SELECT max(hlc) FROM events":                                         "events_hlc",
		"SELECT count(*) FROM events WHERE status = 'unsupported' AND v <= 1": "events_unsupported",
	} {
		rows, err := s.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if got := strings.Join(plan, "; "); !strings.Contains(got, index) {
			t.Errorf("%s: plan %q, want it through %s", query, got, index)
		}
	}
}

// counting reads all of a member's facts that count, by start: the whole
// history, as the family fold has it: what the windowed reads of plan
// inputs are checked against.
func counting(ctx context.Context, q dbtx, member uuid.UUID) ([]circadian.Log, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, start_ms, end_ms, lux FROM facts
		WHERE member_id = ? AND counts = 1 ORDER BY start_ms, id`, member.String())
	if err != nil {
		return nil, fmt.Errorf("read logs: %w", err)
	}
	logs, _, err := scanLogs(rows, nil)
	return logs, err
}
