// Package cloudtest makes realistic families' events for the cloud's tests
// and benchmarks: a family of two adults and a toddler flying San Francisco
// to London, and what they log each day after landing, with bedtimes that
// drift from California time to London time as they adapt.
package cloudtest

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// Zones of the trip.
const (
	Home = "America/Los_Angeles"
	Away = "Europe/London"
)

// Family is one generated family.
type Family struct {
	ID      uuid.UUID
	Members []uuid.UUID // two adults, then a toddler
	Trip    uuid.UUID
	Flight  string
	Depart  time.Time // SFO, local time
	Arrive  time.Time // LHR, local time
	clock   *syncproto.Clock
	home    *time.Location
	away    *time.Location
}

// NewFamily makes a family whose flight leaves SFO at depart (18:00 local
// is typical) and lands at LHR 10 hours 20 minutes later; flight names the
// flight ("BA286").
func NewFamily(depart time.Time, flight string) *Family {
	home, _ := syncproto.LoadZone(Home)
	away, _ := syncproto.LoadZone(Away)
	f := &Family{ID: syncproto.NewID(), Trip: syncproto.NewID(), Flight: flight, clock: syncproto.NewClock(nil),
		home: home, away: away}
	for range 3 {
		f.Members = append(f.Members, syncproto.NewID())
	}
	f.Depart = depart.In(home)
	f.Arrive = depart.Add(10*time.Hour + 20*time.Minute).In(away)
	return f
}

// Event wraps a payload in an envelope of the family, stamped now.
func (f *Family) Event(member uuid.UUID, start time.Time, tz string, data syncproto.Payload) syncproto.Envelope {
	return syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: f.ID, MemberID: member,
		Origin: "hub:cloudtest", Type: data.Type(), Start: start.Truncate(time.Second), TZ: tz,
		HLC: f.clock.Now(), V: syncproto.CurrentVersion}, Data: data}
}

// Setup is the family, its members and the trip.
func (f *Family) Setup() []syncproto.Envelope {
	at := f.Depart.Add(-30 * 24 * time.Hour)
	out := []syncproto.Envelope{f.Event(uuid.Nil, at, Home, &syncproto.FamilyUpserted{Name: "The Testers", HomeTZ: Home})}
	names := []string{"Ada", "Ben", "Cleo"}
	for i, m := range f.Members {
		d := &syncproto.MemberUpserted{DisplayName: names[i], AgeBand: syncproto.AgeAdult, HomeTZ: Home,
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}
		if i == 2 {
			d.AgeBand = syncproto.AgeToddler
			d.SleepTime, d.WakeTime = syncproto.ClockAt(19, 30), syncproto.ClockAt(6, 30)
			d.Naps = []syncproto.Nap{{Start: syncproto.ClockAt(13, 0), DurationMin: 90}}
		}
		out = append(out, f.Event(m, at, Home, d))
	}
	out = append(out, f.Event(uuid.Nil, at, Home, &syncproto.TripUpserted{TripID: f.Trip, Name: "London",
		Legs: []syncproto.Leg{{Flight: f.Flight, From: "SFO", To: "LHR", FromTZ: Home, ToTZ: Away,
			Depart: f.Depart, Arrive: f.Arrive}},
		Travellers: f.Members}))
	return out
}

// Day is what the family logs on day n after landing (0 is the landing
// day): each member's night, the toddler's nap, meals and morning light.
// Bedtimes start at California time and move an hour a day towards London
// time.
func (f *Family) Day(n int) []syncproto.Envelope {
	base := f.Arrive.Truncate(24 * time.Hour)
	day := time.Date(base.Year(), base.Month(), base.Day(), 0, 0, 0, 0, f.away).AddDate(0, 0, n)
	lag := max(8-n, 0) // hours the body clock is still behind
	var out []syncproto.Envelope
	for i, m := range f.Members {
		bed, sleepH := 23.0, 8.0
		if i == 2 {
			bed, sleepH = 19.5, 11.0
		}
		start := day.Add(time.Duration((bed + float64(lag)/2) * float64(time.Hour)))
		e := f.Event(m, start, Away, &syncproto.Sleep{})
		e.End = start.Add(time.Duration(sleepH * float64(time.Hour)))
		out = append(out, e)
		for j, meal := range []syncproto.MealKind{syncproto.MealBreakfast, syncproto.MealLunch, syncproto.MealDinner} {
			h := []time.Duration{8, 12, 18}[j]
			out = append(out, f.Event(m, day.Add(h*time.Hour), Away, &syncproto.Meal{Kind: meal}))
		}
		l := f.Event(m, day.Add(9*time.Hour), Away, &syncproto.LightExposure{Level: syncproto.LevelOutdoorDaylight})
		l.End = l.Start.Add(45 * time.Minute)
		out = append(out, l)
		if i == 2 {
			nap := f.Event(m, day.Add(13*time.Hour), Away, &syncproto.Sleep{Nap: true})
			nap.End = nap.Start.Add(80 * time.Minute)
			out = append(out, nap)
		}
	}
	return out
}

// Marshal encodes events; it panics on an invalid one (a bug in the
// generator, not in the code under test).
func Marshal(es []syncproto.Envelope) [][]byte {
	out := make([][]byte, len(es))
	for i, e := range es {
		b, err := syncproto.Marshal(e)
		if err != nil {
			panic(fmt.Sprintf("cloudtest: event %d (%s) is invalid: %v", i, e.Type, err))
		}
		out[i] = b
	}
	return out
}
