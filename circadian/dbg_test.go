package circadian

import (
	"os"
	"strconv"
	"testing"

	"github.com/zoner-family/zoner/syncproto"
)

func TestDbg(t *testing.T) {
	name := os.Getenv("DBG_TRIP")
	if name == "" {
		t.Skip()
	}
	who, _ := strconv.Atoi(os.Getenv("DBG_WHO"))
	var reqs []Request
	for _, ct := range loadTimetables(t) {
		trip := ct.Trip
		trip.Travellers, trip.Intensity = everyone, syncproto.Intensity(os.Getenv("DBG_IN"))
		reqs = append(reqs, Request{Trip: trip, People: corpusFamilies(t, ct.Home)[1]})
	}
	seed, _ := strconv.ParseUint(os.Getenv("ZONER_PLAN_SEED"), 10, 64)
	reqs = append(reqs, randomTrips(t, 400, seed)...)
	for _, req := range reqs {
		if req.Trip.Name != name {
			continue
		}
		var pl Planner
		plan, _ := pl.Plan(req)
		t.Logf("%+v", req.Trip.Legs)
		plan.Members = plan.Members[who : who+1]
		t.Log(render(plan))
		t.Log(problemSummary(Check(req, plan)))
	}
}
