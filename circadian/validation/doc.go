// Package validation runs every body-clock model of circadian.Models
// through published human experiments and compares what each model
// predicts with what was measured. It is pure computation, like the rest
// of circadian/.
//
// Each experiment is encoded as its protocol: light in lux, sleep in the
// dark and melatonin pills, on the model's 0.1 h grid (a shorter pulse is
// the time-weighted mean of the steps it covers); a control or baseline
// where the study had one; and the published outcome with its spread. The
// studies:
//
//   - Eastman et al. 2005 and Burgess et al. 2003: three days of sleep an
//     hour earlier each day, with intermittent bright or dim morning light.
//   - Crowley & Eastman 2015: the same with three patterns of morning
//     bright light and 0.5 mg afternoon melatonin.
//   - Burgess et al. 2010: the 0.5 mg melatonin phase response curve, which
//     is also the suite's melatonin input (MelatoninPRC, MelatoninShift).
//   - Khalsa et al. 2003: the 6.7 h bright-light PRC in constant routines.
//   - St Hilaire et al. 2012: the 1 h bright-light PRC.
//   - Zeitzer et al. 2000: the phase delay against illuminance.
//   - Aschoff et al. 1975: re-entrainment in the field after flights east
//     and west, with ordinary light and no treatment.
//
// Conventions. Phase shifts are in hours, advances positive. A shift is
// read as the difference in CBTmin (DLMO = CBTmin − 7 h, so the same
// difference) between the protocol and a control run of the same length,
// both ending in the same dim constant routine (5 lux, awake, 48 h) whose
// first 12 h are not read: the clock's phase, not the masking of the last
// light. Every model is first entrained for 30 days to a habitual day
// (asleep 23:00–07:00, the planner's stated light assumption awake) and
// the entrained state is reused by every experiment.
//
// No model in circadian has a melatonin input: a pill moves the state
// along its cycle with circadian.Model.Shift by MelatoninShift, a third of
// the published three-day curve of Burgess et al. (2010) at the pill's
// time relative to the model's DLMO. The Burgess et al. (2010) rows run
// that curve's own protocol and so only check the plumbing; the Crowley &
// Eastman (2015) melatonin groups are the independent test.
//
// Run gives one model's results, Summarize its root-mean-square errors
// (phase shifts in hours, field rates in hours a day: the model's
// uncertainty) and Table the Markdown that docs/planner.md carries between
// its validation markers. go tool task validation rewrites it; the test
// TestValidationTable fails while it is stale. docs/validation.md
// describes each experiment, the source of each number and which numbers
// could not be checked.
package validation
