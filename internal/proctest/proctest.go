// Package proctest runs the repository's programs as real processes in
// end-to-end tests: it builds a command once per test run, picks free
// ports, starts a program with its log in a file (shown when the test
// fails), kills it as a crash does or stops it as an operator does, and
// waits for HTTP endpoints. For tests only.
package proctest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoner-family/zoner/internal/wait"
)

var builds sync.Map // package path → func() (string, error)

// Build compiles a command of the repository (an import path) once per
// test binary and returns the executable's path.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	f, _ := builds.LoadOrStore(pkg, sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "zoner-e2e-bin")
		if err != nil {
			return "", err
		}
		bin := filepath.Join(dir, filepath.Base(pkg))
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
		return bin, nil
	}))
	bin, err := f.(func() (string, error))()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Proc is a running program.
type Proc struct {
	Cmd *exec.Cmd
	Log string // the file holding its output
}

// Start runs bin with args and env added to this process's environment,
// its output in a file; the test's cleanup stops it and, when the test
// failed, logs the file's tail.
func Start(tb testing.TB, name, bin string, env []string, args ...string) *Proc {
	tb.Helper()
	log := filepath.Join(tb.TempDir(), name+".log")
	f, err := os.Create(log)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &Proc{Cmd: cmd, Log: log}
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			b, _ := os.ReadFile(log)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			tb.Logf("%s log (tail):\n%s", name, b)
		}
	})
	return p
}

// Kill9 kills the process at once, as a crash does, and reaps it.
func (p *Proc) Kill9() {
	if p.Cmd.ProcessState == nil {
		p.Cmd.Process.Kill()
		p.Cmd.Wait()
	}
}

// Stop asks the process to finish (SIGINT, which the programs treat as
// SIGTERM) and waits up to 30 s before killing it.
func (p *Proc) Stop() {
	if p.Cmd.ProcessState != nil {
		return
	}
	p.Cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.Kill9()
	}
}

// Service returns the address of a real service (a Kafka broker,
// redis-server, fakesnow) that the test command started and named in the
// environment variable env. Without it the test is skipped — a developer
// running go test by hand — or fails when ZONER_REQUIRE_SERVICES=1, as
// under the test command, which promised the service.
func Service(tb testing.TB, env string) string {
	tb.Helper()
	v := strings.TrimSpace(os.Getenv(env))
	if v == "" {
		if os.Getenv("ZONER_REQUIRE_SERVICES") == "1" {
			tb.Fatalf("%s is not set, and the test command promised the service", env)
		}
		tb.Skipf("%s is not set; go tool task test starts the services and sets it", env)
	}
	return v
}

// WaitHTTP waits up to a minute until url answers 200.
func WaitHTTP(tb testing.TB, url string) {
	tb.Helper()
	wait.For(tb, time.Minute, url+" ready", func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("answered %d", resp.StatusCode)
		}
		return nil
	})
}
