package circadian

import (
	"math"
	"testing"
)

func TestShiftRotates(t *testing.T) {
	m := NewForger99()
	s := [3]float64{0.3, -0.9, 0.4}
	s2 := m.Shift(s, 2)
	d := wrapPi(m.Phase(s2)-m.Phase(s)) * 12 / math.Pi
	if math.Abs(d-2) > 1e-9 || math.Abs(m.Amplitude(s2)-m.Amplitude(s)) > 1e-12 {
		t.Fatal(d)
	}
}
