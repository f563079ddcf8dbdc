package circadian

import (
	"os"
	"strconv"
	"testing"
)

func TestDbg(t *testing.T) {
	name := os.Getenv("DBG_TRIP")
	if name == "" {
		t.Skip()
	}
	who, _ := strconv.Atoi(os.Getenv("DBG_WHO"))
	for _, req := range randomTrips(t, 400, 1) {
		if req.Trip.Name != name {
			continue
		}
		var pl Planner
		plan, _ := pl.Plan(req)
		t.Logf("%+v", req.Trip.Legs)
		plan.Members = plan.Members[who : who+1]
		t.Log(render(plan))
	}
}
