package cloud

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// Family is one family's state as the cloud holds it: the family fold (the
// same rules a hub's store keeps, from package family) and when the
// family was last active. Apply is idempotent and order-independent, so
// events loaded from the warehouse and the same events again from Kafka
// fold to one state.
type Family struct {
	*family.State
	// LastActive is the Start of the newest logged fact, used to pick the
	// members worth re-planning every minute.
	LastActive time.Time
}

// The fold's records, by the names the cloud's code uses.
type (
	// TripState is one trip's winning upsert or tombstone.
	TripState = family.Trip
	// Fact is a logged fact.
	Fact = family.Fact
	// Rec is one recommendation.updated event.
	Rec = family.Advice
)

// NewFamily returns the empty state of family id.
func NewFamily(id uuid.UUID) *Family { return &Family{State: family.New(id)} }

// Change says what one applied event changed.
type Change struct {
	family.Change
	// New is false for an event already applied, or another family's.
	New bool
}

// Apply folds one valid event of the family into the state. Stamps more
// than family.StampHorizon past the cloud's clock lose to plausible ones,
// as on a hub, so one device with a wrong clock cannot freeze a member or
// a trip.
func (f *Family) Apply(e syncproto.Envelope) Change {
	f.State.Horizon = time.Now().Add(family.StampHorizon)
	c, isNew := f.State.Apply(e)
	if isNew {
		switch e.Type {
		case syncproto.TypeSleep, syncproto.TypeMeal, syncproto.TypeLightExposure:
			if e.Start.After(f.LastActive) {
				f.LastActive = e.Start
			}
		}
	}
	return Change{Change: c, New: isNew}
}

// Recs are a member's recommendation events, oldest first.
func (f *Family) Recs(member uuid.UUID) []Rec { return f.Advice(member) }

// CurrentTrip is the trip whose advice matters to member id at now: the
// trip under way (from a week before its first flight to two weeks after
// its last landing), else the next one, else nil.
func (f *Family) CurrentTrip(id uuid.UUID, now time.Time) *TripState {
	var next *TripState
	for _, t := range f.TripsOf(id) {
		legs := t.Data.Legs
		from := legs[0].Depart.Add(-7 * 24 * time.Hour)
		to := legs[len(legs)-1].Arrive.Add(14 * 24 * time.Hour)
		if !now.Before(from) && now.Before(to) {
			return t
		}
		if now.Before(from) && next == nil {
			next = t
		}
	}
	return next
}

// Request builds the planner's request for trip t at now, by the family
// fold's rules: the trip with the flight news that applies to it, every
// live member the planner can plan, and the travellers' logs that count.
func (f *Family) Request(t *TripState, now time.Time) (circadian.Request, error) {
	in := f.Inputs(t)
	if in == nil {
		return circadian.Request{}, errors.New("trip " + t.ID.String() + " is removed")
	}
	if in.Problem != "" {
		return circadian.Request{}, errors.New(in.Problem)
	}
	return in.Request(now), nil
}
