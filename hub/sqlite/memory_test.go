package sqlite

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

type mapSettings map[string]string

func (m mapSettings) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }
func (m mapSettings) Set(k, v string) error       { m[k] = v; return nil }

// An in-memory store writes no file, serves readers while it applies, keeps
// its settings where it is told, and forgets everything when closed.
func TestOpenMemory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Chdir(dir)
	settings := mapSettings{}
	s, err := OpenMemory(ctx, settings, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Rebuilt == "" || !s.InMemory() {
		t.Errorf("an in-memory store says Rebuilt %q, InMemory %v", s.Rebuilt, s.InMemory())
	}
	g := &gen{tb: t, family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	ada := syncproto.NewID()
	day := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
	events := []hub.Event{
		g.event(uuid.Nil, 0, day, time.Time{}, &syncproto.FamilyUpserted{Name: "The Quillfeathers", HomeTZ: "Europe/London"}),
		g.event(ada, 1, day, time.Time{}, &syncproto.MemberUpserted{DisplayName: "Zephyrine", AgeBand: syncproto.AgeAdult,
			HomeTZ: "Europe/London", SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}),
	}
	for i := range 400 {
		start := day.Add(time.Duration(i) * time.Hour)
		events = append(events, g.event(ada, 2+i, start, start.Add(30*time.Minute), &syncproto.Meal{Kind: syncproto.MealSnack}))
	}
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	// Readers while the projector applies.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Members(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := 0; i < len(events); i += 50 {
		if _, err := s.Apply(ctx, events[i:min(i+50, len(events))]); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if seq, err := s.AppliedSeq(ctx); err != nil || seq != uint64(len(events)) {
		t.Fatalf("applied %d, %v", seq, err)
	}
	if ms, err := s.Members(ctx); err != nil || len(ms) != 1 || ms[0].Data.DisplayName != "Zephyrine" {
		t.Fatalf("members %v, %v", ms, err)
	}
	if err := s.SetSetting(ctx, "hub.id", "h1"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Setting(ctx, "hub.id"); err != nil || v != "h1" || settings["hub.id"] != "h1" {
		t.Errorf("setting: %q %v, kept %v", v, err, settings)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("an in-memory store wrote files: %v", entries)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if seq, err := s.AppliedSeq(ctx); err != nil || seq != 0 {
		t.Errorf("after a reset: applied %d, %v", seq, err)
	}
	if v, _ := s.Setting(ctx, "hub.id"); v != "h1" {
		t.Errorf("a reset lost the settings: %q", v)
	}

	// Two stores in one process do not share their state.
	other, err := OpenMemory(ctx, mapSettings{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := s.Apply(ctx, events[:2]); err != nil {
		t.Fatal(err)
	}
	if f, err := other.Family(ctx); err != nil || f != nil {
		t.Errorf("another in-memory store sees %v, %v", f, err)
	}
}

// The settings of a database file can be read before it is removed.
func TestReadSettings(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	if got, err := ReadSettings(ctx, path); err != nil || got != nil {
		t.Fatalf("no file: %v, %v", got, err)
	}
	s := mustOpen(t, path)
	if err := s.SetSetting(ctx, "hub.id", "h2"); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSettings(ctx, path)
	if err != nil || len(got) != 1 || got["hub.id"] != "h2" {
		t.Fatalf("settings %v, %v", got, err)
	}
}

// An in-memory store whose connection the pool closed fails loudly
// instead of going on with a new, empty database.
func TestOpenMemoryLostConnection(t *testing.T) {
	ctx := context.Background()
	s, err := OpenMemory(ctx, mapSettings{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	events, _, _ := snapshotEvents(t, 10)
	applyAll(t, s, events)
	s.db.SetMaxIdleConns(0) // the pool closes its idle connection
	if seq, err := s.AppliedSeq(ctx); !errors.Is(err, errMemoryLost) {
		t.Errorf("after the connection closed: applied %d, %v; want %v", seq, err, errMemoryLost)
	}
}
