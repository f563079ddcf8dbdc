package ics

import (
	"testing"
	"time"

	"github.com/zoner-family/zoner/circadian"
)

func FuzzWrite(f *testing.F) {
	f.Add("Kemi’s nap — 45 min", "Short; no longer, or sleep suffers.", "Zoner: Kemi", "nap", int64(0))
	f.Add("\xff\xfe\r\n\x00", "a\\b\nc", "", "", int64(-1))
	f.Add("😴😴😴😴😴😴😴😴😴😴😴😴😴😴😴😴😴😴😴😴😴😴😴😴", "é", "日本", "sleep", int64(1800))
	f.Fuzz(func(t *testing.T, text, reason, name, kind string, offset int64) {
		start := stamp.Add(time.Duration(offset) * time.Second)
		cal := sampleCalendar(15 * time.Minute)
		cal.Name = name
		cal.Trips[0].TripName = reason
		day := &cal.Trips[0].Plan.Days[1]
		day.Items = append(day.Items, circadian.Item{
			Kind: circadian.ItemKind(kind), Start: start, End: start.Add(time.Hour), Text: text, Reason: reason, InFlight: true,
		})
		feed := mustWrite(t, cal)
		checkLines(t, feed)
		parse(t, feed)
	})
}
