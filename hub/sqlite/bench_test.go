package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// BenchmarkApply folds a family's log: a family, two members, and
// logged facts of which every tenth corrects the one before and every
// twentieth is retracted. In batches of 500, as a rebuild does, and of 5,
// as the projector applies concurrent single-event writes. In the same
// run it inserts the same events raw (rawInserts) in batches of the same
// size into a database of the same kind. It reports "µs/event" and
// "raw-µs/event", of wall time, and "ratio" = µs/event / raw-µs/event,
// lower is better.
func BenchmarkApply(b *testing.B) {
	for _, batch := range []int{500, 5} {
		b.Run(fmt.Sprintf("file/batch=%d", batch), func(b *testing.B) {
			benchmarkApply(b, batch, func() *Store { return mustOpen(b, filepath.Join(b.TempDir(), "hub.db")) },
				func() *sql.DB { return rawDB(b, filepath.Join(b.TempDir(), "raw.db")) })
		})
		// In memory, as with a store key.
		b.Run(fmt.Sprintf("memory/batch=%d", batch), func(b *testing.B) {
			benchmarkApply(b, batch, func() *Store {
				s, err := OpenMemory(context.Background(), mapSettings{}, slog.New(slog.DiscardHandler))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				return s
			}, func() *sql.DB { return rawDB(b, "") })
		})
	}
}

func benchmarkApply(b *testing.B, batch int, open func() *Store, openRaw func() *sql.DB) {
	g := &gen{tb: b, family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	ada, kemi := syncproto.NewID(), syncproto.NewID()
	person := func(name string) *syncproto.MemberUpserted {
		return &syncproto.MemberUpserted{DisplayName: name, AgeBand: syncproto.AgeAdult, HomeTZ: "Europe/London",
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}
	}
	day := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
	events := []hub.Event{
		g.event(uuid.Nil, 0, day, time.Time{}, &syncproto.FamilyUpserted{Name: "The Okafors", HomeTZ: "Europe/London"}),
		g.event(ada, 1, day, time.Time{}, person("Ada")),
		g.event(kemi, 2, day, time.Time{}, person("Kemi")),
	}
	var last hub.Event
	for i := range 5000 {
		m := ada
		if i%2 == 1 {
			m = kemi
		}
		start := day.Add(time.Duration(i) * 30 * time.Minute)
		var data syncproto.Payload = &syncproto.Meal{Kind: syncproto.MealSnack}
		switch {
		case i%20 == 19:
			data = &syncproto.LogRetracted{EventID: last.Header.ID}
			m = last.Header.MemberID
		case i%10 == 9:
			data = &syncproto.Meal{Kind: syncproto.MealLunch, Supersedes: last.Header.ID}
			m = last.Header.MemberID
		}
		end := start.Add(20 * time.Minute)
		if _, ok := data.(*syncproto.LogRetracted); ok {
			end = time.Time{}
		}
		e := g.event(m, 3+i, start, end, data)
		if _, ok := data.(*syncproto.Meal); ok {
			last = e
		}
		events = append(events, e)
	}
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	b.ResetTimer()
	var raw time.Duration
	for range b.N {
		b.StopTimer()
		s := open()
		b.StartTimer()
		for i := 0; i < len(events); i += batch {
			if _, err := s.Apply(context.Background(), events[i:min(i+batch, len(events))]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		wall, _ := rawInserts(b, openRaw(), events, batch)
		raw += wall
		b.StartTimer()
	}
	n := float64(b.N * len(events))
	applied := float64(b.Elapsed().Microseconds()) / n
	b.ReportMetric(applied, "µs/event")
	b.ReportMetric(float64(raw.Microseconds())/n, "raw-µs/event")
	b.ReportMetric(float64(b.Elapsed())/float64(raw), "ratio")
	b.ReportMetric(0, "ns/op")
}
