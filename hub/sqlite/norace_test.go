//go:build !race

package sqlite

// raceEnabled is set when the race detector is on (race_test.go).
const raceEnabled = false
