package cloud

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteReport prints the analytics as a readable report.
func WriteReport(w io.Writer, a *Analytics) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	p("Zoner analytics: %d events from %d families\n\n", a.Events, a.Families)

	p("Days to adapt, by direction and age band\n")
	if len(a.Adaptation) == 0 {
		p("  no trips have landed yet\n")
	} else {
		p("  direction\tage band\ttravellers\tadapted\tmean days\tplan predicted\n")
		for _, g := range a.Adaptation {
			p("  %s\t%s\t%d\t%d\t%s\t%s\n", g.Direction, g.AgeBand, g.Travellers, g.Adapted, num(g.MeanDays, 1), num(g.MeanPredicted, 1))
		}
	}

	p("\nPlanned light windows\n")
	if a.Light.Planned == 0 {
		p("  none planned yet\n")
	} else {
		p("  planned %d, kept %d (%s), missed %d (%s), still ahead %d\n", a.Light.Planned,
			a.Light.Kept, share(a.Light.Kept, a.Light.Planned), a.Light.Missed, share(a.Light.Missed, a.Light.Planned),
			a.Light.Planned-a.Light.Kept-a.Light.Missed)
	}

	p("\nFirst three nights after landing, against the habitual night\n")
	if len(a.FirstNights) == 0 {
		p("  no nights logged after a landing yet\n")
	} else {
		p("  night\tmembers\tmean slept\tmean habitual\tdifference\n")
		for _, n := range a.FirstNights {
			p("  %d\t%d\t%s\t%s\t%+.0f min\n", n.Night, n.Members, minutes(n.MeanSleepMin), minutes(n.MeanHabitualMin), n.MeanSleepMin-n.MeanHabitualMin)
		}
	}

	p("\nRecommendation accuracy (predicted against logged bedtime)\n")
	if a.Accuracy.Nights == 0 {
		p("  no logged night had a prediction yet\n")
	} else {
		p("  nights %d, mean absolute error %s min, within 30 min %d (%s)\n", a.Accuracy.Nights,
			num(a.Accuracy.MeanAbsErrorMin, 0), a.Accuracy.Within30, share(a.Accuracy.Within30, a.Accuracy.Nights))
	}

	p("\nCalibration (predicted against logged sleep onset at home)\n")
	if c := a.Calibration; c.Nights == 0 {
		p("  no night at home had both predictions yet\n")
	} else {
		better := "-"
		if c.PersonalBetter != nil {
			better = fmt.Sprintf("%.0f%%", 100**c.PersonalBetter)
		}
		p("  nights %d, mean absolute error: questionnaire %s min, calibrated %s min; calibrated closer on %s of nights\n",
			c.Nights, num(c.MeanAbsPriorMin, 0), num(c.MeanAbsPersonalMin, 0), better)
	}
	return tw.Flush()
}

func num(x *float64, prec int) string {
	if x == nil {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, *x)
}

func share(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

func minutes(m float64) string {
	return fmt.Sprintf("%dh%02d", int(m)/60, int(m)%60)
}
