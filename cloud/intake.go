package cloud

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// MaxIntakeBatch is the most events one intake request may carry, as on a
// hub.
const MaxIntakeBatch = 500

// CodeConflict is the code of an event id already stored with other
// content.
const CodeConflict ErrorCode = "conflict"

// CodeTooLarge is the code of a batch over MaxIntakeBatch.
const CodeTooLarge ErrorCode = "too_large"

// IntakeConflictRule is the rule a re-sent id with different content
// breaks (the hub's words).
const IntakeConflictRule = "an event with this id and different content is already stored; make a new id for a new event"

// recentFor is how long the intake remembers the events it sent: the
// warehouse has them long before (ingest writes within seconds), and
// until it does they count for the checks and for retries.
const recentFor = 15 * time.Minute

// Problem is one reason an intake request was refused, in the hub's
// error shape: which event of the request (Index, from 0), the syncproto
// code, the JSON path and the rule.
type Problem struct {
	Index int
	Code  syncproto.Code
	Path  string
	Rule  string
}

// IntakeError is a refused intake request: nothing was stored. Code is
// CodeInvalid (Problems say why), CodeConflict (an id stored with other
// content), CodeTooLarge, CodeForbidden, CodeNotFound or CodeUnavailable.
type IntakeError struct {
	Code     ErrorCode
	Message  string
	Problems []Problem
}

func (e *IntakeError) Error() string { return e.Message }

// Author is who posts events: a family's guardian may post any event of
// the family, a member (Member set) only events about themself and
// family-level trip and flight events.
type Author struct {
	Member uuid.UUID // uuid.Nil for a guardian
}

// Posted is the answer for one stored event. A retry of the same event
// answers the same and stores nothing new.
type Posted struct {
	ID   uuid.UUID      `json:"id"`
	Type syncproto.Type `json:"type"`
	HLC  string         `json:"hlc"`
}

// Notice tells a family's live clients that something changed: "events"
// (events of the family were stored; EventID is one of them) or "plan" (a
// member's advice was recomputed and cached; BasedOn is the HLC of the
// newest event it was computed from). The kinds are the hub's, so the
// same web code reacts.
type Notice struct {
	Kind     string     `json:"kind"`
	MemberID *uuid.UUID `json:"member_id,omitempty"`
	EventID  *uuid.UUID `json:"event_id,omitempty"`
	Type     string     `json:"type,omitempty"`
	BasedOn  string     `json:"based_on,omitempty"`
}

// Notices feeds live clients: Subscribe returns a family's notices until
// cancel is called; the channel is closed when the feed ends (shutdown,
// or a subscriber too slow to keep up), and the client reconnects.
type Notices interface {
	Subscribe(ctx context.Context, family uuid.UUID) (<-chan Notice, func(), error)
}

// NoticePublisher publishes notices for every API replica's live clients.
type NoticePublisher interface {
	Notify(ctx context.Context, family uuid.UUID, n Notice) error
}

// intake is what the Service remembers of the events it sent: by family,
// the events sent within recentFor, for the checks and retries while the
// warehouse does not have them yet.
type intake struct {
	mu     sync.Mutex
	recent map[uuid.UUID][]sentEvent
	read   map[uuid.UUID]readRows // the warehouse's rows, by family
}

// readRows are a family's rows as read from the warehouse at a time.
type readRows struct {
	at   time.Time
	rows []Row
}

// rowsFor is how long the intake uses a family's rows read from the
// warehouse before reading them again. Events this API sends count at
// once (recent); what hubs send counts once ingest stored it and the
// rows are read again, as it would be without the cache.
const rowsFor = 10 * time.Second

// maxCachedFamilies bounds the families whose rows are kept.
const maxCachedFamilies = 1000

// rows returns the family's rows from the warehouse: those read within
// rowsFor, unless fresh.
func (in *intake) rows(ctx context.Context, w Warehouse, fam uuid.UUID, fresh bool, now time.Time) ([]Row, error) {
	in.mu.Lock()
	r, ok := in.read[fam]
	in.mu.Unlock()
	if ok && !fresh && now.Sub(r.at) < rowsFor {
		return r.rows, nil
	}
	rows, err := w.Events(ctx, []uuid.UUID{fam}, time.Time{})
	if err != nil {
		return nil, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.read == nil || len(in.read) >= maxCachedFamilies {
		in.read = map[uuid.UUID]readRows{}
	}
	in.read[fam] = readRows{at: now, rows: rows}
	return rows, nil
}

type sentEvent struct {
	at  time.Time
	raw []byte
	env syncproto.Envelope
}

func (in *intake) events(family uuid.UUID, now time.Time) []sentEvent {
	in.mu.Lock()
	defer in.mu.Unlock()
	list := in.recent[family]
	keep := list[:0]
	for _, e := range list {
		if now.Sub(e.at) < recentFor {
			keep = append(keep, e)
		}
	}
	if len(keep) == 0 {
		delete(in.recent, family)
		return nil
	}
	in.recent[family] = keep
	return append([]sentEvent(nil), keep...)
}

func (in *intake) add(family uuid.UUID, e sentEvent) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.recent == nil {
		in.recent = map[uuid.UUID][]sentEvent{}
	}
	in.recent[family] = append(in.recent[family], e)
}

// PostEvents takes events of family from a client of the API, all or
// none: each is validated by syncproto (the hub's write path's rules) and
// checked against the family's state folded with package family from the
// warehouse and the events this API sent recently: what it refers to must
// exist, it must be this family's, and an author who is a member may post
// only about themself. The accepted ones are stored in the cloud's ingest
// stream (Nats-Msg-Id = event id) and the family's hubs rung, so they
// reach Kafka, the warehouse, the recommender and the hubs.
//
// An id already stored with the same content answers as the first time
// and is not sent again; with other content the request is refused with
// CodeConflict.
func (s *Service) PostEvents(ctx context.Context, fam uuid.UUID, who Author, raws [][]byte) ([]Posted, error) {
	if s.Down == nil {
		return nil, &IntakeError{Code: CodeUnavailable, Message: "this API has no connection to the cloud's NATS, so it cannot store events"}
	}
	if len(raws) == 0 {
		return nil, &IntakeError{Code: CodeInvalid, Message: "no events: send one event or a JSON array of them"}
	}
	if len(raws) > MaxIntakeBatch {
		return nil, &IntakeError{Code: CodeTooLarge, Message: fmt.Sprintf("%d events in one request; at most %d", len(raws), MaxIntakeBatch)}
	}
	var problems []Problem
	add := func(i int, code syncproto.Code, path, rule string) {
		problems = append(problems, Problem{Index: i, Code: code, Path: path, Rule: rule})
	}
	refused := func() error {
		return &IntakeError{Code: CodeInvalid, Message: "events refused; none were stored", Problems: problems}
	}
	envs := make([]syncproto.Envelope, len(raws))
	for i, raw := range raws {
		e, err := syncproto.Unmarshal(raw)
		if err != nil {
			for _, p := range syncErrors(err) {
				add(i, p.Code, p.Path, p.Rule)
			}
			continue
		}
		envs[i] = e
	}
	if len(problems) > 0 {
		return nil, refused()
	}
	for i, e := range envs {
		if e.FamilyID != fam {
			add(i, syncproto.CodeInvalid, "family_id", "must be this route's family "+fam.String())
		}
	}
	if len(problems) > 0 {
		return nil, refused()
	}
	// Authorisation comes before anything is read: a member may post only
	// about themself, and family-level trip and flight news.
	if who.Member != uuid.Nil {
		for _, e := range envs {
			if !memberMayPost(who.Member, e) {
				return nil, &IntakeError{Code: CodeForbidden, Message: "a member's token may post events about its own member (" +
					who.Member.String() + ") and trips and flights only; event " + e.ID.String() + " is a " + string(e.Type) + " of another member or of the family"}
			}
		}
	}

	// The check reads the warehouse through a short cache; a refusal is
	// never made on a cached read: it is checked again on a fresh one.
	known, err := s.checkBatch(ctx, fam, envs, raws, false)
	if ie, ok := err.(*IntakeError); ok && ie.Code != CodeUnavailable {
		known, err = s.checkBatch(ctx, fam, envs, raws, true)
	}
	if err != nil {
		return nil, err
	}
	now := s.Now()

	in := &s.recent
	out := make([]Posted, len(envs))
	for i, e := range envs {
		out[i] = Posted{ID: e.ID, Type: e.Type, HLC: e.HLC.String()}
		if known[i] {
			continue
		}
		if err := s.Down.Send(ctx, e.Header, raws[i]); err != nil {
			return nil, s.unavailableIntake(err)
		}
		in.add(fam, sentEvent{at: now, raw: raws[i], env: e})
	}
	// The UI's next read shows what was just logged, before the warehouse
	// has it.
	s.Invalidate(fam)
	return out, nil
}

// checkBatch checks a batch against the family's folded state (read afresh
// from the warehouse with fresh, else maybe from the cache): it refuses
// ids stored with other content and events that do not fit, and reports
// which events are stored already.
func (s *Service) checkBatch(ctx context.Context, fam uuid.UUID, envs []syncproto.Envelope, raws [][]byte, fresh bool) ([]bool, error) {
	var problems []Problem
	add := func(i int, code syncproto.Code, path, rule string) {
		problems = append(problems, Problem{Index: i, Code: code, Path: path, Rule: rule})
	}
	st, stored, err := s.intakeState(ctx, fam, fresh)
	if err != nil {
		return nil, err
	}
	if st.Home == nil && st.Events() == 0 {
		return nil, &IntakeError{Code: CodeNotFound, Message: "the cloud has no family " + fam.String() + " yet: set it up on the family's hub, and link the hub"}
	}

	// Ids: an id stored before, or earlier in the batch, with the same
	// content is known (answered, not sent again); with other content, a
	// conflict.
	known := make([]bool, len(envs))
	inBatch := map[uuid.UUID]int{}
	var conflicts []Problem
	for i, e := range envs {
		prev, seen := stored[e.ID]
		if j, ok := inBatch[e.ID]; ok {
			prev, seen = raws[j], true
		}
		if seen {
			known[i] = true
			if !sameEvent(prev, raws[i]) {
				conflicts = append(conflicts, Problem{Index: i, Code: syncproto.CodeInvalid, Path: "id", Rule: IntakeConflictRule})
			}
			continue
		}
		inBatch[e.ID] = i
	}
	if len(conflicts) > 0 {
		return nil, &IntakeError{Code: CodeConflict, Message: "events refused; none were stored: an id is already stored with other content", Problems: conflicts}
	}

	now := s.Now()
	for i, e := range envs {
		if known[i] {
			continue
		}
		if ahead := e.HLC.Ahead(now); ahead > syncproto.MaxClockAhead {
			add(i, syncproto.CodeInvalid, "hlc", fmt.Sprintf("the stamp is %s ahead of the cloud's clock, which reads %s; at most %s ahead is accepted. "+
				"Set the clock of the device that made the event right, then stamp the event again",
				ahead.Round(time.Second), now.UTC().Format(time.RFC3339), syncproto.MaxClockAhead))
		}
		if e.Type == syncproto.TypeRecommendationUpdated {
			add(i, syncproto.CodeInvalid, "type", "recommendation.updated events are made by the cloud, not posted to it")
			continue
		}
		for _, p := range checkRefs(st, e) {
			add(i, syncproto.CodeInvalid, p[0], p[1])
		}
		// Later events of the batch may refer to this one.
		st.Apply(e)
	}
	if len(problems) > 0 {
		return nil, &IntakeError{Code: CodeInvalid, Message: "events refused; none were stored", Problems: problems}
	}
	return known, nil

}

func (s *Service) unavailableIntake(err error) error {
	if s.Recommender != nil && s.Recommender.Logger != nil {
		s.Recommender.Logger.Warn("intake: store events", "err", err)
	}
	return &IntakeError{Code: CodeUnavailable, Message: "the cloud could not store the events; retry (a retry never stores an event twice)"}
}

// intakeState folds the family's events from the warehouse (at most
// rowsFor old unless fresh) and those this API sent recently, and returns the state with every stored event's
// encoding by id.
func (s *Service) intakeState(ctx context.Context, fam uuid.UUID, fresh bool) (*family.State, map[uuid.UUID][]byte, error) {
	rows, err := s.recent.rows(ctx, s.Warehouse, fam, fresh, time.Now())
	if err != nil {
		if s.Recommender != nil && s.Recommender.Logger != nil {
			s.Recommender.Logger.Warn("intake: read the warehouse", "err", err)
		}
		return nil, nil, &IntakeError{Code: CodeUnavailable, Message: "the cloud cannot read the family's events now; try again shortly"}
	}
	f := Fold(rows, nil)[fam]
	if f == nil {
		f = NewFamily(fam)
	}
	stored := make(map[uuid.UUID][]byte, len(rows))
	for _, r := range rows {
		stored[r.ID] = r.Payload
	}
	for _, e := range s.recent.events(fam, s.Now()) {
		if _, ok := stored[e.env.ID]; !ok {
			stored[e.env.ID] = e.raw
			f.Apply(e.env)
		}
	}
	return f.State, stored, nil
}

// memberMayPost reports whether a member's token may post e: events about
// the member themself (but not removing them), and the family-level trip
// and flight events.
func memberMayPost(member uuid.UUID, e syncproto.Envelope) bool {
	switch e.Type {
	case syncproto.TypeTripUpserted, syncproto.TypeTripRemoved, syncproto.TypeFlightUpdated:
		return e.MemberID == uuid.Nil || e.MemberID == member
	case syncproto.TypeMemberRemoved, syncproto.TypeFamilyUpserted:
		return false
	}
	return e.MemberID == member
}

// checkRefs checks what e refers to against the family's folded state,
// as a hub's write path does: the member it is about, a trip's
// travellers, the trip a removal or flight update names, the logged entry
// a correction or retraction names. It returns (path, rule) pairs.
func checkRefs(st *family.State, e syncproto.Envelope) [][2]string {
	var out [][2]string
	bad := func(path, rule string) { out = append(out, [2]string{path, rule}) }
	alive := func(id uuid.UUID) bool { m := st.Members[id]; return m.Live() }
	needMember := func() bool {
		if !alive(e.MemberID) {
			bad("member_id", "no member "+e.MemberID.String()+" in this family (never added, or removed)")
			return false
		}
		return true
	}
	checkFact := func(path string, id uuid.UUID, want syncproto.Type) {
		if id == uuid.Nil {
			return
		}
		f, _ := st.Fact(id)
		switch {
		case f == nil:
			bad(path, "no logged event "+id.String())
		case f.Member != e.MemberID:
			bad(path, "event "+id.String()+" belongs to another member")
		case want != "" && f.Type != want:
			bad(path, fmt.Sprintf("event %s is a %s, not a %s", id, f.Type, want))
		}
	}
	liveTrip := func(id uuid.UUID) *syncproto.TripUpserted {
		t := st.Trips[id]
		if !t.Live() {
			bad("data.trip_id", "no trip "+id.String()+" in this family (never added, or removed)")
			return nil
		}
		return t.Data
	}
	switch d := e.Data.(type) {
	case *syncproto.MemberRemoved:
		if st.Members[e.MemberID] == nil {
			bad("member_id", "no member "+e.MemberID.String()+" in this family")
		}
	case *syncproto.TripUpserted:
		for j, id := range d.Travellers {
			if !alive(id) {
				bad(fmt.Sprintf("data.travellers[%d]", j), "no member "+id.String()+" in this family")
			}
		}
	case *syncproto.TripRemoved:
		liveTrip(d.TripID)
	case *syncproto.FlightUpdated:
		t := liveTrip(d.TripID)
		switch {
		case t == nil:
		case d.Leg > len(t.Legs):
			bad("data.leg", fmt.Sprintf("the trip has %d legs", len(t.Legs)))
		case d.Flight != "" && t.Legs[d.Leg-1].Flight != "" && d.Flight != t.Legs[d.Leg-1].Flight:
			bad("data.flight", fmt.Sprintf("leg %d is flight %s, not %s", d.Leg, t.Legs[d.Leg-1].Flight, d.Flight))
		}
	case *syncproto.Sleep, *syncproto.Meal, *syncproto.LightExposure:
		if needMember() {
			checkFact("data.supersedes", family.Supersedes(e.Data), e.Type)
		}
	case *syncproto.LogRetracted:
		if needMember() {
			checkFact("data.event_id", d.EventID, "")
		}
	}
	return out
}

// syncErrors turns a syncproto rejection into problems.
func syncErrors(err error) []Problem {
	if es, ok := errors.AsType[syncproto.Errors](err); ok {
		out := make([]Problem, 0, len(es))
		for _, e := range es {
			out = append(out, Problem{Code: e.Code, Path: e.Path, Rule: e.Rule})
		}
		return out
	}
	if e, ok := errors.AsType[*syncproto.Error](err); ok {
		return []Problem{{Code: e.Code, Path: e.Path, Rule: e.Rule}}
	}
	return []Problem{{Code: syncproto.CodeMalformed, Rule: err.Error()}}
}

// sameEvent reports whether two encodings hold the same event: the same
// canonical form (syncproto.Marshal), as a hub compares them.
func sameEvent(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ea, errA := syncproto.Unmarshal(a)
	eb, errB := syncproto.Unmarshal(b)
	if errA != nil || errB != nil {
		return false
	}
	ca, errA := syncproto.Marshal(ea)
	cb, errB := syncproto.Marshal(eb)
	return errA == nil && errB == nil && bytes.Equal(ca, cb)
}

// NoticeSubject is the cloud-internal NATS subject of a family's notices
// to live clients (hubs' credentials do not reach it).
func NoticeSubject(family uuid.UUID) string { return NoticeRoot + "." + family.String() }

// NoticeRoot is the root of NoticeSubject.
const NoticeRoot = "zoner.cloud.notice"

// Subscribe returns the family's notices for a live client until cancel.
func (s *Service) Subscribe(ctx context.Context, fam uuid.UUID) (<-chan Notice, func(), error) {
	if s.Notices == nil {
		return nil, nil, &Error{Code: CodeUnavailable, Message: "this API has no connection to the cloud's NATS, so it serves no live stream"}
	}
	return s.Notices.Subscribe(ctx, fam)
}
