package circadian

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// familyTrip is five people (two adults, a teen, a toddler and a baby) on a
// 14-day, two-leg trip: San Francisco to London and back.
func familyTrip(b testing.TB) Request {
	return Request{
		Trip: Trip{ID: idTrip, Travellers: []uuid.UUID{idAda, idEmeka, idTeen, idKemi, idTobi}, Legs: []Leg{
			leg(b, "BA286", "SFO", "America/Los_Angeles", "2026-12-10 20:45", "LHR", "Europe/London", "2026-12-11 14:55"),
			leg(b, "BA287", "LHR", "Europe/London", "2026-12-24 11:30", "SFO", "America/Los_Angeles", "2026-12-24 14:25"),
		}},
		People: family(b, "America/Los_Angeles"),
	}
}

// BenchmarkPlanFamily plans the family trip with every model.
func BenchmarkPlanFamily(b *testing.B) {
	req := familyTrip(b)
	for _, spec := range Models() {
		b.Run(spec.Name, func(b *testing.B) {
			pl := Planner{Model: spec.Name}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pl.Plan(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReplan is the work after one new event: one person's plan, from
// now, with their clock re-estimated from a week of logs.
func BenchmarkReplan(b *testing.B) {
	req := familyTrip(b)
	req.Now = at(b, "Europe/London", "2026-12-15 13:00")
	var logs []Log
	for d := range 4 {
		night := at(b, "Europe/London", "2026-12-11 23:30").AddDate(0, 0, d)
		logs = append(logs,
			Log{Kind: LogSleep, Start: night, End: night.Add(7 * time.Hour)},
			Log{Kind: LogLight, Start: night.Add(9 * time.Hour), End: night.Add(10 * time.Hour), Lux: LuxOutdoor})
	}
	req.Logs = map[uuid.UUID][]Log{idAda: logs}
	for _, spec := range Models() {
		b.Run(spec.Name, func(b *testing.B) {
			pl := Planner{Model: spec.Name}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pl.PlanMember(req, idAda); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEntrain(b *testing.B) {
	p := family(b, "Europe/London")[0]
	m := NewForger99()
	age := p.AgeOn(date("2026-12-01"))
	for b.Loop() {
		p.Entrain(m, age)
	}
}

func BenchmarkSimulateDay(b *testing.B) {
	m := NewForger99()
	day := regularDay(300)
	s := m.Entrained()
	for b.Loop() {
		s = Advance(m, s, day)
	}
}

// BenchmarkCheck is the hub's check of one member's plan after a re-plan.
func BenchmarkCheck(b *testing.B) {
	req := familyTrip(b)
	var pl Planner
	mp, err := pl.PlanMember(req, idAda)
	if err != nil {
		b.Fatal(err)
	}
	p := family(b, "America/Los_Angeles")[0]
	b.ReportAllocs()
	for b.Loop() {
		if probs := CheckMember(req.Trip, p, mp); len(probs) > 0 {
			b.Fatal(probs)
		}
	}
}
