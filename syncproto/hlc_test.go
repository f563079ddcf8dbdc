package syncproto

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeWall is a wall clock a test sets by hand.
type fakeWall struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeWall(t time.Time) *fakeWall { return &fakeWall{t: t} }

func (w *fakeWall) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t
}

func (w *fakeWall) Set(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t = t
}

func (w *fakeWall) Advance(d time.Duration) { w.Set(w.Now().Add(d)) }

var t0 = time.Date(2026, 11, 26, 1, 11, 0, 123_456_789, time.UTC)

func TestClockFollowsWall(t *testing.T) {
	w := newFakeWall(t0)
	c := NewClock(w.Now)
	if got, want := c.Now().String(), "2026-11-26T01:11:00.123Z-0000"; got != want {
		t.Errorf("first stamp = %s, want %s", got, want)
	}
	if got, want := c.Now().String(), "2026-11-26T01:11:00.123Z-0001"; got != want {
		t.Errorf("same millisecond = %s, want %s", got, want)
	}
	w.Advance(time.Second)
	if got, want := c.Now().String(), "2026-11-26T01:11:01.123Z-0000"; got != want {
		t.Errorf("after a second = %s, want %s", got, want)
	}
}

func TestClockMonotonicWhenWallJumpsBack(t *testing.T) {
	w := newFakeWall(t0)
	c := NewClock(w.Now)
	prev := c.Now()
	for _, jump := range []time.Duration{-time.Hour, 0, time.Millisecond, -24 * time.Hour, 30 * time.Minute} {
		w.Advance(jump)
		for range 3 {
			s := c.Now()
			if s.Compare(prev) <= 0 || s.String() <= prev.String() {
				t.Fatalf("after a jump of %v: stamp %s is not after %s", jump, s, prev)
			}
			prev = s
		}
	}
	// The wall clock is now 25.5 h behind where it was: stamps hold on to
	// the latest wall time seen and count up.
	if got := prev.Time(); !got.Equal(t0.Truncate(time.Millisecond)) {
		t.Errorf("stamps' wall part = %v, want the latest wall reading %v", got, t0)
	}
}

func TestClockLogicalOverflowBorrowsNextMillisecond(t *testing.T) {
	w := newFakeWall(t0)
	c := NewClock(w.Now)
	prev := c.Now()
	for i := range maxLogical + 5 {
		s := c.Now()
		if s.Compare(prev) <= 0 || s.String() <= prev.String() || !s.valid() {
			t.Fatalf("stamp %d: %s is not a valid stamp after %s", i, s, prev)
		}
		prev = s
	}
	if got, want := prev.String(), "2026-11-26T01:11:00.124Z-0004"; got != want {
		t.Errorf("after %d stamps in one millisecond: %s, want %s", maxLogical+6, got, want)
	}
}

func TestClockClampsWallToValidRange(t *testing.T) {
	// A travel router without a battery-backed clock boots in 1970.
	w := newFakeWall(time.Unix(0, 0))
	c := NewClock(w.Now)
	if s := c.Now(); !s.valid() || !s.Time().Equal(minTime) {
		t.Errorf("stamp from a 1970 wall clock = %s, want a valid stamp at %v", s, minTime)
	}
	w.Set(time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC))
	if s := c.Now(); !s.valid() {
		t.Errorf("stamp from a 2150 wall clock = %s, want a valid stamp", s)
	}
}

func TestClockObserveOrdersCausallyAcrossHubs(t *testing.T) {
	// Hub A's clock runs five minutes fast, B's is right. B sees A's edit,
	// then the user edits on B: B's edit must sort after A's so that
	// last-writer-wins keeps it.
	wa, wb := newFakeWall(t0.Add(5*time.Minute)), newFakeWall(t0)
	a, b := NewClock(wa.Now), NewClock(wb.Now)
	edit := a.Now()
	b.Observe(edit)
	reply := b.Now()
	if reply.Compare(edit) <= 0 || reply.String() <= edit.String() {
		t.Fatalf("B's later edit %s does not sort after A's %s", reply, edit)
	}
	// Observing an older stamp changes nothing.
	b.Observe(NewHLC(t0.Add(-time.Hour), 0))
	if next := b.Now(); next.Compare(reply) <= 0 {
		t.Errorf("stamp %s after observing an old stamp is not after %s", next, reply)
	}
	// Invalid stamps are ignored rather than poisoning the clock.
	b.Observe(HLC{wall: maxTime.UnixMilli() + 1})
	if s := b.Now(); !s.valid() {
		t.Errorf("stamp after observing an invalid one = %s, want valid", s)
	}
}

// TestClockCausalityRandomExchange runs hubs with skewed, jumping clocks
// that exchange stamps at random, and checks the HLC guarantee on every
// message: a stamp made after receiving another sorts after it.
// TestClockObserveFarFuture: a stamp far ahead of the wall clock (a
// device whose clock reads 2099) is adopted only up to MaxClockAhead, so
// later stamps stay near real time and a poisoned stamp cannot make every
// later edit of this clock win.
func TestClockObserveFarFuture(t *testing.T) {
	w := newFakeWall(t0)
	c := NewClock(w.Now)
	c.Observe(NewHLC(time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC), 0))
	got := c.Now()
	if ahead := got.Ahead(t0); ahead > MaxClockAhead || ahead <= 0 {
		t.Fatalf("after observing a 2099 stamp, Now is %s: %s ahead of the wall clock; want just over the %s limit", got, ahead, MaxClockAhead)
	}
	// A stamp within the limit is adopted whole.
	near := NewHLC(t0.Add(MaxClockAhead+time.Minute), 3)
	w.Advance(2 * time.Minute)
	c.Observe(near)
	if got := c.Now(); got.Compare(near) <= 0 {
		t.Fatalf("Now %s is not after the stamp %s, which is within the limit", got, near)
	}
}

func TestClockCausalityRandomExchange(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const hubs = 4
	walls := make([]*fakeWall, hubs)
	clocks := make([]*Clock, hubs)
	for i := range hubs {
		walls[i] = newFakeWall(t0.Add(time.Duration(r.IntN(120)-60) * time.Second)) // within MaxClockAhead of each other
		clocks[i] = NewClock(walls[i].Now)
	}
	for step := range 5000 {
		i, j := r.IntN(hubs), r.IntN(hubs)
		walls[i].Advance(time.Duration(r.IntN(2000)-200) * time.Millisecond) // sometimes backwards
		sent := clocks[i].Now()
		clocks[j].Observe(sent)
		if got := clocks[j].Now(); got.Compare(sent) <= 0 || got.String() <= sent.String() {
			t.Fatalf("step %d: hub %d stamped %s after receiving %s from hub %d", step, j, got, sent, i)
		}
	}
}

func TestClockConcurrentStampsAreUnique(t *testing.T) {
	c := NewClock(newFakeWall(t0).Now)
	const workers, each = 8, 500
	out := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				out[w] = append(out[w], c.Now().String())
			}
		})
	}
	wg.Wait()
	all := slices.Concat(out...)
	slices.Sort(all)
	if n := len(slices.Compact(all)); n != workers*each {
		t.Errorf("%d distinct stamps from %d calls", n, workers*each)
	}
}

func TestHLCTextOrderMatchesCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	span := maxTime.UnixMilli() - minTime.UnixMilli()
	stamp := func() HLC {
		// Mostly close together, so that equal walls and counters happen.
		if r.IntN(2) == 0 {
			return HLC{wall: t0.UnixMilli() + r.Int64N(3), logical: r.IntN(12)}
		}
		return HLC{wall: minTime.UnixMilli() + r.Int64N(span), logical: r.IntN(maxLogical + 1)}
	}
	for range 20000 {
		a, b := stamp(), stamp()
		if got, want := strings.Compare(a.String(), b.String()), a.Compare(b); got != want {
			t.Fatalf("text order of %s and %s is %d, Compare says %d", a, b, got, want)
		}
		back, err := ParseHLC(a.String())
		if err != nil || back != a {
			t.Fatalf("ParseHLC(%s) = %v, %v", a, back, err)
		}
	}
}

func TestParseHLCRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"2026-11-26T01:11:00.123Z",        // no counter
		"2026-11-26T01:11:00.123Z-001",    // short counter
		"2026-11-26T01:11:00.123Z-00001",  // long counter
		"2026-11-26T01:11:00.123Z+0001",   // wrong separator
		"2026-11-26T01:11:00Z-0001",       // no milliseconds
		"2026-11-26T01:11:00.123+01:00-0", // offset instead of Z
		"2026-02-30T01:11:00.123Z-0001",   // no such day
		"2026-11-26T01:11:00.123Z-00a1",   // letters in counter
		"1734674473509-0",                 // another system's format
	} {
		if h, err := ParseHLC(s); err == nil {
			t.Errorf("ParseHLC(%q) = %s, want an error", s, h)
		}
	}
}

// parseHLCWithTime is how ParseHLC read stamps with the time package: the
// reference for the hand-written reader.
func parseHLCWithTime(s string) (HLC, bool) {
	if len(s) != hlcLen || s[hlcLen-5] != '-' || !digits(s[hlcLen-4:]) {
		return HLC{}, false
	}
	t, err := time.Parse(hlcLayout, s[:hlcLen-5])
	if err != nil || t.Format(hlcLayout) != s[:hlcLen-5] {
		return HLC{}, false
	}
	n := 0
	for _, c := range s[hlcLen-4:] {
		n = n*10 + int(c-'0')
	}
	return HLC{wall: t.UnixMilli(), logical: n}, true
}

func TestParseHLCAgreesWithTimePackage(t *testing.T) {
	stamps := []string{
		"2026-11-26T01:11:00.123Z-0001", "2024-02-29T23:59:59.999Z-9999", "2023-02-29T00:00:00.000Z-0000",
		"2100-02-29T00:00:00.000Z-0000", "2000-02-29T00:00:00.000Z-0000", "0000-01-01T00:00:00.000Z-0000",
		"2026-00-10T00:00:00.000Z-0000", "2026-13-10T00:00:00.000Z-0000", "2026-04-31T00:00:00.000Z-0000",
		"2026-04-00T00:00:00.000Z-0000", "2026-04-30T24:00:00.000Z-0000", "2026-04-30T23:60:00.000Z-0000",
		"2026-04-30T23:59:60.000Z-0000", "2026-04-30 23:59:59.000Z-0000", "2026-04-30T23:59:59,000Z-0000",
		"2026-04-30T23:59:59.000z-0000", "2026-04-30T23:59:59.000Z+0000", "2026-04-30T23:59:59.00Z-00001",
		"+026-04-30T23:59:59.000Z-0000", "2026-04-30T23:59:59.000Z-00a0", "", "2026-11-26T01:11:00.123Z-001",
	}
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "0123456789-T:.Z+ z"
	for range 20000 { // valid stamps with one byte changed
		b := []byte(NewHLC(time.UnixMilli(r.Int64N(8e12)-1e12), r.IntN(10000)).String())
		b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
		stamps = append(stamps, string(b))
	}
	for _, s := range stamps {
		want, wantOK := parseHLCWithTime(s)
		got, err := ParseHLC(s)
		if (err == nil) != wantOK || got != want {
			t.Errorf("ParseHLC(%q) = %v, %v; the time package reads %v, %v", s, got, err, want, wantOK)
		}
	}
}

func TestHLCStringMatchesPrintf(t *testing.T) {
	for _, logical := range []int{-12345, -5, 0, 7, 42, 999, 1000, 9999, 10000, 123456} {
		for _, at := range []time.Time{t0, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)} {
			h := NewHLC(at, logical)
			want := fmt.Sprintf("%s-%04d", h.Time().Format(hlcLayout), logical)
			if got := h.String(); got != want {
				t.Errorf("NewHLC(%v, %d).String() = %q, want %q", at, logical, got, want)
			}
		}
	}
}
