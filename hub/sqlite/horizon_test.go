package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// TestPoisonedLogIsRepaired: a log written before hubs bounded stamps
// holds a member edit and a trip removal stamped 2099. Replayed through the
// store with the hub's clock, in either order, the later edits made at the
// right time win; replayed without a clock, the poisoned ones still do.
func TestPoisonedLogIsRepaired(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fam, ada, trip := syncproto.NewID(), syncproto.NewID(), syncproto.NewID()
	at := func(hlc time.Time, member uuid.UUID, data syncproto.Payload) syncproto.Envelope {
		return syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: fam, MemberID: member, Origin: "web:test",
			Type: data.Type(), Start: now, TZ: "Europe/London", HLC: syncproto.NewHLC(hlc, 0), V: syncproto.CurrentVersion}, Data: data}
	}
	ma := func(name string) *syncproto.MemberUpserted {
		return &syncproto.MemberUpserted{DisplayName: name, AgeBand: syncproto.AgeAdult, HomeTZ: "Europe/London",
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}
	}
	dep := now.Add(48 * time.Hour)
	tr := &syncproto.TripUpserted{TripID: trip, Travellers: []uuid.UUID{ada}, Legs: []syncproto.Leg{{FromTZ: "Europe/London", ToTZ: "America/New_York", Depart: dep, Arrive: dep.Add(8 * time.Hour)}}}
	year2099 := time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC)
	log := []syncproto.Envelope{
		at(now, uuid.Nil, &syncproto.FamilyUpserted{Name: "Okafor", HomeTZ: "Europe/London"}),
		at(now, ada, ma("Ada")),
		at(now, uuid.Nil, tr),
		at(year2099, ada, ma("Poisoned")),
		at(year2099, uuid.Nil, &syncproto.TripRemoved{TripID: trip}),
		at(now.Add(10*time.Minute), ada, ma("Ada, fixed")),
		at(now.Add(11*time.Minute), uuid.Nil, tr),
	}
	replay := func(t *testing.T, clock func() time.Time, events []syncproto.Envelope) *Store {
		s := mustOpen(t, filepath.Join(t.TempDir(), "hub.db"))
		s.Now = clock
		evs := encode(t, events)
		for i := range evs {
			evs[i].Seq = uint64(i + 1)
		}
		if _, err := s.Apply(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		return s
	}
	hubClock := func() time.Time { return now.Add(20 * time.Minute) }
	for _, order := range []string{"as logged", "fixes first"} {
		t.Run(order, func(t *testing.T) {
			events := slices.Clone(log)
			if order == "fixes first" {
				events = append(append(events[:3:3], log[5:]...), log[3:5]...)
			}
			s := replay(t, hubClock, events)
			m, err := s.Member(context.Background(), ada)
			if err != nil || m == nil || m.Data.DisplayName != "Ada, fixed" {
				t.Fatalf("member %+v, %v; want the edit made after the poisoned one", m, err)
			}
			tp, err := s.Trip(context.Background(), trip)
			if err != nil || tp == nil || tp.Removed {
				t.Fatalf("trip %+v, %v; want it upserted again", tp, err)
			}
		})
	}
	s := replay(t, nil, log)
	if m, err := s.Member(context.Background(), ada); err != nil || m == nil || m.Data.DisplayName != "Poisoned" {
		t.Fatalf("without the hub's clock: member %+v, %v", m, err)
	}
}
