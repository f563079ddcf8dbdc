package circadian

import "math"

// Hannay19 is the single-population model of Hannay, Booth & Forger (2019),
// "Macroscopic models for human circadian rhythms", J Biol Rhythms
// 34:658–671: the collective rhythm of the pacemaker's cells as an order
// parameter of amplitude R and phase Psi, driven by the same light process
// n as the van der Pol models. The default parameters are the paper's, which
// the Arcascope open-source circadian library (version 1.0.3) also uses.
//
// Tau is the paper's τ, the period of a single cell. The coupling term
// K/2·sin(Beta1)·(1+R⁴) slows the collective rhythm, so in darkness the
// model runs with DarkPeriod, about 24.18 h for the published parameters,
// not Tau. NewHannay19Period takes that free-running period.
type Hannay19 struct {
	Tau    float64 // period of one cell, hours (not the free-running period)
	K      float64 // coupling strength
	Gamma  float64 // spread of the cells' frequencies
	Beta1  float64 // coupling phase offset
	A1     float64 // first-harmonic light response
	A2     float64 // second-harmonic light response
	BetaL1 float64 // first-harmonic light phase offset
	BetaL2 float64 // second-harmonic light phase offset
	Sigma  float64 // light-driven speed-up of the phase
	G      float64 // light drive gain
	A0     float64 // alpha scale
	Delta  float64 // photoreceptor recovery rate
	P      float64 // light sensitivity exponent
	I0     float64 // half-saturation constant of alpha, in lux^P
}

// NewHannay19 returns the model with the published parameters.
func NewHannay19() *Hannay19 {
	return &Hannay19{
		Tau: 23.84, K: 0.06358, Gamma: 0.024, Beta1: -0.09318,
		A1: 0.3855, A2: 0.1977, BetaL1: -0.0026, BetaL2: -0.957756, Sigma: 0.0400692,
		G: 33.75, A0: 0.05, Delta: 0.0075, P: 1.5, I0: 9325,
	}
}

// NewHannay19Period returns the published model with Tau chosen so that
// its free-running period in constant darkness is period hours.
func NewHannay19Period(period float64) *Hannay19 {
	m := NewHannay19()
	m.Tau = 2 * math.Pi / (2*math.Pi/period - m.couplingSpeed())
	return m
}

// darkR4 is R⁴ on the model's limit cycle in constant darkness, where
// dR/dt = R·(−Gamma + K/2·cos(Beta1)·(1−R⁴)) vanishes.
func (m *Hannay19) darkR4() float64 {
	return max(0, 1-2*m.Gamma/(m.K*math.Cos(m.Beta1)))
}

// couplingSpeed is the change of dPsi/dt that coupling brings in constant
// darkness, in radians per hour.
func (m *Hannay19) couplingSpeed() float64 {
	return m.K / 2 * math.Sin(m.Beta1) * (1 + m.darkR4())
}

// DarkPeriod is the model's free-running period in constant darkness,
// hours: 2π over the collective angular speed on the dark limit cycle.
func (m *Hannay19) DarkPeriod() float64 {
	return 2 * math.Pi / (2*math.Pi/m.Tau + m.couplingSpeed())
}

// Name reports "hannay19".
func (*Hannay19) Name() string { return "hannay19" }

// alpha is the rate at which light activates photoreceptors: a Hill
// function of lux.
func (m *Hannay19) alpha(lux float64) float64 {
	if lux <= 0 {
		return 0
	}
	var ip float64
	if m.P == 1.5 { // the default; cheaper than Pow
		ip = lux * math.Sqrt(lux)
	} else {
		ip = math.Pow(lux, m.P)
	}
	return m.A0 * ip / (ip + m.I0)
}

// Derivative is the model's right-hand side at s = (R, Psi, n) under lux,
// per hour.
func (m *Hannay19) Derivative(s [3]float64, lux float64) [3]float64 {
	r, psi, n := s[0], s[1], s[2]
	a := m.alpha(lux)
	r4 := r * r * r * r
	sb, cb := math.Sincos(m.Beta1)
	dr := -m.Gamma*r + m.K/2*cb*r*(1-r4)
	dpsi := 2*math.Pi/m.Tau + m.K/2*sb*(1+r4)
	if a > 0 {
		b := m.G * (1 - n) * a
		r8 := r4 * r4
		s1, c1 := math.Sincos(psi + m.BetaL1)
		s2, c2 := math.Sincos(2*psi + m.BetaL2)
		dr += b / 2 * (m.A1*(1-r4)*c1 + m.A2*r*(1-r8)*c2)
		dpsi += m.Sigma*b - b/2*(m.A1*(r*r*r+1/r)*s1+m.A2*(1+r8)*s2)
	}
	return [3]float64{dr, dpsi, 60 * (a*(1-n) - m.Delta*n)}
}

// Phase is Psi, wrapped to (−π, π].
func (*Hannay19) Phase(s [3]float64) float64 { return wrapPi(s[1]) }

// Amplitude is R, the synchrony of the pacemaker's cells.
func (*Hannay19) Amplitude(s [3]float64) float64 { return s[0] }

// Marker is cos(Psi): CBTmin is where Psi passes π (mod 2π), as the
// Arcascope library places it.
func (*Hannay19) Marker(s [3]float64) float64 { return math.Cos(s[1]) }

// Entrained is the state at midnight of someone entrained to 16 h of
// 150-lux light from 08:00 and 8 h of dark, as the Arcascope library gives
// it for the published parameters.
func (*Hannay19) Entrained() [3]float64 {
	return [3]float64{0.82041911, 1.71383697, 0.52318122}
}

// Shift moves s along the cycle by hours of phase (positive: an advance):
// Psi grows by hours·π/12, R and the light state stay.
func (*Hannay19) Shift(s [3]float64, hours float64) [3]float64 {
	return [3]float64{s[0], s[1] + hours*math.Pi/12, s[2]}
}
