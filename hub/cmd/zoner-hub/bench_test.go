package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// BenchmarkWriteOne is one event per request, over HTTP on loopback, from
// the request to the answer (which comes once JetStream has stored the
// event). It reports the latency percentiles; the target is p99 < 10 ms.
func BenchmarkWriteOne(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync-always=%v", sync), func(b *testing.B) {
			m := mustRun(b, b.TempDir(), func(m *Main) { m.SyncAlways = sync })
			c := &client{tb: b, base: m.URL}
			f := newFamily(b)
			c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
			bodies := make([][]byte, b.N)
			for i := range bodies {
				at := testNow.Add(-time.Duration(i+1) * time.Minute)
				bodies[i] = f.encode(f.event(f.ada, at, at.Add(30*time.Second), "America/Los_Angeles", &syncproto.LightExposure{Level: syncproto.LevelIndoor}))
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				postOK(b, m.URL+"/api/v1/events", bodies[i])
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			reportPercentiles(b, lat)
		})
	}
}

// postOK posts body and fails unless the hub answers 200.
func postOK(b *testing.B, url string, body []byte) {
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // the percentiles say it better
}

// BenchmarkWriteBatch is batches of 100 events per request: events/s.
func BenchmarkWriteBatch(b *testing.B) {
	m := mustRun(b, b.TempDir())
	c := &client{tb: b, base: m.URL}
	f := newFamily(b)
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
	const size = 100
	bodies := make([][]byte, b.N)
	for i := range bodies {
		var es []syncproto.Envelope
		for j := range size {
			at := testNow.Add(-time.Duration(i*size+j+1) * time.Minute)
			es = append(es, f.event(f.kemi, at, at.Add(30*time.Second), "America/Los_Angeles", &syncproto.Meal{Kind: syncproto.MealSnack}))
		}
		bodies[i] = f.encode(es...)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		postOK(b, m.URL+"/api/v1/events", bodies[i])
	}
	b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkIdleRSS runs the real binary with a family and a planned trip,
// lets it settle, and reports its resident memory (target < 50 MB).
func BenchmarkIdleRSS(b *testing.B) {
	for range b.N {
		dir := b.TempDir()
		p := startHub(b, dir)
		c := &client{tb: b, base: p.base}
		f := newFamily(b)
		c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)
		c.json("POST", "/api/v1/events", f.encode(f.tripEvent()), 200, nil)
		wait.Until(b, time.Minute, "the trip planned", func() (bool, string) {
			var plans plansJSON
			c.json("GET", "/api/v1/trips/"+f.trip.String()+"/plan", nil, 200, &plans)
			return len(plans.Plans) == 3, fmt.Sprintf("%d plans of 3", len(plans.Plans))
		})
		time.Sleep(3 * time.Second)
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		if err != nil {
			b.Skipf("no /proc here: %v", err)
		}
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				b.ReportMetric(float64(kb)/1024, "RSS-MiB")
			}
		}
		p.kill()
	}
	b.ReportMetric(0, "ns/op")
}

// BenchmarkBinarySize builds the release binary (stripped, static) for
// linux/amd64 and linux/arm64 and reports its size (target < 25 MB).
func BenchmarkBinarySize(b *testing.B) {
	for _, arch := range []string{"amd64", "arm64"} {
		b.Run(arch, func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "zoner-hub")
			for range b.N {
				cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
				if msg, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("build: %v\n%s", err, msg)
				}
			}
			fi, err := os.Stat(out)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fi.Size())/1e6, "MB")
			b.ReportMetric(0, "ns/op")
		})
	}
}
