package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zoner-family/zoner/internal/history"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// BenchmarkReplan is how long a logged nap takes to change the member's
// stored plan, through the real hub: from the POST of the nap to the
// plan, made with it, announced on the event stream. It runs a hub with a
// small log (about 100 events) and one with a big log (100,000;
// ZONER_BENCH_EVENTS sets another size), each a family's history ending
// at the hub's clock, and reports each one's median in ms, and the ratio
// of the big log's to the small's, measured in the same run. The target
// is a ratio of at most 2: re-planning does not grow with the history.
func BenchmarkReplan(b *testing.B) {
	big := max(benchEvents(100_000), 100)
	median := map[int]float64{}
	for _, n := range []int{100, big} {
		h := replanHistory(b, n)
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				lat = append(lat, h.napToPlan(b))
			}
			b.StopTimer()
			slices.Sort(lat)
			median[n] = float64(lat[len(lat)/2].Microseconds()) / 1000
			b.ReportMetric(median[n], "ms")
			b.ReportMetric(0, "ns/op") // the median says it better
		})
	}
	if median[100] > 0 && median[big] > 0 {
		b.Run("ratio", func(b *testing.B) {
			b.ReportMetric(median[big]/median[100], "ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// replanHub is a running hub loaded with a family's history.
type replanHub struct {
	c      *client
	stream *sse
	fam    *history.Family
	clock  *syncproto.Clock
	naps   int
}

// replanHistory runs a hub and gives it n events of a family's history
// ending at the hub's clock; it returns once the hub has applied them all
// and re-planned everyone with the last.
func replanHistory(b *testing.B, n int) *replanHub {
	b.Helper()
	m := mustRun(b, b.TempDir())
	c := &client{tb: b, base: m.URL}
	f := history.New(uint64(n), testNow)
	raws, err := history.Encode(f.History(n))
	if err != nil {
		b.Fatal(err)
	}
	last := postHistory(b, m.URL, raws)
	wait.Until(b, 10*time.Minute, "the history applied and planned", func() (bool, string) {
		var plans plansJSON
		c.json("GET", "/api/v1/trips/"+f.Trip.String()+"/plan", nil, 200, &plans)
		done := 0
		for _, p := range plans.Plans {
			if p.Seq >= last {
				done++
			}
		}
		return done == len(f.Members()), fmt.Sprintf("%d of %d plans made with the last event (%d)", done, len(f.Members()), last)
	})
	return &replanHub{c: c, stream: subscribe(b, c), fam: f, clock: syncproto.NewClock(func() time.Time { return testNow })}
}

// napToPlan logs a nap for the toddler and waits for her plan made with
// it: the time from the POST to the plan's notice.
func (h *replanHub) napToPlan(b *testing.B) time.Duration {
	h.naps++
	kid := h.fam.Toddler
	start := testNow.Add(-3 * time.Hour).Add(time.Duration(h.naps%60) * time.Minute)
	nap := syncproto.Envelope{Header: syncproto.Header{ID: syncproto.NewID(), FamilyID: h.fam.ID, MemberID: kid, Origin: "web:bench",
		Type: syncproto.TypeSleep, Start: start, End: start.Add(40 * time.Minute), TZ: h.fam.TZ, HLC: h.clock.Now(), V: syncproto.CurrentVersion},
		Data: &syncproto.Sleep{Nap: true}}
	body, err := syncproto.Marshal(nap)
	if err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	var w writtenJSON
	h.c.json("POST", "/api/v1/events", body, 200, &w)
	h.stream.waitFor(b, "the toddler's re-plan", func(e sseEvent) bool {
		seq, _ := e.Data["seq"].(float64)
		return e.Name == "plan" && e.Data["member_id"] == kid.String() && seq >= float64(w.Seq)
	})
	return time.Since(began)
}
