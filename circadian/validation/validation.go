package validation

import (
	"math"

	"github.com/zoner-family/zoner/circadian"
)

// Kind says what a result measures and so how it counts in a Summary.
type Kind int

const (
	// PhaseShift is a phase shift in hours that the model had to predict
	// on its own: it counts in Summary.ShiftRMS.
	PhaseShift Kind = iota
	// FieldRate is a rate of re-entrainment after travel, hours per day:
	// it counts in Summary.RateRMS.
	FieldRate
	// Shape is any other property of a published curve (a crossover
	// time, an illuminance, a ratio): reported, not averaged.
	Shape
	// SelfCheck reproduces an input of the suite (the melatonin PRC) and
	// so cannot validate a model; it checks the suite's plumbing.
	SelfCheck
)

// Result is one model's prediction of one published outcome.
type Result struct {
	Model      string
	Experiment string // the study, as "Eastman et al. 2005"
	Outcome    string // what was measured, briefly
	Unit       string // "h", "h/day", "lux" or "" for a ratio
	Kind       Kind
	Predicted  float64
	// Published is the published value (a median or a mean, as
	// Statistic says), Lo and Hi its spread as an interval.
	Published, Lo, Hi float64
	// Statistic says what Published and the spread are, as "mean ± SD"
	// or "median; spread assumed".
	Statistic string
	// Verified is true when Published was read in a stored copy of the
	// paper or its abstract; false when it comes from a secondary source
	// and could not be checked.
	Verified bool
	// SpreadPublished is true when Lo and Hi are the study's own spread;
	// false when the study's spread was not found and a tolerance is
	// assumed (Statistic says which).
	SpreadPublished bool
}

// Difference is the prediction less the published value.
func (r Result) Difference() float64 { return r.Predicted - r.Published }

// Within reports whether the prediction lies inside the published spread.
func (r Result) Within() bool { return r.Predicted >= r.Lo && r.Predicted <= r.Hi }

// Experiment is one published study, encoded as its protocol.
type Experiment struct {
	// Name is the study as "Eastman et al. 2005".
	Name string
	// Citation is the full reference.
	Citation string
	run      func(sub subject) []Result
}

// Experiments lists the suite in the order of the table.
func Experiments() []Experiment {
	return []Experiment{
		eastman2005(),
		burgess2003(),
		crowley2015(),
		burgess2010(),
		khalsa2003(),
		stHilaire2012(),
		zeitzer2000(),
		fieldRates(),
	}
}

// Run entrains the model spec describes (at its population period) to the
// habitual day once and runs every experiment on it.
func Run(spec circadian.ModelSpec) []Result {
	sub := entrain(spec.New(spec.Period))
	var out []Result
	for _, e := range Experiments() {
		for _, r := range e.run(sub) {
			r.Model = spec.Name
			r.Experiment = e.Name
			out = append(out, r)
		}
	}
	return out
}

// Summary is a model's error over the suite, usable as its uncertainty.
type Summary struct {
	Model string
	// ShiftRMS is the root-mean-square difference, hours, between the
	// predicted and published phase shifts (Kind PhaseShift), over
	// ShiftN results.
	ShiftRMS float64
	ShiftN   int
	// RateRMS is the same over the field rates of re-entrainment, hours
	// per day (Kind FieldRate), over RateN results.
	RateRMS float64
	RateN   int
	// Within of Total results lie inside the published spread (self
	// checks not counted).
	Within, Total int
}

// Summarize computes a model's Summary from its results.
func Summarize(model string, results []Result) Summary {
	s := Summary{Model: model}
	var shift, rate float64
	for _, r := range results {
		if r.Model != model {
			continue
		}
		d := r.Difference()
		switch r.Kind {
		case PhaseShift:
			shift += d * d
			s.ShiftN++
		case FieldRate:
			rate += d * d
			s.RateN++
		}
		if r.Kind != SelfCheck {
			s.Total++
			if r.Within() {
				s.Within++
			}
		}
	}
	if s.ShiftN > 0 {
		s.ShiftRMS = math.Sqrt(shift / float64(s.ShiftN))
	}
	if s.RateN > 0 {
		s.RateRMS = math.Sqrt(rate / float64(s.RateN))
	}
	return s
}
