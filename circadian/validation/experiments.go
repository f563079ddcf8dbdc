package validation

import (
	"math"
	"sort"
)

// The pre-flight protocols: three days of sleep advanced by an hour a day
// with a morning treatment (Burgess et al. 2003; Eastman et al. 2005;
// Crowley & Eastman 2015). Each subject's own habitual sleep was the
// reference; here it is 23:00–07:00.
//
//   - Day 0 is a habitual day, except that lights go out an hour early
//     (22:00): the first advanced night.
//   - Treatment day k = 1, 2, 3: up at 07:00 − k h; the treatment fills the
//     first 3.5 h after waking; the rest of the day is ordinary (the
//     planner's light assumption); lights out at 23:00 − (k + 1) h.
//   - The final phase assessment starts at 17:00 on day 3: dim light
//     (5 lux), awake, for 48 h, in which the clock's CBTmin is read.
//
// The control is the same length of habitual days with the same
// assessment: the published shift is the final DLMO less the baseline DLMO
// of an entrained subject, which is what staying on the habitual schedule
// would have kept.

// preflightDays is the number of treatment days.
const preflightDays = 3

// preflight returns the protocol and the control, and the hour the
// assessment starts. treat lays out the morning from wake; with melatonin,
// 0.5 mg is taken 5 h before the habitual bedtime on treatment day 1 and an
// hour earlier each day (Crowley & Eastman 2015).
func preflight(treat func(s *schedule, wake float64), melatonin bool) (protocol, control *schedule, assess float64) {
	assess = 24*preflightDays + 17
	total := assess + 48
	control = newSchedule(total)
	control.habitual(0, preflightDays+1)
	control.assessment(assess)

	protocol = newSchedule(total)
	protocol.awake(habitualWake, habitualBed-1)
	for k := 1; k <= preflightDays; k++ {
		base := 24 * float64(k)
		wake := base + habitualWake - float64(k)
		bed := base + habitualBed - float64(k+1)
		protocol.awake(wake, bed)
		treat(protocol, wake)
		if melatonin {
			protocol.doses = append(protocol.doses, base+habitualBed-5-float64(k-1))
		}
	}
	protocol.assessment(assess)
	return protocol, control, assess
}

// morningPulses lays out a morning treatment: n pulses of luxBright, each
// on hours long and starting every hour from wake, with room light
// (luxRoom) in between, over span hours from wake.
func morningPulses(n int, on, span float64) func(s *schedule, wake float64) {
	return func(s *schedule, wake float64) {
		s.set(wake, wake+span, luxRoom)
		for i := range n {
			s.set(wake+float64(i), wake+float64(i)+on, luxBright)
		}
	}
}

// eastman2005 is the 1-h-per-day group of Eastman, Gazda, Burgess, Crowley
// & Fogg (2005).
func eastman2005() Experiment {
	return Experiment{
		Name: "Eastman et al. 2005",
		Citation: "Eastman CI, Gazda CJ, Burgess HJ, Crowley SJ, Fogg LF (2005). Advancing circadian rhythms " +
			"before eastward flight: a strategy to prevent or reduce jet lag. Sleep 28(1):33–44.",
		run: func(sub subject) []Result {
			p, c, assess := preflight(morningPulses(4, 0.5, 3.5), false)
			return []Result{{
				Outcome: "DLMO advance, sleep 1 h/day earlier + intermittent bright morning light (3 days)",
				Unit:    "h", Kind: PhaseShift,
				Predicted: sub.advanceOf(p, c, assess),
				Published: 1.4, Lo: 0.7, Hi: 2.1,
				Statistic: "median (mean 1.5); spread not found, ± 0.7 assumed", Verified: true,
			}}
		},
	}
}

// burgess2003 is the dim-light group of Burgess, Crowley, Gazda, Fogg &
// Eastman (2003): the same advancing sleep with ordinary dim morning light.
func burgess2003() Experiment {
	return Experiment{
		Name: "Burgess et al. 2003",
		Citation: "Burgess HJ, Crowley SJ, Gazda CJ, Fogg LF, Eastman CI (2003). Preflight adjustment to " +
			"eastward travel: 3 days of advancing sleep with and without morning bright light. " +
			"J Biol Rhythms 18(4):318–328.",
		run: func(sub subject) []Result {
			dim := func(s *schedule, wake float64) { s.set(wake, wake+3.5, luxRoom) }
			p, c, assess := preflight(dim, false)
			return []Result{{
				Outcome: "DLMO advance, sleep 1 h/day earlier, dim (< 60 lux) morning light (3 days)",
				Unit:    "h", Kind: PhaseShift,
				Predicted: sub.advanceOf(p, c, assess),
				Published: 0.6, Lo: -0.1, Hi: 1.3,
				Statistic: "mean; spread not found, ± 0.7 assumed", Verified: true,
			}}
		},
	}
}

// crowley2015 is the three light groups of Crowley & Eastman (2015), all
// with afternoon melatonin (0.5 mg).
func crowley2015() Experiment {
	return Experiment{
		Name: "Crowley & Eastman 2015",
		Citation: "Crowley SJ, Eastman CI (2015). Phase advancing human circadian rhythms with morning bright " +
			"light, afternoon melatonin, and gradually shifted sleep: can we reduce morning bright-light " +
			"duration? Sleep Med 16(2):288–297.",
		run: func(sub subject) []Result {
			arms := []struct {
				outcome  string
				treat    func(s *schedule, wake float64)
				mean, sd float64
			}{
				{"DLMO advance, 2 h group: 4 × 30 min bright light + 0.5 mg melatonin", morningPulses(4, 0.5, 3.5), 2.4, 0.8},
				{"DLMO advance, 1 h group: 4 × 15 min bright light + 0.5 mg melatonin", morningPulses(4, 0.25, 3.25), 1.7, 0.7},
				{"DLMO advance, 0.5 h group: 1 × 30 min bright light + 0.5 mg melatonin", morningPulses(1, 0.5, 3.25), 1.8, 0.8},
			}
			var out []Result
			for _, a := range arms {
				p, c, assess := preflight(a.treat, true)
				out = append(out, Result{
					Outcome: a.outcome, Unit: "h", Kind: PhaseShift,
					Predicted: sub.advanceOf(p, c, assess),
					Published: a.mean, Lo: a.mean - a.sd, Hi: a.mean + a.sd,
					Statistic: "mean ± SD", Verified: true, SpreadPublished: true,
				})
			}
			return out
		},
	}
}

// burgess2010 runs the protocol of the melatonin PRC itself, with
// MelatoninShift as the melatonin: whatever it finds was put in.
func burgess2010() Experiment {
	return Experiment{
		Name: "Burgess et al. 2010",
		Citation: "Burgess HJ, Revell VL, Molina TA, Eastman CI (2010). Human phase response curves to three " +
			"days of daily melatonin: 0.5 mg versus 3.0 mg. J Clin Endocrinol Metab 95(7):3325–3331.",
		run: func(sub subject) []Result {
			pts := sub.melatoninPRC()
			maxV, maxAt, minV, minAt := gridExtremes(pts)
			r := func(outcome, unit string, pred, pub, lo, hi float64) Result {
				return Result{Outcome: outcome, Unit: unit, Kind: SelfCheck, Predicted: pred,
					Published: pub, Lo: lo, Hi: hi, Statistic: "fitted curve, digitised; ± tolerance assumed", Verified: false}
			}
			return []Result{
				r("largest advance of 3 daily 0.5 mg pills (self-check: the PRC is the input)", "h",
					maxV, burgess2010MaxAdvance, burgess2010MaxAdvance-0.3, burgess2010MaxAdvance+0.3),
				r("largest advance: pill time after the DLMO", "h", maxAt, burgess2010AdvanceAt, burgess2010AdvanceAt-1.5, burgess2010AdvanceAt+1.5),
				r("largest delay of 3 daily 0.5 mg pills (self-check)", "h",
					minV, burgess2010MaxDelay, burgess2010MaxDelay-0.3, burgess2010MaxDelay+0.3),
				r("largest delay: pill time after the DLMO", "h", minAt, burgess2010DelayAt, burgess2010DelayAt-1.5, burgess2010DelayAt+1.5),
			}
		},
	}
}

// melatoninPRC runs the Burgess et al. (2010) protocol at pill times 1 h
// apart around the clock and returns (hours after the baseline DLMO,
// three-day placebo-corrected shift) pairs. The delay side is reported in
// 0–24 h after the DLMO as the paper plots it, the advance side as hours
// before the next DLMO (negative).
//
// Protocol: a habitual day until 15:00, then the baseline phase assessment
// in dim light (5 lux) until the ultradian days start; three days of 2.5 h
// awake in room light and 1.5 h in the dark ("< 150 lux"; 40 lux assumed,
// as Stowe et al. 2025 did), each pill at the start of a waking episode at
// the same clock time every day; then the final assessment, 48 h in dim
// light. The placebo arm is the same schedule without the pills.
func (sub subject) melatoninPRC() [][2]float64 {
	dlmo := sub.dlmoClock()
	var out [][2]float64
	for x := -12.0; x < 12; x++ {
		pill := math.Mod(dlmo+x+48, 24) // clock hour of the pill
		u0 := 24 + math.Mod(pill, 4)
		ultradian := 72.0
		assess := u0 + ultradian
		pl := newSchedule(assess + 48)
		pl.set(0, habitualWake, 0)
		pl.awake(habitualWake, 15)
		pl.set(15, u0, luxAssess)
		for t := u0; t < assess; t += 4 {
			pl.set(t, t+2.5, 40)
			pl.set(t+2.5, t+4, 0)
		}
		pl.assessment(assess)
		mel := pl.clone()
		first := 24 + pill
		for first < u0 {
			first += 24
		}
		for k := range 3 {
			mel.doses = append(mel.doses, first+24*float64(k))
		}
		shift := sub.advanceOf(mel, pl, assess)
		at := x
		if at < -6 { // the delay side, after the DLMO
			at += 24
		}
		out = append(out, [2]float64{at, shift})
	}
	return out
}

// dlmoClock is the clock hour of the entrained subject's DLMO as a
// baseline phase assessment reads it: a habitual day until 15:00, then dim
// light (5 lux, awake); the first CBTmin in the dim light less 7 h.
func (sub subject) dlmoClock() float64 {
	s := newSchedule(15 + 36)
	s.set(0, habitualWake, 0)
	s.awake(habitualWake, habitualBed)
	s.set(15, s.hours(), luxAssess)
	mins := sub.run(s, 15)
	if len(mins) == 0 {
		return math.NaN()
	}
	return math.Mod(mins[0]-7+48, 24)
}

// gridExtremes is the largest and smallest shift of a PRC and where.
func gridExtremes(pts [][2]float64) (maxV, maxAt, minV, minAt float64) {
	maxV, minV = math.Inf(-1), math.Inf(1)
	for _, p := range pts {
		if p[1] > maxV {
			maxV, maxAt = p[1], p[0]
		}
		if p[1] < minV {
			minV, minAt = p[1], p[0]
		}
	}
	return
}

// prcPoint is one run of a light PRC protocol: the stimulus centre
// relative to the CBTmin (hours, negative before it), the raw shift as the
// paper computed it (final phase less initial phase, so including the
// drift in dim light) and the net shift against a control without the
// stimulus. Positive is an advance.
type prcPoint struct {
	phase, raw, net float64
}

// lightPRC runs the Brigham constant-routine PRC protocol (Khalsa et al.
// 2003; St Hilaire et al. 2012) with the first constant routine L = 24, 25,
// … 47 h long, so that the stimulus falls at every phase:
//
//   - 07:00 day 0 (after a habitual night): CR1, awake in crLux, L hours;
//   - 8 h asleep in the dark; 16 h awake in bgLux, the stimulus laid out by
//     stim from the start of this waking episode; 8 h asleep;
//   - CR2, awake in crLux, 50 h.
//
// The control replaces the stimulus by bgLux.
func (sub subject) lightPRC(stim func(s *schedule, wake float64), crLux, bgLux float64) []prcPoint {
	var out []prcPoint
	for L := 24.0; L < 48; L++ {
		cr1 := habitualWake
		wake := cr1 + L + 8
		cr2 := wake + 16 + 8
		c := newSchedule(cr2 + 50)
		c.set(cr1, cr1+L, crLux)
		c.set(wake, wake+16, bgLux)
		c.set(cr2, cr2+50, crLux)
		p := c.clone()
		stim(p, wake)
		// The stimulus centre: the middle of the steps brighter than the
		// background.
		var sum, n float64
		for i, l := range p.lux {
			if l > bgLux+1 {
				sum += (float64(i) + 0.5) * stepHours
				n++
			}
		}
		centre := sum / n
		cMins := sub.run(c, 0)
		pMins := sub.run(p, cr2)
		ref, ok1 := nearest(cMins, centre)
		c1, ok2 := lastBefore(cMins, cr1+L)
		p2, ok3 := firstAfter(pMins, cr2+12)
		c2, ok4 := nearest(cMins, p2)
		if !(ok1 && ok2 && ok3 && ok4) {
			continue
		}
		out = append(out, prcPoint{phase: wrap12(centre - ref), raw: wrap12(c1 - p2), net: c2 - p2})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].phase < out[j].phase })
	return out
}

// lastBefore is the last element of xs before to.
func lastBefore(xs []float64, to float64) (float64, bool) {
	for i := len(xs) - 1; i >= 0; i-- {
		if xs[i] < to {
			return xs[i], true
		}
	}
	return math.NaN(), false
}

// khalsaStimulus is the 6.7 h stimulus of Khalsa et al. (2003), centred in
// the 16 h waking episode: 6-minute fixed-gaze (~10,000 lux) and free-gaze
// (5,000–9,000 lux; 7,000 assumed) exposures alternating, which on the
// 6-minute grid is one step each.
func khalsaStimulus(s *schedule, wake float64) {
	from := wake + (16-6.7)/2
	for i := range 67 {
		l := 10000.0
		if i%2 == 1 {
			l = 7000
		}
		t := from + float64(i)*stepHours
		s.set(t, t+stepHours, l)
	}
}

// Light levels of the Brigham PRC protocols. Khalsa et al. (2003) kept
// the constant routines at ~2–7 lux (4.5 used); the dim waking episode
// around the stimulus at 15 lux and St Hilaire et al. (2012)'s background
// at 3 lux are the values of the Arcascope circadian library's encodings
// of these protocols (not checked against the papers).
const (
	khalsaCR     = 4.5
	khalsaWake   = 15.0
	stHilaireDim = 3.0
)

// khalsaSummary reduces a PRC to its largest raw advance and delay, the
// peak-to-trough amplitude and the crossover from delays to advances of
// the net curve nearest to the CBTmin (NaN if none within ±6 h).
func khalsaSummary(pts []prcPoint) (adv, del, p2t, cross float64) {
	adv, del = math.Inf(-1), math.Inf(1)
	for _, p := range pts {
		adv = math.Max(adv, p.raw)
		del = math.Min(del, p.raw)
	}
	return adv, del, adv - del, crossover(pts)
}

// crossover is the phase, hours from the CBTmin, where the net shift
// changes from a delay to an advance, nearest to the CBTmin; NaN if there
// is none within ±6 h.
func crossover(pts []prcPoint) float64 {
	best := math.NaN()
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		if a.net < 0 && b.net >= 0 {
			x := a.phase + (b.phase-a.phase)*(-a.net)/(b.net-a.net)
			if math.Abs(x) <= 6 && (math.IsNaN(best) || math.Abs(x) < math.Abs(best)) {
				best = x
			}
		}
	}
	return best
}

// khalsa2003 is the 6.7 h bright-light PRC.
func khalsa2003() Experiment {
	return Experiment{
		Name: "Khalsa et al. 2003",
		Citation: "Khalsa SBS, Jewett ME, Cajochen C, Czeisler CA (2003). A phase response curve to single " +
			"bright light pulses in human subjects. J Physiol 549(3):945–952.",
		run: func(sub subject) []Result {
			adv, del, p2t, cross := khalsaSummary(sub.lightPRC(khalsaStimulus, khalsaCR, khalsaWake))
			return []Result{
				{Outcome: "6.7 h bright light PRC: largest advance", Unit: "h", Kind: PhaseShift,
					Predicted: adv, Published: 2.0, Lo: 1.0, Hi: 3.0,
					Statistic: "fitted curve; ± 1 h assumed", Verified: false},
				{Outcome: "6.7 h bright light PRC: largest delay", Unit: "h", Kind: PhaseShift,
					Predicted: del, Published: -3.4, Lo: -4.4, Hi: -2.4,
					Statistic: "fitted curve; ± 1 h assumed", Verified: false},
				{Outcome: "6.7 h bright light PRC: peak-to-trough", Unit: "h", Kind: Shape,
					Predicted: p2t, Published: 5.02, Lo: 4.02, Hi: 6.02,
					Statistic: "dual-harmonic fit, melatonin midpoint; ± 1 h assumed", Verified: true},
				{Outcome: "6.7 h bright light PRC: delay→advance crossover, h after CBTmin", Unit: "h", Kind: Shape,
					Predicted: cross, Published: 0, Lo: -2, Hi: 2,
					Statistic: "\"at the CBTmin\"; ± 2 h assumed", Verified: true},
			}
		},
	}
}

// stHilaireStimulus is the 1 h stimulus of St Hilaire et al. (2012):
// ~8,000 lux for an hour, 7.5 h into the waking episode.
func stHilaireStimulus(s *schedule, wake float64) {
	s.set(wake+7.5, wake+8.5, 8000)
}

// stHilaire2012 is the 1 h bright-light PRC, compared with the 6.7 h one.
func stHilaire2012() Experiment {
	return Experiment{
		Name: "St Hilaire et al. 2012",
		Citation: "St Hilaire MA, Gooley JJ, Khalsa SBS, Kronauer RE, Czeisler CA, Lockley SW (2012). Human " +
			"phase response curve to a 1 h pulse of bright white light. J Physiol 590(13):3035–3045.",
		run: func(sub subject) []Result {
			_, _, long, _ := khalsaSummary(sub.lightPRC(khalsaStimulus, khalsaCR, khalsaWake))
			pts := sub.lightPRC(stHilaireStimulus, stHilaireDim, stHilaireDim)
			_, _, short, cross := khalsaSummary(pts)
			return []Result{
				{Outcome: "1 h PRC peak-to-trough ÷ 6.7 h PRC peak-to-trough", Unit: "", Kind: Shape,
					Predicted: short / long, Published: 0.4, Lo: 0.3, Hi: 0.5,
					Statistic: "about 40 %; ± 0.1 assumed", Verified: false},
				{Outcome: "1 h PRC: delay→advance crossover, h after CBTmin", Unit: "h", Kind: Shape,
					Predicted: cross, Published: 0, Lo: -2, Hi: 2,
					Statistic: "same timing as the 6.7 h PRC; ± 2 h assumed", Verified: false},
			}
		},
	}
}

// zeitzerLux are the stimulus illuminances, spanning the ~3 to ~9,100 lux
// of Zeitzer et al. (2000).
var zeitzerLux = []float64{3, 10, 30, 100, 300, 1000, 3000, 9100}

// zeitzerDelays runs the Zeitzer et al. (2000) protocol at each of
// zeitzerLux and returns the phase delays (hours, positive: a delay)
// against a control without the stimulus.
//
// Protocol: after a habitual night, a ~50 h constant routine (CR1, 10
// lux) from 07:00; 8 h asleep in the dark; a 16 h waking episode in very
// dim light (1.5 lux) whose middle is a 6.5 h stimulus centred 3.5 h
// before the (control's) CBTmin, in the early biological night; 8 h
// asleep; CR2, 10 lux, 48 h. The CR light levels and the centring are the
// Arcascope circadian library's encoding of the protocol, the 1.5 lux the
// same laboratory's description of its later protocols; not checked
// against the paper.
func (sub subject) zeitzerDelays() []float64 {
	const (
		cr        = 10.0
		dim       = 1.5
		duration  = 6.5
		beforeMin = 3.5
	)
	build := func(centre, lux float64) (*schedule, float64) {
		wake := centre - 8
		cr2 := wake + 24
		s := newSchedule(cr2 + 48)
		s.set(habitualWake, wake-8, cr)
		s.set(wake, wake+16, dim)
		s.set(cr2, cr2+48, cr)
		if lux > 0 {
			s.set(centre-duration/2, centre+duration/2, lux)
		}
		return s, cr2
	}
	// Centre the stimulus 3.5 h before the control's CBTmin on the third
	// night: start from the entrained CBTmin and correct twice.
	cbt := math.Mod(sub.dlmoClock()+7, 24)
	centre := 72 + cbt - beforeMin
	for range 2 {
		c, _ := build(centre, 0)
		if m, ok := nearest(sub.run(c, 0), centre+beforeMin); ok {
			centre = m - beforeMin
		}
	}
	control, assess := build(centre, 0)
	var out []float64
	for _, lux := range zeitzerLux {
		p, _ := build(centre, lux)
		out = append(out, -sub.advanceOf(p, control, assess))
	}
	return out
}

// halfMaxLux is the illuminance at which the delay first reaches half the
// delay at the brightest level, interpolated in log illuminance.
func halfMaxLux(delays []float64) float64 {
	top := delays[len(delays)-1]
	half := top / 2
	for i := 1; i < len(delays); i++ {
		if delays[i] >= half {
			a, b := delays[i-1], delays[i]
			la, lb := math.Log10(zeitzerLux[i-1]), math.Log10(zeitzerLux[i])
			f := 0.0
			if b != a {
				f = (half - a) / (b - a)
			}
			return math.Pow(10, la+f*(lb-la))
		}
	}
	return math.NaN()
}

// zeitzer2000 is the illuminance response of the phase delay.
func zeitzer2000() Experiment {
	return Experiment{
		Name: "Zeitzer et al. 2000",
		Citation: "Zeitzer JM, Dijk DJ, Kronauer RE, Brown EN, Czeisler CA (2000). Sensitivity of the human " +
			"circadian pacemaker to nocturnal light: melatonin phase resetting and suppression. " +
			"J Physiol 526(3):695–702.",
		run: func(sub subject) []Result {
			d := sub.zeitzerDelays()
			return []Result{
				{Outcome: "6.5 h of light in the early night: illuminance giving half the ~9,100 lux delay", Unit: "lux",
					Kind: Shape, Predicted: halfMaxLux(d), Published: 100, Lo: 50, Hi: 200,
					Statistic: "\"just over 1 %\" of ~9,000 lux; factor 2 assumed", Verified: true},
			}
		},
	}
}

// Field re-entrainment without any intervention: Aschoff, Hoffmann, Pohl &
// Wever (1975) compiled the flight studies of the time, and reviews quote
// from it about 57 min a day of re-entrainment after eastward flights and
// 92 min a day after westward ones (secondary sources name Eastman &
// Burgess 2009). Not checked: neither the primary paper nor the review was
// available; the figures come from secondary sources.

// travelHours is the time-zone jump of the field experiment, each way.
const travelHours = 7.0

// travelDays is how many local days the rate is measured over.
const travelDays = 3

// travelRate simulates a jump of offset hours (positive: east) and returns
// the re-entrainment over the first travelDays local days, hours per day,
// in the direction the clock must go (negative if it went the other way).
//
// Protocol: habitual days at home; on day 1 the subject gets up at 07:00
// home time, is at once offset hours away and stays up in cabin light (100
// lux) until the first local 23:00; then local habitual days with the
// planner's ordinary light. The clock is read by a dim constant routine
// branching off at the first local bedtime and again travelDays days
// later; the control stays at home. The rate is the shift between the two
// readings over travelDays: the same 72 h each way, without the travel
// day, which is 9 h long going east and 23 h going west.
func (sub subject) travelRate(offset float64) float64 {
	jump := 24 + habitualWake
	localAtJump := math.Mod(habitualWake+offset+48, 24)
	firstBed := jump + math.Mod(habitualBed-localAtJump+24, 24)
	shiftAt := func(days int) float64 {
		assess := firstBed + 24*float64(days)
		total := assess + 48
		c := newSchedule(total)
		c.habitual(0, int(math.Ceil(total/24)))
		c.assessment(assess)
		p := newSchedule(total)
		p.habitual(0, 2)
		p.set(jump, firstBed, luxCabin)
		for d := range days {
			bed := firstBed + 24*float64(d)
			p.set(bed, bed+8, 0)
			p.awake(bed+8, bed+24)
		}
		p.set(assess, total, 0)
		p.assessment(assess)
		return sub.advanceOf(p, c, assess)
	}
	rate := (shiftAt(travelDays) - shiftAt(0)) / travelDays
	if offset < 0 {
		rate = -rate
	}
	return rate
}

// fieldRates is the travel experiment, east and west.
func fieldRates() Experiment {
	return Experiment{
		Name: "Aschoff et al. 1975 (field)",
		Citation: "Aschoff J, Hoffmann K, Pohl H, Wever R (1975). Re-entrainment of circadian rhythms after " +
			"phase-shifts of the Zeitgeber. Chronobiologia 2:23–78; the rates as reviews quote them, e.g. " +
			"Eastman CI, Burgess HJ (2009). How to travel the world without jet lag. Sleep Med Clin 4(2):241–255.",
		run: func(sub subject) []Result {
			return []Result{
				{Outcome: "re-entrainment over the first 3 local days, 7 h east, ordinary light", Unit: "h/day", Kind: FieldRate,
					Predicted: sub.travelRate(travelHours), Published: 57.0 / 60, Lo: 27.0 / 60, Hi: 87.0 / 60,
					Statistic: "57 min/day; ± 30 min/day assumed", Verified: false},
				{Outcome: "re-entrainment over the first 3 local days, 7 h west, ordinary light", Unit: "h/day", Kind: FieldRate,
					Predicted: sub.travelRate(-travelHours), Published: 92.0 / 60, Lo: 62.0 / 60, Hi: 122.0 / 60,
					Statistic: "92 min/day; ± 30 min/day assumed", Verified: false},
			}
		},
	}
}
