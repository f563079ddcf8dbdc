package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// MaxBatch is the most events one write may carry.
const MaxBatch = 500

// Bounds on events of a newer schema version than this build reads. The
// hub can check only their envelope, and keeps them unapplied until it is
// upgraded, so it keeps few and small ones: 16 KiB is three times the
// largest event of version 1 in practice (a trip of 16 legs and 32
// travellers, 64 items of advice), and a thousand is more than a family
// writes in weeks.
const (
	MaxNewerVersionBytes = 16 << 10
	MaxUnsupported       = 1000
)

// ConflictRule is the rule a re-sent id with different content breaks.
const ConflictRule = "an event with this id and different content is already stored; make a new id for a new event"

// NotStoredMessage is the message of a write the event log failed to take.
// A retry is safe: an event already stored is never stored twice.
const NotStoredMessage = "the hub could not store the events; retry (a retry never stores an event twice)"

// StorageFullMessage is the message of a write refused for want of disk
// space.
const StorageFullMessage = "the hub's disk is full: none of the events were stored; retry once its owner has freed some space"

// appendErr is the answer to a write the log did not take.
func appendErr(err error, msg string) *Error {
	if errors.Is(err, ErrStorageFull) {
		return &Error{Code: CodeStorageFull, Message: StorageFullMessage, Err: fmt.Errorf("append to the event log: %w", err)}
	}
	return &Error{Code: CodeUnavailable, Message: msg, Err: fmt.Errorf("append to the event log: %w", err)}
}

// checkApplied refuses to acknowledge an append whose new events got
// sequences the state has applied already (the log lost its end under
// the state): they would never be applied. applied is the projector's
// position before the append.
func (w *Writer) checkApplied(acks []Appended, applied uint64) error {
	for _, a := range acks {
		if !a.Duplicate && a.Seq <= applied {
			w.applied.SetFault([]SeqRange{{a.Seq, applied}})
			return w.applied.Fault()
		}
	}
	return nil
}

// Written is the answer for one written event. A retried write of the same
// id gets the same answer and stores nothing new.
type Written struct {
	ID  uuid.UUID `json:"id"`
	Seq uint64    `json:"seq"`
	// Applied is false for an event of a newer schema version than this
	// hub reads: it is kept in the log, not yet applied.
	Applied bool `json:"applied"`
}

// Writer admits events: it validates them with syncproto, checks that what
// they refer to exists, appends them to the log and answers once they are
// durable. Writes are serialised so that each one is checked against the
// state that includes every earlier write.
type Writer struct {
	log     Log
	store   Store
	applied *Projector
	clock   *syncproto.Clock
	metrics *Metrics

	mu      sync.Mutex
	family  uuid.UUID // uuid.Nil until the family is set up
	linked  uuid.UUID // the family of the cloud credentials, if any
	lastSeq uint64    // the newest sequence this writer appended
}

// NewWriter returns a writer. The family is read from the store, so call
// it after the projector has caught up.
func NewWriter(ctx context.Context, log Log, store Store, p *Projector, clock *syncproto.Clock, m *Metrics) (*Writer, error) {
	w := &Writer{log: log, store: store, applied: p, clock: clock, metrics: m}
	f, err := store.Family(ctx)
	if err != nil {
		return nil, fmt.Errorf("read family: %w", err)
	}
	if f != nil {
		w.family = f.ID
	}
	if w.lastSeq, err = log.LastSeq(ctx); err != nil {
		return nil, fmt.Errorf("read log position: %w", err)
	}
	return w, nil
}

// LinkTo makes the writer refuse to set up any family but the one the
// hub syncs with the cloud as.
func (w *Writer) LinkTo(family uuid.UUID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.linked = family
}

// FamilyID is the hub's family, uuid.Nil before setup.
func (w *Writer) FamilyID() uuid.UUID {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.family
}

// Write admits a batch of encoded events, all or none: if any event is
// refused nothing is appended and the *Error lists every problem. With
// setup set the batch must create the family and the hub must have none.
func (w *Writer) Write(ctx context.Context, raws [][]byte, setup bool) ([]Written, error) {
	if len(raws) == 0 {
		return nil, w.reject(&Error{Code: CodeInvalid, Message: "no events: send one event or a JSON array of them"})
	}
	if len(raws) > MaxBatch {
		return nil, w.reject(&Error{Code: CodeTooLarge, Message: fmt.Sprintf("%d events in one request; at most %d", len(raws), MaxBatch)})
	}
	batch := make([]pending, len(raws))
	var problems []Problem
	for i, raw := range raws {
		batch[i].raw = raw
		e, err := syncproto.Unmarshal(raw)
		if err == nil {
			batch[i].env, batch[i].ok = e, true
			continue
		}
		// An event of a newer version is kept, not applied: the header is
		// all this build can check.
		if h, herr := syncproto.DecodeHeader(raw); herr == nil && h.V > syncproto.CurrentVersion {
			batch[i].env.Header = h
			if len(raw) > MaxNewerVersionBytes {
				problems = append(problems, Problem{Index: i, Code: syncproto.CodeTooLarge, Rule: fmt.Sprintf(
					"an event of schema version %d, newer than this hub reads, is %d bytes; the hub keeps such events only up to %d bytes", h.V, len(raw), MaxNewerVersionBytes)})
			}
			continue
		}
		problems = append(problems, problemsOf(i, err)...)
	}
	if len(problems) > 0 {
		return nil, w.reject(&Error{Code: CodeInvalid, Message: "events refused; none were stored", Problems: problems})
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.applied.WaitApplied(ctx, w.lastSeq); err != nil {
		return nil, err
	}
	out := make([]Written, len(batch))
	var fresh []Event
	var freshAt []int
	var conflicts []Problem
	inBatch := map[uuid.UUID]int{}
	for i := range batch {
		b := &batch[i]
		out[i] = Written{ID: b.env.ID, Applied: b.ok}
		if j, ok := inBatch[b.env.ID]; ok {
			if !sameEvent(batch[j].raw, b.raw) {
				conflicts = append(conflicts, Problem{Index: i, Code: syncproto.CodeInvalid, Path: "id", Rule: ConflictRule})
			}
			b.known = batch[j].known // the log stores it once
		} else {
			inBatch[b.env.ID] = i
		}
		seq, known, err := w.store.EventSeq(ctx, b.env.ID)
		if err != nil {
			return nil, fmt.Errorf("look up event: %w", err)
		}
		if known {
			same, err := w.sameAsStored(ctx, seq, b.raw)
			if err != nil {
				return nil, err
			}
			if !same {
				conflicts = append(conflicts, Problem{Index: i, Code: syncproto.CodeInvalid, Path: "id", Rule: ConflictRule})
			}
			out[i].Seq = seq // a retry: same answer, nothing new
			b.known = true
			continue
		}
		fresh = append(fresh, Event{Header: b.env.Header, Raw: b.raw})
		freshAt = append(freshAt, i)
	}
	if len(conflicts) > 0 {
		return nil, w.reject(&Error{Code: CodeConflict, Message: "events refused; none were stored: an id was sent before with different content", Problems: conflicts})
	}
	if err := w.check(ctx, batch, setup); err != nil {
		return nil, w.reject(err)
	}
	if len(fresh) == 0 {
		return out, nil
	}
	if f := w.applied.Fault(); f != nil {
		return nil, f
	}
	applied := w.applied.Applied()
	acks, err := w.log.Append(ctx, fresh)
	if err != nil {
		return nil, appendErr(err, NotStoredMessage)
	}
	if err := w.checkApplied(acks, applied); err != nil {
		return nil, err
	}
	for j, a := range acks {
		i := freshAt[j]
		out[i].Seq = a.Seq
		w.lastSeq = max(w.lastSeq, a.Seq)
		w.clock.Observe(batch[i].env.HLC)
		if !a.Duplicate {
			w.metrics.Accepted(batch[i].env.Type)
		}
		if batch[i].env.Type == syncproto.TypeFamilyUpserted && w.family == uuid.Nil {
			w.family = batch[i].env.FamilyID
		}
	}
	// The events are durable; answer once they are applied too, so that a
	// read right after the write sees them. Should applying stall, the
	// answer still goes out (the next write waits instead).
	w.applied.WaitApplied(ctx, w.lastSeq)
	return out, nil
}

// sameAsStored reports whether raw is the event stored at seq: the same
// event, whatever its spelling.
func (w *Writer) sameAsStored(ctx context.Context, seq uint64, raw []byte) (bool, error) {
	stored, err := w.store.Events(ctx, EventQuery{After: seq - 1, Limit: 1})
	if err != nil {
		return false, fmt.Errorf("read stored event: %w", err)
	}
	if len(stored) == 0 || stored[0].Seq != seq {
		return false, fmt.Errorf("read stored event: no event at %d", seq)
	}
	return sameEvent(stored[0].Event, raw), nil
}

// sameEvent reports whether two encodings hold the same event: the same
// canonical form (syncproto.Marshal) for events this build reads, the same
// JSON without whitespace for those of a newer version.
func sameEvent(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ea, errA := syncproto.Unmarshal(a)
	eb, errB := syncproto.Unmarshal(b)
	if errA == nil && errB == nil {
		ca, errA := syncproto.Marshal(ea)
		cb, errB := syncproto.Marshal(eb)
		return errA == nil && errB == nil && bytes.Equal(ca, cb)
	}
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

func (w *Writer) reject(err error) error {
	var e *Error
	if errors.As(err, &e) {
		if len(e.Problems) == 0 {
			w.metrics.Rejected(string(e.Code))
		}
		for _, p := range e.Problems {
			w.metrics.Rejected(string(p.Code))
		}
	}
	return err
}

type pending struct {
	raw   []byte
	env   syncproto.Envelope
	ok    bool // decoded and validated in full (not a newer version)
	known bool // already in the log
}

// Receive admits events that came down from the cloud for family. Each is
// validated as on the write path but not checked against this hub's state:
// the hub that made it checked it against its own, and hubs converge only
// if each keeps every event of the family (the fold settles conflicts by
// HLC). An event that is invalid or of another family is left out, and
// its reason returned; the rest are appended, marked as from the cloud so
// the uplink does not send them back. It returns how many were new.
func (w *Writer) Receive(ctx context.Context, raws [][]byte, family uuid.UUID) (int, []string, error) {
	var refused []string
	var batch []Event
	for _, raw := range raws {
		e, err := syncproto.Unmarshal(raw)
		if err != nil {
			h, herr := syncproto.DecodeHeader(raw)
			if herr != nil || h.V <= syncproto.CurrentVersion {
				refused = append(refused, err.Error())
				w.metrics.Rejected("cloud_" + string(syncproto.CodeInvalid))
				continue
			}
			e.Header = h // a newer version: kept, applied after an upgrade
		}
		if e.FamilyID != family {
			refused = append(refused, "event "+e.ID.String()+" is of family "+e.FamilyID.String()+", not "+family.String())
			w.metrics.Rejected("cloud_other_family")
			continue
		}
		batch = append(batch, Event{Header: e.Header, Raw: raw, FromCloud: true})
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.family != uuid.Nil && w.family != family {
		return 0, refused, &Error{Code: CodeConflict, Message: "this hub belongs to family " + w.family.String() + " but its cloud credentials are for family " + family.String()}
	}
	if err := w.applied.WaitApplied(ctx, w.lastSeq); err != nil {
		return 0, refused, err
	}
	var fresh []Event
	seen := map[uuid.UUID]bool{}
	for _, e := range batch {
		if seen[e.Header.ID] {
			continue
		}
		seen[e.Header.ID] = true
		_, known, err := w.store.EventSeq(ctx, e.Header.ID)
		if err != nil {
			return 0, refused, fmt.Errorf("look up event: %w", err)
		}
		if !known {
			fresh = append(fresh, e)
		}
	}
	if len(fresh) == 0 {
		return 0, refused, nil
	}
	if f := w.applied.Fault(); f != nil {
		return 0, refused, f
	}
	applied := w.applied.Applied()
	acks, err := w.log.Append(ctx, fresh)
	if err != nil {
		return 0, refused, appendErr(err, "the hub could not store the cloud's events; it will retry")
	}
	if err := w.checkApplied(acks, applied); err != nil {
		return 0, refused, err
	}
	n := 0
	for j, a := range acks {
		w.lastSeq = max(w.lastSeq, a.Seq)
		w.clock.Observe(fresh[j].Header.HLC)
		if !a.Duplicate {
			n++
			w.metrics.Received(fresh[j].Header.Type)
		}
		if fresh[j].Header.Type == syncproto.TypeFamilyUpserted && w.family == uuid.Nil {
			w.family = family
		}
	}
	w.applied.WaitApplied(ctx, w.lastSeq)
	return n, refused, nil
}
