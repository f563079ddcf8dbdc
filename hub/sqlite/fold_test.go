package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/family"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// history makes a random family history: members edited and removed,
// trips rebooked and removed, flight news stamped before and after trip
// edits, logged facts with corrections of corrections, retractions of
// entries and of corrections, entries from the wrong member, and advice.
// Stamps often tie on the HLC, so ids break ties.
type history struct {
	rng     *rand.Rand
	family  uuid.UUID
	members []uuid.UUID
	trips   []uuid.UUID
	facts   []syncproto.Envelope
	events  []syncproto.Envelope
	wall    time.Time
}

func newHistory(seed uint64) *history {
	h := &history{rng: rand.New(rand.NewPCG(seed, 7)), family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	for range 3 {
		h.members = append(h.members, syncproto.NewID())
	}
	for range 2 {
		h.trips = append(h.trips, syncproto.NewID())
	}
	return h
}

func (h *history) stamp() syncproto.HLC {
	// Few distinct wall times: ties are common.
	return syncproto.NewHLC(h.wall.Add(time.Duration(h.rng.IntN(40))*time.Second), h.rng.IntN(2))
}

func (h *history) add(member uuid.UUID, start, end time.Time, data syncproto.Payload) syncproto.Envelope {
	e := syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: h.family, MemberID: member, Origin: "hub:test",
		Type: data.Type(), Start: start, End: end, TZ: "Europe/London", HLC: h.stamp(), V: syncproto.CurrentVersion}, Data: data}
	if h.rng.IntN(4) == 0 {
		e.Origin = "cloud:flight-status"
	}
	h.events = append(h.events, e)
	return e
}

func (h *history) pick(ids []uuid.UUID) uuid.UUID { return ids[h.rng.IntN(len(ids))] }

func (h *history) generate(n int) {
	day := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
	at := func() time.Time { return day.Add(time.Duration(h.rng.IntN(72*4)) * 15 * time.Minute) }
	h.add(uuid.Nil, day, time.Time{}, &syncproto.FamilyUpserted{Name: "The Okafors", HomeTZ: "Europe/London"})
	for _, m := range h.members {
		h.add(m, day, time.Time{}, member(h.rng))
	}
	for range n {
		switch k := h.rng.IntN(20); {
		case k == 0:
			h.add(uuid.Nil, day, time.Time{}, &syncproto.FamilyUpserted{Name: fmt.Sprintf("Family %d", h.rng.IntN(9)), HomeTZ: "Europe/London"})
		case k <= 2:
			h.add(h.pick(h.members), day, time.Time{}, member(h.rng))
		case k == 3:
			h.add(h.pick(h.members), day, time.Time{}, &syncproto.MemberRemoved{})
		case k <= 5:
			h.add(uuid.Nil, day, time.Time{}, trip(h.rng, h.pick(h.trips), h.members))
		case k == 6:
			h.add(uuid.Nil, day, time.Time{}, &syncproto.TripRemoved{TripID: h.pick(h.trips)})
		case k <= 8:
			arrive := time.Date(2026, 12, 21, 10+h.rng.IntN(5), 0, 0, 0, time.UTC)
			h.add(uuid.Nil, day, time.Time{}, &syncproto.FlightUpdated{TripID: h.pick(h.trips), Leg: 1, Status: syncproto.FlightDelayed, Arrive: arrive})
		case k <= 12:
			m, data, start := h.pick(h.members), fact(h.rng, uuid.Nil), at()
			h.facts = append(h.facts, h.add(m, start, start.Add(h.span(data)), data))
		case k <= 15 && len(h.facts) > 0:
			// A correction, usually of an entry of the same member and
			// type (corrections of corrections included), sometimes not.
			target := h.facts[h.rng.IntN(len(h.facts))]
			m, data := target.MemberID, sameType(h.rng, target.Data, target.ID)
			if h.rng.IntN(6) == 0 {
				m = h.pick(h.members)
			}
			if h.rng.IntN(6) == 0 {
				data = fact(h.rng, target.ID)
			}
			start := at()
			h.facts = append(h.facts, h.add(m, start, start.Add(h.span(data)), data))
		case k <= 17 && len(h.facts) > 0:
			target := h.facts[h.rng.IntN(len(h.facts))]
			m := target.MemberID
			if h.rng.IntN(6) == 0 {
				m = h.pick(h.members)
			}
			h.add(m, day, time.Time{}, &syncproto.LogRetracted{EventID: target.ID})
		case k == 18:
			start := at()
			h.add(h.pick(h.members), day, time.Time{}, &syncproto.RecommendationUpdated{TripID: h.pick(h.trips), BasedOn: h.stamp(),
				Items: []syncproto.Advice{{Kind: syncproto.AdviceSleep, Start: start, End: start.Add(time.Hour)}}})
		default:
			start := at()
			h.add(h.pick(h.members), start, time.Time{}, &syncproto.Sleep{Nap: h.rng.IntN(2) == 0}) // still asleep
		}
	}
}

// span is how long a logged fact of data's type lasts.
func (h *history) span(data syncproto.Payload) time.Duration {
	switch d := data.(type) {
	case *syncproto.Sleep:
		if d.Nap {
			return time.Duration(1+h.rng.IntN(4)) * 30 * time.Minute
		}
		return time.Duration(1+h.rng.IntN(8)) * time.Hour
	case *syncproto.Meal:
		return 30 * time.Minute
	}
	return time.Duration(1+h.rng.IntN(3)) * 20 * time.Minute
}

func member(rng *rand.Rand) *syncproto.MemberUpserted {
	return &syncproto.MemberUpserted{DisplayName: fmt.Sprintf("Person %d", rng.IntN(100)), AgeBand: syncproto.AgeAdult, HomeTZ: "Europe/London",
		SleepTime: syncproto.ClockAt(22+rng.IntN(2), 0), WakeTime: syncproto.ClockAt(6+rng.IntN(2), 0)}
}

func trip(rng *rand.Rand, id uuid.UUID, travellers []uuid.UUID) *syncproto.TripUpserted {
	depart := time.Date(2026, 12, 20, 16+rng.IntN(4), 40, 0, 0, time.FixedZone("", -8*3600))
	return &syncproto.TripUpserted{TripID: id, Name: fmt.Sprintf("Trip %d", rng.IntN(100)), Travellers: travellers[:1+rng.IntN(len(travellers))],
		Legs: []syncproto.Leg{{FromTZ: "America/Los_Angeles", ToTZ: "Europe/London", Depart: depart, Arrive: depart.Add(10 * time.Hour)}}}
}

func fact(rng *rand.Rand, supersedes uuid.UUID) syncproto.Payload {
	switch rng.IntN(3) {
	case 0:
		return &syncproto.Sleep{Nap: rng.IntN(3) == 0, Supersedes: supersedes}
	case 1:
		return &syncproto.Meal{Kind: syncproto.MealLunch, Supersedes: supersedes}
	}
	return &syncproto.LightExposure{Level: syncproto.LevelOutdoorDaylight, Supersedes: supersedes}
}

func sameType(rng *rand.Rand, p syncproto.Payload, supersedes uuid.UUID) syncproto.Payload {
	switch p.(type) {
	case *syncproto.Sleep:
		return &syncproto.Sleep{Nap: rng.IntN(3) == 0, Supersedes: supersedes}
	case *syncproto.Meal:
		return &syncproto.Meal{Kind: syncproto.MealDinner, Supersedes: supersedes}
	}
	return &syncproto.LightExposure{Level: syncproto.LevelBrightIndoor, Supersedes: supersedes}
}

// snapshot is a family's state in one comparable form.
type snapshot struct {
	Name    string
	Members map[uuid.UUID]string // data and tombstone
	Trips   map[uuid.UUID]string // data, tombstone and applicable news
	Facts   map[uuid.UUID][]uuid.UUID
	Inputs  map[uuid.UUID]string
	Advice  map[uuid.UUID]uuid.UUID
}

func js(tb testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// inputs is the planner's inputs in a comparable form.
func inputs(tb testing.TB, in *family.Inputs) string {
	var people []string
	for _, p := range in.People {
		people = append(people, fmt.Sprintf("%s %s %s %v %v", p.ID, p.Name, p.AgeBand, p.Sleep, p.Wake))
	}
	return js(tb, []any{in.Trip, people, in.Logs, in.Problem, in.Notes, len(in.CloudNews)})
}

func fromState(tb testing.TB, s *family.State, members, trips []uuid.UUID) snapshot {
	out := snapshot{Name: s.Name(), Members: map[uuid.UUID]string{}, Trips: map[uuid.UUID]string{}, Facts: map[uuid.UUID][]uuid.UUID{},
		Inputs: map[uuid.UUID]string{}, Advice: map[uuid.UUID]uuid.UUID{}}
	for _, id := range members {
		if m := s.Members[id]; m != nil {
			out.Members[id] = js(tb, []any{m.Data, m.Removed, m.Stamp.HLC.String()})
		}
		for _, f := range s.Facts(id) {
			out.Facts[id] = append(out.Facts[id], f.ID)
		}
		if a := family.CurrentAdvice(s.Advice(id)); a != nil {
			out.Advice[id] = a.Stamp.ID
		}
	}
	for _, id := range trips {
		t := s.Trips[id]
		if t == nil {
			continue
		}
		var news []*syncproto.FlightUpdated
		if t.Data != nil {
			for _, u := range s.Updates(t) {
				news = append(news, u.Data)
			}
		}
		out.Trips[id] = js(tb, []any{t.Data, t.Removed, t.Stamp.HLC.String(), news})
		if in := s.Inputs(t); in != nil {
			out.Inputs[id] = inputs(tb, in)
		}
	}
	return out
}

func fromStore(tb testing.TB, s *Store, members, trips []uuid.UUID) snapshot {
	ctx := context.Background()
	out := snapshot{Members: map[uuid.UUID]string{}, Trips: map[uuid.UUID]string{}, Facts: map[uuid.UUID][]uuid.UUID{},
		Inputs: map[uuid.UUID]string{}, Advice: map[uuid.UUID]uuid.UUID{}}
	f, err := s.Family(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	if f != nil {
		out.Name = f.Name
	}
	for _, id := range members {
		m, err := s.Member(ctx, id)
		if err != nil {
			tb.Fatal(err)
		}
		if m != nil {
			out.Members[id] = js(tb, []any{m.Data, m.Removed, m.HLC})
		}
		rows, err := s.db.QueryContext(ctx, "SELECT id FROM facts WHERE member_id = ? AND counts = 1 ORDER BY start_ms, id", id.String())
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			var fid string
			if err := rows.Scan(&fid); err != nil {
				tb.Fatal(err)
			}
			out.Facts[id] = append(out.Facts[id], uuid.MustParse(fid))
		}
		rows.Close()
		a, err := s.Advice(ctx, id)
		if err != nil {
			tb.Fatal(err)
		}
		if a != nil {
			out.Advice[id] = a.Stamp.ID
		}
	}
	for _, id := range trips {
		t, err := s.Trip(ctx, id)
		if err != nil {
			tb.Fatal(err)
		}
		if t == nil {
			continue
		}
		out.Trips[id] = js(tb, []any{t.Data, t.Removed, t.HLC, t.Updates})
		in, err := s.PlanInputs(ctx, id)
		if err != nil {
			tb.Fatal(err)
		}
		if in != nil {
			out.Inputs[id] = inputs(tb, &in.Inputs)
		}
	}
	return out
}

// differ names the first part in which two snapshots differ, "" when
// they are the same.
func differ(tb testing.TB, want, got snapshot) string {
	parts := func(s snapshot) map[string]string {
		out := map[string]string{"name": s.Name}
		for id, v := range s.Members {
			out["member "+id.String()] = v
		}
		for id, v := range s.Trips {
			out["trip "+id.String()] = v
		}
		for id, v := range s.Facts {
			out["facts of "+id.String()] = js(tb, v)
		}
		for id, v := range s.Inputs {
			out["inputs of "+id.String()] = v
		}
		for id, v := range s.Advice {
			out["advice of "+id.String()] = v.String()
		}
		return out
	}
	w, g := parts(want), parts(got)
	keys := slices.Sorted(maps.Keys(w))
	for k := range g {
		if _, ok := w[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if w[k] != g[k] {
			return fmt.Sprintf("%s:\nwant %s\ngot  %s", k, w[k], g[k])
		}
	}
	return ""
}

func encode(tb testing.TB, es []syncproto.Envelope) []hub.Event {
	out := make([]hub.Event, len(es))
	for i, e := range es {
		b, err := syncproto.Marshal(e)
		if err != nil {
			tb.Fatalf("event %d (%s): %v", i, e.Type, err)
		}
		out[i] = hub.Event{Header: e.Header, Raw: b}
	}
	return out
}

// The hub's store and the family package fold any history to the same
// state, and the state does not depend on the order the events came in,
// on events arriving twice, or on how they were batched.
func TestHubStoreFoldsLikeTheFamilyPackage(t *testing.T) {
	rounds := 40
	if testing.Short() {
		rounds = 8
	}
	for seed := range uint64(rounds) {
		h := newHistory(seed)
		h.generate(60 + int(seed%5)*20)
		base := family.New(h.family)
		for _, e := range h.events {
			base.Apply(e)
		}
		want := fromState(t, base, h.members, h.trips)

		// The same events shuffled, some twice, in batches of 1 to 40.
		order := slices.Clone(h.events)
		for i := range order {
			if h.rng.IntN(8) == 0 {
				order = append(order, order[i])
			}
		}
		h.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		shuffled := family.New(h.family)
		for _, e := range order {
			shuffled.Apply(e)
		}
		if d := differ(t, want, fromState(t, shuffled, h.members, h.trips)); d != "" {
			t.Fatalf("seed %d: the fold depends on the order of events: %s", seed, d)
		}

		s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
		events := encode(t, order)
		for i, seq := 0, uint64(1); i < len(events); {
			n := min(1+h.rng.IntN(40), len(events)-i)
			batch := slices.Clone(events[i : i+n])
			for j := range batch {
				batch[j].Seq = seq
				seq++
			}
			if _, err := s.Apply(context.Background(), batch); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			i += n
		}
		if d := differ(t, want, fromStore(t, s, h.members, h.trips)); d != "" {
			t.Fatalf("seed %d: the hub's store differs from the family fold: %s", seed, d)
		}
	}
}
