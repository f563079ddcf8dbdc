package family

import (
	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// The records below are a family's state as the hub's API and the cloud's
// reads for the web UI both answer it, so that one UI reads either.

// FamilyRecord is the household's settings.
type FamilyRecord struct {
	ID     uuid.UUID `json:"id"`
	Name   string    `json:"name"`
	HomeTZ string    `json:"home_tz"`
	HLC    string    `json:"hlc"`
}

// MemberRecord is one person as last upserted. A removed member keeps its
// record as a tombstone with Removed set, so an older upsert cannot
// revive it.
type MemberRecord struct {
	ID      uuid.UUID                 `json:"id"`
	Data    *syncproto.MemberUpserted `json:"data"`
	HLC     string                    `json:"hlc"`
	Removed bool                      `json:"removed,omitempty"`
}

// TripRecord is one trip as last upserted, with the flight updates that
// apply to that version (those stamped after it), oldest first.
type TripRecord struct {
	ID      uuid.UUID                  `json:"id"`
	Data    *syncproto.TripUpserted    `json:"data"`
	HLC     string                     `json:"hlc"`
	Removed bool                       `json:"removed,omitempty"`
	Updates []*syncproto.FlightUpdated `json:"flight_updates,omitempty"`
}
