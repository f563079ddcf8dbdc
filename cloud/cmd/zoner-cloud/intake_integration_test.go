//go:build integration

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/cloudtest"
	"github.com/zoner-family/zoner/internal/proctest"
	"github.com/zoner-family/zoner/internal/wait"
)

// BenchmarkIntakeFreshness measures a nap logged through the cloud's API
// → the member's fresh advice announced on the family's live stream, on
// the real services: zoner-cloud all with real Kafka, redis-server and the
// fakesnow warehouse, a hub linked. Each iteration is one nap; run with
// -benchtime 200x.
func BenchmarkIntakeFreshness(b *testing.B) {
	s := realServices(b)
	dir := b.TempDir()
	m := NewMain()
	m.DataDir, m.LeafAddr, m.APIAddr, m.HTTPAddr = dir, proctest.FreeAddr(b), "127.0.0.1:0", ""
	m.KafkaBrokers, m.Cache, m.RedisAddr, m.RedisDB = strings.Split(s.kafka, ","), "redis", s.redis, 6
	m.Warehouse, m.Snowflake = "snowflake", s.snowflake(s.fakesnow)
	m.IngestGroup, m.RecommenderGroup = "ingest-"+s.schema, "rec-"+s.schema
	m.RatePerSecond, m.Burst = 1000, 1000
	m.Logger = testLogger()
	if err := m.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	fam := cloudtest.NewFamily(time.Now().Add(-36*time.Hour).Truncate(time.Minute), "BA286")
	linkedHub(b, m, dir, fam, "-write-rate", "100000")
	guardian := strings.TrimSpace(run1(b, "token", "-data", dir, "-family", fam.ID.String(), "-role", "guardian"))
	recURL := fmt.Sprintf("%s/v1/families/%s/members/%s/recommendation", m.APIURL, fam.ID, fam.Members[0])
	wait.For(b, 2*time.Minute, "the family in the cloud", func() error {
		if code := call(b, "GET", recURL, guardian, nil, nil); code != 200 {
			return fmt.Errorf("recommendation: %d", code)
		}
		// The intake checks against the warehouse: wait for ingest too.
		var sum cloud.FamilySummary
		if code := call(b, "GET", m.APIURL+"/v1/families/"+fam.ID.String()+"/summary", guardian, nil, &sum); code != 200 || len(sum.Members) < len(fam.Members) || len(sum.Trips) == 0 {
			return fmt.Errorf("summary: %d, %d members, %d trips", code, len(sum.Members), len(sum.Trips))
		}
		return nil
	})
	stream := openStream(b, m.APIURL, fam.ID, guardian)
	b.ResetTimer()
	ds, posts := freshness(b, m.APIURL, fam, guardian, stream, b.N)
	b.StopTimer()
	percentiles(b, ds, "ms")
	percentiles(b, posts, "post-ms")
}
