//go:build !race

package circadian

// raceEnabled is set when the race detector is on (race_test.go).
const raceEnabled = false
