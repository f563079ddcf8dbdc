package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// snapshotEvents is a family, a member, a trip and n logged meals, with
// their sequences.
func snapshotEvents(t *testing.T, n int) (events []hub.Event, trip, ada uuid.UUID) {
	g := &gen{tb: t, family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	ada, trip = syncproto.NewID(), syncproto.NewID()
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	events = []hub.Event{
		g.event(uuid.Nil, 0, day, time.Time{}, &syncproto.FamilyUpserted{Name: "The Quillfeathers", HomeTZ: "Europe/London"}),
		g.event(ada, 1, day, time.Time{}, &syncproto.MemberUpserted{DisplayName: "Zephyrine", AgeBand: syncproto.AgeAdult,
			HomeTZ: "Europe/London", SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}),
		g.event(uuid.Nil, 2, day, time.Time{}, &syncproto.TripUpserted{TripID: trip, Name: "Christmas in London", Travellers: []uuid.UUID{ada},
			Legs: []syncproto.Leg{{FromTZ: "America/Los_Angeles", ToTZ: "Europe/London",
				Depart: time.Date(2026, 12, 20, 16, 40, 0, 0, time.FixedZone("", -8*3600)), Arrive: time.Date(2026, 12, 21, 10, 55, 0, 0, time.UTC)}}}),
	}
	for i := range n {
		start := day.Add(time.Duration(i) * time.Hour)
		events = append(events, g.event(ada, 3+i, start, start.Add(30*time.Minute), &syncproto.Meal{Kind: syncproto.MealSnack}))
	}
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	return events, trip, ada
}

func applyAll(t *testing.T, s *Store, events []hub.Event) {
	t.Helper()
	for i := 0; i < len(events); i += 100 {
		if _, err := s.Apply(context.Background(), events[i:min(i+100, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
}

// A snapshot of an in-memory store opens as the same state, at the same
// applied sequence, and goes on applying from there; the store it was
// taken from is left as it was.
func TestSnapshotRoundTrip(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	events, trip, ada := snapshotEvents(t, 500)
	s, err := OpenMemory(ctx, mapSettings{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applyAll(t, s, events[:300])
	image, applied, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if applied != 300 {
		t.Errorf("the snapshot says it applied %d, want 300", applied)
	}
	if bytes.Contains(image, []byte("Zephyrine")) == false {
		t.Error("the image does not hold the state")
	}

	settings := mapSettings{"hub.id": "h1"}
	r, err := OpenMemorySnapshot(ctx, image, settings, log)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Rebuilt != "" || !r.InMemory() {
		t.Errorf("a store from a snapshot says Rebuilt %q, InMemory %v", r.Rebuilt, r.InMemory())
	}
	if seq, err := r.AppliedSeq(ctx); err != nil || seq != 300 {
		t.Fatalf("restored store applied %d, %v; want 300", seq, err)
	}
	if got, want := dump(t, r, trip, ada), dump(t, s, trip, ada); got != want {
		t.Errorf("restored state differs:\n%s\n%s", got, want)
	}
	if v, _ := r.Setting(ctx, "hub.id"); v != "h1" {
		t.Errorf("restored store's settings: %q", v)
	}
	// Both go on from 300, each on its own.
	applyAll(t, r, events[300:])
	applyAll(t, s, events[300:])
	if got, want := dump(t, r, trip, ada), dump(t, s, trip, ada); got != want {
		t.Errorf("after catching up, the restored state differs:\n%s\n%s", got, want)
	}
	if seq, err := r.AppliedSeq(ctx); err != nil || seq != uint64(len(events)) {
		t.Errorf("restored store applied %d, %v after catching up", seq, err)
	}
	// A snapshot of the restored store is of it, not of the image it came from.
	again, applied, err := r.Snapshot(ctx)
	if err != nil || applied != uint64(len(events)) {
		t.Fatalf("snapshot of the restored store: applied %d, %v", applied, err)
	}
	third, err := OpenMemorySnapshot(ctx, again, mapSettings{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if got, want := dump(t, third, trip, ada), dump(t, s, trip, ada); got != want {
		t.Errorf("second generation differs:\n%s\n%s", got, want)
	}
}

// A damaged image, or one of another schema version, is refused with an
// error, and opens nothing.
func TestSnapshotRefusesDamagedImages(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	events, _, _ := snapshotEvents(t, 100)
	s, err := OpenMemory(ctx, mapSettings{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applyAll(t, s, events)
	image, _, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An image of a database one schema version behind.
	old, err := OpenMemory(ctx, mapSettings{}, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion()-1)); err != nil {
		t.Fatal(err)
	}
	older, _, err := old.Snapshot(ctx)
	old.Close()
	if err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string][]byte{
		"empty":     nil,
		"garbage":   bytes.Repeat([]byte("not a database "), 1000),
		"truncated": image[:len(image)/2],
		"too long":  append(append([]byte(nil), image...), make([]byte, 4096)...),
		"header":    image[:100],
		"old":       older,
	} {
		t.Run(name, func(t *testing.T) {
			r, err := OpenMemorySnapshot(ctx, img, mapSettings{}, log)
			if err == nil {
				r.Close()
				t.Fatal("the image opened")
			}
			t.Log(err)
		})
	}
}

// A store kept in a file has no snapshot.
func TestSnapshotOfAFileStore(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
	if _, _, err := s.Snapshot(context.Background()); !errors.Is(err, ErrNotInMemory) {
		t.Errorf("snapshot of a file store: %v", err)
	}
}
