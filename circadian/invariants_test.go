package circadian

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// everyone is the ids of family(): two adults, a toddler, a baby, a teen
// and a child.
var everyone = []uuid.UUID{idAda, idEmeka, idKemi, idTobi, idTeen, idSam}

// problemSummary counts problems by rule and keeps a few examples.
func problemSummary(probs []Problem) string {
	by := map[Rule][]Problem{}
	for _, p := range probs {
		by[p.Rule] = append(by[p.Rule], p)
	}
	var rules []string
	for r := range by {
		rules = append(rules, string(r))
	}
	sort.Strings(rules)
	var b strings.Builder
	for _, r := range rules {
		ps := by[Rule(r)]
		fmt.Fprintf(&b, "%s: %d\n", r, len(ps))
		for _, p := range ps[:min(len(ps), 4)] {
			fmt.Fprintf(&b, "    %s\n", p)
		}
	}
	return b.String()
}

func TestGoldenCasesKeepInvariants(t *testing.T) {
	var all []Problem
	for _, gc := range goldenCases() {
		for _, in := range []syncproto.Intensity{syncproto.IntensityGentle, syncproto.IntensityBalanced, syncproto.IntensityAggressive} {
			req := Request{Trip: Trip{ID: idTrip, Legs: gc.legs(t), Travellers: everyone, Intensity: in}, People: family(t, gc.home)}
			plan := mustPlan(t, req)
			for _, p := range Check(req, plan) {
				p.Member = gc.name + "/" + string(in) + "/" + p.Member
				all = append(all, p)
			}
		}
	}
	if len(all) > 0 {
		t.Errorf("%d problems:\n%s", len(all), problemSummary(all))
	}
}

// randomTrips are n trips of one or two legs between zones of every
// offset, at every hour, one-way and round trip, in both seasons.
func randomTrips(t testing.TB, n int, seed uint64) []Request {
	zones := []string{"America/Los_Angeles", "America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney",
		"Asia/Kolkata", "Asia/Kathmandu", "Pacific/Auckland", "Pacific/Honolulu", "America/St_Johns", "Asia/Dubai",
		"Asia/Singapore", "America/Sao_Paulo", "Africa/Johannesburg", "Europe/Paris", "America/Chicago", "Europe/Oslo"}
	codes := []string{"LAX", "JFK", "LHR", "HND", "SYD", "DEL", "KTM", "AKL", "HNL", "YYT", "DXB", "SIN", "GRU", "JNB", "CDG", "ORD", "TOS"}
	rng := rand.New(rand.NewPCG(seed, 7))
	intensities := []syncproto.Intensity{syncproto.IntensityGentle, syncproto.IntensityBalanced, syncproto.IntensityAggressive}
	var out []Request
	for len(out) < n {
		hi, ai := rng.IntN(len(zones)), rng.IntN(len(zones))
		home, away := zones[hi], zones[ai]
		if home == away {
			continue
		}
		from, to := zone(t, home), zone(t, away)
		month := []time.Month{time.January, time.March, time.June, time.October, time.November, time.December}[rng.IntN(6)]
		dep := time.Date(2026, month, 1+rng.IntN(27), rng.IntN(24), 5*rng.IntN(12), 0, 0, from)
		// A flight about as long as the zones it crosses take to fly over,
		// give or take a few hours, from 1 to 19 hours.
		gap := math.Abs(wrap12(offsetHours(to, dep) - offsetHours(from, dep)))
		flight := time.Duration(min(19*60, 60+int(gap*55)+rng.IntN(5*60))) * time.Minute
		legs := []Leg{{Flight: "ZN1", From: codes[hi], To: codes[ai], FromTZ: from, ToTZ: to, FromAt: airportPlace(codes[hi]), ToAt: airportPlace(codes[ai]), Depart: dep, Arrive: dep.Add(flight)}}
		if rng.IntN(2) == 0 {
			stay := time.Duration(1+rng.IntN(20*24)) * time.Hour
			back := legs[0].Arrive.Add(stay).Truncate(5 * time.Minute)
			legs = append(legs, Leg{Flight: "ZN2", From: codes[ai], To: codes[hi], FromTZ: to, ToTZ: from, FromAt: legs[0].ToAt, ToAt: legs[0].FromAt, Depart: back, Arrive: back.Add(flight + time.Duration(rng.IntN(120)-60)*time.Minute)})
		}
		out = append(out, Request{
			Trip:   Trip{ID: idTrip, Name: fmt.Sprintf("%s→%s %s", home, away, dep.Format("2006-01-02 15:04")), Legs: legs, Travellers: everyone, Intensity: intensities[rng.IntN(3)]},
			People: family(t, home),
		})
	}
	return out
}

func TestRandomTripsKeepInvariants(t *testing.T) {
	seed := uint64(1)
	if s := os.Getenv("ZONER_PLAN_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	n := 40
	if *show {
		n = 400
	}
	var all []Problem
	for _, req := range randomTrips(t, n, seed) {
		var pl Planner
		plan, err := pl.Plan(req)
		if err != nil {
			continue
		}
		for _, p := range Check(req, plan) {
			p.Member = req.Trip.Name + "/" + string(req.Trip.Intensity) + "/" + p.Member
			all = append(all, p)
		}
	}
	if len(all) > 0 {
		t.Errorf("%d problems:\n%s", len(all), problemSummary(all))
	}
}

// corpusFamilies are the families the timetables are planned for: the
// six people of family() in every age band, and the same family with the
// children's naps entered by their parents.
func corpusFamilies(t testing.TB, home string) [][]Person {
	plain := family(t, home)
	napping := family(t, home)
	for i := range napping {
		switch napping[i].ID {
		case idKemi:
			napping[i].Naps = []syncproto.Nap{{Start: syncproto.ClockAt(12, 30), DurationMin: 90}}
		case idTobi:
			napping[i].Naps = []syncproto.Nap{{Start: syncproto.ClockAt(9, 0), DurationMin: 45}, {Start: syncproto.ClockAt(12, 30), DurationMin: 90}, {Start: syncproto.ClockAt(16, 0), DurationMin: 30}}
		}
	}
	return [][]Person{plain, napping}
}

// TestTimetablesKeepInvariants plans every real timetable of the corpus,
// one-way and round trips in both seasons, for a family of every age band
// at every intensity, and checks every plan against the invariants.
func TestTimetablesKeepInvariants(t *testing.T) {
	var all []Problem
	plans := 0
	for _, ct := range loadTimetables(t) {
		for fi, people := range corpusFamilies(t, ct.Home) {
			for _, in := range []syncproto.Intensity{syncproto.IntensityGentle, syncproto.IntensityBalanced, syncproto.IntensityAggressive} {
				trip := ct.Trip
				trip.Travellers, trip.Intensity = everyone, in
				req := Request{Trip: trip, People: people}
				var pl Planner
				plan, err := pl.Plan(req)
				if err != nil {
					t.Errorf("%s: %v", trip.Name, err)
					continue
				}
				plans += len(plan.Members)
				for _, p := range Check(req, plan) {
					p.Member = fmt.Sprintf("%s/%s/family %d/%s", trip.Name, in, fi, p.Member)
					all = append(all, p)
				}
			}
		}
	}
	t.Logf("%d person-plans checked", plans)
	if len(all) > 0 {
		t.Errorf("%d problems:\n%s", len(all), problemSummary(all))
	}
}

// TestPlannerAgreesWithEastman2005: three shifting days before an eastward
// flight — bed an hour earlier each day, light after waking — are the
// protocol of Eastman et al. (2005), who measured a median DLMO advance of
// 1.4 h. The plan's own prediction, with the light a family really gets
// (daylight by the sun, windows kept in part), must lie in the spread the
// validation suite holds the models to (0.7–2.1 h), not at a perfect
// subject's 2.7 h.
func TestPlannerAgreesWithEastman2005(t *testing.T) {
	for _, home := range []string{"America/Denver", "America/Los_Angeles"} {
		people := family(t, home)
		req := Request{Trip: Trip{ID: idTrip, Travellers: []uuid.UUID{idAda}, Legs: []Leg{
			leg(t, "BA218", "DEN", home, "2027-03-02 18:50", "LHR", "Europe/London", "2027-03-03 10:20"),
		}}, People: people}
		if home == "America/Los_Angeles" {
			req.Trip.Legs = []Leg{leg(t, "BA286", "SFO", home, "2027-03-02 19:20", "LHR", "Europe/London", "2027-03-03 13:40")}
		}
		m := member(mustPlan(t, req), idAda)
		var first, last *Day
		for i := range m.Days {
			d := &m.Days[i]
			if d.Kind == DayPreTrip && d.DLMO != nil && first == nil {
				first = d
			}
			if d.Kind == DayTravel && d.DLMO != nil {
				last = d
			}
		}
		if pre := countKind(m, DayPreTrip); pre != 3 {
			t.Fatalf("%s: %d shifting days, want the protocol's 3", home, pre)
		}
		if first == nil || last == nil {
			t.Fatalf("%s: no DLMO before and after the shifting days", home)
		}
		days := math.Round(last.DLMO.Sub(*first.DLMO).Hours() / 24)
		advance := days*24 - last.DLMO.Sub(*first.DLMO).Hours()
		t.Logf("%s: DLMO %s → %s: %.2f h advance", home, first.DLMO.Format("Mon 15:04"), last.DLMO.Format("Mon 15:04"), advance)
		if advance < 0.7 || advance > 2.1 {
			t.Errorf("%s: the plan predicts a DLMO advance of %.2f h over its shifting days; Eastman 2005 measured 1.4 h (0.7–2.1)", home, advance)
		}
	}
}

func countKind(m *MemberPlan, k DayKind) int {
	n := 0
	for _, d := range m.Days {
		if d.Kind == k {
			n++
		}
	}
	return n
}

// TestPersonalClocksKeepInvariants plans every real timetable of the
// corpus for people whose learned clocks lie at the edges of what
// calibration reports (a short period with an early phase, a long one
// with a late phase, a phase-only estimate), and checks every plan against
// the invariants; each plan says which clock it used.
func TestPersonalClocksKeepInvariants(t *testing.T) {
	clocks := []*PersonalClock{
		{Tau: 23.6, TauSD: 0.1, PlanTau: 23.6, Shift: -2, ShiftSD: 0.4, Nights: 30},
		{Tau: 24.8, TauSD: 0.1, PlanTau: 24.8, Shift: 2.5, ShiftSD: 0.4, Nights: 30},
		{Tau: 24.2, TauSD: 0.18, PlanTau: 24.2, Shift: 1, ShiftSD: 0.6, Nights: 3},
	}
	var all []Problem
	plans := 0
	for _, ct := range loadTimetables(t) {
		for ci, c := range clocks {
			people := family(t, ct.Home)
			for i := range people {
				people[i].Clock = c
			}
			trip := ct.Trip
			trip.Travellers = everyone
			req := Request{Trip: trip, People: people}
			plan, err := (&Planner{}).Plan(req)
			if err != nil {
				t.Errorf("%s: %v", trip.Name, err)
				continue
			}
			for _, mp := range plan.Members {
				plans++
				if got := mp.PersonalClock != nil; got != mp.Modelled {
					t.Errorf("%s, clock %d, %s: personal clock in the plan %v, modelled %v", trip.Name, ci, mp.Name, got, mp.Modelled)
				}
			}
			for _, p := range Check(req, plan) {
				p.Member = fmt.Sprintf("%s/clock %d/%s", trip.Name, ci, p.Member)
				all = append(all, p)
			}
		}
	}
	t.Logf("%d person-plans checked", plans)
	if len(all) > 0 {
		t.Errorf("%d problems:\n%s", len(all), problemSummary(all))
	}
}
