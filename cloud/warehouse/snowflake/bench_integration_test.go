//go:build integration

package snowflake

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
)

// BenchmarkMergeEvents merges batches of 1,000 new events with payloads of
// about 400 bytes.
func BenchmarkMergeEvents(b *testing.B) {
	w := MustOpen(b)
	e := newEvents()
	pad := strings.Repeat("x", 200)
	family := uuid.New()
	merged := 0
	for b.Loop() {
		batch := make([]cloud.Row, 1000)
		for i := range batch {
			r := e.meal(family, uuid.New())
			r.Payload = append(r.Payload[:len(r.Payload)-1], `,"pad":"`+pad+`"}`...)
			batch[i] = r
		}
		merged += mustMerge(b, w, batch)
	}
	b.ReportMetric(float64(merged)/b.Elapsed().Seconds(), "events/s")
}
