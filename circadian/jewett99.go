package circadian

import (
	"math"
	"time"
)

// Jewett99 is the model of Jewett, Forger & Kronauer (1999), "Revised limit
// cycle oscillator model of human circadian pacemaker", J Biol Rhythms
// 14:493–499: the light process n drives a higher-order van der Pol
// oscillator (x, xc) whose stiffness term μ(x/3 + 4x³/3 − 256x⁷/105) sits in
// the x equation, and whose xc equation has the q·B·xc term by which light
// also changes the amplitude. The default parameters are the paper's, which
// the Arcascope open-source circadian library (version 1.0.3) also uses.
type Jewett99 struct {
	Taux   float64 // intrinsic period, hours
	Mu     float64 // stiffness of the oscillator
	G      float64 // light drive gain
	A0     float64 // alpha scale
	Beta   float64 // photoreceptor recovery rate
	P      float64 // light sensitivity exponent
	I0     float64 // reference illuminance, lux
	K      float64 // light modulation of the period
	Q      float64 // light modulation of the amplitude
	PhiRef float64 // hours from the minimum of x to CBTmin
}

// NewJewett99 returns the model with the published parameters.
func NewJewett99() *Jewett99 {
	return NewJewett99Period(24.2)
}

// NewJewett99Period returns the published model with intrinsic period taux
// hours.
func NewJewett99Period(taux float64) *Jewett99 {
	return &Jewett99{Taux: taux, Mu: 0.13, G: 19.875, A0: 0.16, Beta: 0.013, P: 0.6, I0: 9500, K: 0.55, Q: 1.0 / 3, PhiRef: 0.8}
}

// Name reports "jewett99".
func (*Jewett99) Name() string { return "jewett99" }

// alpha is the rate at which light activates photoreceptors.
func (m *Jewett99) alpha(lux float64) float64 {
	if lux <= 0 {
		return 0
	}
	return m.A0 * math.Pow(lux/m.I0, m.P)
}

// Derivative is the model's right-hand side at s = (x, xc, n) under lux,
// per hour.
func (m *Jewett99) Derivative(s [3]float64, lux float64) [3]float64 {
	x, xc, n := s[0], s[1], s[2]
	a := m.alpha(lux)
	// The factor 0.99729 makes the free-running period taux (the paper's
	// correction for the oscillator's nonlinearity).
	r := 24 / (0.99729 * m.Taux)
	b := m.G * a * (1 - n) * (1 - 0.4*x) * (1 - 0.4*xc)
	x2 := x * x
	x3 := x2 * x
	x7 := x3 * x3 * x
	stiff := m.Mu * (x/3 + 4.0/3.0*x3 - 256.0/105.0*x7)
	return [3]float64{
		math.Pi / 12 * (xc + stiff + b),
		math.Pi / 12 * (m.Q*b*xc - x*(r*r+m.K*b)),
		60 * (a*(1-n) - m.Beta*n),
	}
}

// Phase is atan2(-xc, x).
func (*Jewett99) Phase(s [3]float64) float64 { return math.Atan2(-s[1], s[0]) }

// Amplitude is sqrt(x² + xc²).
func (*Jewett99) Amplitude(s [3]float64) float64 { return math.Hypot(s[0], s[1]) }

// Marker is x. CBTmin comes PhiRef after its minimum (CBTminOffset).
func (*Jewett99) Marker(s [3]float64) float64 { return s[0] }

// CBTminOffset is PhiRef: the paper places CBTmin 0.8 h after the minimum
// of x.
func (m *Jewett99) CBTminOffset() time.Duration {
	return time.Duration(m.PhiRef * float64(time.Hour))
}

// Entrained is the state at midnight of someone entrained to 16 h of
// 150-lux light from 08:00 and 8 h of dark, as the Arcascope library
// computes it for the published parameters.
func (*Jewett99) Entrained() [3]float64 {
	return [3]float64{-0.10097101, -1.21985662, 0.50529415}
}

// Shift moves s along the cycle by hours of phase (positive: an advance),
// keeping its amplitude and light state.
func (*Jewett99) Shift(s [3]float64, hours float64) [3]float64 {
	x, xc := rotate(s[0], s[1], hours*math.Pi/12)
	return [3]float64{x, xc, s[2]}
}
