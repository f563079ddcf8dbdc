package sqlite

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/warehouse/warehousetest"
	"github.com/zoner-family/zoner/syncproto"
)

func mustOpen(tb testing.TB, path string) *Warehouse {
	tb.Helper()
	w, err := Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { w.Close() })
	return w
}

func TestConformance(t *testing.T) {
	warehousetest.Run(t, func(t *testing.T) cloud.Warehouse {
		return mustOpen(t, filepath.Join(t.TempDir(), "warehouse.db"))
	})
}

func TestMigrations(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || SchemaVersion() != len(ms) {
		t.Fatalf("SchemaVersion() = %d with %d migrations", SchemaVersion(), len(ms))
	}
}

func schemaVersions(t *testing.T, w *Warehouse) []int {
	t.Helper()
	rows, err := w.r.QueryContext(t.Context(), "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestOpenTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warehouse.db")
	w := mustOpen(t, path)
	rows := benchRows(3, 0)
	if _, err := w.MergeEvents(t.Context(), rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w = mustOpen(t, path)
	if got := schemaVersions(t, w); len(got) != SchemaVersion() || got[len(got)-1] != SchemaVersion() {
		t.Errorf("schema_migrations after two opens = %v, want 1…%d once each", got, SchemaVersion())
	}
	n, ids, err := w.Stats(t.Context())
	if err != nil || n != 3 || ids != 3 {
		t.Errorf("Stats after reopening = %d, %d, %v; want 3, 3", n, ids, err)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warehouse.db")
	w := mustOpen(t, path)
	newer := SchemaVersion() + 1
	if _, err := w.w.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, name) VALUES (?, 'future.sql')", newer); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, err := Open(t.Context(), path, nil)
	if err == nil || !strings.Contains(err.Error(), "newer than this build") {
		t.Fatalf("Open of a schema at version %d: %v, want an error that says it is newer", newer, err)
	}
}

func TestOpenInMemory(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x?mode=memory"} {
		if w, err := Open(t.Context(), path, nil); err == nil {
			w.Close()
			t.Errorf("Open(%q) succeeded, want an error asking for a file", path)
		}
	}
}

func TestMergeEventsCanceled(t *testing.T) {
	w := mustOpen(t, filepath.Join(t.TempDir(), "warehouse.db"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := w.MergeEvents(ctx, benchRows(10, 0)); !errors.Is(err, context.Canceled) {
		t.Errorf("MergeEvents with a canceled context: %v, want context.Canceled", err)
	}
	if n, _, err := w.Stats(t.Context()); err != nil || n != 0 {
		t.Errorf("Stats after a canceled merge = %d, %v; want 0 rows", n, err)
	}
}

// TestNulls checks that the zero values of optional fields are stored as
// NULL, which the conformance suite cannot see.
func TestNulls(t *testing.T) {
	w := mustOpen(t, filepath.Join(t.TempDir(), "warehouse.db"))
	ctx := t.Context()
	r := benchRows(1, 0)[0]
	r.Member, r.End = uuid.Nil, time.Time{}
	if _, err := w.MergeEvents(ctx, []cloud.Row{r}); err != nil {
		t.Fatal(err)
	}
	day := cloud.MemberDay{Family: r.Family, Member: uuid.New(), Day: syncproto.Date{Year: 2026, Month: 8, Day: 2}}
	if err := w.MergeDaily(ctx, []cloud.MemberDay{day}); err != nil {
		t.Fatal(err)
	}
	outcome := cloud.TripOutcome{Family: r.Family, Trip: uuid.New(), Member: day.Member, Direction: "none"}
	if err := w.MergeOutcomes(ctx, []cloud.TripOutcome{outcome}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT COUNT(*) FROM RAW_EVENTS WHERE member IS NULL AND end_ts IS NULL",
		"SELECT COUNT(*) FROM MEMBER_DAILY_METRICS WHERE trip IS NULL AND misalignment_h IS NULL AND bed_error_min IS NULL",
		"SELECT COUNT(*) FROM TRIP_OUTCOMES WHERE arrived IS NULL AND days_to_adapt IS NULL AND predicted_days IS NULL",
	} {
		var n int
		if err := w.r.QueryRowContext(ctx, q).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s = %d, %v; want 1", q, n, err)
		}
	}
}

// TestFamiliesWithFlightOddPayloads stores trip events whose payloads are
// not what ingest would write: the query passes over them without failing.
func TestFamiliesWithFlightOddPayloads(t *testing.T) {
	w := mustOpen(t, filepath.Join(t.TempDir(), "warehouse.db"))
	good := benchRows(1, 0)[0]
	good.Type = syncproto.TypeTripUpserted
	good.Payload = []byte(`{"type":"trip.upserted","data":{"legs":[{"flight":"BA286"}]}}`)
	var rows []cloud.Row
	for _, payload := range []string{
		`not json`,
		`{"data":{"legs":"BA286"}}`,
		`{"data":{"legs":["BA286", 286, null, [{"flight":"BA286"}]]}}`,
		`{"data":{"legs":{"flight":"BA286"}}}`,
		`{"data":{"legs":[{"flight":286}]}}`,
		``,
	} {
		r := good
		r.ID, r.Family, r.Payload = uuid.New(), uuid.New(), []byte(payload)
		rows = append(rows, r)
	}
	if _, err := w.MergeEvents(t.Context(), append(rows, good)); err != nil {
		t.Fatal(err)
	}
	got, err := w.FamiliesWithFlight(t.Context(), "BA286")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != good.Family {
		t.Errorf("FamiliesWithFlight = %v, want only %v", got, good.Family)
	}
}

// benchRows makes n sleep events of 50 families, as ingest would store
// them, with ids and stamps from seq on.
func benchRows(n, seq int) []cloud.Row {
	wall := time.Date(2026, 7, 14, 16, 0, 0, 0, time.UTC)
	zone := time.FixedZone("PDT", -7*3600)
	rows := make([]cloud.Row, n)
	for i := range rows {
		k := seq + i
		family := uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(k % 50)})
		member := uuid.NewSHA1(family, []byte{byte(k % 4)})
		end := wall.Add(time.Duration(k) * time.Second).In(zone)
		e := syncproto.Envelope{
			Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: family, MemberID: member, Origin: "hub:0193e4b2-bench",
				Type: syncproto.TypeSleep, Start: end.Add(-7 * time.Hour), End: end, TZ: "America/Los_Angeles",
				HLC: syncproto.NewHLC(end, k%7), V: syncproto.CurrentVersion},
			Data: &syncproto.Sleep{Supersedes: syncproto.NewID()},
		}
		payload, err := syncproto.Marshal(e)
		if err != nil {
			panic(err)
		}
		rows[i] = cloud.Row{ID: e.ID, Family: family, Member: member, Type: e.Type, Start: e.Start, End: end,
			TZ: e.TZ, HLC: e.HLC.String(), Payload: payload, Topic: "zoner.events", Partition: int32(k % 6),
			Offset: int64(k), IngestedAt: wall.Add(time.Duration(k) * time.Millisecond)}
	}
	return rows
}

func BenchmarkMergeEvents(b *testing.B) {
	const batch = 1000
	w := mustOpen(b, filepath.Join(b.TempDir(), "warehouse.db"))
	ctx := b.Context() // one that can end, as ingest's does
	// Made before the timer starts: encoding is ingest's cost, not the
	// warehouse's.
	batches := make([][]cloud.Row, 0, b.N)
	for i := range b.N {
		batches = append(batches, benchRows(batch, i*batch))
	}
	b.SetBytes(int64(len(batches[0][0].Payload)) * batch)
	b.ResetTimer()
	for i := range b.N {
		n, err := w.MergeEvents(ctx, batches[i])
		if err != nil || n != batch {
			b.Fatalf("MergeEvents = %d, %v", n, err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
