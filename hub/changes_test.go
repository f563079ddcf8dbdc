package hub_test

import (
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/hub/sqlite"
	"github.com/zoner-family/zoner/syncproto"
)

// TestWhoIsReplanned folds events into the real state database, one at a
// time, and checks which plans the re-planner then recomputes: a
// traveller's own news re-plans that traveller, news of the trip re-plans
// everyone on it, and news of someone on no trip re-plans nobody; nor does
// a log too far from the trip to change its plan.
func TestWhoIsReplanned(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "state.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	family, ada, bo, cy, trip := syncproto.NewID(), syncproto.NewID(), syncproto.NewID(), syncproto.NewID(), syncproto.NewID()
	clock := syncproto.NewClock(time.Now)
	now := time.Date(2026, 12, 9, 9, 0, 0, 0, time.UTC) // the day before the flight
	logged := now                                       // when logs end
	var seq uint64
	event := func(member uuid.UUID, data syncproto.Payload) (uuid.UUID, hub.Event) {
		start, end := now, time.Time{}
		switch data.(type) {
		case *syncproto.Sleep, *syncproto.Meal:
			start, end = logged.Add(-2*time.Hour), logged.Add(-time.Hour)
		}
		e := syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: family, MemberID: member, Origin: "web:test",
			Type: data.Type(), Start: start, End: end, TZ: "Europe/London", HLC: clock.Now(), V: syncproto.CurrentVersion}, Data: data}
		raw, err := syncproto.Marshal(e)
		if err != nil {
			t.Fatalf("marshal %s: %v", e.Type, err)
		}
		seq++
		return e.ID, hub.Event{Seq: seq, Header: e.Header, Raw: raw}
	}
	person := func(name string) *syncproto.MemberUpserted {
		return &syncproto.MemberUpserted{DisplayName: name, AgeBand: syncproto.AgeAdult, HomeTZ: "Europe/London",
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}
	}
	dep := time.Date(2026, 12, 10, 11, 0, 0, 0, time.UTC)
	legs := []syncproto.Leg{{Flight: "BA177", From: "LHR", To: "JFK", FromTZ: "Europe/London", ToTZ: "America/New_York", Depart: dep, Arrive: dep.Add(8 * time.Hour)}}

	broker := hub.NewBroker()
	r := hub.NewReplanner(store, &circadian.Planner{}, func() time.Time { return now }, slog.New(slog.DiscardHandler), nil, broker)
	notices, stop := broker.Subscribe()
	defer stop()
	go r.Run(ctx)

	var adaMeal uuid.UUID
	steps := []struct {
		name string
		data func() (uuid.UUID, hub.Event)
		// The plans recomputed: member ids, in the trip's traveller order.
		want []uuid.UUID
	}{
		{"the family", func() (uuid.UUID, hub.Event) {
			return event(uuid.Nil, &syncproto.FamilyUpserted{Name: "The Okafors", HomeTZ: "Europe/London"})
		}, nil},
		{"ada joins", func() (uuid.UUID, hub.Event) { return event(ada, person("Ada")) }, nil},
		{"bo joins", func() (uuid.UUID, hub.Event) { return event(bo, person("Bo")) }, nil},
		{"cy joins", func() (uuid.UUID, hub.Event) { return event(cy, person("Cy")) }, nil},
		{"a trip for ada and bo", func() (uuid.UUID, hub.Event) {
			return event(uuid.Nil, &syncproto.TripUpserted{TripID: trip, Legs: legs, Travellers: []uuid.UUID{ada, bo}})
		}, []uuid.UUID{ada, bo}},
		{"ada's meal", func() (uuid.UUID, hub.Event) {
			id, e := event(ada, &syncproto.Meal{Kind: syncproto.MealLunch})
			adaMeal = id
			return id, e
		}, []uuid.UUID{ada}},
		{"bo's sleep", func() (uuid.UUID, hub.Event) { return event(bo, &syncproto.Sleep{}) }, []uuid.UUID{bo}},
		{"ada's meal retracted", func() (uuid.UUID, hub.Event) { return event(ada, &syncproto.LogRetracted{EventID: adaMeal}) }, []uuid.UUID{ada}},
		{"bo's sleep a month before", func() (uuid.UUID, hub.Event) {
			logged = now.AddDate(0, -1, 0)
			defer func() { logged = now }()
			return event(bo, &syncproto.Sleep{})
		}, nil},
		{"cy's sleep", func() (uuid.UUID, hub.Event) { return event(cy, &syncproto.Sleep{}) }, nil},
		{"bo's habits", func() (uuid.UUID, hub.Event) { return event(bo, person("Bo")) }, []uuid.UUID{bo}},
		{"the flight is late", func() (uuid.UUID, hub.Event) {
			return event(uuid.Nil, &syncproto.FlightUpdated{TripID: trip, Leg: 1, Status: syncproto.FlightDelayed, Depart: dep.Add(time.Hour)})
		}, []uuid.UUID{ada, bo}},
	}
	for _, st := range steps {
		_, e := st.data()
		changes, err := store.Apply(ctx, []hub.Event{e})
		if err != nil {
			t.Fatalf("%s: apply: %v", st.name, err)
		}
		r.Changed(ctx, changes, e.Seq)
		<-r.Idle()
		var got []uuid.UUID
		for len(notices) > 0 {
			if n := <-notices; n.Kind == "plan" {
				got = append(got, *n.MemberID)
			}
		}
		slices.SortFunc(got, func(a, b uuid.UUID) int { return slices.Index(st.want, a) - slices.Index(st.want, b) })
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: re-planned %v, want %v", st.name, got, st.want)
		}
	}
	plans, err := store.Plans(ctx, trip, uuid.Nil)
	if err != nil || len(plans) != 2 || plans[0].Seq != seq {
		t.Fatalf("stored plans %+v (%v), want two of seq %d", plans, err, seq)
	}
}
