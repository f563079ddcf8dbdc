package circadian

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// FuzzPlan plans trips of random shape, zones, habits and logs: the planner
// must return a plan or an error, never panic, and every plan must fit its
// timetable and keep the invariants of Check.
func FuzzPlan(f *testing.F) {
	f.Add(uint8(3), uint8(7), int16(600), uint16(610), int16(36*60), uint16(600), uint8(23), uint8(7), uint8(0), int16(-200), uint16(420))
	f.Add(uint8(0), uint8(9), int16(-300), uint16(900), int16(100), uint16(60), uint8(19), uint8(6), uint8(2), int16(3000), uint16(30))
	f.Add(uint8(5), uint8(1), int16(0), uint16(1300), int16(-60), uint16(1), uint8(0), uint8(12), uint8(1), int16(0), uint16(0))
	zones := []string{"America/Los_Angeles", "America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney",
		"Asia/Kolkata", "Asia/Kathmandu", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/St_Johns", "UTC"}
	f.Fuzz(func(t *testing.T, z1, z2 uint8, depMin int16, flightMin uint16, gapMin int16, flight2Min uint16,
		sleepH, wakeH, who uint8, logMin int16, logLen uint16) {
		from := zone(t, zones[int(z1)%len(zones)])
		to := zone(t, zones[int(z2)%len(zones)])
		dep := time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC).Add(time.Duration(depMin) * time.Minute)
		l1 := Leg{Flight: "F1", FromTZ: from, ToTZ: to, Depart: dep, Arrive: dep.Add(time.Duration(flightMin) * time.Minute)}
		l2 := Leg{Flight: "F2", FromTZ: to, ToTZ: from, Depart: l1.Arrive.Add(time.Duration(gapMin) * time.Minute)}
		l2.Arrive = l2.Depart.Add(time.Duration(flight2Min) * time.Minute)
		people := family(t, from.String())
		p := &people[int(who)%len(people)]
		p.Sleep, p.Wake = syncproto.ClockAt(int(sleepH)%24, 0), syncproto.ClockAt(int(wakeH)%24, 30)
		req := Request{
			Trip:   Trip{ID: idTrip, Legs: []Leg{l1, l2}, Travellers: []uuid.UUID{p.ID}},
			People: people,
			Now:    dep.Add(time.Duration(logMin) * time.Minute),
			Logs: map[uuid.UUID][]Log{p.ID: {
				{Kind: LogSleep, Start: dep.Add(time.Duration(logMin) * time.Minute), End: dep.Add(time.Duration(int(logMin)+int(logLen)) * time.Minute)},
				{Kind: LogLight, Start: dep.Add(-time.Hour), End: dep, Lux: float64(logLen)},
			}},
		}
		var pl Planner
		plan, err := pl.Plan(req)
		if err != nil {
			return
		}
		for _, m := range plan.Members {
			for _, d := range m.Days {
				for _, it := range d.Items {
					checkItem(t, m.Name, d, it, req.Trip.flown())
				}
			}
		}
		// The invariants are promised to people who sleep at night: to bed
		// between 18:00 and 03:00, up between 04:00 and 12:00.
		if b, w := p.Sleep.Minutes()/60, p.Wake.Minutes()/60; (b < 18 && b >= 3) || w < 4 || w >= 12 {
			return
		}
		if probs := Check(req, plan); len(probs) > 0 {
			t.Errorf("%d problems:\n%s", len(probs), problemSummary(probs))
		}
	})
}
