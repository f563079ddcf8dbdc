package redis_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/cloud/redis"
)

// These tests need no server; redis_integration_test.go has those that do.

func TestConfigNeverShowsPassword(t *testing.T) {
	const secret = "hunter2-s3cret"
	cfg := redis.Config{
		Addr:        "cache.internal:6380",
		Username:    "zoner",
		Password:    secret,
		DB:          3,
		TLS:         &tls.Config{ServerName: "cache.internal"},
		PoolSize:    20,
		DialTimeout: 2 * time.Second,
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "config", cfg, "ptr", &cfg)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("start", "config", cfg)
	for name, s := range map[string]string{
		"String": cfg.String(),
		"%v":     fmt.Sprintf("%v", cfg),
		"%+v":    fmt.Sprintf("%+v", cfg),
		"%#v":    fmt.Sprintf("%#v", cfg),
		"ptr":    fmt.Sprint(&cfg),
		"slog":   logged.String(),
	} {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(s, secret) {
				t.Errorf("shows the password: %s", s)
			}
			if !strings.Contains(s, "cache.internal:6380") {
				t.Errorf("does not show the address: %s", s)
			}
		})
	}
	// encoding/json leaves it out too.
	if f, _ := reflect.TypeFor[redis.Config]().FieldByName("Password"); f.Tag.Get("json") != "-" {
		t.Errorf("Config.Password has json tag %q, want \"-\"", f.Tag.Get("json"))
	}
	if s := cfg.String(); !strings.Contains(s, "password=set") {
		t.Errorf("String() = %s, want password=set", s)
	}
	if s := (redis.Config{Addr: "x:1"}).String(); !strings.Contains(s, "password=none") {
		t.Errorf("String() = %s, want password=none", s)
	}
}

func TestNewWithoutAddress(t *testing.T) {
	_, err := redis.New(t.Context(), redis.Config{}, nil)
	if err == nil || !strings.Contains(err.Error(), "no address") {
		t.Fatalf("New without Addr: err = %v, want one about the address", err)
	}
}

// A server that does not answer is an error from New that names the
// address, well before the caller's deadline.
func TestNewUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	c, err := redis.New(ctx, redis.Config{Addr: addr, DialTimeout: time.Second}, nil)
	took := time.Since(start)
	if err == nil {
		c.Close()
		t.Fatalf("New(%s) with nothing listening: no error", addr)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the address %s", err, addr)
	}
	if ctx.Err() != nil {
		t.Errorf("New took until the deadline (%s) instead of failing", took)
	}
	t.Logf("failed in %s: %v", took.Round(time.Millisecond), err)
}

// A deadline shorter than the dial bounds New.
func TestNewUnreachableHonoursDeadline(t *testing.T) {
	// A listener that accepts but never answers stands in for a server
	// that hangs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 64)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			held <- conn
		}
	}()
	defer func() {
		ln.Close()
		for {
			select {
			case conn := <-held:
				conn.Close()
			default:
				return
			}
		}
	}()

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	c, err := redis.New(ctx, redis.Config{Addr: ln.Addr().String()}, nil)
	took := time.Since(start)
	if err == nil {
		c.Close()
		t.Fatal("New against a server that never answers: no error")
	}
	if took > 3*time.Second {
		t.Errorf("New took %s despite a 300ms deadline", took)
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not name the address", err)
	}
}
