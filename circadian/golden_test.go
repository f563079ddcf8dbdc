package circadian

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

var update = flag.Bool("update", false, "rewrite testdata/plans from the plans the code makes now")

var show = flag.Bool("show", false, "plan 400 random trips in TestRandomTripsKeepInvariants, not 40")

// goldenCase is a real-looking trip whose plan was read by eye before it
// was frozen in testdata/plans.
type goldenCase struct {
	name   string
	home   string
	people []uuid.UUID
	legs   func(t testing.TB) []Leg
	in     syncproto.Intensity
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{name: "sfo-lhr-overnight", home: "America/Los_Angeles", people: []uuid.UUID{idAda, idEmeka},
			legs: func(t testing.TB) []Leg {
				return []Leg{leg(t, "BA286", "SFO", "America/Los_Angeles", "2026-12-10 20:45", "LHR", "Europe/London", "2026-12-11 14:55")}
			}},
		{name: "jfk-hnd-14h", home: "America/New_York", people: []uuid.UUID{idAda, idTeen},
			legs: func(t testing.TB) []Leg {
				return []Leg{leg(t, "JL5", "JFK", "America/New_York", "2026-12-02 13:25", "HND", "Asia/Tokyo", "2026-12-03 17:20")}
			}},
		{name: "lax-syd-dateline", home: "America/Los_Angeles", people: []uuid.UUID{idAda},
			legs: func(t testing.TB) []Leg {
				return []Leg{leg(t, "QF12", "LAX", "America/Los_Angeles", "2026-12-08 23:40", "SYD", "Australia/Sydney", "2026-12-10 09:15")}
			}},
		{name: "lhr-dxb-sin-layover", home: "Europe/London", people: []uuid.UUID{idAda, idKemi},
			legs: func(t testing.TB) []Leg {
				return []Leg{
					leg(t, "EK2", "LHR", "Europe/London", "2026-12-05 14:00", "DXB", "Asia/Dubai", "2026-12-06 00:15"),
					leg(t, "EK432", "DXB", "Asia/Dubai", "2026-12-06 03:15", "SIN", "Asia/Singapore", "2026-12-06 14:35"),
				}
			}},
		{name: "jfk-lhr-dst-return", home: "America/New_York", people: []uuid.UUID{idAda},
			in: syncproto.IntensityGentle,
			legs: func(t testing.TB) []Leg {
				return []Leg{
					leg(t, "BA178", "JFK", "America/New_York", "2026-10-20 19:30", "LHR", "Europe/London", "2026-10-21 07:25"),
					leg(t, "BA177", "LHR", "Europe/London", "2026-10-29 11:00", "JFK", "America/New_York", "2026-10-29 14:00"),
				}
			}},
		{name: "family-sfo-lhr", home: "America/Los_Angeles", people: []uuid.UUID{idAda, idEmeka, idKemi, idTobi},
			legs: func(t testing.TB) []Leg {
				return []Leg{leg(t, "BA286", "SFO", "America/Los_Angeles", "2026-12-10 20:45", "LHR", "Europe/London", "2026-12-11 14:55")}
			}},
	}
}

func (c goldenCase) request(t testing.TB) Request {
	return Request{
		Trip:   Trip{ID: idTrip, Name: c.name, Legs: c.legs(t), Travellers: c.people, Intensity: c.in},
		People: family(t, c.home),
	}
}

func TestGoldenPlans(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			var pl Planner
			p, err := pl.Plan(c.request(t))
			if err != nil {
				t.Fatal(err)
			}
			got := render(p)
			file := filepath.Join("testdata", "plans", c.name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./circadian -run TestGoldenPlans -update to write it)", err)
			}
			if got != string(want) {
				g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := range min(len(g), len(w)) {
					if g[i] != w[i] {
						t.Fatalf("plan differs from %s at line %d:\n got: %s\nwant: %s\n(rerun with -update and read the diff)", file, i+1, g[i], w[i])
					}
				}
				t.Fatalf("plan differs from %s in length: %d lines, want %d", file, len(g), len(w))
			}
		})
	}
}
