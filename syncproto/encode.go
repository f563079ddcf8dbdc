package syncproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// wire is the envelope's JSON form, in the canonical field order.
type wire struct {
	ID       uuid.UUID `json:"id"`
	FamilyID uuid.UUID `json:"family_id"`
	MemberID uuid.UUID `json:"member_id,omitzero"`
	Origin   string    `json:"origin"`
	Type     Type      `json:"type"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end,omitzero"`
	TZ       string    `json:"tz"`
	HLC      HLC       `json:"hlc"`
	V        int       `json:"v"`
	Data     Payload   `json:"data"`
}

// Marshal validates an envelope and encodes it in canonical form: fields in
// the order of the reference document, absent optional fields left out, no
// insignificant whitespace, times with the offsets they were given. Encoding
// what Unmarshal returned gives the same bytes every time.
func Marshal(e Envelope) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(wire{
		ID: e.ID, FamilyID: e.FamilyID, MemberID: e.MemberID, Origin: e.Origin,
		Type: e.Type, Start: e.Start, End: e.End, TZ: e.TZ, HLC: e.HLC, V: e.V,
		Data: e.Data,
	})
	if err != nil {
		// Validate accepted it, so this is a bug here, not the caller's.
		return nil, fmt.Errorf("syncproto: encode %s event: %w", e.Type, err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b) > MaxEnvelopeBytes {
		return nil, Errors{{Code: CodeTooLarge, Rule: fmt.Sprintf("envelope is %d bytes; the limit is %d", len(b), MaxEnvelopeBytes)}}
	}
	return b, nil
}
