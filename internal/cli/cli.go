// Package cli holds what Zoner's programs share on their command lines:
// the shape of main, flag parsing with environment-variable fallbacks,
// secrets read from files, and the log handler they all choose the same
// way. Standard library only.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Program is a command as Main runs it.
type Program interface {
	ParseFlags(ctx context.Context, args []string) error
	// Run starts the work; for a server it returns once serving.
	Run(ctx context.Context) error
	// Serves reports whether Run started a server that runs until a signal.
	Serves() bool
	Close() error
}

// Main runs p with the command line and exits: 2 for a bad command line,
// 1 when it fails, 0 after a server was told to stop (SIGINT, SIGTERM)
// and closed cleanly.
func Main(name string, p Program) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := p.ParseFlags(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	if err := p.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		p.Close()
		os.Exit(1)
	}
	if p.Serves() {
		<-ctx.Done()
	}
	if err := p.Close(); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Parse parses args into fs and refuses arguments left over; -h and -help
// give flag.ErrHelp (the usage is printed already).
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

// Env is the variable's value, or def when it is not set.
func Env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// EnvInt is the variable as an integer, or def when unset or unreadable.
func EnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// EnvFloat is the variable as a number, or def when unset or unreadable.
func EnvFloat(name string, def float64) float64 {
	if n, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return n
	}
	return def
}

// EnvBool is the variable as a boolean, or def when unset or unreadable.
func EnvBool(name string, def bool) bool {
	if b, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return b
	}
	return def
}

// EnvDuration is the variable as a duration ("2s"), or def when unset or
// unreadable.
func EnvDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

// Secret reads a secret from file, or when file is "" from the variable
// envName. Callers never log it.
func Secret(file, envName string) (string, error) {
	if file == "" {
		return os.Getenv(envName), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// NewLogger logs to stderr at level, as JSON or text; "auto" is text on a
// terminal and JSON otherwise.
func NewLogger(format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "auto":
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	case "text", "json":
	default:
		return nil, fmt.Errorf("log format %q: use text, json or auto", format)
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
}
