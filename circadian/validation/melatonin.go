package validation

import (
	"math"
	"sync"
)

// The melatonin phase response curve of Burgess, Revell, Molina & Eastman
// (2010), "Human phase response curves to three days of daily melatonin:
// 0.5 mg versus 3.0 mg", J Clin Endocrinol Metab 95:3325–3331. Free-running
// subjects in an ultradian dim light (< 150 lux)/dark cycle (2.5 h:1.5 h)
// took 0.5 mg melatonin once a day for three days at the same clock time;
// each subject's shift on placebo was subtracted. The abstract: the largest
// advances came when the pill was taken 2–4 h before the DLMO, and the
// fitted curve's largest delay came soon after wake time.
//
// The points below were read off the paper's figure with WebPlotDigitizer
// by Stowe, Duston, Robinson & Diniz Behn for their model of exogenous
// melatonin (J Pineal Res 2025, 77:e70056); they published the readings
// with their code, and this package uses them as read. They are digitised,
// not the authors' raw data: each value carries the reading error of a
// figure, about 0.1 h on both axes.

// burgess2010Curve is the published fitted curve: hours after the
// baseline DLMO at which the pill was taken (0–24) and the three-day phase
// shift, hours (positive: advance).
var burgess2010Curve = [][2]float64{
	{0.107, 0.325}, {0.336, 0.179}, {0.565, 0.0588}, {0.902, -0.086}, {1.27, -0.248},
	{1.67, -0.383}, {2.06, -0.491}, {2.45, -0.582}, {2.84, -0.634}, {3.23, -0.661},
	{3.62, -0.657}, {4.01, -0.623}, {4.4, -0.577}, {4.79, -0.512}, {5.18, -0.435},
	{5.57, -0.351}, {5.96, -0.254}, {6.35, -0.167}, {6.74, -0.0988}, {7.14, -0.0424},
	{7.53, -0.0155}, {7.92, 0.00249}, {8.31, -0.00969}, {8.7, -0.0539}, {9.09, -0.124},
	{9.48, -0.208}, {9.87, -0.319}, {10.3, -0.432}, {10.7, -0.585}, {11, -0.71},
	{11.4, -0.856}, {11.8, -0.982}, {12.2, -1.1}, {12.6, -1.17}, {13, -1.23},
	{13.4, -1.27}, {13.8, -1.27}, {14.2, -1.23}, {14.6, -1.16}, {14.87, -1.03},
	{14.9, -1.05}, {15.2, -0.939}, {15.26, -0.927}, {15.55, -0.744}, {15.83, -0.624},
	{16.11, -0.474}, {16.44, -0.309}, {16.61, -0.157}, {16.89, -0.00877}, {17.14, 0.144},
	{17.39, 0.297}, {17.64, 0.451}, {17.91, 0.606}, {18.21, 0.774}, {18.53, 0.946},
	{18.83, 1.09}, {19.15, 1.24}, {19.41, 1.35}, {19.81, 1.43}, {20.21, 1.5},
	{20.66, 1.52}, {21.05, 1.51}, {21.44, 1.44}, {21.83, 1.33}, {22.22, 1.2},
	{22.6, 1.05}, {22.93, 0.896}, {23.25, 0.744}, {23.456, 0.654}, {23.632, 0.542},
	{23.878, 0.437},
}

// burgess2010Points are the 34 subjects' placebo-corrected shifts: hours
// after the baseline DLMO (0–24) and shift, hours.
var burgess2010Points = [][2]float64{
	{15.5, -0.9}, {16.6, -0.3}, {19.0, 0.7}, {19.3, 1.4}, {20.3, 1.7}, {20.3, 0.7},
	{20.8, 2.7}, {20.9, 2.9}, {21.3, -0.2}, {21.3, 0.8}, {21.5, 2.5}, {22.4, 1.0},
	{22.5, 0.9}, {23.3, 1.0}, {23.6, 1.2}, {1.3, -0.5}, {1.7, -1.5}, {1.9, -1.2},
	{2.3, 0.7}, {3.0, -0.1}, {5.4, -1.0}, {5.9, -0.6}, {7.3, 0.9}, {7.4, 1.2},
	{8.1, -1.2}, {10.0, -1.1}, {10.3, 0.9}, {10.9, -1.8}, {11.2, -1.8}, {11.7, -0.3},
	{12.2, -1.2}, {13.0, -0.9}, {13.4, -0.7}, {13.4, -1.3},
}

// burgess2010MaxAdvance and the other three are the fitted curve's
// extremes as the digitised curve gives them: the largest advance, 1.5 h,
// for a pill 20.7 h after the DLMO (3.3 h before the next one); the
// largest delay, 1.3 h, for a pill 13.6 h after it.
const (
	burgess2010MaxAdvance = 1.5
	burgess2010AdvanceAt  = 20.7 - 24
	burgess2010MaxDelay   = -1.3
	burgess2010DelayAt    = 13.6
	burgess2010Doses      = 3
)

// melatoninFit is the two-harmonic Fourier series, period 24 h, fitted by
// least squares to burgess2010Curve: a0, a1, b1, a2, b2.
var melatoninFit = sync.OnceValue(func() [5]float64 {
	basis := func(x float64) [5]float64 {
		w := 2 * math.Pi * x / 24
		return [5]float64{1, math.Cos(w), math.Sin(w), math.Cos(2 * w), math.Sin(2 * w)}
	}
	var a [5][6]float64 // normal equations, augmented
	for _, p := range burgess2010Curve {
		f := basis(p[0])
		for i := range 5 {
			for j := range 5 {
				a[i][j] += f[i] * f[j]
			}
			a[i][5] += f[i] * p[1]
		}
	}
	// Gaussian elimination with partial pivoting.
	for c := range 5 {
		piv := c
		for r := c + 1; r < 5; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[piv][c]) {
				piv = r
			}
		}
		a[c], a[piv] = a[piv], a[c]
		for r := range 5 {
			if r == c {
				continue
			}
			k := a[r][c] / a[c][c]
			for j := c; j < 6; j++ {
				a[r][j] -= k * a[c][j]
			}
		}
	}
	var out [5]float64
	for i := range 5 {
		out[i] = a[i][5] / a[i][i]
	}
	return out
})

// MelatoninPRC is the three-day phase shift, in hours (positive: an
// advance), after a daily 0.5 mg melatonin pill taken for three days at
// hoursAfterDLMO relative to the baseline dim-light melatonin onset
// (negative: before it): a two-harmonic least-squares fit to the fitted
// curve of Burgess et al. (2010). Its largest advance is about 1.5 h, for
// a pill about 3.3 h before the DLMO; its largest delay about 1.3 h, for a
// pill about 13.5 h after it (soon after habitual waking).
func MelatoninPRC(hoursAfterDLMO float64) float64 {
	c := melatoninFit()
	w := 2 * math.Pi * hoursAfterDLMO / 24
	return c[0] + c[1]*math.Cos(w) + c[2]*math.Sin(w) + c[3]*math.Cos(2*w) + c[4]*math.Sin(2*w)
}

// MelatoninShift is the phase shift of one 0.5 mg melatonin dose taken
// hoursAfterDLMO relative to the dim-light melatonin onset, in hours
// (positive: an advance): a third of MelatoninPRC, since the published
// curve is the sum of three daily doses. Treating the three doses as equal
// is an approximation; the clock moves a little between them. This is the
// melatonin input the validation suite applies with circadian.Model.Shift
// (no model here has a melatonin input of its own).
func MelatoninShift(hoursAfterDLMO float64) float64 {
	return MelatoninPRC(hoursAfterDLMO) / burgess2010Doses
}

// melatoninFitRMS is the root-mean-square difference, in hours, between
// MelatoninPRC and the points in pts.
func melatoninFitRMS(pts [][2]float64) float64 {
	var sum float64
	for _, p := range pts {
		d := MelatoninPRC(p[0]) - p[1]
		sum += d * d
	}
	return math.Sqrt(sum / float64(len(pts)))
}

// prcExtremes scans f over one cycle (x in (−12, 12], 0.05 h apart) and
// returns its largest value and where, and its smallest and where.
func prcExtremes(f func(float64) float64) (maxV, maxAt, minV, minAt float64) {
	maxV, minV = math.Inf(-1), math.Inf(1)
	for i := 1; i <= 480; i++ {
		x := -12 + float64(i)*0.05
		v := f(x)
		if v > maxV {
			maxV, maxAt = v, x
		}
		if v < minV {
			minV, minAt = v, x
		}
	}
	return
}
