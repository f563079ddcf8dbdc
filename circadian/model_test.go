package circadian

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/zoner-family/zoner/syncproto"
)

var epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// regularDay is 16 h of light at lux from 07:00 and 8 h of dark from 23:00.
func regularDay(lux float64) []float64 {
	day := make([]float64, stepsPerDay)
	for k := range day {
		if h := float64(k) * stepHours; h >= 7 && h < 23 {
			day[k] = lux
		}
	}
	return day
}

func repeat(day []float64, n int) []float64 {
	out := make([]float64, 0, len(day)*n)
	for range n {
		out = append(out, day...)
	}
	return out
}

func TestDerivativeMatchesEquations(t *testing.T) {
	m := NewForger99()
	s := [3]float64{0.3, -0.8, 0.2}
	const lux = 500
	// The published equations, written out again independently.
	alpha := 0.05 * math.Pow(lux/9500.0, 0.5)
	dn := 60 * (alpha*(1-0.2) - 0.0075*0.2)
	b := 33.75 * (1 - 0.2) * alpha * (1 - 0.4*0.3) * (1 - 0.4*-0.8)
	dx := math.Pi / 12 * (-0.8 + b)
	dxc := math.Pi / 12 * (0.23*(-0.8-4.0/3*math.Pow(-0.8, 3)) - 0.3*(math.Pow(24/(0.99669*24.2), 2)+0.55*b))
	got := m.Derivative(s, lux)
	for i, want := range [3]float64{dx, dxc, dn} {
		if math.Abs(got[i]-want) > 1e-12 {
			t.Errorf("component %d = %v, want %v", i, got[i], want)
		}
	}
	if d := m.Derivative(s, 0); d[2] != 60*(-0.0075*0.2) {
		t.Errorf("in the dark dn/dt = %v, want only decay", d[2])
	}
}

func TestPeriodInConstantDarkness(t *testing.T) {
	for _, taux := range []float64{24.2, 24.0, 24.5} {
		m := NewForger99Period(taux)
		tr := Simulate(m, m.Entrained(), epoch, make([]float64, 30*stepsPerDay))
		mins := tr.CBTMins()
		if len(mins) < 25 {
			t.Fatalf("taux %v: %d minima in 30 days", taux, len(mins))
		}
		// Skip the first days: the model is leaving its entrained orbit.
		first, last := mins[5], mins[len(mins)-1]
		period := last.Sub(first).Hours() / float64(len(mins)-1-5)
		if math.Abs(period-taux) > 0.1 {
			t.Errorf("taux %v: free-running period %.3f h", taux, period)
		}
	}
}

func TestConvergenceFromManyStates(t *testing.T) {
	m := NewForger99()
	rng := rand.New(rand.NewPCG(1, 2))
	day := regularDay(500)
	light := repeat(day, 21)
	var clocks []float64
	for range 300 {
		r := 0.3 + 1.2*rng.Float64()
		a := 2 * math.Pi * rng.Float64()
		s := [3]float64{r * math.Cos(a), r * math.Sin(a), rng.Float64()}
		s = Advance(m, s, light)
		tr := Simulate(m, s, epoch, repeat(day, 2))
		mins := tr.CBTMins()
		if len(mins) == 0 {
			t.Fatalf("no CBTmin after entrainment from %v", s)
		}
		clocks = append(clocks, mins[0].Sub(epoch).Hours())
	}
	lo, hi := clocks[0], clocks[0]
	for _, c := range clocks {
		lo, hi = math.Min(lo, c), math.Max(hi, c)
	}
	if hi-lo > 0.25 {
		t.Errorf("after 3 weeks CBTmin spreads over %.2f h (%.2f to %.2f)", hi-lo, lo, hi)
	}
}

func TestEarlyMorningCBTminForRegularSleeper(t *testing.T) {
	for _, tc := range []struct {
		sleep, wake syncproto.ClockTime
		light       syncproto.TypicalLight
	}{
		{syncproto.ClockAt(23, 0), syncproto.ClockAt(7, 0), syncproto.LightSomeOutdoors},
		{syncproto.ClockAt(22, 30), syncproto.ClockAt(6, 30), syncproto.LightMostlyIndoors},
		{syncproto.ClockAt(23, 30), syncproto.ClockAt(7, 30), syncproto.LightMostlyOutdoors},
	} {
		p := Person{AgeBand: syncproto.AgeAdult, Home: time.UTC, Sleep: tc.sleep, Wake: tc.wake, Light: tc.light}
		b := p.Entrain(NewForger99Period(24.2+p.PeriodDelta()), p.AgeOn(syncproto.Date{Year: 2026, Month: 1, Day: 1}))
		wake := float64(tc.wake.Minutes()) / 60
		before := wake - b.CBTmin
		if before < 1 || before > 4 {
			t.Errorf("sleep %s–%s, %s: CBTmin %.2f h, %.2f h before wake; want 1–4 h", tc.sleep, tc.wake, tc.light, b.CBTmin, before)
		}
		if got := math.Mod(b.CBTmin-b.DLMO+24, 24); math.Abs(got-7) > 1e-9 {
			t.Errorf("DLMO %.2f is %.2f h before CBTmin", b.DLMO, got)
		}
	}
}

func TestPhaseAndAmplitude(t *testing.T) {
	m := NewForger99()
	s := [3]float64{1, 0, 0}
	if got := m.Phase(s); got != 0 {
		t.Errorf("phase of (1,0) = %v", got)
	}
	if got := m.Phase([3]float64{0, -1, 0}); math.Abs(got-math.Pi/2) > 1e-12 {
		t.Errorf("phase of (0,-1) = %v, want π/2", got)
	}
	if got := m.Amplitude([3]float64{3, 4, 0.5}); got != 5 {
		t.Errorf("amplitude = %v", got)
	}
	// Phase grows with time in the dark.
	tr := Simulate(m, m.Entrained(), epoch, make([]float64, 10))
	if d := wrapPi(tr.Phase(10) - tr.Phase(0)); d <= 0 {
		t.Errorf("phase moved %v in an hour", d)
	}
}

func TestLightShiftsTheRightWay(t *testing.T) {
	// Khalsa 2003: light before CBTmin delays, after it advances.
	m := NewForger99()
	day := regularDay(300)
	s := Advance(m, m.Entrained(), repeat(day, 28))
	base := Simulate(m, s, epoch, repeat(day, 4))
	cbt := base.CBTMins()[0].Sub(epoch).Hours()
	shift := func(at float64) float64 {
		light := repeat(day, 4)
		for k := range 30 { // 3 h of 10,000 lux
			light[int((at)/stepHours)+k] = 10000
		}
		got := Simulate(m, s, epoch, light).CBTMins()
		return got[len(got)-1].Sub(base.CBTMins()[len(got)-1]).Hours()
	}
	if d := shift(cbt - 4.5); d <= 0.15 {
		t.Errorf("light ending 1.5 h before CBTmin moved the clock %.2f h, want a delay", d)
	}
	if d := shift(cbt + 1); d >= -0.15 {
		t.Errorf("light from 1 h after CBTmin moved the clock %.2f h, want an advance", d)
	}
}
