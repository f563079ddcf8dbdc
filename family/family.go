// Package family folds a family's events into its state: the household,
// its members, its trips with their flight news, the sleep, meals and
// light each person logged with their corrections and retractions, and
// the cloud's latest advice. It is the one statement of those rules: the
// hub keeps what the fold decides in its database, the cloud folds in
// memory with State, and both build the planner's inputs with Inputs.
//
// The rules, also written for client authors in docs/events.md:
//
//   - Upserts and removals of the family, a member or a trip are
//     last-writer-wins by stamp: the greater HLC, ties broken by the greater
//     event id. A removal leaves a tombstone, so an older upsert cannot
//     bring the member or trip back; a newer one does.
//   - A flight update applies to the version of its trip it was stamped
//     after: a newer trip.upserted restates the flights and makes earlier
//     news history. Updates apply oldest first.
//   - A logged fact (sleep, meal, light exposure) counts unless it was
//     retracted, or it has a correction that was not retracted (a
//     correction is a fact of the same member and type naming it in
//     supersedes), or it is a correction that lost to a newer correction of
//     the same entry. So retracting a correction brings back what it
//     corrected, and two devices correcting one entry at once leave one
//     answer.
//   - A retraction or correction from another member, or a correction of
//     another type, changes nothing.
//   - A member's advice is the newest recommendation.updated for them.
//
// The fold depends only on which events it has seen, not on their order:
// the same events in any order, any number of times, give the same state.
// No I/O, no clock.
package family

import (
	"bytes"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// Stamp orders the versions of one thing: an event's HLC and, for ties,
// its id.
type Stamp struct {
	HLC syncproto.HLC
	ID  uuid.UUID
}

// StampOf is the stamp of the event with header h.
func StampOf(h syncproto.Header) Stamp { return Stamp{HLC: h.HLC, ID: h.ID} }

// After reports whether s is the later of two stamps: the greater HLC,
// ties broken by the greater id. Of two distinct stamps exactly one is
// after the other.
func (s Stamp) After(o Stamp) bool {
	if c := s.HLC.Compare(o.HLC); c != 0 {
		return c > 0
	}
	return bytes.Compare(s.ID[:], o.ID[:]) > 0
}

// StampHorizon is how far past a reader's clock a stamp may lie and still
// compete normally in last-writer-wins. A stamp beyond it (an edit from a
// device whose clock read 2099) is implausible: it ranks below every
// plausible version of the same thing, so the next ordinary edit replaces
// it. Hubs refuse stamps more than syncproto.MaxClockAhead ahead, so only
// events written before that rule, or by a hub whose clock is a day off,
// can be implausible; a day keeps hubs whose clocks disagree by minutes
// or hours from ranking each other's edits differently.
const StampHorizon = 24 * time.Hour

// Replaces reports whether version s of a family, member or trip replaces
// version o in last-writer-wins, for a reader whose plausible stamps end at
// horizon (the reader's clock plus StampHorizon; the zero time: every stamp
// is plausible). A plausible stamp replaces an implausible one; otherwise
// the greater stamp does. For one horizon this is a total order, so the
// winner does not depend on the order the versions arrive in.
func (s Stamp) Replaces(o Stamp, horizon time.Time) bool {
	if !horizon.IsZero() {
		if sp, op := !s.HLC.Time().After(horizon), !o.HLC.Time().After(horizon); sp != op {
			return sp
		}
	}
	return s.After(o)
}

// IsZero reports whether the stamp is unset.
func (s Stamp) IsZero() bool { return s.ID == uuid.Nil }

// Household is the family's own record, from its newest family.upserted.
type Household struct {
	ID     uuid.UUID
	Name   string
	HomeTZ string
	Stamp  Stamp
}

// Member is one person as last upserted, or a tombstone (Removed, no
// data: which upsert came before a removal depends on arrival order).
type Member struct {
	ID      uuid.UUID
	Data    *syncproto.MemberUpserted
	Removed bool
	Stamp   Stamp
}

// Live reports whether the member exists and is not removed.
func (m *Member) Live() bool { return m != nil && !m.Removed && m.Data != nil }

// Trip is one trip as last upserted, or a tombstone.
type Trip struct {
	ID      uuid.UUID
	Data    *syncproto.TripUpserted
	Removed bool
	Stamp   Stamp
}

// Live reports whether the trip exists, is not removed, and has flights.
func (t *Trip) Live() bool { return t != nil && !t.Removed && t.Data != nil }

// FlightUpdate is one flight.updated event.
type FlightUpdate struct {
	Trip  uuid.UUID
	Stamp Stamp
	// Origin is who made the news: "cloud:…" for the cloud's flight feed,
	// otherwise a device of the family.
	Origin string
	Data   *syncproto.FlightUpdated
}

// Fact is one logged sleep, meal or light exposure, and whether it counts
// now (see the package comment).
type Fact struct {
	ID         uuid.UUID
	Member     uuid.UUID
	Type       syncproto.Type
	Stamp      Stamp
	TZ         string
	Log        circadian.Log
	Supersedes uuid.UUID // the entry it corrects, uuid.Nil for none
	Counts     bool
}

// Retraction is one log.retracted event: Member withdrew Target.
type Retraction struct {
	ID     uuid.UUID
	Member uuid.UUID
	Target uuid.UUID
}

// Advice is one recommendation.updated event for Member, computed at
// Start in zone TZ.
type Advice struct {
	Member uuid.UUID
	Stamp  Stamp
	Start  time.Time
	TZ     string
	Data   *syncproto.RecommendationUpdated
}

// Change says what one event changed.
type Change struct {
	// Ignored says why the event was not applied: another family's event,
	// or a type the fold does not know. Empty when it was applied.
	Ignored string
	// Household is set when the family's own record changed.
	Household bool
	// Members are the members whose record, logged facts or advice
	// changed; Trip is the trip that changed (its record or its flight
	// news), uuid.Nil for none.
	Members []uuid.UUID
	Trip    uuid.UUID
	// Advice is set for a member's new advice (in Members).
	Advice bool
	// Critical marks a change that calls for a re-plan at once rather than
	// at the next round: a sleep logged, a log retracted, flight news, a
	// trip or member changed.
	Critical bool
	// Logged is set for a logged fact or a retraction: only the member's
	// logs changed, and Logs are those that began or stopped counting
	// (none when the event changed no count). A plan whose
	// circadian.LogWindow holds none of them is unchanged.
	Logged bool
	Logs   []circadian.Log
}

// Store is where the fold keeps a family's state. Apply reads and writes
// only through it; an implementation may hold the state in memory (State)
// or in a database inside one transaction.
type Store interface {
	// Household is nil before the family's first family.upserted.
	Household() (*Household, error)
	PutHousehold(Household) error
	Member(id uuid.UUID) (*Member, error) // nil when unknown
	PutMember(Member) error
	Trip(id uuid.UUID) (*Trip, error) // nil when unknown
	PutTrip(Trip) error
	AddFlightUpdate(FlightUpdate) error
	Fact(id uuid.UUID) (*Fact, error) // nil when unknown
	// PutFact stores a new fact or replaces a known one (its Counts).
	PutFact(Fact) error
	// Corrections are the facts whose Supersedes is target, of any member
	// and type.
	Corrections(target uuid.UUID) ([]Fact, error)
	AddRetraction(Retraction) error
	// Retractions are the retractions of target, by any member.
	Retractions(target uuid.UUID) ([]Retraction, error)
	// AddAdvice keeps a recommendation; a store may keep only each
	// member's newest.
	AddAdvice(Advice) error
}

// Applicable are the updates that apply to trip t's current version,
// oldest first: those stamped after it.
func Applicable(t *Trip, updates []FlightUpdate) []FlightUpdate {
	var out []FlightUpdate
	for _, u := range updates {
		if u.Trip == t.ID && u.Stamp.After(t.Stamp) {
			out = append(out, u)
		}
	}
	sortUpdates(out)
	return out
}

// CurrentAdvice is the newest of a member's advice, nil for none.
func CurrentAdvice(advice []Advice) *Advice {
	var best *Advice
	for i := range advice {
		if best == nil || advice[i].Stamp.After(best.Stamp) {
			best = &advice[i]
		}
	}
	return best
}
