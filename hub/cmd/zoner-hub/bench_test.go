package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/internal/wait"
)

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
