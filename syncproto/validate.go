package syncproto

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Bounds on sizes, besides MaxEnvelopeBytes.
const (
	MaxOriginLen  = 64 // bytes
	MaxNameLen    = 64 // characters, for display names, family and trip names
	MaxLegs       = 16
	MaxTravellers = 32
	MaxNaps       = 8
	MaxLux        = 150_000 // brighter than direct sunlight at noon
)

// Validate checks an envelope against every rule of the contract, the
// same rules Unmarshal applies. Producers call it (Marshal does) so that
// nothing invalid is ever written.
func (e Envelope) Validate() error {
	var p problems
	e.validate(&p)
	return p.err()
}

func (e Envelope) validate(p *problems) {
	e.Header.validate(p)
	if e.V > CurrentVersion {
		p.add(CodeUnsupportedVersion, "v", "version %d is newer than this build writes (up to %d)", e.V, CurrentVersion)
	}
	if e.Type == "" {
		return // reported with the header; the payload's rules need a type
	}
	if newPayload(e.Type) == nil {
		unknownType(p, e.Type)
		return
	}
	switch {
	case e.Data == nil:
		p.invalid("data", "required")
	case e.Data.Type() != e.Type:
		p.invalid("data", "holds a %s payload but type is %s", e.Data.Type(), e.Type)
	default:
		e.Data.validate(p, &e.Header)
	}
}

// validate applies the rules every header obeys, whatever its type.
func (h Header) validate(p *problems) {
	switch {
	case h.ID == uuid.Nil:
		p.invalid("id", "required")
	case h.ID.Version() != 7 || h.ID.Variant() != uuid.RFC4122:
		p.invalid("id", "must be a UUIDv7 (version 7, RFC 9562 variant); this is version %d", h.ID.Version())
	}
	if h.FamilyID == uuid.Nil {
		p.invalid("family_id", "required")
	}
	origin(p, h.Origin)
	if h.Type == "" {
		p.invalid("type", "required")
	}
	instant(p, "start", h.Start, true)
	if !h.End.IsZero() && instant(p, "end", h.End, false) && !h.Start.IsZero() && !h.End.After(h.Start) {
		p.invalid("end", "must be after start")
	}
	zone(p, "tz", h.TZ, true)
	switch {
	case h.HLC.IsZero():
		p.invalid("hlc", "required")
	case !h.HLC.valid():
		p.invalid("hlc", "must lie between %s and %s", minTime.Format(time.DateOnly), maxTime.Format(time.DateOnly))
	}
	if h.V < 1 {
		if h.V == 0 {
			p.invalid("v", "required: the schema version, %d", CurrentVersion)
		} else {
			p.invalid("v", "must be 1 or more")
		}
	}
}

// The envelope rules that depend on the type: whether an event is about a
// member, and whether and how long it may span.

func needMember(p *problems, h *Header) {
	if h.MemberID == uuid.Nil {
		p.invalid("member_id", "required for %s events", h.Type)
	}
}

func noMember(p *problems, h *Header) {
	if h.MemberID != uuid.Nil {
		p.invalid("member_id", "must be empty: %s events belong to the family", h.Type)
	}
}

func noEnd(p *problems, h *Header) {
	if !h.End.IsZero() {
		p.invalid("end", "not allowed for %s events", h.Type)
	}
}

// span checks an interval event: end required or optional, and at most
// limit long.
func span(p *problems, h *Header, required bool, limit time.Duration, what string) {
	if h.End.IsZero() {
		if required {
			p.invalid("end", "required for %s events", h.Type)
		}
		return
	}
	if !inRange(h.Start) || !inRange(h.End) {
		return // already reported by the header's rules
	}
	if d := h.Duration(); d > limit {
		p.invalid("end", "%s lasts at most %s; this one lasts %s", what, hours(limit), hours(d))
	}
}

func supersedes(p *problems, h *Header, id uuid.UUID) {
	if id != uuid.Nil && id == h.ID {
		p.invalid("data.supersedes", "must be an earlier event, not this one")
	}
}

// instant checks that a time is set (if required) and in the sane range.
func instant(p *problems, path string, t time.Time, required bool) bool {
	if t.IsZero() {
		if required {
			p.invalid(path, "required")
		}
		return false
	}
	if !inRange(t) {
		p.invalid(path, "must lie between %s and %s", minTime.Format(time.DateOnly), maxTime.Format(time.DateOnly))
		return false
	}
	return true
}

func inRange(t time.Time) bool { return !t.Before(minTime) && t.Before(maxTime) }

func zone(p *problems, path, name string, required bool) {
	switch {
	case name == "":
		if required {
			p.invalid(path, "required: an IANA time zone like Europe/London")
		}
	case !ValidZone(name):
		p.invalid(path, "unknown time zone %s; use an IANA name like America/New_York", quote(name))
	}
}

func origin(p *problems, s string) {
	if s == "" {
		p.invalid("origin", "required: the hub or device that made the event")
		return
	}
	if len(s) > MaxOriginLen {
		p.invalid("origin", "at most %d bytes", MaxOriginLen)
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:-", c) >= 0) {
			p.invalid("origin", "may hold only letters, digits and . _ : -")
			return
		}
	}
}

// visible reports whether s holds a character that shows: one that is not
// a space or separator (Unicode Z*), a control or format character (Cc,
// Cf: U+FEFF, the zero-width space and joiners), a mark with nothing to
// sit on (Mn, Me), or a filler that draws nothing (the Hangul fillers,
// the blank Braille pattern).
func visible(s string) bool {
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Z, unicode.Cc, unicode.Cf, unicode.Mn, unicode.Me):
		case r == '\u115f' || r == '\u1160' || r == '\u3164' || r == '\uffa0' || r == '\u2800':
		default:
			return true
		}
	}
	return false
}

// text checks a human-written string: not blank, bounded, printable.
func text(p *problems, path, s string, required bool) {
	if !visible(s) {
		switch {
		case s != "":
			p.invalid(path, "must not be blank: it needs a visible character")
		case required:
			p.invalid(path, "required")
		}
		return
	}
	if n := utf8.RuneCountInString(s); n > MaxNameLen {
		p.invalid(path, "at most %d characters; this is %d", MaxNameLen, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
			p.invalid(path, "must not contain control characters (found %U)", r)
			return
		}
	}
}

// oneOf checks an enumerated value.
func oneOf[T ~string](p *problems, path string, v T, required bool, allowed ...T) {
	if v == "" {
		if required {
			p.invalid(path, "required: one of %s", enumList(allowed))
		}
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	p.invalid(path, "must be one of %s, not %s", enumList(allowed), quote(string(v)))
}

func enumList[T ~string](vs []T) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}

// airport checks an IATA airport code.
func airport(p *problems, path, code string) {
	if code != "" && !ValidAirport(code) {
		p.invalid(path, "must be a three-letter IATA airport code in capitals, like LHR")
	}
}

// ValidAirport reports whether code is an IATA airport code in capitals,
// like LHR.
func ValidAirport(code string) bool { return len(code) == 3 && upper(code) }

// flightNumber checks a flight number (ValidFlight).
func flightNumber(p *problems, path, s string) {
	if s != "" && !ValidFlight(s) {
		p.invalid(path, "must be a flight number like BA286 or UAL901: airline code, then 1–4 digits, no spaces")
	}
}

// ValidFlight reports whether s is an IATA or ICAO flight number in
// capitals without spaces: a two-character airline designator (letters
// and digits, not both digits) or a three-letter one, then 1 to 4 digits,
// then an optional letter.
func ValidFlight(s string) bool {
	for _, n := range []int{2, 3} {
		if len(s) <= n {
			continue
		}
		airline, rest := s[:n], s[n:]
		if n == 2 && !(alnumUpper(airline) && !digits(airline)) || n == 3 && !upper(airline) {
			continue
		}
		if last := rest[len(rest)-1]; last >= 'A' && last <= 'Z' {
			rest = rest[:len(rest)-1]
		}
		if len(rest) >= 1 && len(rest) <= 4 && digits(rest) {
			return true
		}
	}
	return false
}

func upper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return s != ""
}

func alnumUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return s != ""
}

// hours formats a duration for a message: "24 h", "6 h 30 min".
func hours(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case m == 0:
		return fmt.Sprintf("%d h", h)
	case h == 0:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}
