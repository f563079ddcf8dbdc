package cloud

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// RecommendationVersion is the schema version of Recommendation's JSON.
const RecommendationVersion = 1

// Recommendation is a member's current advice, as cached under
// RecommendationKey and served by the API.
type Recommendation struct {
	Version    int       `json:"version"`
	ComputedAt time.Time `json:"computed_at"`
	Family     uuid.UUID `json:"family_id"`
	Member     uuid.UUID `json:"member_id"`
	Name       string    `json:"name"`
	// BasedOn is the HLC of the newest event of the family the
	// recommendation was computed from.
	BasedOn string `json:"based_on"`
	// Trip is the trip the advice is for; absent between trips.
	Trip     *uuid.UUID `json:"trip_id,omitempty"`
	TripName string     `json:"trip_name,omitempty"`
	Modelled bool       `json:"modelled"`
	// Misalignment is the estimated body-clock misalignment today, hours.
	Misalignment *float64               `json:"misalignment_h,omitempty"`
	Adaptation   []circadian.Adaptation `json:"adaptation,omitempty"`
	// Now are the items under way at ComputedAt; Next the items of the
	// following 24 hours.
	Now  []circadian.Item `json:"now"`
	Next []circadian.Item `json:"next"`
	// Problem says why no plan could be made, when none could.
	Problem string `json:"problem,omitempty"`

	// items are the advice sent down to hubs; tz is the zone the member
	// is in at ComputedAt.
	items []syncproto.Advice
	tz    string
}

// FlightStatus is news about one flight from a flight-status provider, in
// Zoner's own terms.
type FlightStatus struct {
	// Source names where it came from ("zoner" for the documented form,
	// "flightaware" for FlightAware AeroAPI alerts); ID is the provider's
	// id of the message: with the news it carries, it makes the event
	// ids, so that repeats are dropped and corrections are not.
	Source string
	ID     string
	// Flight is the IATA flight number, like "BA286"; Date is the
	// scheduled departure date at the origin.
	Flight string
	Date   syncproto.Date
	Status syncproto.FlightStatus
	// Depart and Arrive are the new expected or actual instants; zero when
	// not known.
	Depart time.Time
	Arrive time.Time
	// DivertedTo and DivertedToTZ say where a diverted flight went.
	DivertedTo   string
	DivertedToTZ string
}

// FlightResult says what a flight status did.
type FlightResult struct {
	// Events are the flight.updated events made, one per matching trip
	// leg; a repeat of a message answers the same ids.
	Events []uuid.UUID `json:"events"`
	// Trips counts the trips that matched.
	Trips int `json:"trips"`
}

// FamilySummary is what a family's guardians see of the family in the
// cloud: members, trips, each member's recent days and current advice.
type FamilySummary struct {
	Family  uuid.UUID       `json:"family_id"`
	Name    string          `json:"name"`
	Events  int             `json:"events"`
	BasedOn string          `json:"based_on"`
	Members []MemberSummary `json:"members"`
	Trips   []TripSummary   `json:"trips"`
}

// MemberSummary is one member in a FamilySummary.
type MemberSummary struct {
	ID             uuid.UUID         `json:"id"`
	Name           string            `json:"name"`
	AgeBand        syncproto.AgeBand `json:"age_band,omitempty"`
	Days           []MemberDay       `json:"days"`
	Recommendation *Recommendation   `json:"recommendation,omitempty"`
}

// TripSummary is one trip in a FamilySummary.
type TripSummary struct {
	ID         uuid.UUID   `json:"id"`
	Name       string      `json:"name,omitempty"`
	Depart     time.Time   `json:"depart"`
	Arrive     time.Time   `json:"arrive"`
	From       string      `json:"from,omitempty"`
	To         string      `json:"to,omitempty"`
	Travellers []uuid.UUID `json:"travellers"`
}

// ErrorCode classifies an error a client can act on; the HTTP layer maps
// codes to status codes in one place.
type ErrorCode string

// The error codes.
const (
	CodeInvalid      ErrorCode = "invalid"
	CodeNotFound     ErrorCode = "not_found"
	CodeUnauthorized ErrorCode = "unauthorized"
	CodeForbidden    ErrorCode = "forbidden"
	CodeRateLimited  ErrorCode = "rate_limited"
	CodeUnavailable  ErrorCode = "unavailable"
)

// Error is an error with a code and a message that says what to fix.
type Error struct {
	Code    ErrorCode
	Message string
}

func (e *Error) Error() string { return e.Message }

// CodeOf returns err's code: its Error's, or "" for any other error.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
