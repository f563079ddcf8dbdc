package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/internal/history"
)

func keyEnv(key string) []string {
	if key == "" {
		return nil
	}
	return []string{"ZONER_STORE_KEY=" + key}
}

func keyName(key string) string {
	if key == "" {
		return "no-key"
	}
	return "key"
}

// loadHistory writes a family's history of n events (internal/history)
// into the running hub at base, in batches of 500, and waits until the
// hub has applied them all.
func loadHistory(tb testing.TB, base string, n int) {
	tb.Helper()
	raws, err := history.Encode(history.New(1, time.Now()).History(n))
	if err != nil {
		tb.Fatal(err)
	}
	postHistory(tb, base, raws)
	waitApplied(tb, &client{tb: tb, base: base})
}

// waitApplied waits until the hub behind c has applied its whole log.
func waitApplied(tb testing.TB, c *client) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var sync struct {
			LogSeq     uint64 `json:"log_seq"`
			AppliedSeq uint64 `json:"applied_seq"`
		}
		c.json("GET", "/api/v1/sync", nil, 200, &sync)
		if sync.AppliedSeq == sync.LogSeq {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the hub applied %d of %d events in 5 minutes", sync.AppliedSeq, sync.LogSeq)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// preparedDir is a data directory, made once under parent, of a hub (the
// real binary, with key) that was given a history of n events and stopped
// cleanly.
func preparedDir(tb testing.TB, parent string, n int, key string) string {
	tb.Helper()
	dir := filepath.Join(parent, fmt.Sprintf("%s-%d", keyName(key), n))
	if exists(dir) {
		return dir
	}
	p := launchHub(tb, dir, keyEnv(key)...)
	loadHistory(tb, p.base, n)
	p.stop()
	return dir
}

// copyDir copies the data directory src to a new temporary directory.
func copyDir(tb testing.TB, src string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), "data")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		tb.Fatalf("copy %s: %v\n%s", src, err, out)
	}
	return dst
}

// launchHub runs the real binary on dir, as startHub does, and returns
// as soon as /readyz answers 200, asking every 2 ms so the wait measures
// the hub and not the polling.
func launchHub(tb testing.TB, dir string, extraEnv ...string) *process {
	tb.Helper()
	return launchHubLogged(tb, dir, filepath.Join(tb.TempDir(), "hub.log"), extraEnv...)
}

// launchHubLogged is launchHub with the hub's log in the file logPath.
func launchHubLogged(tb testing.TB, dir, logPath string, extraEnv ...string) *process {
	tb.Helper()
	p := spawnHub(tb, dir, logPath, extraEnv...)
	cmd := p.cmd
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := hc.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			log, _ := os.ReadFile(logPath)
			tb.Fatalf("hub not ready after 2 minutes: %v\n%s", err, log)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// procMiB is a /proc/<pid>/status field of the hub (VmRSS, VmHWM) in MiB.
func (p *process) procMiB(b *testing.B, field string) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Skipf("no /proc here: %v", err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb / 1024
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, p.cmd.Process.Pid)
	return 0
}

// BenchmarkStartup is the real binary's time from its start to /readyz
// answering 200, and its resident memory then, on a log of
// ZONER_BENCH_EVENTS events (default 100,000: a family's years of logs
// from internal/history) and, in the same run, on a log of 100 events, the
// raw baseline; without a store key and with one (the state then opens
// from its sealed snapshot). Each start is on a fresh copy of a data
// directory the hub wrote and stopped cleanly. The events are older than
// the log's duplicate window, as a family's are, so JetStream does not
// reread them: the benchmark waits out the window after loading.
//
// "ms-to-ready", "RSS-MiB" and "peak-RSS-MiB" (the highest until ready)
// are the big log's, "small-ms-to-ready" and "small-RSS-MiB" the small
// one's; "ratio" is big over small ms-to-ready:
// 1 means start-up does not grow with the log, lower is better.
func BenchmarkStartup(b *testing.B) {
	n := benchEvents(100000)
	parent := b.TempDir()
	keys := []string{"", atRestKey}
	for _, key := range keys {
		for _, size := range []int{100, n} {
			preparedDir(b, parent, size, key)
		}
	}
	time.Sleep(logDuplicates + time.Second)
	for _, key := range keys {
		b.Run(fmt.Sprintf("%s/events=%d", keyName(key), n), func(b *testing.B) {
			small, big := preparedDir(b, parent, 100, key), preparedDir(b, parent, n, key)
			var ready [2]time.Duration
			var rss, peak [2]float64
			b.ResetTimer()
			for range b.N {
				for i, tmpl := range []string{small, big} {
					b.StopTimer()
					dir := copyDir(b, tmpl)
					b.StartTimer()
					start := time.Now()
					p := launchHub(b, dir, keyEnv(key)...)
					ready[i] += time.Since(start)
					b.StopTimer()
					rss[i], peak[i] = p.procMiB(b, "VmRSS"), p.procMiB(b, "VmHWM")
					p.stop()
					os.RemoveAll(dir)
					b.StartTimer()
				}
			}
			b.StopTimer()
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
			b.ReportMetric(ms(ready[1]), "ms-to-ready")
			b.ReportMetric(ms(ready[0]), "small-ms-to-ready")
			b.ReportMetric(rss[1], "RSS-MiB")
			b.ReportMetric(rss[0], "small-RSS-MiB")
			b.ReportMetric(peak[1], "peak-RSS-MiB")
			b.ReportMetric(ms(ready[1])/ms(ready[0]), "ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkRSS is the resident memory of the real binary once it has
// taken ZONER_BENCH_EVENTS events (default 100,000, internal/history, in
// batches of 500 over HTTP), applied them and re-planned, against the
// same hub idle after its setup (the raw baseline, in the same run);
// without a store key and with one (the state then lives in memory, so
// it is the floor of what the hub needs). "RSS-MiB" is after the load,
// "peak-RSS-MiB" the highest during it, "idle-RSS-MiB" before it; "ratio"
// is RSS-MiB over idle-RSS-MiB, lower is better.
func BenchmarkRSS(b *testing.B) {
	n := benchEvents(100000)
	for _, key := range []string{"", atRestKey} {
		b.Run(fmt.Sprintf("%s/events=%d", keyName(key), n), func(b *testing.B) {
			var idle, loaded, peak float64
			for range b.N {
				p := launchHub(b, b.TempDir(), keyEnv(key)...)
				c := &client{tb: b, base: p.base}
				fam := history.New(1, time.Now())
				raws, err := history.Encode(fam.History(n))
				if err != nil {
					b.Fatal(err)
				}
				const setup = 6
				c.json("POST", "/api/v1/setup", history.Array(raws[:setup]), 200, nil)
				time.Sleep(2 * time.Second) // the setup's plans, then idle
				idle = p.procMiB(b, "VmRSS")
				for i := setup; i < len(raws); i += 500 {
					c.json("POST", "/api/v1/events", history.Array(raws[i:min(i+500, len(raws))]), 200, nil)
				}
				raws = nil
				waitApplied(b, c)
				time.Sleep(5 * time.Second) // the re-plans the load set off
				loaded, peak = p.procMiB(b, "VmRSS"), p.procMiB(b, "VmHWM")
				p.stop()
			}
			b.ReportMetric(loaded, "RSS-MiB")
			b.ReportMetric(peak, "peak-RSS-MiB")
			b.ReportMetric(idle, "idle-RSS-MiB")
			b.ReportMetric(loaded/idle, "ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}
