// Package schemathesis runs Schemathesis, a property-based tester of HTTP
// APIs, against a server a test started, for the integration tests of the
// hub's and the cloud's APIs. deploy/local/schemathesis.sh installs it
// into .artifacts/services/schemathesis; the test command runs that script.
package schemathesis

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Options of one run.
type Options struct {
	// Schema is the URL of the OpenAPI document.
	Schema string
	// Config is the schemathesis.toml to run with, relative to the
	// repository's root.
	Config string
	// Headers are sent with every request, as "Name: value".
	Headers []string
	// Args are further command-line arguments.
	Args []string
	// Timeout bounds the whole run.
	Timeout time.Duration
}

// Report is what a run printed.
type Report struct {
	Output string
}

// root is the repository's root: the directory of go.mod above this file.
func root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("schemathesis: cannot find the source directory")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Path is the schemathesis program: $ZONER_SCHEMATHESIS, else the one
// deploy/local/schemathesis.sh installs under .artifacts. When it is
// missing the test is skipped, unless CI is set: there a missing tool is
// a failure, since the test command installs it.
func Path(t testing.TB) string {
	t.Helper()
	p := os.Getenv("ZONER_SCHEMATHESIS")
	if p == "" {
		p = filepath.Join(root(t), ".artifacts", "services", "schemathesis", "venv", "bin", "schemathesis")
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("schemathesis is not installed at %s (deploy/local/schemathesis.sh install .artifacts/services/schemathesis): %v", p, err)
		}
		t.Skipf("schemathesis is not installed at %s; run deploy/local/schemathesis.sh install .artifacts/services/schemathesis", p)
	}
	return p
}

// Run runs `schemathesis run` with every check and phase the config
// enables, and fails the test, printing the report, when Schemathesis
// reports a failure or an error.
func Run(t testing.TB, o Options) Report {
	t.Helper()
	bin := Path(t)
	dir := t.TempDir()
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	args := []string{"--no-color"}
	if o.Config != "" {
		args = append(args, "--config-file", filepath.Join(root(t), o.Config))
	}
	args = append(args, "run", o.Schema,
		"--generation-database", "none", "--output-truncate", "true")
	for _, h := range o.Headers {
		args = append(args, "-H", h)
	}
	args = append(args, o.Args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	// No colour, no telemetry, and the sanitised output keeps tokens out
	// of the log.
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SCHEMATHESIS_TELEMETRY=false", "COLUMNS=120")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	rep := Report{Output: out.String()}
	t.Logf("schemathesis ran for %s", time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("schemathesis %s: %v\n%s", strings.Join(args, " "), err, rep.Output)
	}
	return rep
}
