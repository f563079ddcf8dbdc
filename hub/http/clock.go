package http

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/hub"
)

// ClockSource is what the hub learned of members' body clocks (see
// hub.Calibrator.Status).
type ClockSource interface {
	Status(member uuid.UUID) (mc hub.MemberClock, ok, updating bool)
}

// clockJSON is a member's body clock as the hub has learned it.
type clockJSON struct {
	MemberID uuid.UUID `json:"member_id"`
	// State is none, learning, phase or period (family.ClockNone…).
	State   string `json:"state"`
	Summary string `json:"summary"`
	// Updating is set while new nights are being learned from; plans
	// use the previous estimate meanwhile.
	Updating   bool                     `json:"updating"`
	Clock      *circadian.PersonalClock `json:"clock,omitempty"`
	ComputedAt *time.Time               `json:"computed_at,omitempty"`
}

// getMemberClock answers with what the hub learned of a member's body
// clock, in numbers and in words.
func (s *Server) getMemberClock(w http.ResponseWriter, r *http.Request) error {
	m, err := s.member(r)
	if err != nil {
		return err
	}
	out := clockJSON{MemberID: m.ID}
	if s.Clocks != nil {
		mc, ok, updating := s.Clocks.Status(m.ID)
		out.Updating = updating
		if ok {
			out.Clock, out.ComputedAt = &mc.Clock, &mc.ComputedAt
		}
	}
	name := "this person"
	if m.Data != nil && m.Data.DisplayName != "" {
		name = m.Data.DisplayName
	}
	out.State, out.Summary = family.ClockWords(name, out.Clock)
	writeJSON(w, http.StatusOK, out)
	return nil
}
