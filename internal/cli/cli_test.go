package cli

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnvFallbacks(t *testing.T) {
	t.Setenv("ZONER_T_INT", "7")
	t.Setenv("ZONER_T_BAD", "seven")
	t.Setenv("ZONER_T_DUR", "250ms")
	t.Setenv("ZONER_T_BOOL", "true")
	t.Setenv("ZONER_T_EMPTY", "")
	if got := EnvInt("ZONER_T_INT", 1); got != 7 {
		t.Errorf("EnvInt = %d", got)
	}
	if got := EnvInt("ZONER_T_BAD", 1); got != 1 {
		t.Errorf("EnvInt of a non-number = %d, want the default", got)
	}
	if got := EnvDuration("ZONER_T_DUR", time.Second); got != 250*time.Millisecond {
		t.Errorf("EnvDuration = %s", got)
	}
	if got := EnvBool("ZONER_T_BOOL", false); !got {
		t.Error("EnvBool = false")
	}
	if got := EnvFloat("ZONER_T_UNSET", 2.5); got != 2.5 {
		t.Errorf("EnvFloat unset = %v", got)
	}
	// Set but empty is a value (it turns a default off), unlike unset.
	if got := Env("ZONER_T_EMPTY", "x"); got != "" {
		t.Errorf("Env of an empty variable = %q", got)
	}
}

func TestSecret(t *testing.T) {
	t.Setenv("ZONER_T_SECRET", "from-env")
	if s, err := Secret("", "ZONER_T_SECRET"); err != nil || s != "from-env" {
		t.Fatalf("%q %v", s, err)
	}
	f := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(f, []byte("  from-file\n"), 0o600)
	if s, err := Secret(f, "ZONER_T_SECRET"); err != nil || s != "from-file" {
		t.Fatalf("the file wins and is trimmed: %q %v", s, err)
	}
	if _, err := Secret(f+".missing", "ZONER_T_SECRET"); err == nil {
		t.Fatal("a missing file: no error")
	}
}

func TestNewLogger(t *testing.T) {
	for _, c := range []struct {
		format, level string
		ok            bool
	}{{"json", "debug", true}, {"text", "warn", true}, {"auto", "info", true}, {"yaml", "info", false}, {"json", "loud", false}} {
		if _, err := NewLogger(c.format, c.level); (err == nil) != c.ok {
			t.Errorf("NewLogger(%q, %q): %v", c.format, c.level, err)
		}
	}
}

func TestParse(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 0, "")
	if err := Parse(fs, []string{"-n", "3"}); err != nil || *n != 3 {
		t.Fatalf("%v %d", err, *n)
	}
	if err := Parse(fs, []string{"-n", "3", "extra"}); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("a leftover argument: %v", err)
	}
	if err := Parse(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}
