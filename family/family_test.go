package family

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

type maker struct {
	family uuid.UUID
	wall   time.Time
}

// at makes an event stamped sec seconds after the maker's wall clock.
func (m maker) at(sec int, member uuid.UUID, start, end time.Time, data syncproto.Payload) syncproto.Envelope {
	return syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: m.family, MemberID: member, Origin: "hub:test",
		Type: data.Type(), Start: start, End: end, TZ: "Europe/London", HLC: syncproto.NewHLC(m.wall.Add(time.Duration(sec)*time.Second), 0),
		V: syncproto.CurrentVersion}, Data: data}
}

func counting(s *State, member uuid.UUID) []uuid.UUID {
	var out []uuid.UUID
	for _, f := range s.Facts(member) {
		out = append(out, f.ID)
	}
	return out
}

// foldBothWays applies events in order and in reverse, and fails when the
// two states differ in which facts count.
func foldBothWays(t *testing.T, id uuid.UUID, member uuid.UUID, events ...syncproto.Envelope) *State {
	t.Helper()
	fwd, back := New(id), New(id)
	for _, e := range events {
		fwd.Apply(e)
	}
	for _, e := range slices.Backward(events) {
		back.Apply(e)
	}
	if a, b := counting(fwd, member), counting(back, member); !slices.Equal(a, b) {
		t.Fatalf("order matters: in order %v, reversed %v", a, b)
	}
	return fwd
}

func TestCorrectionsAndRetractions(t *testing.T) {
	m := maker{family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	ada, kemi := syncproto.NewID(), syncproto.NewID()
	night := time.Date(2026, 12, 21, 23, 0, 0, 0, time.UTC)
	sleep := func(sec int, who uuid.UUID, hours int, sup uuid.UUID) syncproto.Envelope {
		return m.at(sec, who, night, night.Add(time.Duration(hours)*time.Hour), &syncproto.Sleep{Supersedes: sup})
	}
	retract := func(sec int, who, target uuid.UUID) syncproto.Envelope {
		return m.at(sec, who, night, time.Time{}, &syncproto.LogRetracted{EventID: target})
	}
	a := sleep(1, ada, 7, uuid.Nil)
	b := sleep(2, ada, 8, a.ID) // corrects a
	c := sleep(3, ada, 6, b.ID) // corrects the correction
	b2 := sleep(4, ada, 5, a.ID)
	meal := m.at(5, ada, night, night.Add(time.Hour), &syncproto.Meal{Kind: syncproto.MealDinner, Supersedes: a.ID})
	cases := []struct {
		name   string
		events []syncproto.Envelope
		want   []uuid.UUID
	}{
		{"an entry counts", []syncproto.Envelope{a}, []uuid.UUID{a.ID}},
		{"a correction replaces it", []syncproto.Envelope{a, b}, []uuid.UUID{b.ID}},
		{"a correction of a correction replaces both", []syncproto.Envelope{a, b, c}, []uuid.UUID{c.ID}},
		{"retracting a correction brings the entry back", []syncproto.Envelope{a, b, retract(9, ada, b.ID)}, []uuid.UUID{a.ID}},
		{"retracting the last correction brings the one before back", []syncproto.Envelope{a, b, c, retract(9, ada, c.ID)}, []uuid.UUID{b.ID}},
		{"retracting an entry removes it", []syncproto.Envelope{a, retract(9, ada, a.ID)}, nil},
		{"two corrections of one entry: the newer wins", []syncproto.Envelope{a, b, b2}, []uuid.UUID{b2.ID}},
		{"the newer retracted: the older stands", []syncproto.Envelope{a, b, b2, retract(9, ada, b2.ID)}, []uuid.UUID{b.ID}},
		{"another member's retraction changes nothing", []syncproto.Envelope{a, retract(9, kemi, a.ID)}, []uuid.UUID{a.ID}},
		{"another type's correction is an entry of its own", []syncproto.Envelope{a, meal}, []uuid.UUID{a.ID, meal.ID}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			changesNameEveryFlip(t, m.family, tc.events)
			changesNameEveryFlip(t, m.family, slices.Collect(func(yield func(syncproto.Envelope) bool) {
				for _, e := range slices.Backward(tc.events) {
					if !yield(e) {
						return
					}
				}
			}))
			s := foldBothWays(t, m.family, ada, tc.events...)
			got := counting(s, ada)
			slices.SortFunc(got, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
			want := slices.Clone(tc.want)
			slices.SortFunc(want, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
			if !slices.Equal(got, want) {
				t.Errorf("counting %v, want %v", got, want)
			}
		})
	}
}

func TestLastWriterWinsAndFlightNews(t *testing.T) {
	m := maker{family: syncproto.NewID(), wall: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	ada, tripID := syncproto.NewID(), syncproto.NewID()
	day := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)
	person := func(name string) *syncproto.MemberUpserted {
		return &syncproto.MemberUpserted{DisplayName: name, AgeBand: syncproto.AgeAdult, HomeTZ: "Europe/London",
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)}
	}
	depart := time.Date(2026, 12, 20, 16, 40, 0, 0, time.UTC)
	trip := &syncproto.TripUpserted{TripID: tripID, Name: "London", Travellers: []uuid.UUID{ada}, Legs: []syncproto.Leg{{
		FromTZ: "America/Los_Angeles", ToTZ: "Europe/London", Depart: depart, Arrive: depart.Add(10 * time.Hour)}}}
	early := m.at(5, uuid.Nil, day, time.Time{}, &syncproto.FlightUpdated{TripID: tripID, Leg: 1, Status: syncproto.FlightDelayed, Arrive: depart.Add(11 * time.Hour)})
	late := m.at(20, uuid.Nil, day, time.Time{}, &syncproto.FlightUpdated{TripID: tripID, Leg: 1, Status: syncproto.FlightDelayed, Arrive: depart.Add(12 * time.Hour)})
	events := []syncproto.Envelope{
		m.at(1, ada, day, time.Time{}, person("Ada")),
		m.at(3, ada, day, time.Time{}, person("Ada O.")),
		m.at(2, ada, day, time.Time{}, &syncproto.MemberRemoved{}), // older than the last upsert
		m.at(1, uuid.Nil, day, time.Time{}, trip),
		early,
		m.at(10, uuid.Nil, day, time.Time{}, trip), // an edit after the early news
		late,
	}
	for _, order := range [][]syncproto.Envelope{events, slices.Collect(func(yield func(syncproto.Envelope) bool) {
		for _, e := range slices.Backward(events) {
			if !yield(e) {
				return
			}
		}
	})} {
		s := New(m.family)
		for _, e := range order {
			s.Apply(e)
		}
		if mem := s.Members[ada]; !mem.Live() || mem.Data.DisplayName != "Ada O." {
			t.Errorf("member %+v, want the newest upsert, live", mem)
		}
		ups := s.Updates(s.Trips[tripID])
		if len(ups) != 1 || ups[0].Stamp.ID != late.ID {
			t.Errorf("%d updates apply, want only the one stamped after the trip's edit", len(ups))
		}
		in := s.Inputs(s.Trips[tripID])
		if got := in.Trip.Legs[0].Arrive; !got.Equal(depart.Add(12 * time.Hour)) {
			t.Errorf("planned landing %s, want the late news", got)
		}
	}
}

// TestImplausibleStampsLose: an edit stamped far past the reader's
// horizon (a device clock that read 2099) loses to any plausible edit of
// the same member, trip or family, in whatever order they arrive; among
// themselves implausible stamps still order by stamp, and with no horizon
// every stamp competes as it is.
func TestImplausibleStampsLose(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	fam, ada, trip := syncproto.NewID(), syncproto.NewID(), syncproto.NewID()
	m := maker{family: fam, wall: now}
	poison := func(e syncproto.Envelope, sec int) syncproto.Envelope {
		e.HLC = syncproto.NewHLC(time.Date(2099, 12, 31, 23, 59, 0, 0, time.UTC).Add(time.Duration(sec)*time.Second), 0)
		return e
	}
	member := func(sec int, name string) syncproto.Envelope {
		return m.at(sec, ada, now, time.Time{}, &syncproto.MemberUpserted{DisplayName: name, AgeBand: syncproto.AgeAdult, HomeTZ: "Europe/London",
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0)})
	}
	tripV := func(sec int, name string) syncproto.Envelope {
		return m.at(sec, uuid.Nil, now, time.Time{}, &syncproto.TripUpserted{TripID: trip, Name: name, Travellers: []uuid.UUID{ada}})
	}
	home := func(sec int, name string) syncproto.Envelope {
		return m.at(sec, uuid.Nil, now, time.Time{}, &syncproto.FamilyUpserted{Name: name, HomeTZ: "Europe/London"})
	}
	events := []syncproto.Envelope{
		home(0, "Okafor"), poison(home(1, "Poisoned"), 0),
		member(0, "Ada"), poison(member(1, "Old 2099"), 0), poison(member(2, "New 2099"), 1), member(600, "Ada, fixed"),
		tripV(0, "Rome"), poison(m.at(1, uuid.Nil, now, time.Time{}, &syncproto.TripRemoved{TripID: trip}), 0), tripV(700, "Rome again"),
	}
	fold := func(horizon time.Time, backward bool) *State {
		s := New(fam)
		s.Horizon = horizon
		order := slices.Clone(events)
		if backward {
			slices.Reverse(order)
		}
		for _, e := range order {
			s.Apply(e)
		}
		return s
	}
	horizon := now.Add(time.Hour).Add(StampHorizon)
	for _, backward := range []bool{false, true} {
		s := fold(horizon, backward)
		if got := s.Members[ada].Data.DisplayName; got != "Ada, fixed" {
			t.Errorf("backward %v: member %q, want the plausible edit", backward, got)
		}
		if tr := s.Trips[trip]; tr.Removed || tr.Data.Name != "Rome again" {
			t.Errorf("backward %v: trip %+v, want the plausible re-upsert", backward, tr)
		}
		if s.Home.Name != "Okafor" {
			t.Errorf("backward %v: family %q", backward, s.Home.Name)
		}
	}
	// Only implausible versions: the newest of them stands.
	only := New(fam)
	only.Horizon = horizon
	only.Apply(poison(member(2, "New 2099"), 1))
	only.Apply(poison(member(1, "Old 2099"), 0))
	if got := only.Members[ada].Data.DisplayName; got != "New 2099" {
		t.Errorf("among implausible stamps: %q, want the newest", got)
	}
	if got := fold(time.Time{}, false).Members[ada].Data.DisplayName; got != "New 2099" {
		t.Errorf("without a horizon: %q, want the greatest stamp", got)
	}
}

// changesNameEveryFlip applies events in order and fails unless each
// event's Change names, in Logs, every log that began or stopped counting
// with it: the re-planner skips plans whose window holds none of them.
func changesNameEveryFlip(t *testing.T, id uuid.UUID, events []syncproto.Envelope) {
	t.Helper()
	s := New(id)
	counted := func(member uuid.UUID) map[uuid.UUID]Fact {
		out := map[uuid.UUID]Fact{}
		for _, f := range s.Facts(member) {
			out[f.ID] = f
		}
		return out
	}
	for _, e := range events {
		before := counted(e.MemberID)
		c, _ := s.Apply(e)
		after := counted(e.MemberID)
		var flipped []Fact
		for fid, f := range before {
			if _, ok := after[fid]; !ok {
				flipped = append(flipped, f)
			}
		}
		for fid, f := range after {
			if _, ok := before[fid]; !ok {
				flipped = append(flipped, f)
			}
		}
		if len(flipped) > 0 && !c.Logged {
			t.Errorf("%s %s: counts changed but the change is not marked Logged", e.Type, e.ID)
		}
		for _, f := range flipped {
			if !slices.Contains(c.Logs, f.Log) {
				t.Errorf("%s %s: fact %s began or stopped counting, but its log is not in the change's %v", e.Type, e.ID, f.ID, c.Logs)
			}
		}
	}
}
