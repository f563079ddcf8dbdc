package circadian

import (
	"os"
	"testing"

	"github.com/zoner-family/zoner/syncproto"
)

func TestDbg2(t *testing.T) {
	for _, ct := range loadTimetables(t) {
		if ct.Trip.Name != os.Getenv("DBG_TRIP") {
			continue
		}
		trip := ct.Trip
		trip.Travellers, trip.Intensity = everyone, syncproto.Intensity(os.Getenv("DBG_IN"))
		tp, _ := newTripPlan(trip)
		p := family(t, ct.Home)[1]
		r := newRun(tp, p, NewForger99(), nil)
		for _, s := range r.sleeps {
			if s.start.Month() == 11 && s.start.Day() >= 27 && s.start.Day() <= 30 {
				t.Log(s.start.UTC(), s.end.UTC(), s.kind, s.inFlight, s.why)
			}
		}
		r.planFrom(0, r.startState())
		for _, s := range r.sleeps {
			if s.start.Month() == 11 && s.start.Day() >= 27 && s.start.Day() <= 30 {
				t.Log("after", s.start.UTC(), s.end.UTC(), s.kind, s.inFlight, s.why)
			}
		}
	}
}
