package syncproto

import (
	"time"

	"github.com/google/uuid"
)

// CurrentVersion is the newest schema version this build reads and the one
// it writes. See the package documentation for how other versions are
// treated.
const CurrentVersion = 1

// MaxEnvelopeBytes is the largest encoded envelope Unmarshal accepts and
// Marshal produces.
const MaxEnvelopeBytes = 64 << 10

// The sane range for every instant in an envelope, 2000-01-01 (inclusive)
// to 2100-01-01 (exclusive): event times, leg times and HLC stamps.
// Validation never reads the clock, so that every hub agrees on what is
// valid; this fixed window is the guard against typos instead.
var (
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Type names what an event records and so which payload its data holds.
type Type string

// The event types of schema version 1.
const (
	TypeFamilyUpserted Type = "family.upserted"
	TypeMemberUpserted Type = "member.upserted"
	TypeMemberRemoved  Type = "member.removed"
	TypeTripUpserted   Type = "trip.upserted"
	TypeTripRemoved    Type = "trip.removed"
	TypeSleep          Type = "sleep"
	TypeMeal           Type = "meal"
	TypeLightExposure  Type = "light_exposure"
	TypeFlightUpdated  Type = "flight.updated"
	TypeLogRetracted   Type = "log.retracted"
	// TypeRecommendationUpdated is made by the cloud, not by people: the
	// cloud planner's current advice for a member, sent down to the hubs.
	TypeRecommendationUpdated Type = "recommendation.updated"
)

// Types lists every event type this build understands, in the order the
// reference document gives them.
func Types() []Type {
	return []Type{
		TypeFamilyUpserted, TypeMemberUpserted, TypeMemberRemoved,
		TypeTripUpserted, TypeTripRemoved,
		TypeSleep, TypeMeal, TypeLightExposure,
		TypeFlightUpdated, TypeLogRetracted,
		TypeRecommendationUpdated,
	}
}

// Header is everything in an envelope except its payload: enough to route,
// deduplicate and order an event without understanding it.
type Header struct {
	// ID is the event's UUIDv7, made where the event is born. It is the one
	// idempotency key everywhere: Nats-Msg-Id, Kafka header, warehouse key.
	ID uuid.UUID
	// FamilyID is the family the event belongs to.
	FamilyID uuid.UUID
	// MemberID is the person the event is about; uuid.Nil for family-level
	// events (family, trip and flight events).
	MemberID uuid.UUID
	// Origin names the hub or device that made the event, like
	// "hub:0193…" or "web:kitchen-ipad".
	Origin string
	Type   Type
	// Start is when the event happened or took effect, with the UTC offset
	// the author's device used.
	Start time.Time
	// End closes an interval (a sleep, a meal, a light exposure); the zero
	// time when the event has no end.
	End time.Time
	// TZ is the IANA zone where the event happened, like "Europe/London".
	TZ  string
	HLC HLC
	// V is the schema version the event was written in.
	V int
}

// Envelope is one event: the header and its typed payload.
type Envelope struct {
	Header
	// Data is the payload; its concrete type matches Type (a *Sleep for
	// TypeSleep, and so on).
	Data Payload
}

// NewID returns a fresh UUIDv7 for a new event: time-ordered, so ids sort
// roughly by creation and index well.
func NewID() uuid.UUID {
	// NewV7 fails only if the system's random source fails, which since Go
	// 1.24 crashes the program before it can return an error.
	return uuid.Must(uuid.NewV7())
}

// Duration is End − Start, or zero for an event without an end.
func (h Header) Duration() time.Duration {
	if h.End.IsZero() {
		return 0
	}
	return h.End.Sub(h.Start)
}

// Wins reports whether h takes precedence over o under last-writer-wins:
// the greater HLC, ties broken by the greater id. For any two distinct
// events exactly one wins, so every hub resolves a conflict the same way.
func (h Header) Wins(o Header) bool {
	if c := h.HLC.Compare(o.HLC); c != 0 {
		return c > 0
	}
	return h.ID.String() > o.ID.String()
}
