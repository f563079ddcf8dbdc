package circadian

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/syncproto"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := syncproto.LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at is a local time in a zone: at(t, "Europe/London", "2026-12-11 14:55").
func at(t testing.TB, zoneName, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, zone(t, zoneName))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func date(s string) syncproto.Date {
	d, err := syncproto.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

var (
	idAda   = uuid.MustParse("01a2156f-95c8-7cde-b1b3-9a5db552d71d")
	idEmeka = uuid.MustParse("01a2156f-95cc-7085-9d1a-3a1fe3c0f0a1")
	idKemi  = uuid.MustParse("01a2156f-95cf-7316-8b0e-7f5b2c1d4e21")
	idTobi  = uuid.MustParse("01a2156f-95d2-75a3-a4c5-0e9d8c7b6a51")
	idTeen  = uuid.MustParse("01a2156f-95d4-7bb2-8f77-55e0c3a2b911")
	idSam   = uuid.MustParse("01a2156f-95d6-7c01-9e44-6b1a0d2f3c71")
	idTrip  = uuid.MustParse("01a2156f-95d8-7af4-9be3-14b523b636fd")
)

// family is two adults, a toddler and a baby who live in home.
func family(t testing.TB, home string) []Person {
	loc := zone(t, home)
	return []Person{
		{ID: idAda, Name: "Ada", AgeBand: syncproto.AgeAdult, Home: loc, Sleep: syncproto.ClockAt(23, 0), Wake: syncproto.ClockAt(7, 0),
			Light: syncproto.LightSomeOutdoors, Melatonin: true, Caffeine: true},
		{ID: idEmeka, Name: "Emeka", AgeBand: syncproto.AgeAdult, Home: loc, Sleep: syncproto.ClockAt(22, 30), Wake: syncproto.ClockAt(6, 30),
			Chronotype: syncproto.ChronotypeEarly, Light: syncproto.LightMostlyIndoors},
		{ID: idKemi, Name: "Kemi", BirthDate: date("2024-05-02"), Home: loc, Sleep: syncproto.ClockAt(19, 30), Wake: syncproto.ClockAt(6, 30)},
		{ID: idTobi, Name: "Tobi", BirthDate: date("2026-07-19"), Home: loc, Sleep: syncproto.ClockAt(19, 0), Wake: syncproto.ClockAt(6, 30)},
		{ID: idTeen, Name: "Zara", BirthDate: date("2011-03-14"), Home: loc, Sleep: syncproto.ClockAt(22, 30), Wake: syncproto.ClockAt(7, 0),
			Chronotype: syncproto.ChronotypeLate, Melatonin: true},
		{ID: idSam, Name: "Sam", AgeBand: syncproto.AgeChild, Home: loc, Sleep: syncproto.ClockAt(20, 0), Wake: syncproto.ClockAt(7, 0),
			Light: syncproto.LightMostlyOutdoors},
	}
}

func leg(t testing.TB, flight, from, fromTZ, depart, to, toTZ, arrive string) Leg {
	return Leg{Flight: flight, From: from, To: to, FromTZ: zone(t, fromTZ), ToTZ: zone(t, toTZ),
		FromAt: airportPlace(from), ToAt: airportPlace(to),
		Depart: at(t, fromTZ, depart), Arrive: at(t, toTZ, arrive)}
}

// render is a plan as text for people to read and for golden files.
func render(p *Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "model %s\n", p.Model)
	for _, m := range p.Members {
		fmt.Fprintf(&b, "\n# %s (%s)", m.Name, m.AgeBand)
		if m.Modelled {
			fmt.Fprintf(&b, ", habitual CBTmin %s", m.HabitualCBTMin)
		} else {
			b.WriteString(", not modelled")
		}
		b.WriteString("\n")
		for _, n := range m.Notes {
			fmt.Fprintf(&b, "note: %s\n", n)
		}
		for _, a := range m.Adaptation {
			fmt.Fprintf(&b, "adapted to %s (arrive %s): ", a.TZ, a.Arrive.Format("Mon 2 Jan 15:04"))
			if a.Days < 0 {
				b.WriteString("not within the plan\n")
			} else {
				fmt.Fprintf(&b, "day %d (%d–%d)\n", a.Days, a.DaysMin, a.DaysMax)
			}
		}
		for _, d := range m.Days {
			fmt.Fprintf(&b, "\n## %s %s [%s] %s", d.Start.Format("Mon 2 Jan"), d.TZ, d.Kind, d.Label)
			if d.Past {
				b.WriteString(" (past)")
			}
			if d.CBTMin != nil {
				fmt.Fprintf(&b, " · CBTmin %s, %+.1f h", d.CBTMin.Format("15:04"), *d.Misalignment)
			}
			b.WriteString("\n")
			for _, it := range d.Items {
				span := it.Start.Format("Mon 15:04")
				if !it.End.Equal(it.Start) {
					span += "–" + it.End.Format("15:04")
				}
				air := ""
				if it.InFlight {
					air = " ✈"
				}
				fmt.Fprintf(&b, "  %-20s %-15s%s %s | %s\n", span, it.Kind, air, it.Text, it.Reason)
			}
		}
	}
	return b.String()
}
