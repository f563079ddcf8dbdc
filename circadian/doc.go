// Package circadian is Zoner's science: body-clock models, the estimate of
// each person's clock from their habits and from what they logged, and the
// family planner that turns a trip into day-by-day advice.
//
// It is pure computation. Nothing here reads the clock, the network or the
// disk: instants, zones and logs are passed in, so the same inputs always
// give the same plan, on a hub or in the cloud.
//
// The layers, bottom up:
//
//   - [Model] is a light-driven oscillator. [Forger99] (Forger, Jewett &
//     Kronauer 1999, parameters of Serkh & Forger 2014), [Jewett99] and
//     [Hannay19] implement it; [Models] lists them and [DefaultModel]
//     names the one the planner uses unless told otherwise.
//   - [Simulate] integrates a model over a light schedule with fixed-step
//     RK4; a [Trajectory] yields CBTmin and DLMO times, phase and amplitude.
//   - [Person] holds habits; [Person.Entrain] estimates the starting clock
//     by living the habitual day for weeks under a stated light assumption.
//   - [Planner.Plan] plans a [Trip] for its travellers, re-estimating each
//     clock from logged sleep and light before it plans from now.
//   - [Check] tests a plan against the invariants every plan keeps; the
//     package circadian/validation runs every model through published
//     experiments.
package circadian
