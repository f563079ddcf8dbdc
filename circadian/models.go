package circadian

import (
	"fmt"
	"math"
)

// ModelSpec names a body-clock model and builds it for one person.
type ModelSpec struct {
	// Name is the model's name, as Model.Name reports it.
	Name string
	// Citation is the paper the equations and parameters come from.
	Citation string
	// Period is the model's population intrinsic period, hours; a
	// person's chronotype moves it by Person.PeriodDelta.
	Period float64
	// New builds the model with intrinsic period taux hours.
	New func(taux float64) Model
	// RateError is the model's root-mean-square error, hours a day, in
	// the rates of re-entrainment of the validation suite
	// (circadian/validation, which checks this number): the uncertainty
	// of its days to adapt.
	RateError float64
}

// DefaultModel is the model the planner uses when none is named.
const DefaultModel = "forger99"

// Models lists every model the planner can use, the default first.
func Models() []ModelSpec {
	return []ModelSpec{
		{Name: "forger99", Citation: "Forger, Jewett & Kronauer (1999), J Biol Rhythms 14:532–537; parameters of Serkh & Forger (2014)",
			Period: 24.2, New: func(taux float64) Model { return NewForger99Period(taux) }, RateError: 0.39},
		{Name: "jewett99", Citation: "Jewett, Forger & Kronauer (1999), J Biol Rhythms 14:493–499",
			Period: 24.2, New: func(taux float64) Model { return NewJewett99Period(taux) }, RateError: 0.37},
		{Name: "hannay19", Citation: "Hannay, Booth & Forger (2019), J Biol Rhythms 34:658–671; single-population model",
			Period: NewHannay19().DarkPeriod(), New: func(taux float64) Model { return NewHannay19Period(taux) }, RateError: 0.34},
	}
}

// ModelByName finds a model of Models by name; "" is the default.
func ModelByName(name string) (ModelSpec, error) {
	if name == "" {
		name = DefaultModel
	}
	for _, s := range Models() {
		if s.Name == name {
			return s, nil
		}
	}
	return ModelSpec{}, fmt.Errorf("no body-clock model named %q", name)
}

// rotate turns (x, y) by angle a, in radians, the way atan2(-y, x) grows:
// moving a van der Pol oscillator along its cycle without changing its
// amplitude.
func rotate(x, y, a float64) (float64, float64) {
	// Phase φ = atan2(-y, x): x = r cos φ, y = -r sin φ. Adding a to φ:
	s, c := math.Sincos(a)
	return x*c - (-y)*s, -(x*s + (-y)*c)
}
