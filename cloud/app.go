package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/syncproto"
)

// The web UI's reads. The cloud answers them in the shapes of the hub's
// API (/api/v1/family with /api/v1/trips, /api/v1/today,
// /api/v1/trips/{id}/plan and /api/v1/members/{id}/log), so the UI reads
// both the same way. Each comes from a view of the family: its history
// from the warehouse folded with package family, the raw events (for the
// log), and the plans circadian.Planner made from it, each plan made once
// per view and kept by the next view when no event came meanwhile. A view
// is made again when it is older than ViewTTL, and at
// once when the recommender of this process has folded events the view
// has not (new events, in `zoner-cloud all`).

// ViewTTL is how long a family's view serves reads before the warehouse is
// read again, for events this process's recommender did not see.
const ViewTTL = 2 * time.Second

// AppFamily, AppMember and AppTrip are the family, a member and a trip as
// the hub's /api/v1/family and /api/v1/trips have them (package family's
// records, which the hub answers too).
type (
	AppFamily = family.FamilyRecord
	AppMember = family.MemberRecord
	AppTrip   = family.TripRecord
)

// AppState is the family, its live members and its live trips: the hub's
// /api/v1/family and /api/v1/trips in one answer.
type AppState struct {
	SetupRequired bool        `json:"setup_required"`
	Family        *AppFamily  `json:"family,omitempty"`
	Members       []AppMember `json:"members"`
	Trips         []AppTrip   `json:"trips"`
}

// AppToday is every live member's advice at a moment, as the hub's
// /api/v1/today.
type AppToday struct {
	At      time.Time          `json:"at"`
	Members []family.MemberNow `json:"members"`
}

// AppPlans are stored plans, as the hub's /api/v1/trips/{id}/plan.
type AppPlans struct {
	Plans []family.StoredPlan `json:"plans"`
}

// AppLog is a member's logged facts that count, newest first, as the
// hub's /api/v1/members/{id}/log.
type AppLog struct {
	Facts []family.LoggedFact `json:"facts"`
}

// view is one family's state for the UI's reads.
type view struct {
	fam    *Family
	raws   map[uuid.UUID][]byte // event id → the event as it came
	seqs   map[uuid.UUID]uint64 // event id → its place in the history, from 1
	events int
	// planned counts the events plans read: all but advice.
	planned int
	made    time.Time // on the machine's clock

	mu    sync.Mutex
	plans map[uuid.UUID][]family.StoredPlan // by trip, made on first use
}

// views holds the families' views.
type views struct {
	mu sync.Mutex
	m  map[uuid.UUID]*view
}

// view returns the family's view, made again when stale; a *Error with
// CodeNotFound for a family the warehouse does not have.
func (s *Service) view(ctx context.Context, id uuid.UUID) (*view, error) {
	s.views.mu.Lock()
	if s.views.m == nil {
		s.views.m = map[uuid.UUID]*view{}
	}
	v := s.views.m[id]
	s.views.mu.Unlock()
	if v != nil && time.Since(v.made) < ViewTTL && !s.recommenderAhead(id, v.events) {
		return v, nil
	}
	got, err, _ := s.viewFlight.Do(id.String(), func() (any, error) { return s.loadView(ctx, id) })
	if err != nil {
		return nil, err
	}
	fresh := got.(*view)
	if v != nil && v != fresh && fresh.planned == v.planned && fresh.fam.Newest == v.fam.Newest {
		// Nothing new but advice: the plans made so far still hold.
		v.mu.Lock()
		plans := v.plans
		v.mu.Unlock()
		fresh.mu.Lock()
		if len(fresh.plans) == 0 {
			fresh.plans = plans
		}
		fresh.mu.Unlock()
	}
	v = fresh
	s.views.mu.Lock()
	s.views.m[id] = v
	s.views.mu.Unlock()
	return v, nil
}

// recommenderAhead reports whether this process's recommender has folded
// more events of the family than a view of events had: the view misses
// news.
func (s *Service) recommenderAhead(id uuid.UUID, events int) bool {
	r := s.Recommender
	if r == nil {
		return false
	}
	en := r.entry(id)
	if en == nil {
		return false
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	return en.fam.Events() > events
}

// Invalidate drops a family's view: the next read makes it again from the
// warehouse and the events this API took lately.
func (s *Service) Invalidate(id uuid.UUID) {
	s.views.mu.Lock()
	delete(s.views.m, id)
	s.views.mu.Unlock()
}

func (s *Service) loadView(ctx context.Context, id uuid.UUID) (*view, error) {
	rows, err := s.Warehouse.Events(ctx, []uuid.UUID{id}, time.Time{})
	if err != nil {
		return nil, s.unavailable("read the warehouse", err)
	}
	v := &view{fam: NewFamily(id), raws: map[uuid.UUID][]byte{}, seqs: map[uuid.UUID]uint64{},
		made: time.Now(), plans: map[uuid.UUID][]family.StoredPlan{}}
	apply := func(e syncproto.Envelope, raw []byte) {
		if c := v.fam.Apply(e); c.New {
			v.events++
			if e.Type != syncproto.TypeRecommendationUpdated {
				v.planned++
			}
			v.raws[e.ID] = raw
			v.seqs[e.ID] = uint64(v.events)
		}
	}
	for _, row := range rows {
		if row.Family != id {
			continue
		}
		e, err := syncproto.Unmarshal(row.Payload)
		if err != nil {
			continue
		}
		apply(e, row.Payload)
	}
	// What this API took from the family's devices lately and the
	// warehouse may not have yet (the fold keeps each event once).
	for _, e := range s.recent.events(id, s.Now()) {
		apply(e.env, e.raw)
	}
	if v.events == 0 {
		return nil, &Error{Code: CodeNotFound, Message: "no family " + id.String()}
	}
	return v, nil
}

// State is the family, its live members and its live trips.
func (s *Service) State(ctx context.Context, id uuid.UUID) (*AppState, error) {
	v, err := s.view(ctx, id)
	if err != nil {
		return nil, err
	}
	f := v.fam
	out := &AppState{SetupRequired: f.Home == nil, Members: []AppMember{}, Trips: []AppTrip{}}
	if h := f.Home; h != nil {
		out.Family = &AppFamily{ID: f.ID, Name: h.Name, HomeTZ: h.HomeTZ, HLC: h.Stamp.HLC.String()}
	}
	for _, m := range liveMembers(f) {
		out.Members = append(out.Members, AppMember{ID: m.ID, Data: m.Data, HLC: m.Stamp.HLC.String()})
	}
	for _, t := range liveTrips(f) {
		at := AppTrip{ID: t.ID, Data: t.Data, HLC: t.Stamp.HLC.String()}
		for _, u := range f.Updates(t) {
			at.Updates = append(at.Updates, u.Data)
		}
		out.Trips = append(out.Trips, at)
	}
	return out, nil
}

// liveMembers are the members that exist and are not removed, by name then
// id, as a hub lists them.
func liveMembers(f *Family) []family.Member {
	ms := f.LiveMembers()
	slices.SortStableFunc(ms, func(a, b family.Member) int { return strings.Compare(a.Data.DisplayName, b.Data.DisplayName) })
	return ms
}

// liveTrips are the trips that exist and are not removed, by first
// departure then id, as a hub lists them.
func liveTrips(f *Family) []*TripState {
	var out []*TripState
	for _, t := range f.Trips {
		if t.Live() {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *TripState) int {
		if c := firstDepart(a).Compare(firstDepart(b)); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out
}

func firstDepart(t *TripState) time.Time {
	if len(t.Data.Legs) == 0 {
		return time.Time{}
	}
	return t.Data.Legs[0].Depart
}

// TripPlans are a trip's travellers' plans, by member id; a *Error with
// CodeNotFound for a trip the family does not have (or removed).
func (s *Service) TripPlans(ctx context.Context, id, trip uuid.UUID) (*AppPlans, error) {
	v, err := s.view(ctx, id)
	if err != nil {
		return nil, err
	}
	t := v.fam.Trips[trip]
	if !t.Live() {
		return nil, &Error{Code: CodeNotFound, Message: "no trip " + trip.String() + " in this family"}
	}
	return &AppPlans{Plans: s.plans(v, t)}, nil
}

// plans are trip t's plans in view v, made on first use.
func (s *Service) plans(v *view, t *TripState) []family.StoredPlan {
	v.mu.Lock()
	defer v.mu.Unlock()
	if ps, ok := v.plans[t.ID]; ok {
		return ps
	}
	ps := []family.StoredPlan{}
	in := v.fam.Inputs(t)
	if in != nil {
		req := in.Request(s.Now())
		travellers := slices.Clone(t.Data.Travellers)
		slices.SortFunc(travellers, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		for _, m := range travellers {
			sp := family.StoredPlan{TripID: t.ID, MemberID: m, Seq: uint64(v.planned)}
			var err error
			var mp *circadian.MemberPlan
			if in.Problem != "" {
				err = errors.New(in.Problem)
			} else {
				mp, err = s.Recommender.Planner.PlanMember(req, m)
			}
			sp.ComputedAt = s.Now().UTC().Truncate(time.Second)
			if err == nil {
				sp.Plan, err = json.Marshal(mp)
			}
			if err != nil {
				sp.Plan, sp.Error = nil, "no plan could be made: "+err.Error()
			}
			ps = append(ps, sp)
		}
	}
	v.plans[t.ID] = ps
	return ps
}

// Today is every live member's advice at the instant at, to the second,
// and what their log says they are doing then: family.Today over the
// plans of the member's trips (by first departure) and the cloud's own
// advice, family.StateAt over their log.
func (s *Service) Today(ctx context.Context, id uuid.UUID, at time.Time) (*AppToday, error) {
	v, err := s.view(ctx, id)
	if err != nil {
		return nil, err
	}
	at = at.Truncate(time.Second)
	out := &AppToday{At: at, Members: []family.MemberNow{}}
	trips := liveTrips(v.fam)
	for _, m := range liveMembers(v.fam) {
		var ps []family.StoredPlan
		for _, t := range trips {
			for _, p := range s.plans(v, t) {
				if p.MemberID == m.ID {
					ps = append(ps, p)
				}
			}
		}
		p := family.Person{ID: m.ID, Name: m.Data.DisplayName, HomeTZ: m.Data.HomeTZ}
		mn := family.Today(p, ps, family.CurrentAdvice(v.fam.Advice(m.ID)), v.fam.Newest, at)
		mn.State = family.StateAt(v.logged(m.ID, at.Add(-family.StateLookback)), at)
		out.Members = append(out.Members, mn)
	}
	return out, nil
}

// MemberLog is a member's logged facts that count whose start is at or
// after since, newest first; a *Error with CodeNotFound for a member the
// family does not have (or removed).
func (s *Service) MemberLog(ctx context.Context, id, member uuid.UUID, since time.Time) (*AppLog, error) {
	v, err := s.view(ctx, id)
	if err != nil {
		return nil, err
	}
	if m := v.fam.Members[member]; m == nil || m.Removed {
		return nil, &Error{Code: CodeNotFound, Message: "no member " + member.String() + " in this family"}
	}
	return &AppLog{Facts: v.logged(member, since)}, nil
}

// logged lists a member's facts that count from since, newest first, as a
// hub's store does, each correction with the event it replaced.
func (v *view) logged(member uuid.UUID, since time.Time) []family.LoggedFact {
	facts := v.fam.Facts(member)
	out := []family.LoggedFact{}
	for i := len(facts) - 1; i >= 0; i-- {
		f := facts[i]
		if f.Log.Start.Before(since) {
			continue
		}
		lf := family.LoggedFact{Seq: v.seqs[f.ID], Event: v.raws[f.ID]}
		if f.Supersedes != uuid.Nil {
			lf.Replaces = v.raws[f.Supersedes]
		}
		out = append(out, lf)
	}
	return out
}
