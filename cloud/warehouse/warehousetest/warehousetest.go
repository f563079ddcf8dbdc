// Package warehousetest is the conformance suite every cloud.Warehouse
// passes: the SQLite warehouse's tests run it, and so do the Snowflake
// warehouse's against their emulator.
//
// The suite goes only through the cloud.Warehouse interface, so it holds no
// SQL of any dialect. Each subtest starts from a fresh warehouse and makes a
// handful of calls (under a hundred in all), because some emulators take tens
// of milliseconds a query.
//
// Where the interface's contract leaves room, the suite settles it:
//
//   - Times round-trip to the millisecond; the location may change (a
//     warehouse may hand back UTC). A zero End round-trips as zero.
//   - Payload bytes round-trip exactly: a warehouse that keeps payloads as
//     parsed JSON (a VARIANT) must also keep the text as it came.
//   - Of two rows with one id in the same MergeEvents call, the first is
//     kept, as if the calls had been made one row at a time.
//   - Events with no families, or unknown ones, returns nothing and no
//     error; a family named twice is read once. Since compares instants,
//     whatever offset an event's Start was written with, and to the
//     millisecond: a fact that began at since is read.
//   - Slices a query leaves empty may be nil or empty; the order of
//     FamiliesWithFlight's answer is not checked.
package warehousetest

import (
	"testing"

	"github.com/zoner-family/zoner/cloud"
)

// Run runs the conformance suite against fresh warehouses made by open.
func Run(t *testing.T, open func(t *testing.T) cloud.Warehouse) {
	tests := []struct {
		name string
		run  func(t *testing.T, w cloud.Warehouse)
	}{
		{"Ping", testPing},
		{"MergeEventsTwice", testMergeEventsTwice},
		{"MergeEventsRedelivered", testMergeEventsRedelivered},
		{"MergeEventsDuplicateInBatch", testMergeEventsDuplicateInBatch},
		{"MergeEventsLargeBatch", testMergeEventsLargeBatch},
		{"EventsRoundTrip", testEventsRoundTrip},
		{"EventsOrder", testEventsOrder},
		{"EventsSince", testEventsSince},
		{"EventsUnknownFamily", testEventsUnknownFamily},
		{"FamiliesWithFlight", testFamiliesWithFlight},
		{"MergeDailyUpsert", testMergeDailyUpsert},
		{"DailyRange", testDailyRange},
		{"MergeOutcomesUpsert", testMergeOutcomesUpsert},
		{"Analytics", testAnalytics},
		{"AnalyticsEmpty", testAnalyticsEmpty},
		{"ClockGroups", testClockGroups},
		{"ClockGroupsEmpty", testClockGroupsEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, open(t))
		})
	}
}

func testPing(t *testing.T, w cloud.Warehouse) {
	if err := w.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
