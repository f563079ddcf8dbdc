package syncproto

import (
	"cmp"
	"fmt"
	"sync"
	"time"
)

// HLC is a hybrid logical clock stamp: a wall-clock instant in milliseconds
// and a logical counter that orders events within one millisecond and
// carries causality across hubs whose clocks disagree.
//
// Its text form, "2026-11-26T01:11:00.123Z-0001", is fixed-width, so stamps
// sort as strings exactly as Compare orders them. Ties between events with
// equal stamps break on the event id.
type HLC struct {
	wall    int64 // Unix milliseconds
	logical int   // 0..maxLogical
}

const (
	hlcLayout  = "2006-01-02T15:04:05.000Z"
	hlcLen     = len(hlcLayout) + 5 // "-0001"
	maxLogical = 9999
	// hlcShape is the text form with every digit written 0.
	hlcShape = "0000-00-00T00:00:00.000Z-0000"
)

// NewHLC returns the stamp at wall-clock instant t (truncated to the
// millisecond) with logical counter logical. Out-of-range values give a
// stamp that fails validation.
func NewHLC(t time.Time, logical int) HLC {
	return HLC{wall: t.UnixMilli(), logical: logical}
}

// ParseHLC reads a stamp in its text form.
func ParseHLC(s string) (HLC, error) { return parseHLC(s) }

// parseHLC is ParseHLC for text held as a string or as bytes. It reads the
// fixed-width form by hand: every field zero-padded, a real date, a time of
// day up to 23:59:59.999, milliseconds and a four-digit counter.
func parseHLC[T string | []byte](s T) (HLC, error) {
	if len(s) != hlcLen {
		return HLC{}, badHLC(string(s))
	}
	for i := range hlcLen {
		if c := hlcShape[i]; c == '0' && (s[i] < '0' || s[i] > '9') || c != '0' && s[i] != c {
			return HLC{}, badHLC(string(s))
		}
	}
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, ms := num(11, 13), num(14, 16), num(17, 19), num(20, 23)
	if month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return HLC{}, badHLC(string(s))
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ms*int(time.Millisecond), time.UTC)
	return HLC{wall: t.UnixMilli(), logical: num(25, 29)}, nil
}

// daysIn is the number of days in month of year, leap years as the
// proleptic Gregorian calendar has them.
func daysIn(month time.Month, year int) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func badHLC(s string) error {
	return fmt.Errorf("%q is not a clock stamp like 2026-11-26T01:11:00.123Z-0001", s)
}

// Time is the stamp's wall-clock part.
func (h HLC) Time() time.Time { return time.UnixMilli(h.wall).UTC() }

// Logical is the stamp's logical counter.
func (h HLC) Logical() int { return h.logical }

// IsZero reports whether the stamp is unset.
func (h HLC) IsZero() bool { return h == HLC{} }

// Compare returns -1, 0 or +1 as h is before, equal to or after o.
func (h HLC) Compare(o HLC) int {
	if c := cmp.Compare(h.wall, o.wall); c != 0 {
		return c
	}
	return cmp.Compare(h.logical, o.logical)
}

// String formats the stamp in its sortable text form.
func (h HLC) String() string {
	return string(h.appendText(make([]byte, 0, hlcLen)))
}

// appendText appends the sortable text form.
func (h HLC) appendText(b []byte) []byte {
	b = h.Time().AppendFormat(b, hlcLayout)
	b = append(b, '-')
	if n := h.logical; n >= 0 && n <= maxLogical {
		return append(b, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
	}
	return fmt.Appendf(b, "%04d", h.logical)
}

// MarshalText writes the sortable text form.
func (h HLC) MarshalText() ([]byte, error) {
	if !h.valid() {
		return nil, fmt.Errorf("clock stamp out of range")
	}
	return h.appendText(make([]byte, 0, hlcLen)), nil
}

// UnmarshalText reads the sortable text form.
func (h *HLC) UnmarshalText(b []byte) error {
	v, err := ParseHLC(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

func (h HLC) valid() bool {
	return h.wall >= minTime.UnixMilli() && h.wall < maxTime.UnixMilli() &&
		h.logical >= 0 && h.logical <= maxLogical
}

// next is the smallest stamp after h.
func (h HLC) next() HLC {
	if h.logical < maxLogical {
		return HLC{wall: h.wall, logical: h.logical + 1}
	}
	// Ten thousand stamps in one millisecond: borrow the next millisecond.
	// Order is kept; the stamp runs at most a little ahead of the wall.
	return HLC{wall: h.wall + 1}
}

// MaxClockAhead is how far ahead of a receiver's wall clock a stamp may
// be. A hub refuses an event stamped further ahead, and a Clock never
// adopts more of a stamp than that: one event from a device whose clock
// reads 2099 would otherwise make every later stamp, on every device that
// saw it, sort after every honest edit, and last-writer-wins would keep
// the wrong edit for good. Five minutes is the tolerance Kerberos has used
// for decades between machines that keep their own time: far more than
// the drift of a clock set by the network, far less than the time
// between two edits a person would expect to be ordered.
const MaxClockAhead = 5 * time.Minute

// Clock issues HLC stamps. It is safe for concurrent use.
//
// Stamps from Now strictly increase, even when the wall clock jumps
// backwards, and every stamp issued after Observe(s) is after s as long
// as s is at most MaxClockAhead ahead of the local wall clock: an edit
// made on a hub after it saw another hub's edit sorts after it, so
// last-writer-wins picks the edit the user made last.
//
// Observe adopts a stamp only up to MaxClockAhead ahead of the local wall
// clock. Adopting a stamp from a device whose clock is wrong by years
// would make every later stamp of this clock wrong by years too, and so
// every edit made here would win over edits made later elsewhere. The
// cost falls on a device whose own wall clock is behind (one without a
// battery-backed clock that boots in the past): its stamps lag, so its
// edits lose to others until its clock is set. Keeping correct time is
// what makes last-writer-wins pick the last edit; the hub refuses events
// stamped too far ahead and says what its clock reads, so a wrong clock
// shows at once.
// The wall clock is read clamped to 2000-01-01 … 2099-12-31 so that every
// stamp is valid.
//
// A Clock remembers only what it saw since it was made: a process that
// restarts must Observe the greatest stamp in its log before issuing new
// ones, or a wall clock set back while it was down would let new stamps
// sort before old ones.
type Clock struct {
	wall func() time.Time

	mu   sync.Mutex
	last HLC
}

// NewClock returns a clock that reads the wall clock from wall; nil means
// time.Now.
func NewClock(wall func() time.Time) *Clock {
	if wall == nil {
		wall = time.Now
	}
	return &Clock{wall: wall}
}

// Wall is the wall clock, read as Now reads it: clamped to the range
// every stamp must lie in.
func (c *Clock) Wall() time.Time {
	w := c.wall()
	if w.Before(minTime) {
		w = minTime
	}
	if ceiling := maxTime.Add(-24 * time.Hour); w.After(ceiling) {
		w = ceiling
	}
	return w
}

// Now returns a stamp after every stamp this clock has issued or observed.
func (c *Clock) Now() HLC {
	ms := c.Wall().UnixMilli()

	c.mu.Lock()
	defer c.mu.Unlock()
	if ms > c.last.wall {
		c.last = HLC{wall: ms}
	} else {
		c.last = c.last.next()
	}
	return c.last
}

// Observe records a stamp seen on an event from elsewhere, so that every
// later stamp from Now sorts after it. A stamp more than MaxClockAhead
// ahead of the wall clock counts only as the stamp at that limit, and
// invalid stamps are ignored.
func (c *Clock) Observe(remote HLC) {
	if !remote.valid() {
		return
	}
	if limit := (HLC{wall: c.Wall().Add(MaxClockAhead).UnixMilli()}); remote.Compare(limit) > 0 {
		remote = limit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if remote.Compare(c.last) > 0 {
		c.last = remote
	}
}

// Ahead is how far the stamp's instant is ahead of now; zero or negative
// when it is not ahead.
func (h HLC) Ahead(now time.Time) time.Duration {
	return time.Duration(h.wall-now.UnixMilli()) * time.Millisecond
}
