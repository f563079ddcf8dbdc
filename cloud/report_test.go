package cloud

import (
	"strings"
	"testing"
)

func TestWriteReportCalibration(t *testing.T) {
	var b strings.Builder
	if err := WriteReport(&b, &Analytics{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "no night at home had both predictions yet") {
		t.Errorf("empty report:\n%s", b.String())
	}
	b.Reset()
	a := &Analytics{Calibration: CalibrationAccuracy{Nights: 20, MeanAbsPriorMin: ptr(71.2), MeanAbsPersonalMin: ptr(38.6), PersonalBetter: ptr(0.7)}}
	if err := WriteReport(&b, a); err != nil {
		t.Fatal(err)
	}
	want := "nights 20, mean absolute error: questionnaire 71 min, calibrated 39 min; calibrated closer on 70% of nights"
	if !strings.Contains(b.String(), want) {
		t.Errorf("report:\n%s\nwant a line with %q", b.String(), want)
	}
}
