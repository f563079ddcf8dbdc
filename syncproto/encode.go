package syncproto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
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
	b, ok := appendHeader(make([]byte, 0, 512), &e.Header)
	if !ok {
		return marshalWire(e)
	}
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e.Data); err != nil {
		return marshalWire(e) // it says what went wrong
	}
	b = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	b = append(b, '}')
	return checkSize(b)
}

// appendHeader appends the envelope's opening brace, its header fields and
// the data member's name, as encoding/json writes them from wire. It
// reports false when a value is one it does not write by hand (a string
// that needs escaping, a time MarshalJSON refuses): marshalWire then says
// what encoding/json makes of it.
func appendHeader(b []byte, h *Header) ([]byte, bool) {
	ok := true
	b = append(b, `{"id":`...)
	b = appendID(b, h.ID)
	b = append(b, `,"family_id":`...)
	b = appendID(b, h.FamilyID)
	if h.MemberID != uuid.Nil {
		b = append(b, `,"member_id":`...)
		b = appendID(b, h.MemberID)
	}
	b = append(b, `,"origin":`...)
	b, ok = appendPlain(b, h.Origin, ok)
	b = append(b, `,"type":`...)
	b, ok = appendPlain(b, string(h.Type), ok)
	b = append(b, `,"start":`...)
	b, ok = appendTime(b, h.Start, ok)
	if !h.End.IsZero() {
		b = append(b, `,"end":`...)
		b, ok = appendTime(b, h.End, ok)
	}
	b = append(b, `,"tz":`...)
	b, ok = appendPlain(b, h.TZ, ok)
	b = append(b, `,"hlc":"`...)
	b = h.HLC.appendText(b)
	b = append(b, `","v":`...)
	b = strconv.AppendInt(b, int64(h.V), 10)
	b = append(b, `,"data":`...)
	return b, ok
}

// appendID appends a UUID as a JSON string in canonical form.
func appendID(b []byte, id uuid.UUID) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i, c := range id {
		switch i {
		case 4, 6, 8, 10:
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0x0f])
	}
	return append(b, '"')
}

// appendPlain appends s as a JSON string if it needs no escaping, and
// reports false otherwise.
func appendPlain(b []byte, s string, ok bool) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), ok
}

// appendTime appends t as time.Time's MarshalJSON writes it, and reports
// false if MarshalJSON would refuse it.
func appendTime(b []byte, t time.Time, ok bool) ([]byte, bool) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return b, false
	}
	return append(b, '"'), ok
}

// marshalWire encodes a valid envelope with encoding/json from wire.
func marshalWire(e Envelope) ([]byte, error) {
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
	return checkSize(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func checkSize(b []byte) ([]byte, error) {
	if len(b) > MaxEnvelopeBytes {
		return nil, Errors{{Code: CodeTooLarge, Rule: fmt.Sprintf("envelope is %d bytes; the limit is %d", len(b), MaxEnvelopeBytes)}}
	}
	return b, nil
}
