// Package hub is the family hub's domain: the events it keeps, the state it
// folds them into, the write path that admits events, the projector that
// applies them, and the re-planner that keeps every traveller's plan
// current. Its subpackages implement the interfaces declared here against
// one dependency each (sqlite, natsjs, http); cmd/zoner-hub wires them.
package hub

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// Event is one event as the hub holds it: the bytes exactly as received,
// their header, and the event's place in the log.
type Event struct {
	// Seq is the event's sequence in the log; 0 before it is appended.
	Seq uint64
	// Header is set on the write path, where the log routes by it. Events
	// read back from the log carry only Seq and Raw: the store decodes
	// them itself.
	Header syncproto.Header
	Raw    []byte
	// FromCloud marks an event that came down from the cloud, so that
	// the uplink does not send it back.
	FromCloud bool
	// Lost marks a sequence the log no longer holds, whose loss the owner
	// accepted: the store records it as ignored, with LostReason, so that
	// applying moves past it.
	Lost bool
}

// LostReason is why a lost event is not applied.
const LostReason = "lost from the damaged event log; its owner accepted the loss"

// Appended is what the log says about one appended event.
type Appended struct {
	Seq uint64
	// Duplicate is set when the log already held an event with this id:
	// nothing new was stored and Seq is the original's.
	Duplicate bool
}

// Log is the durable event log. Append returns only once every event is
// durably stored (or was already there), in order.
type Log interface {
	Append(ctx context.Context, events []Event) ([]Appended, error)
	// LastSeq is the sequence of the newest event in the log, 0 when empty.
	LastSeq(ctx context.Context) (uint64, error)
}

// Feed delivers the log's events in order to the projector.
type Feed interface {
	// Next waits for events after the last batch and returns up to max of
	// them. ack acknowledges the whole batch once it has been applied.
	Next(ctx context.Context, max int) (batch []Event, ack func() error, err error)
	// Reset drops whatever was delivered and not acknowledged, and makes
	// the next batch start at seq start.
	Reset(ctx context.Context, start uint64) error
}

// Family is the household's settings, Member one person as last upserted
// (a removed member stays as a tombstone, so an older upsert cannot revive
// it) and Trip one trip with the flight updates that apply to it: the
// records package family defines for the hub's API and the cloud's reads.
type (
	Family = family.FamilyRecord
	Member = family.MemberRecord
	Trip   = family.TripRecord
)

// Fact is a logged sleep, meal or light exposure: enough to check what a
// correction or retraction points at.
type Fact struct {
	ID       uuid.UUID
	MemberID uuid.UUID
	Type     syncproto.Type
}

// LoggedFact is a logged sleep, meal or light exposure that counts (see
// family.LoggedFact).
type LoggedFact = family.LoggedFact

// StoredPlan is one traveller's plan for one trip as last computed (see
// family.StoredPlan).
type StoredPlan = family.StoredPlan

// PlanInputs is everything the planner needs for one trip, as the family
// fold builds it, and the log sequence it reflects.
type PlanInputs struct {
	family.Inputs
	Seq uint64
}

// EventStatus is what the projector did with an event.
type EventStatus string

// The event statuses.
const (
	// StatusApplied: folded into the state.
	StatusApplied EventStatus = "applied"
	// StatusUnsupported: written in a newer schema version than this build
	// reads; kept, and applied after an upgrade.
	StatusUnsupported EventStatus = "unsupported"
	// StatusIgnored: kept in the log but not applied (another family's
	// event, a repeated id, or one that fails validation); Reason says why.
	StatusIgnored EventStatus = "ignored"
)

// StoredEvent is an event as the events listing shows it.
type StoredEvent struct {
	Seq    uint64          `json:"seq"`
	ID     uuid.UUID       `json:"id"`
	Type   syncproto.Type  `json:"type"`
	Member *uuid.UUID      `json:"member_id,omitempty"`
	HLC    string          `json:"hlc"`
	V      int             `json:"v"`
	Status EventStatus     `json:"status"`
	Reason string          `json:"reason,omitempty"`
	Event  json.RawMessage `json:"event"`
}

// EventQuery selects a page of the events listing.
type EventQuery struct {
	After  uint64 // only events with a greater sequence
	Limit  int
	Member uuid.UUID // uuid.Nil for all
	Type   syncproto.Type
}

// Changes is what one applied batch touched, for the re-planner.
type Changes struct {
	Members map[uuid.UUID]bool // members whose record changed
	// Logs are the members whose logged facts changed (logged, corrected
	// or retracted), with the logs that began or stopped counting: a plan
	// whose log window holds none of them stays as it is.
	Logs   map[uuid.UUID][]circadian.Log
	Trips  map[uuid.UUID]bool // trips that changed (upserted, removed, flight news)
	Family bool
	// Advice are the members with new advice from the cloud: Today
	// changes, plans do not.
	Advice map[uuid.UUID]bool
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Members) == 0 && len(c.Logs) == 0 && len(c.Trips) == 0 && !c.Family && len(c.Advice) == 0
}

// Store is the hub's state: the fold of the log, kept in a database.
type Store interface {
	// Apply folds a batch of events in log order, idempotently: events at
	// or below AppliedSeq are skipped. It records the batch's last
	// sequence in the same transaction.
	Apply(ctx context.Context, events []Event) (Changes, error)
	AppliedSeq(ctx context.Context) (uint64, error)
	// MaxHLC is the greatest stamp of any stored event.
	MaxHLC(ctx context.Context) (syncproto.HLC, error)

	Family(ctx context.Context) (*Family, error) // nil, nil before setup
	Members(ctx context.Context) ([]Member, error)
	Member(ctx context.Context, id uuid.UUID) (*Member, error) // nil, nil when unknown
	Trips(ctx context.Context) ([]Trip, error)
	Trip(ctx context.Context, id uuid.UUID) (*Trip, error)
	Fact(ctx context.Context, id uuid.UUID) (*Fact, error)
	// EventSeq finds an event by id.
	EventSeq(ctx context.Context, id uuid.UUID) (seq uint64, ok bool, err error)
	// Unsupported counts the events kept unapplied because they are of a
	// newer schema version than this build reads.
	Unsupported(ctx context.Context) (int, error)
	Events(ctx context.Context, q EventQuery) ([]StoredEvent, error)

	// TripsOf lists the live trips a member travels on.
	TripsOf(ctx context.Context, member uuid.UUID) ([]uuid.UUID, error)
	PlanInputs(ctx context.Context, trip uuid.UUID) (*PlanInputs, error)
	SavePlans(ctx context.Context, plans []StoredPlan) error
	// DeletePlans drops the plans of trips or members that are gone.
	DeletePlans(ctx context.Context, trip uuid.UUID, member uuid.UUID) error
	Plans(ctx context.Context, trip uuid.UUID, member uuid.UUID) ([]StoredPlan, error)

	// Logged lists a member's logged facts that count and began at or
	// after since, newest first.
	Logged(ctx context.Context, member uuid.UUID, since time.Time) ([]LoggedFact, error)

	// Advice is a member's newest advice from the cloud, nil for none.
	Advice(ctx context.Context, member uuid.UUID) (*family.Advice, error)
	// NewsHLC is the greatest stamp of the applied events other than the
	// cloud's advice: the newest news the hub's plans can reflect.
	NewsHLC(ctx context.Context) (syncproto.HLC, error)
}
