package ics

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

var (
	tripID   = uuid.MustParse("7b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d")
	memberID = uuid.MustParse("0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9")
	stamp    = time.Date(2026, 12, 18, 9, 30, 0, 0, time.UTC)
	london   = time.FixedZone("GMT", 0)
	lagos    = time.FixedZone("WAT", 3600)
)

// samplePlan is Kemi's plan for a flight from London to Lagos: a past day
// at home and the travel day.
func samplePlan() *circadian.MemberPlan {
	at := func(loc *time.Location, day, h, m int) time.Time {
		return time.Date(2026, 12, day, h, m, 0, 0, loc)
	}
	item := func(k circadian.ItemKind, s, e time.Time, tz, text, reason string) circadian.Item {
		return circadian.Item{Kind: k, Start: s, End: e, TZ: tz, Text: text, Reason: reason}
	}
	nap := item(circadian.ItemNap, at(lagos, 19, 13, 0), at(lagos, 19, 13, 45), "Africa/Lagos",
		"Kemi’s nap — 45 min", "A short nap keeps her going; no longer, or tonight's sleep suffers.")
	nap.InFlight = true
	return &circadian.MemberPlan{
		MemberID: memberID,
		Name:     "Kemi",
		AgeBand:  syncproto.AgeChild,
		Modelled: true,
		Days: []circadian.Day{
			{
				Date: syncproto.Date{Year: 2026, Month: 12, Day: 18}, TZ: "Europe/London", Kind: circadian.DayPreTrip,
				Start: at(london, 18, 0, 0), End: at(london, 19, 0, 0), Past: true,
				Items: []circadian.Item{
					item(circadian.ItemSleep, at(london, 18, 20, 0), at(london, 19, 6, 30), "Europe/London",
						"Sleep 20:00–06:30", "Bed half an hour early; it moves the clock earlier."),
				},
			},
			{
				Date: syncproto.Date{Year: 2026, Month: 12, Day: 19}, TZ: "Europe/London", Kind: circadian.DayTravel,
				Start: at(london, 19, 0, 0), End: at(lagos, 19, 17, 5),
				Items: []circadian.Item{
					item(circadian.ItemLightSeek, at(london, 19, 7, 0), at(london, 19, 9, 0), "Europe/London",
						"Go outside 07:00–09:00", "Morning light advances the clock; Lagos is an hour ahead, so start now."),
					item(circadian.ItemMeal, at(london, 19, 7, 30), at(london, 19, 8, 0), "Europe/London",
						"Breakfast at 07:30", "Meals at destination times help, too."),
					nap,
					item(circadian.ItemMelatonin, at(lagos, 19, 19, 0), at(lagos, 19, 19, 0), "Africa/Lagos",
						"Take 0.5 mg melatonin at 19:00", "Before melatonin onset it moves the clock earlier (Burgess 2010)."),
					item(circadian.ItemCaffeineCutoff, at(lagos, 19, 15, 0), at(lagos, 19, 21, 0), "Africa/Lagos",
						"No coffee, tea or cola after 15:00", "Caffeine delays the clock; it spoils sleep."),
					item(circadian.ItemSleep, at(lagos, 19, 21, 0), at(lagos, 20, 7, 0), "Africa/Lagos",
						"Sleep 21:00–07:00", "Bedtime on Lagos time, with the room dark."),
				},
			},
		},
	}
}

// sampleCalendar is a feed of samplePlan with alarm.
func sampleCalendar(alarm time.Duration) Calendar {
	return Calendar{
		Name:  "Zoner: Kemi",
		Stamp: stamp,
		Trips: []TripPlan{{TripID: tripID, TripName: "Lagos, Christmas; 2026", Plan: samplePlan()}},
		Alarm: alarm,
	}
}

// shifted returns a copy of p with every item moved by d.
func shifted(p *circadian.MemberPlan, d time.Duration) *circadian.MemberPlan {
	q := *p
	q.Days = make([]circadian.Day, len(p.Days))
	for i, day := range p.Days {
		day.Items = append([]circadian.Item(nil), day.Items...)
		for j := range day.Items {
			day.Items[j].Start = day.Items[j].Start.Add(d)
			day.Items[j].End = day.Items[j].End.Add(d)
		}
		q.Days[i] = day
	}
	return &q
}

// mustWrite renders cal.
func mustWrite(tb testing.TB, cal Calendar) string {
	tb.Helper()
	var b bytes.Buffer
	if err := Write(&b, cal); err != nil {
		tb.Fatalf("Write: %v", err)
	}
	return b.String()
}

// prop is one unfolded content line.
type prop struct{ name, value string }

// component is a parsed VEVENT or VALARM.
type component struct {
	kind  string
	props []prop
	subs  []*component
}

// get returns the value of the first property called name.
func (c *component) get(name string) (string, bool) {
	for _, p := range c.props {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

// unfold joins folded lines; the result still ends lines with CRLF.
func unfold(feed string) string { return strings.ReplaceAll(feed, "\r\n ", "") }

// parse checks that feed is CRLF-terminated lines with balanced
// components inside one VCALENDAR, and returns the calendar.
func parse(tb testing.TB, feed string) *component {
	tb.Helper()
	if !strings.HasSuffix(feed, "\r\n") {
		tb.Fatalf("feed does not end with CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(unfold(feed), "\r\n"), "\r\n")
	var stack []*component
	var root *component
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			tb.Fatalf("line %d has a bare CR or LF: %q", i, l)
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			tb.Fatalf("line %d has no colon: %q", i, l)
		}
		name, _, _ = strings.Cut(name, ";")
		switch name {
		case "BEGIN":
			c := &component{kind: value}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.subs = append(top.subs, c)
			} else if root != nil {
				tb.Fatalf("line %d: a second top-level component", i)
			} else {
				root = c
			}
			stack = append(stack, c)
		case "END":
			if len(stack) == 0 || stack[len(stack)-1].kind != value {
				tb.Fatalf("line %d: END:%s does not close an open component", i, value)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				tb.Fatalf("line %d outside any component: %q", i, l)
			}
			top := stack[len(stack)-1]
			top.props = append(top.props, prop{name, value})
		}
	}
	if len(stack) != 0 || root == nil || root.kind != "VCALENDAR" {
		tb.Fatalf("unbalanced feed or no VCALENDAR")
	}
	return root
}

// events returns the VEVENTs of cal.
func events(cal *component) []*component {
	var out []*component
	for _, c := range cal.subs {
		if c.kind == "VEVENT" {
			out = append(out, c)
		}
	}
	return out
}
