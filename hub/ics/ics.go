// Package ics writes a member's plans as an iCalendar feed (RFC 5545) that
// phones and calendar apps subscribe to: one event per item of every day
// that is not yet past, in UTC, with stable UIDs so that a re-plan updates
// events instead of duplicating them.
//
// Events are written in UTC, so the feed needs no VTIMEZONE. An item that
// ends when it starts (a melatonin dose) becomes an instant: DTSTART and no
// DTEND. Items whose start is unset or outside years 1–9999 are left out.
package ics

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
)

// TripPlan is one trip's plan for the member.
type TripPlan struct {
	TripID   uuid.UUID
	TripName string // may be empty
	Plan     *circadian.MemberPlan
}

// Calendar is everything a feed is made from.
type Calendar struct {
	Name  string    // calendar display name, like "Zoner: Ada"
	Stamp time.Time // DTSTAMP of every event: when the plans were computed
	Trips []TripPlan
	// Alarm is how long before an item's start a reminder fires; 0 means no alarms.
	Alarm time.Duration
}

// ProdID is the PRODID of every feed.
const ProdID = "-//Zoner//Zoner hub//EN"

// alarmed reports whether items of kind k get a reminder when
// Calendar.Alarm > 0: things to do at a time, not meals or caffeine windows.
func alarmed(k circadian.ItemKind) bool {
	switch k {
	case circadian.ItemSleep, circadian.ItemNap, circadian.ItemLightSeek, circadian.ItemLightAvoid, circadian.ItemMelatonin:
		return true
	}
	return false
}

// Write writes cal to w as an iCalendar document. It returns the first
// error from w.
func Write(w io.Writer, cal Calendar) error {
	e := &encoder{w: bufio.NewWriter(w), uids: map[string]bool{}}
	e.prop("BEGIN", "VCALENDAR")
	e.prop("VERSION", "2.0")
	e.prop("PRODID", ProdID)
	e.prop("CALSCALE", "GREGORIAN")
	e.prop("METHOD", "PUBLISH")
	if cal.Name != "" {
		e.prop("NAME", escape(cal.Name))
		e.prop("X-WR-CALNAME", escape(cal.Name))
	}
	e.prop("REFRESH-INTERVAL;VALUE=DURATION", "PT1H")
	e.prop("X-PUBLISHED-TTL", "PT1H")
	stamp, ok := utc(cal.Stamp)
	if !ok {
		stamp, _ = utc(time.Time{})
	}
	for _, tp := range cal.Trips {
		e.trip(tp, stamp, cal.Alarm)
	}
	e.prop("END", "VCALENDAR")
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// encoder writes content lines and keeps the first error.
type encoder struct {
	w    *bufio.Writer
	err  error
	uids map[string]bool // UIDs written so far
	buf  []byte
}

// prop writes one content line; value must already be escaped if it is TEXT.
func (e *encoder) prop(name, value string) {
	if e.err != nil {
		return
	}
	e.buf = fold(e.buf[:0], name+":"+value)
	_, e.err = e.w.Write(e.buf)
}

// itemKey identifies an item among a plan's items for its UID.
type itemKey struct {
	date, dayKind, kind string
}

func (e *encoder) trip(tp TripPlan, stamp string, alarm time.Duration) {
	p := tp.Plan
	if p == nil {
		return
	}
	// Items are numbered within their date, day kind and item kind over
	// all days, past ones included, so the numbers do not move as days
	// pass and two days on one date (travel and arrival) stay distinct.
	seq := map[itemKey]int{}
	for _, d := range p.Days {
		for _, it := range d.Items {
			k := itemKey{d.Date.String(), string(d.Kind), string(it.Kind)}
			seq[k]++
			if d.Past || e.err != nil {
				continue
			}
			uid := fmt.Sprintf("%s-%s-%s-%s-%s-%d@zoner", tp.TripID, p.MemberID, k.date, k.dayKind, k.kind, seq[k])
			e.event(it, e.unique(uid), stamp, tp.TripName, alarm)
		}
	}
}

// unique returns uid, or uid with a suffix if the feed already has it.
func (e *encoder) unique(uid string) string {
	u := uid
	for n := 2; e.uids[u]; n++ {
		u = uid + "-" + strconv.Itoa(n)
	}
	e.uids[u] = true
	return u
}

func (e *encoder) event(it circadian.Item, uid, stamp, tripName string, alarm time.Duration) {
	start, ok := utc(it.Start)
	if !ok || it.Start.IsZero() {
		return
	}
	summary := clean(it.Text)
	if summary == "" {
		summary = clean(string(it.Kind))
	}
	if summary == "" {
		summary = "Zoner"
	}
	e.prop("BEGIN", "VEVENT")
	e.prop("UID", escape(uid))
	e.prop("DTSTAMP", stamp)
	e.prop("DTSTART", start)
	if end, ok := utc(it.End); ok && it.End.After(it.Start) {
		e.prop("DTEND", end)
	}
	e.prop("SUMMARY", escape(summary))
	if desc := description(it, tripName); desc != "" {
		e.prop("DESCRIPTION", escape(desc))
	}
	if it.Kind != "" {
		e.prop("CATEGORIES", escape(string(it.Kind)))
		e.prop("X-ZONER-KIND", escape(string(it.Kind)))
	}
	if it.Kind == circadian.ItemSleep || it.Kind == circadian.ItemNap {
		e.prop("TRANSP", "OPAQUE")
	} else {
		e.prop("TRANSP", "TRANSPARENT")
	}
	if alarm > 0 && alarmed(it.Kind) {
		e.prop("BEGIN", "VALARM")
		e.prop("ACTION", "DISPLAY")
		e.prop("DESCRIPTION", escape(summary))
		e.prop("TRIGGER", "-"+duration(alarm))
		e.prop("END", "VALARM")
	}
	e.prop("END", "VEVENT")
}

// description is the Reason, then whether the item is in flight, then the
// trip, one to a line.
func description(it circadian.Item, tripName string) string {
	var lines []string
	if r := clean(it.Reason); r != "" {
		lines = append(lines, r)
	}
	if it.InFlight {
		lines = append(lines, "In flight.")
	}
	if t := clean(tripName); t != "" {
		lines = append(lines, "Trip: "+t)
	}
	return strings.Join(lines, "\n")
}

// utc formats t as a UTC DATE-TIME; ok is false when its year does not
// fit the four digits the format allows.
func utc(t time.Time) (s string, ok bool) {
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return "", false
	}
	return t.Format("20060102T150405Z"), true
}

// duration formats a positive d as an RFC 5545 dur-time: whole minutes
// when it is a whole number of minutes, else seconds rounded up.
func duration(d time.Duration) string {
	if d%time.Minute == 0 {
		return "PT" + strconv.FormatInt(int64(d/time.Minute), 10) + "M"
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return "PT" + strconv.FormatInt(s, 10) + "S"
}
