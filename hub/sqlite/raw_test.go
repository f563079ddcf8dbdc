package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// The state keeps an event's JSON only for the raw tail after applying it
// (and none for the events the log held on disk at start); older events
// read from the log, in the events listing and the member log alike, and
// an event the log lacks reads as null instead of failing the page. What
// the state holds is what can repair the log.
func TestOldEventsReadFromTheLog(t *testing.T) {
	ctx := context.Background()
	g := &gen{tb: t, family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	ada := syncproto.NewID()
	day := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	events := []hub.Event{
		g.event(uuid.Nil, 1, day, time.Time{}, &syncproto.FamilyUpserted{Name: "Okafor", HomeTZ: "Europe/London"}),
		g.event(ada, 2, day, time.Time{}, &syncproto.MemberUpserted{DisplayName: "Ada", AgeBand: syncproto.AgeAdult,
			HomeTZ: "Europe/London", SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}),
	}
	for i := range 6 {
		start := day.Add(time.Duration(i) * 24 * time.Hour)
		events = append(events, g.event(ada, 3+i, start, start.Add(7*time.Hour), &syncproto.Sleep{}))
	}
	// The last night corrects the one before.
	last := day.Add(6 * 24 * time.Hour)
	events = append(events, g.event(ada, 10, last, last.Add(8*time.Hour), &syncproto.Sleep{Supersedes: events[len(events)-1].Header.ID}))
	log := logOnDisk{}
	for i := range events {
		events[i].Seq = uint64(i + 1)
		log[events[i].Seq] = events[i].Raw
	}

	now := time.Date(2026, 12, 18, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
	s.Now = func() time.Time { return now }
	// The log held the first two on disk when the hub started.
	s.SetLog(log, 2, time.Minute)
	if _, err := s.Apply(ctx, events[:6]); err != nil {
		t.Fatal(err)
	}
	held, err := s.Held(ctx, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(held) != 4 || held[0].Seq != 3 || !bytes.Equal(held[0].Raw, events[2].Raw) {
		t.Fatalf("held %d events from %d, want 4 from 3 (the log held 1 and 2 on disk)", len(held), seqOf(held))
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.Apply(ctx, events[6:]); err != nil {
		t.Fatal(err)
	}
	if held, _ = s.Held(ctx, 1, 100); len(held) != 3 || held[0].Seq != 7 {
		t.Fatalf("after the tail: held %d events from %d, want the 3 applied last", len(held), seqOf(held))
	}
	var kept int
	if err := s.db.QueryRowContext(ctx, "SELECT coalesce(sum(length(raw)), 0) FROM recent").Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if want := len(events[6].Raw) + len(events[7].Raw) + len(events[8].Raw); kept != want {
		t.Errorf("the state keeps %d bytes of JSON, want %d", kept, want)
	}

	page, err := s.Events(ctx, hub.EventQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != len(events) {
		t.Fatalf("%d events listed, want %d", len(page), len(events))
	}
	for i, e := range page {
		if !bytes.Equal(e.Event, events[i].Raw) || e.ID != events[i].Header.ID || e.HLC != events[i].Header.HLC.String() {
			t.Errorf("event %d: %s %s %.60s, want %s %s %.60s", e.Seq, e.ID, e.HLC, e.Event, events[i].Header.ID, events[i].Header.HLC, events[i].Raw)
		}
	}
	if page, _ := s.Events(ctx, hub.EventQuery{Member: ada, Type: syncproto.TypeSleep, Limit: 2}); len(page) != 2 || page[0].Seq != 3 || !bytes.Equal(page[1].Event, events[3].Raw) {
		t.Errorf("Ada's nights: %+v", page)
	}
	logged, err := s.Logged(ctx, ada, day)
	if err != nil {
		t.Fatal(err)
	}
	// Six nights, the sixth replaced by its correction.
	if len(logged) != 6 || logged[0].Seq != 9 || !bytes.Equal(logged[0].Event, events[8].Raw) || !bytes.Equal(logged[0].Replaces, events[7].Raw) ||
		!bytes.Equal(logged[5].Event, events[2].Raw) || logged[5].Replaces != nil {
		t.Errorf("Ada's log: %d facts, first %d", len(logged), logged[0].Seq)
	}
	if seq, ok, err := s.EventSeq(ctx, events[4].Header.ID); err != nil || !ok || seq != 5 {
		t.Errorf("event seq: %d %v %v", seq, ok, err)
	}
	if h, err := s.MaxHLC(ctx); err != nil || h != events[8].Header.HLC {
		t.Errorf("greatest stamp %v %v, want %v", h, err, events[8].Header.HLC)
	}

	// A log that lost an old event: its JSON is gone; the page still reads.
	delete(log, 4)
	page, err = s.Events(ctx, hub.EventQuery{After: 3, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || string(page[0].Event) != "null" || page[0].ID != events[3].Header.ID || !bytes.Equal(page[1].Event, events[4].Raw) {
		t.Errorf("with event 4 lost from the log: %+v", page)
	}
}

func seqOf(es []hub.Event) uint64 {
	if len(es) == 0 {
		return 0
	}
	return es[0].Seq
}

// A rebuild drops the indexes the fold does not read and builds them
// once caught up; a hub that stopped in between builds them when it opens
// the database again. A state that applied events keeps its indexes.
func TestDeferredIndexesAreBuilt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	s := mustOpen(t, path)
	indexes := func(s *Store) map[string]bool {
		rows, err := s.db.QueryContext(ctx, "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('events', 'facts')")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var n string
			rows.Scan(&n)
			out[n] = true
		}
		return out
	}
	all := indexes(s)
	if !all["events_member"] || !all["events_type"] || !all["facts_supersedes"] {
		t.Fatalf("indexes %v", all)
	}
	if err := s.DeferIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if got := indexes(s); len(got) != 1 || !got["facts_supersedes"] {
		t.Fatalf("while rebuilding: %v, want facts_supersedes only", got)
	}
	events := historyEvents(t, 200)
	if _, err := s.Apply(ctx, events); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = mustOpen(t, path)
	if got := indexes(s); len(got) != len(all) {
		t.Fatalf("after reopening: %v, want %v", got, all)
	}
	if err := s.DeferIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if got := indexes(s); len(got) != len(all) {
		t.Errorf("a state that applied events deferred its indexes: %v", got)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.DeferIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := s.BuildIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if got := indexes(s); len(got) != len(all) {
		t.Errorf("after BuildIndexes: %v, want %v", got, all)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE key LIKE 'deferred_index.%'").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d deferred indexes left recorded (%v)", n, err)
	}
}

// A state database of the schema that kept every event's JSON is set
// aside, and the new one rebuilds from the log.
func TestOldSchemaRebuilds(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := openDB(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"migrations/0001_init.sql", "migrations/0002_fold.sql"} {
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(body)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO events (seq, id, type, hlc, v, status, raw) VALUES (1, 'x', 'family.upserted', '', 1, 'applied', X'7b7d')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := mustOpen(t, path)
	if !strings.Contains(s.Rebuilt, "schema version 2") {
		t.Errorf("rebuilt %q", s.Rebuilt)
	}
	events := historyEvents(t, 50)
	if err := s.DeferIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, events); err != nil {
		t.Fatal(err)
	}
	if err := s.BuildIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if seq, _ := s.AppliedSeq(ctx); seq != 50 {
		t.Errorf("applied %d of 50", seq)
	}
	if page, err := s.Events(ctx, hub.EventQuery{After: 49, Limit: 5}); err != nil || len(page) != 1 || !bytes.Equal(page[0].Event, events[49].Raw) {
		t.Errorf("last event: %v %+v", err, page)
	}
}
