//go:build race

package circadian

// raceEnabled is set when the race detector is on: the cohort test runs
// many times slower under it, so it simulates fewer people (the test
// command runs the full cohort without it).
const raceEnabled = true
