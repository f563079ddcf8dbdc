// Package history makes a family's history for benchmarks and tests: a
// household of five (two adults, a school child, a toddler and a baby)
// that logs its nights, naps, meals and light breaks day after day for as
// long as asked, with the odd correction and undo, and a trip about to
// start. The same seed makes the same history.
package history

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

// Family is a household and its ids.
type Family struct {
	ID      uuid.UUID
	Adults  [2]uuid.UUID
	Child   uuid.UUID // seven years old
	Toddler uuid.UUID // two
	Baby    uuid.UUID // five months
	Trip    uuid.UUID
	// Now is the end of the history: every logged fact ends before it, and
	// every stamp is at or before it.
	Now time.Time
	// TZ is the family's home.
	TZ string

	rng   *rand.Rand
	wall  time.Time
	clock *syncproto.Clock
	ids   *rand.Rand
}

// New makes a family whose history ends at now.
func New(seed uint64, now time.Time) *Family {
	f := &Family{Now: now.UTC(), TZ: "America/Los_Angeles",
		rng: rand.New(rand.NewPCG(seed, 1)), ids: rand.New(rand.NewPCG(seed, 2))}
	f.ID = f.newID()
	f.Adults = [2]uuid.UUID{f.newID(), f.newID()}
	f.Child, f.Toddler, f.Baby, f.Trip = f.newID(), f.newID(), f.newID(), f.newID()
	return f
}

// newID is a version 7 UUID from the family's own random source, so that
// a seed makes the same ids.
func (f *Family) newID() uuid.UUID {
	var u uuid.UUID
	for i := range u {
		u[i] = byte(f.ids.Uint32())
	}
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u
}

// Members are the household's members, adults first.
func (f *Family) Members() []uuid.UUID {
	return []uuid.UUID{f.Adults[0], f.Adults[1], f.Child, f.Toddler, f.Baby}
}

// stamp makes the clock for a history of n events: its wall starts n ms
// before Now and moves a millisecond per event, so no stamp passes Now.
func (f *Family) stamp(n int) {
	f.wall = f.Now.Add(-time.Duration(n+1) * time.Millisecond)
	f.clock = syncproto.NewClock(func() time.Time {
		f.wall = f.wall.Add(time.Millisecond)
		return f.wall
	})
}

func (f *Family) event(member uuid.UUID, start, end time.Time, data syncproto.Payload) syncproto.Envelope {
	return syncproto.Envelope{Header: syncproto.Header{
		ID: f.newID(), FamilyID: f.ID, MemberID: member, Origin: "web:history",
		Type: data.Type(), Start: start, End: end, TZ: f.TZ, HLC: f.clock.Now(), V: syncproto.CurrentVersion,
	}, Data: data}
}

// Setup is the family, its five members and its trip: San Francisco to
// London two days after Now, home two weeks later.
func (f *Family) Setup() []syncproto.Envelope {
	if f.clock == nil {
		f.stamp(10)
	}
	born := func(age time.Duration) syncproto.Date {
		return syncproto.DateOf(f.Now.Add(-age))
	}
	year := 365 * 24 * time.Hour
	la := f.TZ
	at := f.Now.Add(-time.Hour)
	depart := f.Now.Truncate(24 * time.Hour).Add(2*24*time.Hour + 16*time.Hour + 40*time.Minute + 8*time.Hour) // 16:40 in Los Angeles
	back := depart.Add(13 * 24 * time.Hour)
	return []syncproto.Envelope{
		f.event(uuid.Nil, at, time.Time{}, &syncproto.FamilyUpserted{Name: "The Okafors", HomeTZ: la}),
		f.event(f.Adults[0], at, time.Time{}, &syncproto.MemberUpserted{DisplayName: "Ada", AgeBand: syncproto.AgeAdult, HomeTZ: la,
			SleepTime: syncproto.ClockAt(23, 0), WakeTime: syncproto.ClockAt(7, 0), MelatoninAdvice: true, CaffeineAdvice: true}),
		f.event(f.Adults[1], at, time.Time{}, &syncproto.MemberUpserted{DisplayName: "Ben", AgeBand: syncproto.AgeAdult, HomeTZ: la,
			SleepTime: syncproto.ClockAt(22, 30), WakeTime: syncproto.ClockAt(6, 30)}),
		f.event(f.Child, at, time.Time{}, &syncproto.MemberUpserted{DisplayName: "Chidi", BirthDate: born(7 * year), HomeTZ: la,
			SleepTime: syncproto.ClockAt(20, 0), WakeTime: syncproto.ClockAt(7, 0)}),
		f.event(f.Toddler, at, time.Time{}, &syncproto.MemberUpserted{DisplayName: "Kemi", BirthDate: born(2 * year), HomeTZ: la,
			SleepTime: syncproto.ClockAt(19, 30), WakeTime: syncproto.ClockAt(6, 30), Naps: []syncproto.Nap{{Start: syncproto.ClockAt(12, 30), DurationMin: 90}}}),
		f.event(f.Baby, at, time.Time{}, &syncproto.MemberUpserted{DisplayName: "Tobi", BirthDate: born(150 * 24 * time.Hour), HomeTZ: la,
			SleepTime: syncproto.ClockAt(19, 0), WakeTime: syncproto.ClockAt(6, 0),
			Naps: []syncproto.Nap{{Start: syncproto.ClockAt(9, 0), DurationMin: 60}, {Start: syncproto.ClockAt(13, 0), DurationMin: 90}}}),
		f.TripEvent(depart, back),
	}
}

// TripEvent is the family's trip: out at depart, back at back, everyone
// travelling.
func (f *Family) TripEvent(depart, back time.Time) syncproto.Envelope {
	legs := []syncproto.Leg{
		{Flight: "BA286", From: "SFO", To: "LHR", FromTZ: "America/Los_Angeles", ToTZ: "Europe/London",
			Depart: depart, Arrive: depart.Add(10*time.Hour + 15*time.Minute)},
		{Flight: "BA287", From: "LHR", To: "SFO", FromTZ: "Europe/London", ToTZ: "America/Los_Angeles",
			Depart: back, Arrive: back.Add(11*time.Hour + 10*time.Minute)},
	}
	return f.event(uuid.Nil, f.Now.Add(-time.Hour), time.Time{}, &syncproto.TripUpserted{
		TripID: f.Trip, Name: "Christmas in London", Legs: legs, Travellers: f.Members()})
}

// History is Setup followed by n-len(Setup) logged facts (at least one),
// in the order a family makes them: day by day, oldest first, the last
// day ending at Now. About one in fifty facts is later corrected and one
// in a hundred undone.
func (f *Family) History(n int) []syncproto.Envelope {
	f.stamp(n + 10)
	out := f.Setup()
	logs := f.Logs(max(n-len(out), 1))
	return append(out, logs...)
}

// Logs are n logged facts ending at Now, as History makes them after
// Setup. Call Setup (or History) first for stamps in order.
func (f *Family) Logs(n int) []syncproto.Envelope {
	if f.clock == nil {
		f.stamp(n + 10)
	}
	// Each day makes about 29 facts: a night each, naps for the small
	// ones, meals and feeds, and light breaks. The days start early
	// enough for n facts, and are moved forward by whole days at the end
	// so that the last ends less than a day before Now.
	days := n/20 + 2
	day0 := f.Now.Truncate(24 * time.Hour).Add(-time.Duration(days) * 24 * time.Hour)
	var out []syncproto.Envelope
	var recent []syncproto.Envelope
	jit := func(m int) time.Duration { return time.Duration(f.rng.IntN(2*m+1)-m) * time.Minute }
	emit := func(e syncproto.Envelope) bool {
		if !e.End.IsZero() && e.End.After(f.Now) || e.Start.After(f.Now) {
			return len(out) < n
		}
		out = append(out, e)
		recent = append(recent, e)
		if len(recent) > 50 {
			recent = recent[1:]
		}
		if len(out) < n && f.rng.IntN(50) == 0 {
			out = append(out, f.correct(e))
		}
		if len(out) < n && f.rng.IntN(100) == 0 {
			r := recent[f.rng.IntN(len(recent))]
			if r.MemberID != uuid.Nil && r.Type != syncproto.TypeLogRetracted {
				out = append(out, f.event(r.MemberID, f.wall, time.Time{}, &syncproto.LogRetracted{EventID: r.ID}))
			}
		}
		return len(out) < n
	}
	// Local midnight in Los Angeles is 08:00 UTC (07:00 in summer; an hour
	// either way does not matter here).
	for d := 0; ; d++ {
		mid := day0.Add(time.Duration(d)*24*time.Hour + 8*time.Hour)
		at := func(h, m int) time.Time { return mid.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
		type fact struct {
			who        uuid.UUID
			start, end time.Time
			data       syncproto.Payload
		}
		facts := []fact{
			{f.Adults[0], at(-1, 0).Add(jit(40)), at(7, 0).Add(jit(30)), &syncproto.Sleep{}},
			{f.Adults[1], at(-1, 30).Add(jit(40)), at(6, 30).Add(jit(30)), &syncproto.Sleep{}},
			{f.Child, at(-4, 0).Add(jit(20)), at(7, 0).Add(jit(20)), &syncproto.Sleep{}},
			{f.Toddler, at(-4, 30).Add(jit(20)), at(6, 30).Add(jit(20)), &syncproto.Sleep{}},
			{f.Baby, at(-5, 0).Add(jit(20)), at(6, 0).Add(jit(30)), &syncproto.Sleep{}},
			{f.Toddler, at(12, 30).Add(jit(20)), at(14, 0).Add(jit(20)), &syncproto.Sleep{Nap: true}},
			{f.Baby, at(9, 0).Add(jit(20)), at(10, 0).Add(jit(15)), &syncproto.Sleep{Nap: true}},
			{f.Baby, at(13, 0).Add(jit(20)), at(14, 30).Add(jit(20)), &syncproto.Sleep{Nap: true}},
		}
		for _, m := range []uuid.UUID{f.Adults[0], f.Adults[1], f.Child, f.Toddler} {
			for _, h := range []int{7, 12, 18} {
				s := at(h, 30).Add(jit(30))
				kind := []syncproto.MealKind{syncproto.MealBreakfast, syncproto.MealLunch, syncproto.MealDinner}[h/6-1]
				facts = append(facts, fact{m, s, s.Add(30 * time.Minute), &syncproto.Meal{Kind: kind}})
			}
			s := at(10, 0).Add(jit(60))
			facts = append(facts, fact{m, s, s.Add(time.Duration(20+f.rng.IntN(40)) * time.Minute), &syncproto.LightExposure{Level: syncproto.LevelOutdoorDaylight}})
		}
		for _, h := range []int{6, 10, 14, 18} {
			s := at(h, 0).Add(jit(20))
			facts = append(facts, fact{f.Baby, s, s.Add(20 * time.Minute), &syncproto.Meal{Kind: syncproto.MealFeed}})
		}
		for _, x := range facts {
			if !emit(f.event(x.who, x.start, x.end, x.data)) {
				return toNow(out, f.Now)
			}
		}
	}
}

// toNow moves the logged facts of es forward by whole days (times of day
// stay), so that the last of them ends less than a day before now.
// Retractions keep their times: they are stamped when made.
func toNow(es []syncproto.Envelope, now time.Time) []syncproto.Envelope {
	var last time.Time
	for _, e := range es {
		if e.Type != syncproto.TypeLogRetracted && e.End.After(last) {
			last = e.End
		}
	}
	day := 24 * time.Hour
	shift := now.Sub(last) / day * day
	if last.IsZero() || shift <= 0 {
		return es
	}
	for i := range es {
		if es[i].Type == syncproto.TypeLogRetracted {
			continue
		}
		es[i].Start = es[i].Start.Add(shift)
		if !es[i].End.IsZero() {
			es[i].End = es[i].End.Add(shift)
		}
	}
	return es
}

// correct is a later entry that corrects e: the same kind of fact, a
// quarter of an hour later.
func (f *Family) correct(e syncproto.Envelope) syncproto.Envelope {
	var data syncproto.Payload
	switch d := e.Data.(type) {
	case *syncproto.Sleep:
		data = &syncproto.Sleep{Nap: d.Nap, Supersedes: e.ID}
	case *syncproto.Meal:
		data = &syncproto.Meal{Kind: d.Kind, Supersedes: e.ID}
	case *syncproto.LightExposure:
		data = &syncproto.LightExposure{Level: d.Level, Lux: d.Lux, Supersedes: e.ID}
	default:
		panic(fmt.Sprintf("history: cannot correct a %s", e.Type))
	}
	shift := 15 * time.Minute
	end := e.End
	if !end.IsZero() {
		end = earliest(end.Add(shift), f.Now)
	}
	return f.event(e.MemberID, e.Start.Add(shift), end, data)
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Encode encodes each event as the hub stores it.
func Encode(es []syncproto.Envelope) ([][]byte, error) {
	out := make([][]byte, len(es))
	for i, e := range es {
		b, err := syncproto.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("history: encode %s %s: %w", e.Type, e.ID, err)
		}
		out[i] = bytes.TrimSpace(b)
	}
	return out, nil
}

// Array is events as one JSON array, the body of a batch write.
func Array(raws [][]byte) []byte {
	return append(append([]byte("["), bytes.Join(raws, []byte(","))...), ']')
}
