package main

import (
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/zoner-family/zoner/internal/history"
)

// BenchmarkBytesPerEvent writes a family's history of ZONER_BENCH_EVENTS
// events (default 100,000) to a real hub, in batches of hub.MaxBatch
// over HTTP, stops it cleanly, and sums the bytes of every file in its
// data directory (the log's directory, hub.db with its -wal, the other
// files) per event, beside the mean size of the events' JSON. The hub
// runs in its steady state: the state keeps an applied event's JSON for
// Main.RawTail, a millisecond here instead of minutes, so that what it
// keeps is what a hub keeps once the recent events have aged. It reports
// "B/event", "json-B/event", and "ratio" = B/event over json-B/event,
// lower is better (the target is at most 2.5).
func BenchmarkBytesPerEvent(b *testing.B) {
	n := benchEvents(100_000)
	// The history ends a minute ago: the hub refuses stamps ahead of its
	// clock, the real one here.
	fam := history.New(1, time.Now().Add(-time.Minute))
	raws, err := history.Encode(fam.History(n))
	if err != nil {
		b.Fatal(err)
	}
	jsonBytes := 0
	for _, r := range raws {
		jsonBytes += len(r)
	}
	var onDisk int64
	for range b.N {
		dir := b.TempDir()
		m := mustRun(b, dir, func(m *Main) {
			m.Now = time.Now
			m.RawTail = time.Millisecond
		})
		postHistory(b, m.URL, raws)
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
		onDisk = dirBytes(b, dir)
	}
	perEvent := float64(onDisk) / float64(n)
	jsonPerEvent := float64(jsonBytes) / float64(n)
	b.ReportMetric(perEvent, "B/event")
	b.ReportMetric(jsonPerEvent, "json-B/event")
	b.ReportMetric(perEvent/jsonPerEvent, "ratio")
	b.ReportMetric(0, "ns/op")
}

// dirBytes is the size of every file under dir.
func dirBytes(tb testing.TB, dir string) int64 {
	var sum int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		sum += info.Size()
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return sum
}
