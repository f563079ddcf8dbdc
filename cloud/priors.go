package cloud

import (
	"math"

	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// Priors of the body clock for the hubs: each age band and chronotype's
// pooled calibrations, shrunk toward the built-in prior.
const (
	// PriorMinPeople: a group of fewer members gives no prior.
	PriorMinPeople = 5
	// PriorPseudoPeople is the built-in prior's weight, in people.
	PriorPseudoPeople = 10
)

// Priors turns pooled calibrations into priors under the named model
// ("" is the default). A group of n members with mean period m and
// spread s, against the built-in prior (tau0, sd0) weighted as k =
// PriorPseudoPeople people, gives
//
//	tau = (k·tau0 + n·m) / (k + n)
//	sd² = (k·sd0² + n·s² + (k·n/(k+n))·(m − tau0)²) / (k + n)
//
// the normal model's pooled mean and variance. Groups under
// PriorMinPeople members, and of an unknown model, are skipped.
func Priors(model string, groups []ClockGroup) []syncproto.ClockPrior {
	out := []syncproto.ClockPrior{}
	for _, g := range groups {
		if g.Members < PriorMinPeople || math.IsNaN(g.MeanTau) || math.IsNaN(g.SpreadTau) {
			continue
		}
		base, err := circadian.DefaultClockPrior(model, circadian.Person{AgeBand: g.AgeBand, Chronotype: g.Chronotype})
		if err != nil {
			continue
		}
		k, n := float64(PriorPseudoPeople), float64(g.Members)
		s := math.Max(g.SpreadTau, 0)
		d := g.MeanTau - base.Tau
		tau := (k*base.Tau + n*g.MeanTau) / (k + n)
		v := (k*base.TauSD*base.TauSD + n*s*s + k*n/(k+n)*d*d) / (k + n)
		out = append(out, syncproto.ClockPrior{AgeBand: g.AgeBand, Chronotype: g.Chronotype,
			TauHours: tau, TauSDHours: math.Sqrt(v), People: g.Members})
	}
	return out
}
