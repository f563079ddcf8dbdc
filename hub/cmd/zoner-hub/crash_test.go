package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/internal/wait"
	"github.com/zoner-family/zoner/syncproto"
)

// buildHub compiles the real binary once per test binary run.
var buildHub = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "zoner-hub-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "zoner-hub")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

type process struct {
	cmd  *exec.Cmd
	base string
}

// startHub runs the binary on dir and waits until it is ready.
func startHub(t testing.TB, dir string, extraEnv ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "hub.log")
	p := spawnHub(t, dir, logPath, extraEnv...)
	err := wait.Poll(60*time.Second, func() error {
		resp, err := http.Get(p.base + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("/readyz answered %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("hub not ready after 60 s: %v\n%s", err, log)
	}
	return p
}

// spawnHub starts the real binary on dir, on a free port, with its log in
// logPath, and kills it at the end of the test. It does not wait for it.
func spawnHub(tb testing.TB, dir, logPath string, extraEnv ...string) *process {
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
	return p
}

func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Kill() // SIGKILL: no chance to flush or close anything
		p.cmd.Wait()
	}
}

// kill -9 during a stream of writes loses no acknowledged event, and
// doubles none, over several crashes.
func TestCrashLosesNoAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary through several crashes")
	}
	dir := t.TempDir()
	f := newFamily(t)
	p := startHub(t, dir)
	c := &client{tb: t, base: p.base}
	c.json("POST", "/api/v1/setup", f.encode(f.setup()...), 200, nil)

	acked := map[uuid.UUID]bool{} // answered 200
	var unsure []syncproto.Envelope
	var mu sync.Mutex
	for round := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				member := []uuid.UUID{f.ada, f.kemi, f.tobi}[w]
				start := testNow.Add(-time.Duration(round*1000+1) * time.Hour)
				for i := 0; ctx.Err() == nil; i++ {
					at := start.Add(-time.Duration(i) * 10 * time.Minute)
					e := f.event(member, at, at.Add(5*time.Minute), "America/Los_Angeles", &syncproto.Meal{Kind: syncproto.MealSnack})
					body, _ := syncproto.Marshal(e)
					req, _ := http.NewRequestWithContext(ctx, "POST", p.base+"/api/v1/events", bytesReader(body))
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					mu.Lock()
					if err == nil && resp.StatusCode == 200 {
						acked[e.ID] = true
					} else {
						unsure = append(unsure, e) // may or may not be stored
					}
					mu.Unlock()
					if err != nil {
						return
					}
					resp.Body.Close()
				}
			})
		}
		time.Sleep(time.Duration(700+300*round) * time.Millisecond)
		p.kill()
		cancel()
		wg.Wait()
		p = startHub(t, dir)
		c = &client{tb: t, base: p.base}
	}
	if len(acked) < 100 {
		t.Fatalf("only %d writes were acknowledged before the crashes; the test proves little", len(acked))
	}

	// Retrying the writes whose outcome was unknown stores each at most once.
	for _, e := range unsure {
		body, _ := syncproto.Marshal(e)
		c.json("POST", "/api/v1/events", body, 200, nil)
	}
	count, _ := allEvents(c, 1000)
	for id := range acked {
		if count[id] != 1 {
			t.Errorf("acknowledged event %s is there %d times", id, count[id])
		}
	}
	for _, e := range unsure {
		if count[e.ID] != 1 {
			t.Errorf("retried event %s is there %d times", e.ID, count[e.ID])
		}
	}
	var sync struct {
		LogSeq     uint64 `json:"log_seq"`
		AppliedSeq uint64 `json:"applied_seq"`
	}
	c.json("GET", "/api/v1/sync", nil, 200, &sync)
	// Every message in the log is a distinct event: no id was stored twice.
	if sync.LogSeq != uint64(len(count)) || sync.AppliedSeq != sync.LogSeq {
		t.Errorf("log holds %d messages, applied %d, distinct events %d", sync.LogSeq, sync.AppliedSeq, len(count))
	}
	t.Logf("%d acknowledged, %d unsure and retried, %d events in the log after 3 crashes", len(acked), len(unsure), len(count))
	raw, _ := json.Marshal(sync)
	t.Logf("sync: %s", raw)
}
