package cloud

import (
	"math"
	"testing"

	"github.com/zoner-family/zoner/syncproto"
)

func TestPriors(t *testing.T) {
	groups := []ClockGroup{
		// Ten late adults at 24.65 ± 0.1 h: against the built-in 24.35 ± 0.2 h
		// weighted as ten people, half-way.
		{AgeBand: syncproto.AgeAdult, Chronotype: syncproto.ChronotypeLate, Members: 10, MeanTau: 24.65, SpreadTau: 0.1},
		// Too few.
		{AgeBand: syncproto.AgeChild, Chronotype: syncproto.ChronotypeEarly, Members: PriorMinPeople - 1, MeanTau: 24.0, SpreadTau: 0.1},
		// A thousand intermediate teens: the data all but decide.
		{AgeBand: syncproto.AgeTeen, Chronotype: syncproto.ChronotypeIntermediate, Members: 1000, MeanTau: 24.1, SpreadTau: 0.15},
	}
	got := Priors("", groups)
	if len(got) != 2 {
		t.Fatalf("Priors = %+v, want the adults' and the teens'", got)
	}
	a := got[0]
	// tau0 = 24.2 + 0.15 (late), sd0 = 0.2.
	wantSD := math.Sqrt((10*0.04 + 10*0.01 + 5*0.3*0.3) / 20)
	if a.AgeBand != syncproto.AgeAdult || a.Chronotype != syncproto.ChronotypeLate || a.People != 10 ||
		math.Abs(a.TauHours-24.5) > 1e-9 || math.Abs(a.TauSDHours-wantSD) > 1e-9 {
		t.Errorf("adults' prior %+v, want tau 24.5, sd %.4f from 10 people", a, wantSD)
	}
	if tn := got[1]; math.Abs(tn.TauHours-24.1) > 0.002 || math.Abs(tn.TauSDHours-0.15) > 0.01 || tn.People != 1000 {
		t.Errorf("teens' prior %+v, want about 24.1 ± 0.15 h", tn)
	}
	if p := Priors("no such model", groups); len(p) != 0 {
		t.Errorf("Priors under an unknown model = %+v, want none", p)
	}
}
