package validation

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zoner-family/zoner/circadian"
)

var update = flag.Bool("update", false, "rewrite the validation table in docs/planner.md")

// plannerDoc is where the table lives, between the two markers.
var plannerDoc = filepath.Join("..", "..", "docs", "planner.md")

const (
	beginMarker = "<!-- validation:begin -->"
	endMarker   = "<!-- validation:end -->"
)

// results runs the suite once for every model.
var results = sync.OnceValues(func() ([]Result, []string) {
	var all []Result
	var names []string
	for _, spec := range circadian.Models() {
		all = append(all, Run(spec)...)
		names = append(names, spec.Name)
	}
	return all, names
})

// TestValidationTable keeps the table in docs/planner.md current: it fails
// when the section between the markers is not what the suite computes now;
// go test ./circadian/validation -run TestValidationTable -update (or
// go tool task validation) rewrites it.
func TestValidationTable(t *testing.T) {
	all, names := results()
	table := Table(all, names)
	doc, err := os.ReadFile(plannerDoc)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := bytes.Cut(doc, []byte(beginMarker))
	if !ok {
		t.Fatalf("%s has no %s", plannerDoc, beginMarker)
	}
	old, after, ok := bytes.Cut(rest, []byte(endMarker))
	if !ok {
		t.Fatalf("%s has no %s after %s", plannerDoc, endMarker, beginMarker)
	}
	want := "\n" + table
	if string(old) == want {
		return
	}
	if !*update {
		t.Fatalf("the validation table in %s is stale; run go tool task validation and read the diff.\nwant:\n%s", plannerDoc, table)
	}
	var out bytes.Buffer
	out.Write(before)
	out.WriteString(beginMarker)
	out.WriteString(want)
	out.WriteString(endMarker)
	out.Write(after)
	if err := os.WriteFile(plannerDoc, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote the validation table in %s", plannerDoc)
}

// Every experiment yields a number for every model: a NaN means the
// suite could not read a phase from the model (no CBTmin where one was
// expected), which needs looking at, not a row of n/a.
func TestEveryResultIsANumber(t *testing.T) {
	all, _ := results()
	for _, r := range all {
		if math.IsNaN(r.Predicted) || math.IsInf(r.Predicted, 0) {
			t.Errorf("%s, %s: %s: no prediction", r.Model, r.Experiment, r.Outcome)
		}
	}
}

// The melatonin PRC the suite applies is the published curve: the fit
// follows the digitised fitted curve to a few minutes, has its extremes,
// and is as far from the 34 subjects' points as the published curve is
// (they scatter by most of an hour).
func TestMelatoninShiftFitsBurgess2010(t *testing.T) {
	if rms := melatoninFitRMS(burgess2010Curve); rms > 0.05 {
		t.Errorf("fit against the published curve: RMS %.3f h, want ≤ 0.05", rms)
	}
	maxV, maxAt, minV, minAt := prcExtremes(MelatoninPRC)
	if math.Abs(maxV-burgess2010MaxAdvance) > 0.1 || math.Abs(maxAt-burgess2010AdvanceAt) > 0.5 {
		t.Errorf("largest advance %.2f h at %.2f h, want %.2f at %.2f", maxV, maxAt, burgess2010MaxAdvance, burgess2010AdvanceAt)
	}
	if math.Abs(minV-burgess2010MaxDelay) > 0.1 || math.Abs(wrap12(minAt-burgess2010DelayAt)) > 0.5 {
		t.Errorf("largest delay %.2f h at %.2f h, want %.2f at %.2f", minV, minAt, burgess2010MaxDelay, burgess2010DelayAt)
	}
	if rms := melatoninFitRMS(burgess2010Points); rms > 1.0 {
		t.Errorf("against the subjects' points: RMS %.2f h, want ≤ 1.0", rms)
	}
	if got, want := MelatoninShift(-3), MelatoninPRC(-3)/3; got != want {
		t.Errorf("MelatoninShift(-3) = %v, want a third of the three-day curve, %v", got, want)
	}
}

// Facts of the 6.7 h bright-light PRC (Khalsa et al. 2003) that every
// model must share: light centred in the hours before the CBTmin delays
// the clock, light in the hours after it advances it, and the crossover
// lies within 3 h of the CBTmin.
func TestKhalsaPRCShapeEveryModel(t *testing.T) {
	for _, spec := range circadian.Models() {
		sub := entrain(spec.New(spec.Period))
		pts := sub.lightPRC(khalsaStimulus, khalsaCR, khalsaWake)
		var before, after float64
		for _, p := range pts {
			if p.phase >= -5 && p.phase <= -1 {
				before = math.Min(before, p.net)
			}
			if p.phase >= 1 && p.phase <= 5 {
				after = math.Max(after, p.net)
			}
		}
		if before > -0.5 {
			t.Errorf("%s: light centred 1–5 h before the CBTmin delays by at most %.2f h, want a delay of 0.5 h or more", spec.Name, -before)
		}
		if after < 0.5 {
			t.Errorf("%s: light centred 1–5 h after the CBTmin advances by at most %.2f h, want 0.5 h or more", spec.Name, after)
		}
		if c := crossover(pts); math.IsNaN(c) || math.Abs(c) > 3 {
			t.Errorf("%s: delay→advance crossover %.2f h from the CBTmin, want within ±3 h", spec.Name, c)
		}
	}
}

// Bright morning light adds to the advance of an advancing sleep schedule
// (Burgess et al. 2003: 1.5 h with intermittent bright light against 0.6 h
// in dim light), and afternoon melatonin adds to that (Crowley & Eastman
// 2015's 2 h group, 2.4 h, has the same light as Eastman et al. 2005's 1 h
// per day group, 1.4 h median).
func TestLightAndMelatoninAddToTheAdvance(t *testing.T) {
	all, names := results()
	get := func(model, experiment, prefix string) float64 {
		for _, r := range all {
			if r.Model == model && r.Experiment == experiment && strings.HasPrefix(r.Outcome, prefix) {
				return r.Predicted
			}
		}
		t.Fatalf("%s: no %s result %q", model, experiment, prefix)
		return 0
	}
	for _, m := range names {
		dim := get(m, "Burgess et al. 2003", "DLMO advance")
		bright := get(m, "Eastman et al. 2005", "DLMO advance")
		withMel := get(m, "Crowley & Eastman 2015", "DLMO advance, 2 h group")
		if !(bright > dim+0.2) {
			t.Errorf("%s: bright morning light advances %.2f h, dim light %.2f h: want bright ≥ dim + 0.2", m, bright, dim)
		}
		if !(withMel > bright+0.2) {
			t.Errorf("%s: with melatonin %.2f h, without %.2f h: want with ≥ without + 0.2", m, withMel, bright)
		}
	}
}

// The phase delay to 6.5 h of light in the early night grows with
// illuminance and is large for bright light (Zeitzer et al. 2000).
func TestZeitzerDelayGrowsWithLightEveryModel(t *testing.T) {
	for _, spec := range circadian.Models() {
		d := entrain(spec.New(spec.Period)).zeitzerDelays()
		for i := 1; i < len(d); i++ {
			if d[i] < d[i-1]-0.05 {
				t.Errorf("%s: delay %.2f h at %.0f lux, less than %.2f h at %.0f lux", spec.Name, d[i], zeitzerLux[i], d[i-1], zeitzerLux[i-1])
			}
		}
		if top := d[len(d)-1]; top < 1 {
			t.Errorf("%s: delay %.2f h at %.0f lux, want 1 h or more", spec.Name, top, zeitzerLux[len(d)-1])
		}
	}
}

// knownFailures are the models for which a fact below does not hold, with
// what the model gives. A model listed here that starts to satisfy the
// fact fails the test, so that the list stays true.
var knownFailures = map[string]map[string]string{
	"westward faster than eastward": {
		"forger99": "with the planner's ordinary light it re-entrains 7 h west more slowly than 7 h east over the first three local days",
		"jewett99": "with the planner's ordinary light it re-entrains 7 h west more slowly than 7 h east over the first three local days",
	},
}

// Travellers re-entrain faster after westward than after eastward flights
// (Aschoff et al. 1975: 92 against 57 min a day).
func TestWestwardFasterThanEastward(t *testing.T) {
	const fact = "westward faster than eastward"
	for _, spec := range circadian.Models() {
		sub := entrain(spec.New(spec.Period))
		east, west := sub.travelRate(travelHours), sub.travelRate(-travelHours)
		holds := west > east
		why, known := knownFailures[fact][spec.Name]
		switch {
		case !holds && !known:
			t.Errorf("%s: re-entrains %.2f h/day west, %.2f h/day east; want west faster", spec.Name, west, east)
		case !holds && known:
			t.Logf("known failure, %s: %s (%.2f h/day west, %.2f h/day east)", spec.Name, why, west, east)
		case holds && known:
			t.Errorf("%s now re-entrains faster west (%.2f h/day) than east (%.2f h/day): remove it from knownFailures", spec.Name, west, east)
		}
	}
}

// TestRateErrorIsTheSuites: the uncertainty each model states for its days
// to adapt is its error on the suite's field rates, to the nearest 0.01
// h/day.
func TestRateErrorIsTheSuites(t *testing.T) {
	for _, m := range circadian.Models() {
		s := Summarize(m.Name, Run(m))
		if math.Abs(s.RateRMS-m.RateError) > 0.006 {
			t.Errorf("%s: RateError %.2f, the suite finds %.3f h/day", m.Name, m.RateError, s.RateRMS)
		}
	}
}
