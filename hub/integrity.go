package hub

import (
	"errors"
	"fmt"
	"strings"
)

// ErrStorageFull marks a write the log refused because the disk (or the
// log's own limit) has no room for it. Nothing of the batch was stored.
var ErrStorageFull = errors.New("no room left to store events")

// SeqRange is an inclusive range of log sequences.
type SeqRange struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

func (r SeqRange) String() string {
	if r.From == r.To {
		return fmt.Sprint(r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

// Len is how many sequences the range holds.
func (r SeqRange) Len() uint64 { return r.To - r.From + 1 }

// LogState is what the log says of itself: its first and last sequence,
// how many messages it holds, and the sequences between first and last
// it no longer holds.
type LogState struct {
	First, Last, Msgs uint64
	Deleted           []uint64
}

// Integrity compares the state database with the log it is a projection
// of. The log's sequences run from 1 without holes (the hub never deletes
// an event), so anything else is damage.
type Integrity struct {
	Log     LogState
	Applied uint64
	// Accepted is the sequence up to which the owner accepted the loss of
	// what the log lacks (zoner-hub rebuild -accept-loss): missing
	// sequences at or below it are not reported again.
	Accepted uint64
}

// Missing lists the sequences the log lacks, oldest first: those before
// its first (a lost start), the holes within it, and those the state
// applied beyond its last (a lost end). Ranges at or below Accepted are
// left out.
func (in Integrity) Missing() []SeqRange {
	var out []SeqRange
	add := func(from, to uint64) {
		from = max(from, in.Accepted+1)
		if from > to {
			return
		}
		if n := len(out); n > 0 && out[n-1].To+1 >= from {
			out[n-1].To = max(out[n-1].To, to)
			return
		}
		out = append(out, SeqRange{from, to})
	}
	l := in.Log
	if l.Msgs == 0 {
		// An empty log holds nothing up to its last sequence.
		add(1, l.Last)
	} else {
		add(1, l.First-1)
		for _, d := range l.Deleted {
			add(d, d)
		}
		// Holes the server counted but did not list: the span is short
		// of messages.
		if span := l.Last - l.First + 1; span > l.Msgs && uint64(len(l.Deleted)) < span-l.Msgs {
			add(l.First, l.Last)
		}
	}
	add(l.Last+1, in.Applied)
	return out
}

// Ahead reports whether the state applied events the log no longer holds
// at its end: a new event would get a sequence the state already used.
func (in Integrity) Ahead() bool { return in.Applied > in.Log.Last }

// FormatRanges is ranges as "3-7, 12".
func FormatRanges(rs []SeqRange) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// CountRanges is how many sequences ranges hold.
func CountRanges(rs []SeqRange) uint64 {
	var n uint64
	for _, r := range rs {
		n += r.Len()
	}
	return n
}

// DamageError is the hub's answer while its log is damaged: writes are
// refused until the owner acts.
func DamageError(missing []SeqRange) *Error {
	return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("the hub's event log is damaged (it lacks events %s): the hub takes no writes until its owner runs `zoner-hub rebuild -accept-loss`", FormatRanges(missing))}
}
