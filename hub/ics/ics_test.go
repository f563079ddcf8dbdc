package ics

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		cal  Calendar
	}{
		{"kemi", sampleCalendar(30 * time.Minute)},
		{"kemi_no_alarm", sampleCalendar(0)},
		{"no_trips", Calendar{Name: "Zoner: Ada", Stamp: stamp}},
		{"nil_plan", Calendar{Stamp: stamp, Trips: []TripPlan{{TripID: tripID}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustWrite(t, tt.cal)
			path := filepath.Join("testdata", tt.name+".ics")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("feed differs from %s (run go test -update to rewrite it):\n%s", path, got)
			}
		})
	}
}

func TestStructure(t *testing.T) {
	twoDays := func() *circadian.MemberPlan {
		// A travel day and an arrival day on one date, each with a nap.
		p := samplePlan()
		arr := p.Days[1]
		arr.Kind = circadian.DayArrival
		arr.Items = append([]circadian.Item(nil), arr.Items...)
		p.Days = append(p.Days, arr)
		return p
	}
	tests := []struct {
		name  string
		trips []TripPlan
	}{
		{"sample", []TripPlan{{TripID: tripID, Plan: samplePlan()}}},
		{"travel and arrival on one date", []TripPlan{{TripID: tripID, Plan: twoDays()}}},
		{"two trips", []TripPlan{{TripID: tripID, Plan: samplePlan()}, {TripID: uuid.New(), Plan: samplePlan()}}},
		{"same trip twice", []TripPlan{{TripID: tripID, Plan: samplePlan()}, {TripID: tripID, Plan: samplePlan()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := Calendar{Name: "Zoner: Kemi", Stamp: stamp, Trips: tt.trips, Alarm: time.Hour}
			uids := uidsOf(t, cal)
			want := 0
			for _, tp := range tt.trips {
				for _, d := range tp.Plan.Days {
					if !d.Past {
						want += len(d.Items)
					}
				}
			}
			if len(uids) != want {
				t.Errorf("%d events, want %d", len(uids), want)
			}
			seen := map[string]bool{}
			for _, u := range uids {
				if seen[u] {
					t.Errorf("UID %s twice", u)
				}
				seen[u] = true
			}

			// A re-plan that moves every item keeps every UID.
			for i := range cal.Trips {
				cal.Trips[i].Plan = shifted(cal.Trips[i].Plan, 30*time.Minute)
			}
			if got := uidsOf(t, cal); strings.Join(got, " ") != strings.Join(uids, " ") {
				t.Errorf("UIDs after a 30 min shift:\n%v\nwant\n%v", got, uids)
			}
		})
	}
}

// uidsOf renders cal, checks that every event has what RFC 5545 requires,
// and returns the events' UIDs in order.
func uidsOf(t *testing.T, cal Calendar) []string {
	t.Helper()
	root := parse(t, mustWrite(t, cal))
	for _, name := range []string{"VERSION", "PRODID", "CALSCALE", "METHOD", "X-WR-CALNAME", "REFRESH-INTERVAL", "X-PUBLISHED-TTL"} {
		if _, ok := root.get(name); !ok {
			t.Errorf("VCALENDAR has no %s", name)
		}
	}
	var uids []string
	for _, ev := range events(root) {
		for _, name := range []string{"UID", "DTSTAMP", "DTSTART", "SUMMARY"} {
			if _, ok := ev.get(name); !ok {
				t.Errorf("VEVENT has no %s: %v", name, ev.props)
			}
		}
		u, _ := ev.get("UID")
		uids = append(uids, u)
	}
	return uids
}

func TestEvents(t *testing.T) {
	evs := events(parse(t, mustWrite(t, sampleCalendar(0))))
	byKind := map[string]*component{}
	for _, ev := range evs {
		kind, _ := ev.get("X-ZONER-KIND")
		byKind[kind] = ev
		if start, _ := ev.get("DTSTART"); start < "20261219" {
			t.Errorf("event of a past day: %v", ev.props)
		}
	}
	if len(evs) != 6 {
		t.Fatalf("%d events, want the 6 of the day not past", len(evs))
	}
	tests := []struct {
		kind, prop, want string
	}{
		{"sleep", "DTSTART", "20261219T200000Z"},
		{"sleep", "DTEND", "20261220T060000Z"},
		{"sleep", "TRANSP", "OPAQUE"},
		{"sleep", "UID", tripID.String() + "-" + memberID.String() + "-2026-12-19-travel-sleep-1@zoner"},
		{"nap", "TRANSP", "OPAQUE"},
		{"nap", "SUMMARY", "Kemi’s nap — 45 min"},
		{"nap", "DESCRIPTION", `A short nap keeps her going\; no longer\, or tonight's sleep suffers.\nIn flight.\nTrip: Lagos\, Christmas\; 2026`},
		{"meal", "TRANSP", "TRANSPARENT"},
		{"meal", "CATEGORIES", "meal"},
		{"melatonin", "DTSTART", "20261219T180000Z"},
		{"melatonin", "DTEND", ""}, // an instant
		{"light_seek", "DTSTAMP", "20261218T093000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.prop, func(t *testing.T) {
			ev := byKind[tt.kind]
			if ev == nil {
				t.Fatalf("no %s event", tt.kind)
			}
			got, ok := ev.get(tt.prop)
			if tt.want == "" && ok {
				t.Errorf("%s = %q, want none", tt.prop, got)
			} else if got != tt.want {
				t.Errorf("%s = %q, want %q", tt.prop, got, tt.want)
			}
		})
	}
}

func TestAlarms(t *testing.T) {
	tests := []struct {
		name    string
		alarm   time.Duration
		trigger string // "" for no alarms
	}{
		{"none", 0, ""},
		{"negative", -time.Minute, ""},
		{"30 min", 30 * time.Minute, "-PT30M"},
		{"2 h", 2 * time.Hour, "-PT120M"},
		{"90.5 s", 90*time.Second + time.Millisecond, "-PT91S"},
	}
	want := map[string]bool{"sleep": true, "nap": true, "light_seek": true, "light_avoid": true, "melatonin": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cal := sampleCalendar(tt.alarm)
			cal.Trips[0].Plan.Days[1].Items = append(cal.Trips[0].Plan.Days[1].Items,
				circadian.Item{Kind: circadian.ItemLightAvoid, Start: stamp.Add(48 * time.Hour), End: stamp.Add(50 * time.Hour), Text: "Wear dark glasses"},
				circadian.Item{Kind: circadian.ItemCaffeineOK, Start: stamp.Add(48 * time.Hour), End: stamp.Add(50 * time.Hour), Text: "Coffee is fine"})
			for _, ev := range events(parse(t, mustWrite(t, cal))) {
				kind, _ := ev.get("X-ZONER-KIND")
				summary, _ := ev.get("SUMMARY")
				has := tt.trigger != "" && want[kind]
				if !has {
					if len(ev.subs) != 0 {
						t.Errorf("%s event has an alarm", kind)
					}
					continue
				}
				if len(ev.subs) != 1 || ev.subs[0].kind != "VALARM" {
					t.Errorf("%s event has %d components, want one VALARM", kind, len(ev.subs))
					continue
				}
				for _, p := range []prop{{"ACTION", "DISPLAY"}, {"TRIGGER", tt.trigger}, {"DESCRIPTION", summary}} {
					if got, _ := ev.subs[0].get(p.name); got != p.value {
						t.Errorf("%s alarm %s = %q, want %q", kind, p.name, got, p.value)
					}
				}
			}
		})
	}
}

// Odd input is skipped or mended, never a panic or a malformed feed.
func TestOddInput(t *testing.T) {
	big := strings.Repeat("Sleep; now, please — 😴\\ ", 40000)
	tests := []struct {
		name   string
		items  []circadian.Item
		events int
	}{
		{"zero times", []circadian.Item{{Kind: circadian.ItemNap}}, 0},
		{"zero end", []circadian.Item{{Kind: circadian.ItemNap, Start: stamp}}, 1},
		{"end before start", []circadian.Item{{Kind: circadian.ItemSleep, Start: stamp, End: stamp.Add(-time.Hour)}}, 1},
		{"year 10000", []circadian.Item{{Kind: circadian.ItemMeal, Start: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}, 0},
		{"huge text", []circadian.Item{{Kind: circadian.ItemSleep, Start: stamp, End: stamp.Add(time.Hour), Text: big, Reason: big}}, 1},
		{"empty kind and text", []circadian.Item{{Start: stamp, End: stamp.Add(time.Hour)}}, 1},
		{"control characters", []circadian.Item{{Kind: "a\x00b\r\nc", Start: stamp, Text: "x\ry\x1bz\x7f", Reason: "\xff\xfe"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &circadian.MemberPlan{MemberID: memberID, Days: []circadian.Day{{Date: syncproto.Date{Year: 2026, Month: 12, Day: 18}, Items: tt.items}}}
			cal := Calendar{Name: "Zoner:\x00 Kemi", Stamp: time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), Trips: []TripPlan{{Plan: p}}, Alarm: time.Minute}
			feed := mustWrite(t, cal)
			checkLines(t, feed)
			root := parse(t, feed)
			evs := events(root)
			if len(evs) != tt.events {
				t.Errorf("%d events, want %d", len(evs), tt.events)
			}
			for _, ev := range evs {
				if end, ok := ev.get("DTEND"); ok {
					if start, _ := ev.get("DTSTART"); end <= start {
						t.Errorf("DTEND %s not after DTSTART %s", end, start)
					}
				}
			}
		})
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct {
	n   int
	err error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	n := w.n
	w.n = 0
	return n, w.err
}

func TestWriteError(t *testing.T) {
	cal := sampleCalendar(time.Hour)
	for range 20 { // more than bufio's 4096 bytes
		cal.Trips = append(cal.Trips, TripPlan{TripID: uuid.New(), Plan: samplePlan()})
	}
	full := len(mustWrite(t, cal))
	for _, n := range []int{0, 100, 4095, 4096, full / 2, full - 1} {
		t.Run(fmt.Sprintf("after %d bytes", n), func(t *testing.T) {
			boom := errors.New("boom")
			if err := Write(&failWriter{n: n, err: boom}, cal); !errors.Is(err, boom) {
				t.Errorf("Write after %d of %d bytes = %v, want %v", n, full, err, boom)
			}
		})
	}
	t.Run("whole feed", func(t *testing.T) {
		if err := Write(&failWriter{n: full, err: errors.New("boom")}, cal); err != nil {
			t.Errorf("Write = %v, want nil", err)
		}
	})
}
