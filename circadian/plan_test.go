package circadian

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

func mustPlan(t testing.TB, req Request) *Plan {
	t.Helper()
	var pl Planner
	p, err := pl.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func member(p *Plan, id uuid.UUID) *MemberPlan {
	for i := range p.Members {
		if p.Members[i].MemberID == id {
			return &p.Members[i]
		}
	}
	return nil
}

// oneWay is a trip from home to a zone dh hours ahead, a 9 h flight
// leaving at 18:00 home time.
func oneWay(t testing.TB, home, dest string, travellers ...uuid.UUID) Request {
	dep := at(t, home, "2026-12-10 18:00")
	return Request{
		Trip: Trip{ID: idTrip, Travellers: travellers, Legs: []Leg{{Flight: "ZZ1", FromTZ: zone(t, home), ToTZ: zone(t, dest),
			Depart: dep, Arrive: dep.Add(9 * time.Hour)}}},
		People: family(t, home),
	}
}

func TestEastAdvancesWestDelays(t *testing.T) {
	for _, tc := range []struct {
		home, dest string
		advance    bool
	}{
		{"America/New_York", "Europe/Paris", true},
		{"America/Los_Angeles", "Europe/London", true},
		{"Europe/London", "Asia/Kolkata", true},
		{"Europe/London", "America/New_York", false},
		{"Europe/Berlin", "America/Los_Angeles", false},
		{"Asia/Tokyo", "Europe/London", false},
	} {
		t.Run(tc.home+"→"+tc.dest, func(t *testing.T) {
			p := mustPlan(t, oneWay(t, tc.home, tc.dest, idAda))
			m := member(p, idAda)
			for _, d := range m.Days {
				if d.Kind != DayPreTrip && d.Kind != DayStay {
					continue
				}
				for _, it := range d.Items {
					if it.Kind != ItemLightSeek {
						continue
					}
					// The reason names the direction: earlier is an advance.
					if got := strings.Contains(it.Reason, "moves it earlier"); got != tc.advance && d.Misalignment != nil && math.Abs(*d.Misalignment) > 1 {
						t.Errorf("%s %s: %q", d.Label, it.Text, it.Reason)
					}
				}
			}
			// Pre-trip sleep moves the right way.
			for _, d := range m.Days {
				if d.Kind != DayPreTrip {
					continue
				}
				for _, it := range d.Items {
					if it.Kind == ItemSleep && strings.Contains(it.Reason, "Shifting day") {
						if got := strings.Contains(it.Reason, "earlier than usual"); got != tc.advance {
							t.Errorf("pre-trip: %s", it.Reason)
						}
					}
				}
			}
			// The body clock ends up within an hour of local time.
			last := m.Days[len(m.Days)-1]
			if last.Misalignment == nil || math.Abs(*last.Misalignment) > 1 {
				t.Errorf("last day %s misaligned by %v", last.Label, last.Misalignment)
			}
			if m.Adaptation[0].Days < 0 {
				t.Errorf("never adapted")
			}
		})
	}
}

func TestChildrenSleepInsideRecommendedTotals(t *testing.T) {
	req := oneWay(t, "America/Los_Angeles", "Europe/London", idKemi, idTobi, idSam, idTeen)
	p := mustPlan(t, req)
	for _, id := range []uuid.UUID{idKemi, idTobi, idSam, idTeen} {
		m := member(p, id)
		person := req.People[slicesIndex(req.People, id)]
		for _, d := range m.Days {
			if d.Kind != DayStay && d.Kind != DayPreTrip {
				continue
			}
			// Count the night that starts this evening and the day's naps.
			var h float64
			for _, it := range d.Items {
				if it.Kind == ItemSleep || it.Kind == ItemNap {
					h += it.End.Sub(it.Start).Hours()
				}
			}
			lo, hi := person.AgeOn(syncproto.DateOf(d.Start)).SleepNeed()
			if h < lo-0.01 || h > hi+0.01 {
				t.Errorf("%s %s: %.2f h of sleep, recommended %g–%g", m.Name, d.Label, h, lo, hi)
			}
		}
	}
}

func slicesIndex(people []Person, id uuid.UUID) int {
	for i, p := range people {
		if p.ID == id {
			return i
		}
	}
	return -1
}

func TestInfantNapsFollowWakeWindows(t *testing.T) {
	p := mustPlan(t, oneWay(t, "America/Los_Angeles", "Europe/London", idTobi))
	m := member(p, idTobi)
	if m.Modelled {
		t.Error("a 4-month-old is modelled")
	}
	window, _ := Age{Band: syncproto.AgeUnder6Months, Months: 4}.WakeWindow()
	for _, d := range m.Days {
		if d.CBTMin != nil {
			t.Errorf("%s: a CBTmin predicted for a baby", d.Label)
		}
		if d.Kind != DayStay {
			continue
		}
		var prevEnd time.Time
		naps := 0
		for _, it := range d.Items {
			if it.Kind == ItemLightSeek || it.Kind == ItemLightAvoid {
				t.Errorf("%s: model-timed light for a baby: %s", d.Label, it.Text)
			}
			if it.Kind != ItemNap && it.Kind != ItemSleep {
				continue
			}
			if !prevEnd.IsZero() {
				gap := it.Start.Sub(prevEnd)
				if gap < window*3/4 || gap > window*3/2 {
					t.Errorf("%s: awake %v before %s, wake window %v", d.Label, gap, it.Text, window)
				}
			}
			prevEnd = it.End
			if it.Kind == ItemNap {
				naps++
			}
		}
		if naps < 3 || naps > 6 {
			t.Errorf("%s: %d naps for a 4-month-old", d.Label, naps)
		}
	}
}

func TestNoMelatoninOrCaffeineForChildren(t *testing.T) {
	people := family(t, "America/Los_Angeles")
	for i := range people {
		people[i].Melatonin, people[i].Caffeine = true, true // opted in, even where not allowed
	}
	req := oneWay(t, "America/Los_Angeles", "Europe/London", idAda, idKemi, idTobi, idTeen)
	req.People = people
	p := mustPlan(t, req)
	adultHas := map[ItemKind]bool{}
	for _, m := range p.Members {
		for _, d := range m.Days {
			for _, it := range d.Items {
				if it.Kind != ItemMelatonin && it.Kind != ItemCaffeineOK && it.Kind != ItemCaffeineCutoff {
					continue
				}
				if m.AgeBand != syncproto.AgeAdult {
					t.Errorf("%s (%s): %s %s", m.Name, m.AgeBand, it.Kind, it.Text)
				}
				adultHas[it.Kind] = true
			}
		}
		pediatrician := strings.Contains(strings.Join(m.Notes, " "), "pediatrician")
		if want := m.MemberID == idKemi || m.MemberID == idTeen; pediatrician != want {
			t.Errorf("%s: pediatrician note %v, want %v (%q)", m.Name, pediatrician, want, m.Notes)
		}
	}
	for _, k := range []ItemKind{ItemMelatonin, ItemCaffeineOK, ItemCaffeineCutoff} {
		if !adultHas[k] {
			t.Errorf("the adult who opted in got no %s advice", k)
		}
	}
}

// TestItemsFitTheTimetable checks every golden trip and more: no sleep on
// the ground from three hours before a departure to an hour after landing,
// nothing on the ground while in the air, in-flight items inside flights.
func TestItemsFitTheTimetable(t *testing.T) {
	cases := goldenCases()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.request(t)
			p := mustPlan(t, req)
			legs := req.Trip.Legs
			for _, m := range p.Members {
				for _, d := range m.Days {
					for _, it := range d.Items {
						checkItem(t, m.Name, d, it, legs)
					}
				}
			}
		})
	}
}

func checkItem(t *testing.T, who string, d Day, it Item, legs []Leg) {
	t.Helper()
	if it.End.Before(it.Start) {
		t.Errorf("%s %s: %s ends before it starts", who, d.Label, it.Text)
	}
	if loc, err := time.LoadLocation(it.TZ); err != nil || it.Start.Location().String() != loc.String() {
		t.Errorf("%s %s: %s is not in its zone %s", who, d.Label, it.Text, it.TZ)
	}
	for i, l := range legs {
		inside := !it.Start.Before(l.Depart) && !it.End.After(l.Arrive)
		overlaps := it.Start.Before(l.Arrive) && it.End.After(l.Depart)
		if it.InFlight && overlaps && !inside {
			t.Errorf("%s %s: in-flight %s spills out of leg %d", who, d.Label, it.Text, i+1)
		}
		if it.InFlight || !overlaps {
			continue
		}
		switch it.Kind {
		case ItemSleep, ItemNap, ItemLightSeek, ItemMeal, ItemMelatonin:
			if d.Kind == DayTravel && it.Kind == ItemNap && strings.Contains(it.Text, "on demand") {
				continue
			}
			t.Errorf("%s %s: ground item %s %s overlaps leg %d (%v–%v)", who, d.Label, it.Kind, it.Text, i+1, l.Depart, l.Arrive)
		}
		if it.Kind == ItemSleep && !it.InFlight && it.End.After(l.Depart.Add(-3*time.Hour)) && it.Start.Before(l.Depart) {
			t.Errorf("%s %s: %s ends less than 3 h before leg %d departs", who, d.Label, it.Text, i+1)
		}
	}
}

func TestShortTripKeepsHomeTime(t *testing.T) {
	req := Request{
		Trip: Trip{ID: idTrip, Travellers: []uuid.UUID{idAda}, Legs: []Leg{
			leg(t, "UA900", "SFO", "America/Los_Angeles", "2026-12-10 17:00", "LHR", "Europe/London", "2026-12-11 11:00"),
			leg(t, "UA901", "LHR", "Europe/London", "2026-12-12 16:00", "SFO", "America/Los_Angeles", "2026-12-12 19:00"),
		}},
		People: family(t, "America/Los_Angeles"),
	}
	m := member(mustPlan(t, req), idAda)
	if !strings.Contains(strings.Join(m.Notes, " "), "home time") {
		t.Errorf("notes %q do not say to keep home time", m.Notes)
	}
	for _, d := range m.Days {
		for _, it := range d.Items {
			if strings.Contains(it.Reason, "Shifting day") {
				t.Errorf("shifting days before a 2-day trip: %s: %s", d.Label, it.Reason)
			}
		}
		if d.Misalignment != nil && d.Kind == DayStay && math.Abs(*d.Misalignment) > 1.5 {
			t.Errorf("%s: %+.1f h off home time after a 2-day trip", d.Label, *d.Misalignment)
		}
	}
}

func TestLayoverClassification(t *testing.T) {
	mk := func(stay time.Duration) *tripPlan {
		l1 := leg(t, "A1", "LHR", "Europe/London", "2026-12-05 10:00", "DXB", "Asia/Dubai", "2026-12-05 20:00")
		l2 := Leg{Flight: "A2", FromTZ: l1.ToTZ, ToTZ: zone(t, "Asia/Tokyo"), Depart: l1.Arrive.Add(stay)}
		l2.Arrive = l2.Depart.Add(10 * time.Hour)
		tp, err := newTripPlan(Trip{ID: idTrip, Legs: []Leg{l1, l2}, Travellers: []uuid.UUID{idAda}})
		if err != nil {
			t.Fatal(err)
		}
		return tp
	}
	if tp := mk(3 * time.Hour); tp.stops[0].aim.a.String() != "Asia/Tokyo" || len(tp.journeys) != 1 {
		t.Errorf("3 h layover: aim %v, %d journeys; want straight through to Tokyo in one journey", tp.stops[0].aim.a, len(tp.journeys))
	}
	if tp := mk(30 * time.Hour); tp.stops[0].aim.a.String() != "Asia/Tokyo" || len(tp.journeys) != 2 {
		t.Errorf("30 h layover: aim %v, %d journeys; want Tokyo, two travel days", tp.stops[0].aim.a, len(tp.journeys))
	}
	if tp := mk(72 * time.Hour); tp.stops[0].aim.b == nil || tp.stops[0].aim.frac != 0.5 {
		t.Errorf("72 h stop: aim %+v, want halfway", tp.stops[0].aim)
	}
	if tp := mk(5 * 24 * time.Hour); tp.stops[0].aim.a.String() != "Asia/Dubai" || !tp.stops[0].full {
		t.Errorf("5-day stop: aim %+v, want Dubai", tp.stops[0].aim)
	}
}

func TestPreShiftDays(t *testing.T) {
	for _, tc := range []struct {
		h    float64
		in   syncproto.Intensity
		want int
	}{{2, "", 0}, {3, "", 1}, {-4, "", 1}, {6, "", 2}, {8, "", 3}, {-10, "", 5}, {8, syncproto.IntensityGentle, 1}} {
		if got := preShiftDays(tc.h, tc.in); got != tc.want {
			t.Errorf("preShiftDays(%v, %q) = %d, want %d", tc.h, tc.in, got, tc.want)
		}
	}
	if d := direction(-5, 9); d != -10 {
		t.Errorf("New York to Tokyo: %v, want a 10 h delay", d)
	}
	if d := direction(-8, 1); d != 9 {
		t.Errorf("Los Angeles to Paris: %v, want a 9 h advance", d)
	}
}

func TestOvernightFlightDays(t *testing.T) {
	c := goldenCases()[0] // SFO→LHR, leaves 20:45, lands 14:55 the next day
	m := member(mustPlan(t, c.request(t)), idAda)
	var travel, arrival *Day
	for i := range m.Days {
		switch m.Days[i].Kind {
		case DayTravel:
			travel = &m.Days[i]
		case DayArrival:
			arrival = &m.Days[i]
		}
	}
	if travel == nil || arrival == nil {
		t.Fatal("no travel or arrival day")
	}
	if got := travel.Date.String(); got != "2026-12-10" {
		t.Errorf("travel day %s, want the departure date", got)
	}
	if got := arrival.Date.String(); got != "2026-12-11" || arrival.TZ != "Europe/London" {
		t.Errorf("arrival day %s %s, want 2026-12-11 in London", got, arrival.TZ)
	}
	for _, it := range arrival.Items {
		if it.Start.Before(arrival.Start) {
			t.Errorf("arrival day item before landing: %s", it.Text)
		}
	}
}

func TestDateLineSkippedDay(t *testing.T) {
	c := goldenCases()[2] // LAX→SYD
	m := member(mustPlan(t, c.request(t)), idAda)
	for _, d := range m.Days {
		if d.Date.String() == "2026-12-09" {
			t.Errorf("a day on the date the traveller never lives: %s", d.Label)
		}
		if d.Kind == DayArrival && !strings.Contains(d.Label, "Wed 9 Dec") {
			t.Errorf("arrival label %q does not name the skipped date", d.Label)
		}
	}
}

func TestDSTDuringTrip(t *testing.T) {
	c := goldenCases()[4] // New York→London and back across both October changes
	m := member(mustPlan(t, c.request(t)), idAda)
	for _, d := range m.Days {
		if d.Date.String() == "2026-10-25" {
			if got := d.End.Sub(d.Start); got != 25*time.Hour {
				t.Errorf("London's last BST day lasts %v, want 25 h", got)
			}
		}
		for _, it := range d.Items {
			if it.Kind == ItemSleep && !it.InFlight {
				if h := it.End.Sub(it.Start); h < 7*time.Hour || h > 9*time.Hour {
					t.Errorf("%s: %s lasts %v", d.Label, it.Text, h)
				}
			}
		}
	}
	if a := m.Adaptation; len(a) != 2 || a[0].Days < 0 || a[1].Days < 0 {
		t.Errorf("adaptation %+v, want both ways", a)
	}
}

func TestPlanJSON(t *testing.T) {
	p := mustPlan(t, goldenCases()[5].request(t))
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Members) != 4 || len(back.Members[0].Days) != len(p.Members[0].Days) {
		t.Fatalf("round trip lost members or days")
	}
	if !strings.Contains(string(b), `"date":"2026-12-10"`) {
		t.Errorf("dates are not written as text")
	}
}

func TestBadInput(t *testing.T) {
	var pl Planner
	good := goldenCases()[0].request(t)
	for name, mutate := range map[string]func(r *Request){
		"no legs":            func(r *Request) { r.Trip.Legs = nil },
		"arrive before":      func(r *Request) { r.Trip.Legs[0].Arrive = r.Trip.Legs[0].Depart.Add(-time.Hour) },
		"30 h flight":        func(r *Request) { r.Trip.Legs[0].Arrive = r.Trip.Legs[0].Depart.Add(30 * time.Hour) },
		"unknown traveller":  func(r *Request) { r.Trip.Travellers = []uuid.UUID{uuid.New()} },
		"no travellers":      func(r *Request) { r.Trip.Travellers = nil },
		"no sleep time":      func(r *Request) { r.People[0].Sleep = syncproto.ClockTime{} },
		"no zone":            func(r *Request) { r.People[0].Home = nil },
		"a 2 h night":        func(r *Request) { r.People[0].Wake = syncproto.ClockAt(1, 0) },
		"first leg canceled": func(r *Request) { r.Trip.Legs[0].Cancelled = true },
	} {
		t.Run(name, func(t *testing.T) {
			req := good
			req.Trip.Legs = append([]Leg(nil), good.Trip.Legs...)
			req.People = append([]Person(nil), good.People...)
			mutate(&req)
			if p, err := pl.Plan(req); err == nil {
				t.Errorf("planned %d members, want an error", len(p.Members))
			}
		})
	}
}

func TestNightOutsideTheRecommendedRangeIsMovedIntoIt(t *testing.T) {
	req := oneWay(t, "America/Los_Angeles", "Europe/London", idSam)
	for i := range req.People {
		if req.People[i].ID == idSam { // a 7-year-old going to bed at midnight
			req.People[i].Sleep = syncproto.ClockAt(0, 0)
		}
	}
	m := member(mustPlan(t, req), idSam)
	if !strings.Contains(strings.Join(m.Notes, " "), "outside the 9–12 h") {
		t.Errorf("notes %q do not say the night was moved", m.Notes)
	}
	for _, d := range m.Days {
		for _, it := range d.Items {
			if it.Kind == ItemSleep && !it.InFlight && d.Kind == DayStay {
				if h := it.End.Sub(it.Start).Hours(); h < 9 {
					t.Errorf("%s: %s is %.1f h", d.Label, it.Text, h)
				}
			}
		}
	}
}
