//go:build integration

package snowflake

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/syncproto"
)

// The tests run against fakesnow at FAKESNOW_ADDR (deploy/local/fakesnow.sh
// start prints it), each in a schema of its own in database ZONER_TEST.

// fakesnowConfig is the configuration of a fresh schema on the emulator.
func fakesnowConfig(tb testing.TB) Config {
	tb.Helper()
	addr := proctest.Service(tb, "FAKESNOW_ADDR")
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatalf("FAKESNOW_ADDR=%q: %v", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		tb.Fatalf("FAKESNOW_ADDR=%q: %v", addr, err)
	}
	return Config{
		Account: "fakesnow", User: "zoner", Password: "fakesnow-takes-any-password",
		Host: host, Port: p, Protocol: "http",
		Database: "ZONER_TEST", Schema: uniqueSchema(), CreateDatabase: true,
	}
}

// uniqueSchema is a schema name no other test uses.
func uniqueSchema() string {
	return "T_" + rand.Text()[:16] // base32: A-Z and 2-7
}

// mustOpen opens a warehouse on cfg, closed (and its schema dropped) when
// the test ends.
func mustOpen(tb testing.TB, cfg Config) *Warehouse {
	tb.Helper()
	w, err := Open(tb.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatalf("Open(%v): %v", cfg, err)
	}
	tb.Cleanup(func() {
		// A fresh context: the test's is done by now.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := w.db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+cfg.Database+"."+cfg.Schema+" CASCADE"); err != nil {
			tb.Logf("drop schema %s: %v", cfg.Schema, err)
		}
		if err := w.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return w
}

// MustOpen opens an empty, migrated warehouse in a schema of its own.
func MustOpen(tb testing.TB) *Warehouse {
	tb.Helper()
	return mustOpen(tb, fakesnowConfig(tb))
}

// events makes rows for tests: payloads in syncproto's JSON shape, written
// by hand so that their bytes (spacing, escapes, number forms) are ones a
// VARIANT would not give back.
type events struct {
	wall   time.Time
	offset int64
}

func newEvents() *events {
	return &events{wall: time.Date(2026, 7, 14, 16, 0, 0, 0, time.UTC)}
}

func (e *events) row(family, member uuid.UUID, typ syncproto.Type, start, end time.Time, data string) cloud.Row {
	e.wall = e.wall.Add(time.Second)
	e.offset++
	id := syncproto.NewID()
	hlc := syncproto.NewHLC(e.wall, int(e.offset%3)).String()
	memberField := ""
	if member != uuid.Nil {
		memberField = `, "member_id": "` + member.String() + `"`
	}
	payload := fmt.Sprintf(`{"id":"%s", "family_id":"%s"%s, "type":"%s", "hlc":"%s", "v":1, "data":%s}`,
		id, family, memberField, typ, hlc, data)
	return cloud.Row{
		ID: id, Family: family, Member: member, Type: typ, Start: start, End: end,
		TZ: "Europe/London", HLC: hlc, Payload: []byte(payload),
		Topic: "zoner.events", Partition: int32(e.offset % 4), Offset: 1000 + e.offset,
		IngestedAt: e.wall.Add(2*time.Second + 123456789*time.Nanosecond),
	}
}

func (e *events) sleep(family, member uuid.UUID) cloud.Row {
	end := e.wall.Add(-250 * time.Millisecond).In(time.FixedZone("PDT", -7*3600))
	return e.row(family, member, syncproto.TypeSleep, end.Add(-7*time.Hour), end, `{"nap": false,  "note":"caf\u00e9 \"nuit\" 2.50"}`)
}

func (e *events) meal(family, member uuid.UUID) cloud.Row {
	return e.row(family, member, syncproto.TypeMeal, e.wall.Add(-30*time.Minute), time.Time{}, `{"kind":"dinner","kcal":1.0e3}`)
}

func (e *events) trip(family uuid.UUID, name string, flights ...string) cloud.Row {
	var legs []string
	for _, f := range flights {
		leg := `{"from_tz":"America/Los_Angeles","to_tz":"Europe/London","depart":"2026-08-01T16:20:00-07:00","arrive":"2026-08-02T10:45:00+01:00"`
		if f != "" {
			leg = `{"flight":"` + f + `",` + leg[1:]
		}
		legs = append(legs, leg+"}")
	}
	data := fmt.Sprintf(`{"trip_id":"%s","name":"%s","legs":[%s],"travellers":[]}`, uuid.New(), name, strings.Join(legs, ","))
	return e.row(family, uuid.Nil, syncproto.TypeTripUpserted, e.wall, time.Time{}, data)
}

func (e *events) flightUpdated(family uuid.UUID, flight string) cloud.Row {
	return e.row(family, uuid.Nil, syncproto.TypeFlightUpdated, e.wall, time.Time{},
		`{"trip_id":"`+uuid.New().String()+`","leg":1,"flight":"`+flight+`","status":"delayed"}`)
}

func (e *events) family(family uuid.UUID) cloud.Row {
	return e.row(family, uuid.Nil, syncproto.TypeFamilyUpserted, e.wall, time.Time{},
		`{"name":"Les Müller & <Ōkubo> 🌙\t\u2028","home_tz":"Europe/London"}`)
}

// sortedRows is rows in the order Events promises.
func sortedRows(rows []cloud.Row) []cloud.Row {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b cloud.Row) int {
		if c := strings.Compare(a.Family.String(), b.Family.String()); c != 0 {
			return c
		}
		if c := strings.Compare(a.HLC, b.HLC); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out
}

// checkRows compares rows field by field: times to the millisecond.
func checkRows(t *testing.T, got, want []cloud.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	sameTime := func(a, b time.Time) bool {
		return a.IsZero() == b.IsZero() && a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
	}
	for i := range got {
		g, w := got[i], want[i]
		switch {
		case g.ID != w.ID, g.Family != w.Family, g.Member != w.Member, g.Type != w.Type,
			g.TZ != w.TZ, g.HLC != w.HLC, g.Topic != w.Topic, g.Partition != w.Partition, g.Offset != w.Offset:
			t.Errorf("row %d = %+v\nwant %+v", i, g, w)
		case !bytes.Equal(g.Payload, w.Payload):
			t.Errorf("row %d payload = %q\nwant %q", i, g.Payload, w.Payload)
		case !sameTime(g.Start, w.Start), !sameTime(g.End, w.End), !sameTime(g.IngestedAt, w.IngestedAt):
			t.Errorf("row %d times = %v, %v, %v; want %v, %v, %v", i, g.Start, g.End, g.IngestedAt, w.Start, w.End, w.IngestedAt)
		case g.Start.Location() != time.UTC || g.IngestedAt.Location() != time.UTC:
			t.Errorf("row %d times are not in UTC: %v, %v", i, g.Start, g.IngestedAt)
		}
	}
}

func mustMerge(t testing.TB, w *Warehouse, rows []cloud.Row) int {
	t.Helper()
	n, err := w.MergeEvents(t.Context(), rows)
	if err != nil {
		t.Fatalf("MergeEvents(%d rows): %v", len(rows), err)
	}
	return n
}

func mustEvents(t *testing.T, w *Warehouse, since time.Time, families ...uuid.UUID) []cloud.Row {
	t.Helper()
	rows, err := w.Events(t.Context(), families, since)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return rows
}

func checkStats(t *testing.T, w *Warehouse, want int64) {
	t.Helper()
	rows, ids, err := w.Stats(t.Context())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if rows != want || ids != want {
		t.Errorf("Stats = %d rows, %d ids; want %d", rows, ids, want)
	}
}

func date(t testing.TB, s string) syncproto.Date {
	t.Helper()
	d, err := syncproto.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ptr[T any](v T) *T { return &v }

// dump prints analytics with floats to nine places, pointers as values.
func dump(a *cloud.Analytics) string {
	f := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return strconv.FormatFloat(*p, 'f', 9, 64)
	}
	var b strings.Builder
	for _, g := range a.Adaptation {
		fmt.Fprintf(&b, "adaptation %s %s %d %d %s %s\n", g.Direction, g.AgeBand, g.Travellers, g.Adapted, f(g.MeanDays), f(g.MeanPredicted))
	}
	fmt.Fprintf(&b, "light %+v\n", a.Light)
	for _, n := range a.FirstNights {
		fmt.Fprintf(&b, "night %d %d %s %s\n", n.Night, n.Members, f(&n.MeanSleepMin), f(&n.MeanHabitualMin))
	}
	fmt.Fprintf(&b, "accuracy %d %s %d\nevents %d families %d", a.Accuracy.Nights, f(a.Accuracy.MeanAbsErrorMin), a.Accuracy.Within30, a.Events, a.Families)
	return b.String()
}
