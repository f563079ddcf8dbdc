//go:build race

package sqlite

// raceEnabled is set when the race detector is on: SQLite, compiled from
// C to Go, is many times slower under it, so tests that load long
// histories load shorter ones.
const raceEnabled = true
