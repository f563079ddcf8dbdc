package family

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
)

// Inputs is what the planner needs for one trip.
type Inputs struct {
	Trip   circadian.Trip
	People []circadian.Person
	Logs   map[uuid.UUID][]circadian.Log
	// Problem, when set, is why the trip cannot be planned (its flights
	// do not make a journey); every traveller's plan is this error.
	Problem string
	// Notes say what was left out and why: a flight update that no longer
	// fits the trip, a member the planner cannot plan.
	Notes []string
	// CloudNews are the applied flight updates the cloud's flight feed
	// made, so that a screen can say the plan took them into account.
	CloudNews []FlightUpdate
}

// BuildInputs assembles the planner's inputs for trip t: the trip with the
// flight updates that apply to it (of updates, any order), the members the
// planner can plan (of members, the live ones), and each traveller's
// logged facts that count, from logs. It returns nil for a trip that is
// not live.
func BuildInputs(t *Trip, updates []FlightUpdate, members []Member, logs func(member uuid.UUID) ([]circadian.Log, error)) (*Inputs, error) {
	if !t.Live() {
		return nil, nil
	}
	in := &Inputs{Logs: map[uuid.UUID][]circadian.Log{}}
	trip, err := circadian.TripFromEvent(t.Data)
	if err != nil {
		in.Trip = circadian.Trip{ID: t.ID, Travellers: t.Data.Travellers}
		in.Problem = "the trip's flights do not make a journey: " + err.Error()
		return in, nil
	}
	for _, u := range Applicable(t, updates) {
		if err := trip.ApplyFlightUpdate(u.Data); err != nil {
			in.Notes = append(in.Notes, fmt.Sprintf("flight update %s for leg %d does not fit the trip: %v", u.Stamp.ID, u.Data.Leg, err))
			continue
		}
		if isCloud(u.Origin) {
			in.CloudNews = append(in.CloudNews, u)
		}
	}
	in.Trip = trip
	live := slices.Clone(members)
	slices.SortFunc(live, func(a, b Member) int { return slices.Compare(a.ID[:], b.ID[:]) })
	for _, m := range live {
		if !m.Live() {
			continue
		}
		p, err := circadian.PersonFromMember(m.ID, m.Data)
		if err != nil {
			in.Notes = append(in.Notes, fmt.Sprintf("member %s cannot be planned: %v", m.ID, err))
			continue
		}
		in.People = append(in.People, p)
	}
	for _, id := range trip.Travellers {
		if in.Logs[id], err = logs(id); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// isCloud reports whether an event's origin is the cloud ("cloud:…").
func isCloud(origin string) bool { return strings.HasPrefix(origin, "cloud:") }

// Request is the planner's request from the inputs at now.
func (in *Inputs) Request(now time.Time) circadian.Request {
	return circadian.Request{Trip: in.Trip, People: in.People, Logs: in.Logs, Now: now}
}
