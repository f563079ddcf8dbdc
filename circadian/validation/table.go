package validation

import (
	"fmt"
	"math"
	"strings"
)

// Table renders results, of any number of models, as Markdown: one row
// per outcome and model, in the order of Experiments, then one row per
// model with its Summary. models gives the order of the models.
func Table(results []Result, models []string) string {
	type key struct{ experiment, outcome string }
	var order []key
	rows := map[key]map[string]Result{}
	for _, r := range results {
		k := key{r.Experiment, r.Outcome}
		if rows[k] == nil {
			rows[k] = map[string]Result{}
			order = append(order, k)
		}
		rows[k][r.Model] = r
	}
	var b strings.Builder
	b.WriteString("| Study | Outcome | Model | Published (spread) | Predicted | Error | Within spread |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, k := range order {
		for _, m := range models {
			r, ok := rows[k][m]
			if !ok {
				continue
			}
			mark := ""
			if !r.SpreadPublished {
				mark += " ‡"
			}
			if !r.Verified {
				mark += " †"
			}
			within := "no"
			if r.Within() {
				within = "yes"
			}
			if r.Kind == SelfCheck {
				within += " (self-check)"
			}
			outcome := r.Outcome
			if r.Unit != "" {
				outcome += " (" + r.Unit + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s (%s to %s)%s | %s | %s | %s |\n",
				r.Experiment, outcome, m, num(r.Published, r.Unit), num(r.Lo, r.Unit), num(r.Hi, r.Unit), mark,
				num(r.Predicted, r.Unit), signed(r.Difference(), r.Unit), within)
		}
	}
	b.WriteString("\n| Model | RMS error of phase shifts (h) | RMS error of field rates (h/day) | Within spread |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, m := range models {
		s := Summarize(m, results)
		fmt.Fprintf(&b, "| %s | %s (n = %d) | %s (n = %d) | %d of %d |\n",
			m, num(s.ShiftRMS, "h"), s.ShiftN, num(s.RateRMS, "h/day"), s.RateN, s.Within, s.Total)
	}
	return b.String()
}

// num formats a value for the table: illuminances to the lux, the rest
// to 0.01.
func num(v float64, unit string) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case unit == "lux":
		return fmt.Sprintf("%.0f", v)
	}
	s := fmt.Sprintf("%.2f", v)
	if s == "-0.00" {
		s = "0.00"
	}
	return s
}

// signed is num with an explicit sign.
func signed(v float64, unit string) string {
	s := num(v, unit)
	if s != "n/a" && !strings.HasPrefix(s, "-") && s != "0.00" && s != "0" {
		s = "+" + s
	}
	return s
}
