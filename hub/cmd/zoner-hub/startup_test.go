package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/zoner-family/zoner/internal/history"
)

// benchEvents is the size of the big log in the start-up benchmarks:
// ZONER_BENCH_EVENTS, default 100,000.
func benchEvents() int {
	n := 100000
	if v := os.Getenv("ZONER_BENCH_EVENTS"); v != "" {
		fmt.Sscan(v, &n)
	}
	return n
}

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
	fam := history.New(1, time.Now())
	raws, err := history.Encode(fam.History(n))
	if err != nil {
		tb.Fatal(err)
	}
	c := &client{tb: tb, base: base}
	const setup = 6 // the family and its five members; the trip is an event
	c.json("POST", "/api/v1/setup", history.Array(raws[:setup]), 200, nil)
	for i := setup; i < len(raws); i += 500 {
		c.json("POST", "/api/v1/events", history.Array(raws[i:min(i+500, len(raws))]), 200, nil)
	}
	waitApplied(tb, c)
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
	bin, err := buildHub()
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-data", dir, "-http", addr, "-log-format", "json", "-write-rate", "100000", "-read-rate", "100000")
	cmd.Env = append(os.Environ(), extraEnv...)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &process{cmd: cmd, base: "http://" + addr}
	tb.Cleanup(p.kill)
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
