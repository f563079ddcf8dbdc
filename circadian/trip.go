package circadian

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/airports"
	"github.com/zoner-family/zoner/syncproto"
)

// Leg is one flight. Depart and Arrive are instants; FromTZ and ToTZ the
// zones of the two airports.
type Leg struct {
	Flight       string
	From, To     string
	FromTZ, ToTZ *time.Location
	// FromAt and ToAt are where the airports are; unknown when zero.
	// Sunrise and sunset there decide when the plan sends people outside.
	FromAt, ToAt   Place
	Depart, Arrive time.Time
	// Cancelled legs, and every leg after one, are not flown: the plan
	// keeps the travellers where they are.
	Cancelled bool
}

// Trip is a journey of one or more legs that the same travellers fly.
type Trip struct {
	ID         uuid.UUID
	Name       string
	Legs       []Leg
	Travellers []uuid.UUID
	Intensity  syncproto.Intensity
}

// TripFromEvent builds a Trip from a trip.upserted payload.
func TripFromEvent(p *syncproto.TripUpserted) (Trip, error) {
	t := Trip{ID: p.TripID, Name: p.Name, Travellers: p.Travellers, Intensity: p.Intensity}
	for i, l := range p.Legs {
		from, err := syncproto.LoadZone(l.FromTZ)
		if err != nil {
			return Trip{}, fmt.Errorf("leg %d: %w", i+1, err)
		}
		to, err := syncproto.LoadZone(l.ToTZ)
		if err != nil {
			return Trip{}, fmt.Errorf("leg %d: %w", i+1, err)
		}
		t.Legs = append(t.Legs, Leg{Flight: l.Flight, From: l.From, To: l.To, FromTZ: from, ToTZ: to,
			FromAt: airportPlace(l.From), ToAt: airportPlace(l.To),
			Depart: l.Depart.In(from), Arrive: l.Arrive.In(to)})
	}
	return t, t.check()
}

// airportPlace is where the airport with IATA code is, or an unknown
// place.
func airportPlace(code string) Place {
	if a, ok := airports.Lookup(code); ok {
		return Place{Lat: a.Lat, Lon: a.Lon}
	}
	return Place{}
}

// Longest flight the planner accepts; the longest scheduled flights are
// under 19 h.
const maxFlight = 22 * time.Hour

// check reports what keeps the planner from using t.
func (t Trip) check() error {
	if len(t.Legs) == 0 {
		return errors.New("trip has no legs")
	}
	var errs []error
	for i, l := range t.Legs {
		if l.FromTZ == nil || l.ToTZ == nil {
			errs = append(errs, fmt.Errorf("leg %d: zones missing", i+1))
		}
		if d := l.Arrive.Sub(l.Depart); d <= 0 || d > maxFlight {
			errs = append(errs, fmt.Errorf("leg %d: a flight of %v is not possible", i+1, d))
		}
		if i > 0 && i < len(t.flown()) && l.Depart.Before(t.Legs[i-1].Arrive) {
			errs = append(errs, fmt.Errorf("leg %d departs before leg %d arrives", i+1, i))
		}
	}
	return errors.Join(errs...)
}

// ApplyFlightUpdate changes the trip by news about one of its legs: new
// times for a delay, departure or landing (a new departure alone moves the
// arrival with it); the new airport zone for a diversion; a cancelled leg
// is no longer flown, nor is a connection the delay makes impossible.
func (t *Trip) ApplyFlightUpdate(u *syncproto.FlightUpdated) error {
	if u.TripID != t.ID {
		return fmt.Errorf("flight update for trip %s applied to trip %s", u.TripID, t.ID)
	}
	if u.Leg < 1 || u.Leg > len(t.Legs) {
		return fmt.Errorf("flight update for leg %d of a trip of %d legs", u.Leg, len(t.Legs))
	}
	l := t.Legs[u.Leg-1]
	if u.Flight != "" && l.Flight != "" && u.Flight != l.Flight {
		return fmt.Errorf("flight update for %s, but leg %d is %s", u.Flight, u.Leg, l.Flight)
	}
	if !u.Depart.IsZero() {
		if u.Arrive.IsZero() {
			// A new departure alone moves the arrival with it.
			l.Arrive = l.Arrive.Add(u.Depart.Sub(l.Depart))
		}
		l.Depart = u.Depart.In(l.FromTZ)
	}
	if !u.Arrive.IsZero() {
		l.Arrive = u.Arrive.In(l.ToTZ)
	}
	switch u.Status {
	case syncproto.FlightCancelled:
		l.Cancelled = true
	case syncproto.FlightDiverted:
		if u.DivertedToTZ != "" {
			loc, err := syncproto.LoadZone(u.DivertedToTZ)
			if err != nil {
				return fmt.Errorf("flight update: %w", err)
			}
			l.ToTZ, l.To, l.ToAt = loc, u.DivertedTo, airportPlace(u.DivertedTo)
			l.Arrive = l.Arrive.In(loc)
		}
	}
	if d := l.Arrive.Sub(l.Depart); d <= 0 || d > maxFlight {
		return fmt.Errorf("flight update leaves leg %d a flight of %v", u.Leg, d)
	}
	t.Legs[u.Leg-1] = l
	// A delay that makes the next flight impossible to catch leaves that
	// flight unflown, like a cancellation, until the rebooking arrives.
	if u.Leg < len(t.Legs) && t.Legs[u.Leg].Depart.Before(l.Arrive.Add(minConnection)) {
		t.Legs[u.Leg].Cancelled = true
	}
	return nil
}

// minConnection is the shortest connection anyone can make.
const minConnection = 30 * time.Minute

// flown is the legs that will be flown: up to the first cancelled one.
func (t Trip) flown() []Leg {
	for i, l := range t.Legs {
		if l.Cancelled {
			return t.Legs[:i]
		}
	}
	return t.Legs
}

// offsetHours is loc's UTC offset at t, in hours.
func offsetHours(loc *time.Location, t time.Time) float64 {
	_, off := t.In(loc).Zone()
	return float64(off) / 3600
}
