package hub

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// TestReplannerLogsABrokenPlan: a plan that breaks an invariant of the
// planner is logged at error level with its rule, and a good one is not.
func TestReplannerLogsABrokenPlan(t *testing.T) {
	lon, err := syncproto.LoadZone("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	nyc, err := syncproto.LoadZone("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.MustParse("01a2156f-95c8-7cde-b1b3-9a5db552d71d")
	dep := time.Date(2026, 12, 10, 11, 0, 0, 0, lon)
	trip := circadian.Trip{ID: uuid.MustParse("01a2156f-95d8-7af4-9be3-14b523b636fd"), Travellers: []uuid.UUID{id},
		Legs: []circadian.Leg{{Flight: "BA177", From: "LHR", To: "JFK", FromTZ: lon, ToTZ: nyc, Depart: dep, Arrive: dep.Add(8 * time.Hour)}}}
	people := []circadian.Person{{ID: id, Name: "Ada", AgeBand: syncproto.AgeAdult, Home: lon,
		Sleep: syncproto.ClockAt(23, 0), Wake: syncproto.ClockAt(7, 0)}}
	req := circadian.Request{Trip: trip, People: people}
	var pl circadian.Planner
	mp, err := pl.PlanMember(req, id)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	r := &Replanner{logger: slog.New(slog.NewTextHandler(&logs, nil))}
	r.checkPlan(req, id, mp)
	if logs.Len() != 0 {
		t.Fatalf("a good plan was logged:\n%s", logs.String())
	}
	// Two meals at the same time on the last day: an overlap.
	last := &mp.Days[len(mp.Days)-1]
	for _, it := range last.Items {
		if it.Kind == circadian.ItemMeal {
			last.Items = append(last.Items, it)
			break
		}
	}
	r.checkPlan(req, id, mp)
	if got := logs.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "rule=overlap") {
		t.Errorf("a plan with overlapping meals was not logged as an error:\n%s", got)
	}
}
