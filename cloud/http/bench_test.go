package http

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
)

// benchBackend answers every recommendation with the same bytes.
type benchBackend struct{ rec []byte }

func (b *benchBackend) Recommendation(context.Context, uuid.UUID, uuid.UUID) ([]byte, error) {
	return b.rec, nil
}
func (b *benchBackend) FamilySummary(context.Context, uuid.UUID) (*cloud.FamilySummary, error) {
	return nil, &cloud.Error{Code: cloud.CodeNotFound, Message: "none"}
}
func (b *benchBackend) Analytics(context.Context) (*cloud.Analytics, error) {
	return &cloud.Analytics{}, nil
}
func (b *benchBackend) FlightStatus(context.Context, cloud.FlightStatus) (cloud.FlightResult, error) {
	return cloud.FlightResult{}, nil
}
func (b *benchBackend) Ready(context.Context) error { return nil }

// recommendationJSON is about 2 KB of recommendation, like a member's day.
func recommendationJSON() []byte {
	var items []string
	for i := range 12 {
		items = append(items, fmt.Sprintf(`{"kind":"light","start":"2026-12-21T%02d:00:00Z","end":"2026-12-21T%02d:30:00Z","text":"Seek bright light outdoors"}`, i, i))
	}
	return []byte(`{"version":1,"computed_at":"2026-12-20T12:00:00Z","family_id":"` + familyA.String() +
		`","member_id":"` + memberA.String() + `","name":"Ada","based_on":"2026-12-20T11:59:00.000Z-0000","modelled":true,"misalignment_h":3.5,"now":[],"next":[` +
		strings.Join(items, ",") + `]}`)
}

// BenchmarkRecommendationRead reads a recommendation over real loopback
// TCP with keep-alive clients in parallel, through token checks, rate
// limits and metrics, and reports the latency percentiles. The target is
// p99 under 2 ms.
func BenchmarkRecommendationRead(b *testing.B) {
	rec := recommendationJSON()
	s, err := New(Config{Backend: &benchBackend{rec: rec}, Secret: testSecret, WebhookSecret: testWebhookSecret,
		RatePerSecond: 1e9, Burst: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	addr, stop := mustServe(b, s, "", "")
	tok := mustToken(b, Claims{Role: RoleGuardian, Family: familyA, Subject: "guardian-1"}, time.Now())
	url := "http://" + addr + recPath(familyA, memberA)
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)

	var mu sync.Mutex
	var all []time.Duration
	b.SetBytes(int64(len(rec)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		durs := make([]time.Duration, 0, 1024)
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		for pb.Next() {
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			durs = append(durs, time.Since(t0))
			if resp.StatusCode != 200 || n != int64(len(rec)) {
				b.Errorf("status %d, %d bytes", resp.StatusCode, n)
				return
			}
		}
		mu.Lock()
		all = append(all, durs...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err := stop(); err != nil {
		b.Error(err)
	}
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50_µs")
	b.ReportMetric(pct(0.99), "p99_µs")
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
}
