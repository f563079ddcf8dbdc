package circadian_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/circadian"
	"github.com/zoner-family/zoner/syncproto"
)

// Personal calibration on real people's nights: the five Actiwatch-4
// recordings that the pyActigraphy package ships as examples
// (deploy/local/dataset.sh fetches them and prints ZONER_SLEEP_DATASET).
// Each wearer pressed the watch's event marker at lights-out and on getting
// up; those presses are the sleep log. Method and figures: docs/planner.md,
// "Evaluation on real data".

// datasetEnv names the directory holding example_01.AWD … example_05.AWD.
const datasetEnv = "ZONER_SLEEP_DATASET"

// The evaluation's fixed choices, set before it was first run and not
// tuned to its result.
const (
	// realCalibNights is how many of a person's first nights the
	// questionnaire and the calibration see: a week, weekend included.
	realCalibNights = 7
	// realParticles is Calibrate's default.
	realParticles = 300
	// realMargin is how much worse than the questionnaire the calibrated
	// prediction may be over everyone's later nights before the test fails:
	// with about twenty nights to predict, a smaller margin would be noise.
	realMargin = 1.25
	// oakleyThreshold is the Actiware "medium" wake threshold, counts.
	oakleyThreshold = 40
	// nonWearMinutes is the run of zero counts taken as the watch off.
	nonWearMinutes = 180
)

// awdRecording is one Actiwatch AWD file: a 7-line header (name, start
// date, start time, epoch code, age, serial, sex), then one line per epoch
// with its activity count, optionally followed by ", light" and an "M"
// where the wearer pressed the event marker.
type awdRecording struct {
	Name    string
	Serial  string
	Start   time.Time
	Epoch   time.Duration
	Counts  []int
	Markers []time.Time
}

// awdEpochs maps the header's epoch code to the epoch length.
var awdEpochs = map[string]time.Duration{
	"1": 15 * time.Second, "2": 30 * time.Second, "4": time.Minute, "8": 2 * time.Minute,
	"20": 5 * time.Minute, "81": 2 * time.Second, "C1": 5 * time.Second, "C2": 10 * time.Second,
}

// parseAWD reads an AWD file whose times are wall-clock times in loc.
func parseAWD(r io.Reader, loc *time.Location) (awdRecording, error) {
	sc := bufio.NewScanner(r)
	var header []string
	for len(header) < 7 && sc.Scan() {
		header = append(header, strings.TrimSpace(sc.Text()))
	}
	if len(header) < 7 {
		return awdRecording{}, fmt.Errorf("awd: header has %d lines, want 7", len(header))
	}
	rec := awdRecording{Name: header[0], Serial: header[5]}
	var err error
	for _, layout := range []string{"02-Jan-2006 15:04", "02-Jan-2006 15:04:05", "02-Jan-2006 03:04:05 PM"} {
		if rec.Start, err = time.ParseInLocation(layout, header[1]+" "+header[2], loc); err == nil {
			break
		}
	}
	if err != nil {
		return awdRecording{}, fmt.Errorf("awd: start %q %q: %w", header[1], header[2], err)
	}
	var ok bool
	if rec.Epoch, ok = awdEpochs[header[3]]; !ok {
		return awdRecording{}, fmt.Errorf("awd: unknown epoch code %q", header[3])
	}
	for line := 8; sc.Scan(); line++ {
		fields := strings.FieldsFunc(sc.Text(), func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\r' })
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.Atoi(fields[0])
		if err != nil || n < 0 {
			return awdRecording{}, fmt.Errorf("awd: line %d: activity count %q", line, fields[0])
		}
		if slices.Contains(fields[1:], "M") {
			rec.Markers = append(rec.Markers, rec.Start.Add(time.Duration(len(rec.Counts))*rec.Epoch))
		}
		rec.Counts = append(rec.Counts, n)
	}
	if err := sc.Err(); err != nil {
		return awdRecording{}, fmt.Errorf("awd: %w", err)
	}
	if len(rec.Counts) == 0 {
		return awdRecording{}, errors.New("awd: no epochs")
	}
	return rec, nil
}

// oakleySleep scores each one-minute epoch asleep when the weighted sum of
// the counts around it, 0.04·A[−2] + 0.2·A[−1] + A[0] + 0.2·A[+1] +
// 0.04·A[+2], is at most the threshold (Oakley 1997, Actiware's rule).
func oakleySleep(counts []int) []bool {
	at := func(i int) float64 {
		if i < 0 || i >= len(counts) {
			return 0
		}
		return float64(counts[i])
	}
	out := make([]bool, len(counts))
	for i := range counts {
		s := 0.04*at(i-2) + 0.2*at(i-1) + at(i) + 0.2*at(i+1) + 0.04*at(i+2)
		out[i] = s <= oakleyThreshold
	}
	return out
}

// realNight is one marked night: the lights-out and getting-up presses,
// and the minutes from lights-out to the first ten minutes scored asleep.
type realNight struct {
	Bed, Rise time.Time
	Latency   float64
}

// markedNights pairs the event markers into nights: a press between 18:00
// and 04:00 is a lights-out (the last before getting up counts), the next
// press between 04:00 and 13:00 that is 3–14 h later is getting up. Presses
// at other times are ignored. A night is kept only if the watch was worn
// (no nonWearMinutes run of zero counts from an hour before lights-out to
// an hour after getting up) and at least half its epochs score asleep. The
// reasons for the nights dropped are returned too.
func markedNights(rec awdRecording) (nights []realNight, dropped []string) {
	if rec.Epoch != time.Minute {
		return nil, []string{fmt.Sprintf("epoch %v, the sleep rule needs one minute", rec.Epoch)}
	}
	asleep := oakleySleep(rec.Counts)
	idx := func(t time.Time) int { return int(t.Sub(rec.Start) / rec.Epoch) }
	var bed time.Time
	for _, m := range rec.Markers {
		switch h := m.Hour(); {
		case h >= 18 || h < 4:
			bed = m
		case h >= 4 && h < 13 && !bed.IsZero():
			d := m.Sub(bed)
			b := bed
			bed = time.Time{}
			if d < 3*time.Hour || d > 14*time.Hour {
				dropped = append(dropped, fmt.Sprintf("%s–%s: %v in bed", b.Format("01-02 15:04"), m.Format("15:04"), d))
				continue
			}
			lo, hi := idx(b), idx(m)
			if lo < 0 || hi > len(rec.Counts) {
				continue
			}
			zeros, longest, sleep := 0, 0, 0
			for i := max(lo-60, 0); i < min(hi+60, len(rec.Counts)); i++ {
				if rec.Counts[i] == 0 {
					zeros++
					longest = max(longest, zeros)
				} else {
					zeros = 0
				}
			}
			for i := lo; i < hi; i++ {
				if asleep[i] {
					sleep++
				}
			}
			if longest >= nonWearMinutes || 2*sleep < hi-lo {
				dropped = append(dropped, fmt.Sprintf("%s–%s: %d min without a count, %d%% asleep",
					b.Format("01-02 15:04"), m.Format("15:04"), longest, 100*sleep/(hi-lo)))
				continue
			}
			lat := math.NaN()
			for i, run := lo, 0; i < hi; i++ {
				run++
				if !asleep[i] {
					run = 0
				}
				if run == 10 {
					lat = float64(i - 9 - lo)
					break
				}
			}
			nights = append(nights, realNight{Bed: b, Rise: m, Latency: lat})
		}
	}
	return nights, dropped
}

// medianClock is the median clock time of ts, counted from `from` hours so
// that times either side of midnight sort as they happen.
func medianClock(ts []time.Time, from int) syncproto.ClockTime {
	mins := make([]int, len(ts))
	for i, t := range ts {
		mins[i] = ((t.Hour()-from)*60 + t.Minute() + 48*60) % (24 * 60)
	}
	slices.Sort(mins)
	n := len(mins)
	m := (mins[(n-1)/2] + mins[n/2]) / 2
	m = (m + from*60) % (24 * 60)
	return syncproto.ClockAt(m/60, m%60)
}

// nearestOf is the signed distance in hours from t to the nearest of ts.
func nearestOf(t time.Time, ts []time.Time) float64 {
	best := math.Inf(1)
	for _, x := range ts {
		if d := x.Sub(t).Hours(); math.Abs(d) < math.Abs(best) {
			best = d
		}
	}
	return best
}

// realResult is one person's evaluation.
type realResult struct {
	name              string
	calib, test       int
	sleep, wake       syncproto.ClockTime
	tau, tauSD        float64
	predErr, priorErr []float64 // hours, predicted − actual
	testBeds          []time.Time
	latencies         []float64
	calibNights       int
}

func rms(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x * x
	}
	return math.Sqrt(s / float64(max(len(xs), 1)))
}

// medianAbs is the median of |x|.
func medianAbs(xs []float64) float64 {
	a := make([]float64, len(xs))
	for i, x := range xs {
		a[i] = math.Abs(x)
	}
	slices.Sort(a)
	if len(a) == 0 {
		return 0
	}
	return (a[(len(a)-1)/2] + a[len(a)/2]) / 2
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

// evaluateReal calibrates on a person's first realCalibNights nights and
// predicts the lights-out of the rest.
func evaluateReal(name string, nights []realNight, loc *time.Location, seed uint64) (realResult, error) {
	r := realResult{name: name}
	if len(nights) <= realCalibNights {
		return r, fmt.Errorf("%s: %d nights, need more than %d", name, len(nights), realCalibNights)
	}
	calib, test := nights[:realCalibNights], nights[realCalibNights:]
	r.calib, r.test = len(calib), len(test)
	var beds, rises []time.Time
	var logs []circadian.Log
	for _, n := range calib {
		beds = append(beds, n.Bed)
		rises = append(rises, n.Rise)
		logs = append(logs, circadian.Log{Kind: circadian.LogSleep, Start: n.Bed, End: n.Rise})
	}
	// The questionnaire: the calibration week's median lights-out and
	// getting-up times.
	r.sleep, r.wake = medianClock(beds, 12), medianClock(rises, 0)
	p := circadian.Person{Name: name, AgeBand: syncproto.AgeAdult, Home: loc, Sleep: r.sleep, Wake: r.wake}
	last := calib[len(calib)-1].Rise
	y, mo, d := last.Date()
	end := time.Date(y, mo, d, 12, 0, 0, 0, loc)
	if !end.After(last) {
		end = last.Add(time.Hour)
	}
	c, err := circadian.Calibrate(circadian.CalibrationInput{Person: p, Start: calib[0].Bed.Add(-12 * time.Hour),
		End: end, Logs: logs, Particles: realParticles, Seed: seed})
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	r.tau, r.tauSD, r.calibNights = c.Tau, c.TauSD, c.Nights
	days := int(math.Ceil(test[len(test)-1].Bed.Sub(end).Hours()/24)) + 1
	// The planner's prediction: the person's own clock when the
	// calibration is confident, the population's otherwise.
	pc := c.Personal()
	p.Clock = &pc
	pred, err := circadian.PredictOnsets("", p, end, days)
	if err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	var habitual []time.Time
	y, mo, d = end.Date()
	for k := -1; k <= days+1; k++ {
		habitual = append(habitual, time.Date(y, mo, d+k, r.sleep.Minutes()/60, r.sleep.Minutes()%60, 0, 0, loc))
	}
	for _, n := range test {
		r.testBeds = append(r.testBeds, n.Bed)
		r.predErr = append(r.predErr, nearestOf(n.Bed, pred))
		r.priorErr = append(r.priorErr, nearestOf(n.Bed, habitual))
	}
	for _, n := range nights {
		if !math.IsNaN(n.Latency) {
			r.latencies = append(r.latencies, n.Latency)
		}
	}
	return r, nil
}

// TestRealSleepCalibration calibrates each of five real people on their
// first week of marked nights and compares the predicted lights-out of
// the nights after with the questionnaire's (the week's median). It checks
// that the recordings parse into the nights expected and fails if the
// calibrated prediction is more than realMargin times the questionnaire's
// RMS error over everyone's later nights. It skips when ZONER_SLEEP_DATASET
// is not set.
func TestRealSleepCalibration(t *testing.T) {
	dir := os.Getenv(datasetEnv)
	if dir == "" {
		t.Skipf("%s is not set: run deploy/local/dataset.sh and export the line it prints", datasetEnv)
	}
	// The wall clock of the recordings (their dates are shifted to 1918);
	// a fixed zone, so no daylight-saving change falls inside them.
	loc := time.FixedZone("recording", 0)
	// What the pinned recordings hold: epochs and marked nights kept.
	want := []struct {
		file           string
		epochs, nights int
	}{
		{"example_01.AWD", 18401, 10},
		{"example_02.AWD", 18413, 9},
		{"example_03.AWD", 21456, 11},
		{"example_04.AWD", 31299, 10},
		{"example_05.AWD", 21703, 13},
	}
	var results []realResult
	totalNights := 0
	for i, w := range want {
		f, err := os.Open(filepath.Join(dir, w.file))
		if err != nil {
			t.Fatalf("%s: %v", datasetEnv, err)
		}
		rec, err := parseAWD(f, loc)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", w.file, err)
		}
		nights, dropped := markedNights(rec)
		t.Logf("%s (serial %s): %d epochs of %v from %s, %d markers, %d nights kept, dropped: %v",
			w.file, rec.Serial, len(rec.Counts), rec.Epoch, rec.Start.Format("2006-01-02 15:04"), len(rec.Markers), len(nights), dropped)
		if len(rec.Counts) != w.epochs || len(nights) != w.nights {
			t.Errorf("%s: %d epochs and %d nights, want %d and %d", w.file, len(rec.Counts), len(nights), w.epochs, w.nights)
		}
		totalNights += len(nights)
		r, err := evaluateReal(strings.TrimSuffix(w.file, ".AWD"), nights, loc, uint64(i+1))
		if err != nil {
			t.Error(err)
			continue
		}
		results = append(results, r)
	}
	var pred, prior, lat []float64
	for _, r := range results {
		t.Logf("%s: questionnaire %v–%v from %d nights (%d used), tau %.2f ± %.2f h; %d later nights: RMS error %.2f h calibrated vs %.2f h questionnaire (median |error| %.2f vs %.2f h, mean %+.2f vs %+.2f h)",
			r.name, r.sleep, r.wake, r.calib, r.calibNights, r.tau, r.tauSD, r.test, rms(r.predErr), rms(r.priorErr),
			medianAbs(r.predErr), medianAbs(r.priorErr), mean(r.predErr), mean(r.priorErr))
		for k, b := range r.testBeds {
			t.Logf("  lights-out %s: calibrated %+.2f h, questionnaire %+.2f h", b.Format("01-02 15:04"), r.predErr[k], r.priorErr[k])
		}
		pred = append(pred, r.predErr...)
		prior = append(prior, r.priorErr...)
		lat = append(lat, r.latencies...)
	}
	if len(pred) == 0 {
		t.Fatal("no night to predict")
	}
	slices.Sort(lat)
	t.Logf("overall: %d people, %d nights (%d predicted): RMS error %.2f h calibrated vs %.2f h questionnaire, ratio %.2f; median |error| %.2f vs %.2f h; mean error %+.2f vs %+.2f h; lights-out to sleep (Oakley, 10 min) median %.0f min",
		len(results), totalNights, len(pred), rms(pred), rms(prior), rms(pred)/rms(prior), medianAbs(pred), medianAbs(prior), mean(pred), mean(prior), lat[len(lat)/2])
	if rms(pred) > realMargin*rms(prior) {
		t.Errorf("the calibrated prediction (%.2f h RMS) is more than %.2f × the questionnaire's (%.2f h)", rms(pred), realMargin, rms(prior))
	}
}

// TestParseAWD reads a small AWD file with CRLF lines, a light column and
// event markers, and refuses broken ones without panicking.
func TestParseAWD(t *testing.T) {
	good := "demo\r\n23-Jan-1918\r\n13:58\r\n 4 \r\n00\r\nV664055\r\nX\r\n0\r\n12 , 3.5\r\n7 M\r\n\r\n0 , 0.00 M\r\n"
	rec, err := parseAWD(strings.NewReader(good), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(1918, 1, 23, 13, 58, 0, 0, time.UTC)
	if !rec.Start.Equal(start) || rec.Epoch != time.Minute || !slices.Equal(rec.Counts, []int{0, 12, 7, 0}) ||
		len(rec.Markers) != 2 || !rec.Markers[0].Equal(start.Add(2*time.Minute)) || !rec.Markers[1].Equal(start.Add(3*time.Minute)) {
		t.Errorf("parsed %+v", rec)
	}
	for name, bad := range map[string]string{
		"short header": "demo\n23-Jan-1918\n13:58\n",
		"bad date":     "demo\n1918-01-23\n13:58\n4\n0\nV1\nX\n0\n",
		"bad epoch":    "demo\n23-Jan-1918\n13:58\n7\n0\nV1\nX\n0\n",
		"bad count":    "demo\n23-Jan-1918\n13:58\n4\n0\nV1\nX\n0\nabc\n",
		"negative":     "demo\n23-Jan-1918\n13:58\n4\n0\nV1\nX\n-3\n",
		"no epochs":    "demo\n23-Jan-1918\n13:58\n4\n0\nV1\nX\n",
	} {
		if _, err := parseAWD(strings.NewReader(bad), time.UTC); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Lights-out either side of midnight: the median is taken in order.
	at := func(h, m int) time.Time { return time.Date(2027, 1, 1, h, m, 0, 0, time.UTC) }
	if got := medianClock([]time.Time{at(23, 30), at(0, 30), at(23, 50)}, 12); got != syncproto.ClockAt(23, 50) {
		t.Errorf("median lights-out %v, want 23:50", got)
	}
}
