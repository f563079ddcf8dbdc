package circadian

import "math"

// Forger99 is the model of Forger, Jewett & Kronauer (1999), "A simpler
// model of the human circadian pacemaker", J Biol Rhythms 14:532–537: a van
// der Pol oscillator (x, xc) driven by a light process n. The parameter
// values are those of Serkh & Forger (2014) and the Arcascope open-source
// circadian library.
type Forger99 struct {
	Taux float64 // intrinsic period, hours
	Mu   float64 // stiffness of the oscillator
	G    float64 // light drive gain
	A0   float64 // alpha scale
	Beta float64 // photoreceptor recovery rate
	P    float64 // light sensitivity exponent
	I0   float64 // reference illuminance, lux
	K    float64 // light modulation of the period
}

// NewForger99 returns the model with the default parameters.
func NewForger99() *Forger99 {
	return NewForger99Period(24.2)
}

// NewForger99Period returns the default model with intrinsic period taux
// hours; the planner uses it to tell early from late chronotypes.
func NewForger99Period(taux float64) *Forger99 {
	return &Forger99{Taux: taux, Mu: 0.23, G: 33.75, A0: 0.05, Beta: 0.0075, P: 0.5, I0: 9500, K: 0.55}
}

// Name reports "forger99".
func (*Forger99) Name() string { return "forger99" }

// alpha is the rate at which light activates photoreceptors.
func (m *Forger99) alpha(lux float64) float64 {
	if lux <= 0 {
		return 0
	}
	if m.P == 0.5 { // the default; Sqrt is several times faster than Pow
		return m.A0 * math.Sqrt(lux/m.I0)
	}
	return m.A0 * math.Pow(lux/m.I0, m.P)
}

// Derivative is the model's right-hand side at s = (x, xc, n) under lux,
// per hour.
func (m *Forger99) Derivative(s [3]float64, lux float64) [3]float64 {
	x, xc, n := s[0], s[1], s[2]
	a := m.alpha(lux)
	r := 24 / (0.99669 * m.Taux)
	coef := r * r
	b := m.G * (1 - n) * a * (1 - 0.4*x) * (1 - 0.4*xc)
	return [3]float64{
		math.Pi / 12 * (xc + b),
		math.Pi / 12 * (m.Mu*(xc-4.0/3.0*xc*xc*xc) - x*(coef+m.K*b)),
		60 * (a*(1-n) - m.Beta*n),
	}
}

// Phase is atan2(-xc, x).
func (*Forger99) Phase(s [3]float64) float64 { return math.Atan2(-s[1], s[0]) }

// Amplitude is sqrt(x² + xc²).
func (*Forger99) Amplitude(s [3]float64) float64 { return math.Hypot(s[0], s[1]) }

// Marker is x, whose minimum is CBTmin.
func (*Forger99) Marker(s [3]float64) float64 { return s[0] }

// Entrained is (-0.084, -1.096, 0.456): someone on 16 h light, 8 h dark, at
// midnight (Serkh & Forger 2014).
func (*Forger99) Entrained() [3]float64 { return [3]float64{-0.084, -1.096, 0.456} }

// Shift moves s along the cycle by hours of phase (positive: an advance),
// keeping its amplitude and light state: how a non-photic phase shift, such
// as melatonin's, is applied.
func (*Forger99) Shift(s [3]float64, hours float64) [3]float64 {
	x, xc := rotate(s[0], s[1], hours*math.Pi/12)
	return [3]float64{x, xc, s[2]}
}
