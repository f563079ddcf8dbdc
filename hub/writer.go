package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

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
// durable. Concurrent writes share rounds (group commit): the writes that
// arrive while a round runs make the next one, which checks each of them
// in arrival order against the state and the writes accepted before it,
// appends what it accepted in one atomic append and waits for it to be
// applied once. So each write is checked against every earlier write.
type Writer struct {
	log     Log
	store   Store
	applied *Projector
	clock   *syncproto.Clock
	metrics *Metrics

	mu      sync.Mutex // held by a round, and by Receive
	family  uuid.UUID  // uuid.Nil until the family is set up
	linked  uuid.UUID  // the family of the cloud credentials, if any
	lastSeq uint64     // the newest sequence this writer appended

	inFlight int        // rounds appended and not yet answered
	idle     *sync.Cond // on mu: signalled when a round in flight is answered
	carry    *carried   // what the rounds in flight accepted; nil when none

	qmu      sync.Mutex
	queue    []*request // writes waiting for the next round
	draining bool       // a goroutine runs rounds until the queue is empty
}

// NewWriter returns a writer. The family is read from the store, so call
// it after the projector has caught up.
func NewWriter(ctx context.Context, log Log, store Store, p *Projector, clock *syncproto.Clock, m *Metrics) (*Writer, error) {
	w := &Writer{log: log, store: store, applied: p, clock: clock, metrics: m}
	w.idle = sync.NewCond(&w.mu)
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
	r, err := w.newRequest(ctx, raws, setup)
	if err != nil {
		return nil, w.reject(err)
	}
	if setup {
		// Setting up decides the hub's family: a round of its own.
		w.round([]*request{r})
	} else {
		w.enqueue(r)
	}
	return w.await(r)
}

// newRequest validates raws with syncproto: a request for a round, or
// the *Error that lists every problem.
func (w *Writer) newRequest(ctx context.Context, raws [][]byte, setup bool) (*request, error) {
	if len(raws) == 0 {
		return nil, &Error{Code: CodeInvalid, Message: "no events: send one event or a JSON array of them"}
	}
	if len(raws) > MaxBatch {
		return nil, &Error{Code: CodeTooLarge, Message: fmt.Sprintf("%d events in one request; at most %d", len(raws), MaxBatch)}
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
		return nil, &Error{Code: CodeInvalid, Message: "events refused; none were stored", Problems: problems}
	}
	return &request{ctx: ctx, batch: batch, setup: setup, done: make(chan struct{})}, nil
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
	// The cloud's events are not checked, so what the rounds in flight
	// carry would not know them: let those finish first.
	for w.inFlight > 0 {
		w.idle.Wait()
	}
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
	w.applied.Appending()
	acks, err := w.log.Append(ctx, fresh)
	w.applied.Appended(stored(fresh, acks, err))
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

// MaxRound is the most events one round of group commit appends: what one
// atomic batch of the log may hold (JetStream takes at most 1000 messages
// in an atomic batch). A request carries at most MaxBatch, so a round
// always has room for one.
const MaxRound = 1000

// request is one Write waiting for its round.
type request struct {
	ctx   context.Context
	batch []pending
	setup bool

	// The answer, set by the round before done is closed.
	out     []Written
	err     error
	refused bool // err is a refusal of the request's events, counted as such
	done    chan struct{}

	// at is, for each event, its index in the round's appended events, or
	// -1 when out holds its sequence already (it was stored before).
	at []int
	// flight, when set, is the round in flight the request must wait for:
	// until the projector has applied seq.
	flight *flight
	seq    uint64
}

func (r *request) answer(out []Written, err error, refused bool) {
	r.out, r.err, r.refused = out, err, refused
	close(r.done)
}

// enqueue queues r for the next round, and starts running rounds if
// none run.
func (w *Writer) enqueue(r *request) {
	w.qmu.Lock()
	w.queue = append(w.queue, r)
	start := !w.draining
	w.draining = true
	w.qmu.Unlock()
	if start {
		go w.drain()
	}
}

// drain runs rounds while requests queue: each round takes every request
// that arrived while the last one ran, up to MaxRound events.
func (w *Writer) drain() {
	for {
		w.qmu.Lock()
		n, events := 0, 0
		for n < len(w.queue) && (n == 0 || events+len(w.queue[n].batch) <= MaxRound) {
			events += len(w.queue[n].batch)
			n++
		}
		if n == 0 {
			w.draining = false
			w.qmu.Unlock()
			return
		}
		reqs := w.queue[:n:n]
		w.queue = append([]*request(nil), w.queue[n:]...)
		w.qmu.Unlock()
		w.round(reqs)
	}
}

// MaxInFlight is how many rounds may be appended and not yet answered:
// while the projector applies one, the next is checked and appended, and
// the projector applies what they appended together.
const MaxInFlight = 4

// maxCarried bounds what the writer remembers of rounds in flight (ids of
// events appended and maybe not applied): past it, the next round waits
// until every round in flight is answered, and starts afresh.
const maxCarried = 16 * MaxRound

// carried is what the rounds in flight accepted: the checker's knowledge
// of the state including them, and their events' ids. It stands in for
// the state until the projector has applied them.
type carried struct {
	c      *refChecker
	family uuid.UUID             // the hub's family, as of the rounds accepted so far
	ids    map[uuid.UUID]roundID // the ids of the accepted requests' events
}

// roundState is what a round has accepted so far, on top of what the
// rounds in flight carry.
type roundState struct {
	*carried
	fresh  []Event     // the events to append, in arrival order
	groups [][]Event   // fresh, by request
	added  []uuid.UUID // ids this round added to ids
}

// roundID is an event of an accepted request of the round or of a round
// in flight.
type roundID struct {
	raw   []byte
	fresh int    // its index in its round's fresh, or -1 once its seq is known
	seq   uint64 // its sequence, once known
}

// round checks the requests and appends their events together, then
// answers each once the projector has applied them. Each request is
// checked in arrival order against the state, the rounds in flight and the
// requests accepted before it in the round; a refused request gets its
// own answer and changes nothing for the others. The accepted requests'
// new events are appended in one go, and answered only once applied, so
// that a read right after a write sees it.
func (w *Writer) round(reqs []*request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// The round goes on for the others should one client leave; the
	// waits below are bounded.
	ctx := context.WithoutCancel(reqs[0].ctx)
	for w.inFlight >= MaxInFlight || w.inFlight > 0 && w.carry != nil && len(w.carry.ids) > maxCarried {
		w.idle.Wait()
	}
	live := reqs[:0:0]
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			r.answer(nil, err, false)
			continue
		}
		live = append(live, r)
	}
	failAll := func(err error) {
		for _, r := range live {
			r.answer(nil, err, false)
		}
	}
	if len(live) == 0 {
		return
	}
	if w.inFlight == 0 {
		// Nothing in flight: check against the state itself, once it
		// holds every appended event.
		w.carry = nil
		if err := w.applied.WaitApplied(ctx, w.lastSeq); err != nil {
			failAll(err)
			return
		}
	}
	if w.carry == nil {
		w.carry = &carried{c: newRefChecker(ctx, w.store), family: w.family, ids: map[uuid.UUID]roundID{}}
	}
	st := &roundState{carried: w.carry}
	family := st.family
	mark := st.c.mark()
	accepted := live[:0:0]
	for _, r := range live {
		out, err := w.admit(ctx, st, r)
		if err != nil {
			_, refused := errors.AsType[*Error](err)
			r.answer(nil, err, refused)
			continue
		}
		r.out = out
		accepted = append(accepted, r)
	}
	live = accepted
	undo := func() {
		st.c.rollback(mark)
		st.family = family
		for _, id := range st.added {
			delete(st.ids, id)
		}
	}
	if len(st.fresh) == 0 {
		st.c.commit()
		w.answer(live, nil)
		return
	}
	if f := w.applied.Fault(); f != nil {
		undo()
		failAll(f)
		return
	}
	applied := w.applied.Applied()
	w.applied.Appending()
	acks, err := w.append(ctx, st)
	w.applied.Appended(stored(st.fresh, acks, err))
	if err == nil && len(acks) != len(st.fresh) {
		err = &Error{Code: CodeUnavailable, Message: NotStoredMessage,
			Err: fmt.Errorf("append to the event log: %d acknowledgements for %d events", len(acks), len(st.fresh))}
	} else if err != nil {
		err = appendErr(err, NotStoredMessage)
	} else {
		err = w.checkApplied(acks, applied)
	}
	if err != nil {
		undo()
		failAll(err)
		return
	}
	st.c.commit()
	for j, a := range acks {
		e := st.fresh[j].Header
		w.lastSeq = max(w.lastSeq, a.Seq)
		w.clock.Observe(e.HLC)
		if !a.Duplicate {
			w.metrics.Accepted(e.Type)
		}
		if e.Type == syncproto.TypeFamilyUpserted && w.family == uuid.Nil {
			w.family = e.FamilyID
		}
	}
	for _, id := range st.added {
		if e := st.ids[id]; e.fresh >= 0 {
			st.ids[id] = roundID{raw: e.raw, fresh: -1, seq: acks[e.fresh].Seq}
		}
	}
	for _, r := range live {
		for i, at := range r.at {
			if at >= 0 {
				r.out[i].Seq = acks[at].Seq
			}
		}
	}
	w.answer(live, acks)
}

// answer answers the accepted requests of a round. When nothing is in
// flight and nothing was appended, the answer is final; otherwise the
// round is in flight, and each request waits for the projector in await
// while the next round goes on. Call it with w.mu held.
func (w *Writer) answer(reqs []*request, acks []Appended) {
	if len(reqs) == 0 || len(acks) == 0 && w.inFlight == 0 {
		for _, r := range reqs {
			r.answer(r.out, nil, false)
		}
		return
	}
	f := &flight{}
	f.waiting.Store(int32(len(reqs)))
	w.inFlight++
	for _, r := range reqs {
		r.seq, r.flight = w.lastSeq, f
		r.answer(r.out, nil, false)
	}
}

// flight is a round in flight: appended, its requests not all answered.
type flight struct {
	waiting atomic.Int32 // requests still waiting for the projector
}

// await waits for r's round, and then, if the round is in flight, for the
// projector to apply every event appended up to it, so that a read right
// after the write sees it. Should applying stall, the answer still goes
// out after a while (the events are durable; the next round waits
// instead).
func (w *Writer) await(r *request) ([]Written, error) {
	<-r.done
	if r.flight != nil {
		w.applied.WaitApplied(r.ctx, r.seq)
		if r.flight.waiting.Add(-1) == 0 {
			w.mu.Lock()
			w.inFlight--
			if w.inFlight == 0 {
				w.carry = nil
			}
			w.idle.Broadcast()
			w.mu.Unlock()
		}
	}
	if r.refused {
		return nil, w.reject(r.err)
	}
	return r.out, r.err
}

// GroupLog is a Log that appends the events of several writes at once,
// each write's events all or none, more cheaply than as one atomic batch.
// On error nothing is acknowledged; groups may have been stored, and a
// retry stores none of their events twice.
type GroupLog interface {
	AppendGroups(ctx context.Context, groups [][]Event) ([]Appended, error)
}

// stored is what an append of events stored anew, with their sequences,
// for the projector to apply without reading them back: nothing when the
// append failed.
func stored(events []Event, acks []Appended, err error) []Event {
	if err != nil || len(acks) != len(events) {
		return nil
	}
	out := make([]Event, 0, len(events))
	for i, a := range acks {
		if !a.Duplicate {
			out = append(out, Event{Seq: a.Seq, Raw: events[i].Raw})
		}
	}
	return out
}

// append appends a round's events: as one batch, all or none, when the
// round holds one write or the log cannot append groups.
func (w *Writer) append(ctx context.Context, st *roundState) ([]Appended, error) {
	if g, ok := w.log.(GroupLog); ok && len(st.groups) > 1 {
		return g.AppendGroups(ctx, st.groups)
	}
	return w.log.Append(ctx, st.fresh)
}

// admit checks one request of a round, all or none. Accepted, its new
// events join the round's; refused, the round is as before.
func (w *Writer) admit(ctx context.Context, st *roundState, r *request) ([]Written, error) {
	c := st.c
	batch := r.batch
	out := make([]Written, len(batch))
	r.at = make([]int, len(batch))
	var fresh []Event
	var conflicts []Problem
	conflict := func(i int) {
		conflicts = append(conflicts, Problem{Index: i, Code: syncproto.CodeInvalid, Path: "id", Rule: ConflictRule})
	}
	inBatch := map[uuid.UUID]int{}
	for i := range batch {
		b := &batch[i]
		out[i] = Written{ID: b.env.ID, Applied: b.ok}
		r.at[i] = -1
		if j, ok := inBatch[b.env.ID]; ok {
			// The log stores it once; the first of the batch is checked.
			if !sameEvent(batch[j].raw, b.raw) {
				conflict(i)
			}
			out[i].Seq, r.at[i] = out[j].Seq, r.at[j]
			b.known = true
			continue
		}
		inBatch[b.env.ID] = i
		if prev, ok := st.ids[b.env.ID]; ok {
			// Sent by an earlier request of the round, or of a round
			// in flight: a retry.
			if !sameEvent(prev.raw, b.raw) {
				conflict(i)
			}
			out[i].Seq, r.at[i] = prev.seq, prev.fresh
			b.known = true
			continue
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
				conflict(i)
			}
			out[i].Seq = seq // a retry: same answer, nothing new
			b.known = true
			continue
		}
		r.at[i] = len(st.fresh) + len(fresh)
		fresh = append(fresh, Event{Header: b.env.Header, Raw: b.raw})
	}
	if len(conflicts) > 0 {
		return nil, &Error{Code: CodeConflict, Message: "events refused; none were stored: an id was sent before with different content", Problems: conflicts}
	}
	mark := c.mark()
	family, err := w.check(c, st.family, batch, r.setup)
	if err != nil {
		c.rollback(mark)
		return nil, err
	}
	st.family = family
	st.fresh = append(st.fresh, fresh...)
	if len(fresh) > 0 {
		st.groups = append(st.groups, fresh)
	}
	for i, b := range batch {
		if _, ok := st.ids[b.env.ID]; !ok {
			st.ids[b.env.ID] = roundID{raw: b.raw, fresh: r.at[i], seq: out[i].Seq}
			st.added = append(st.added, b.env.ID)
		}
	}
	return out, nil
}
