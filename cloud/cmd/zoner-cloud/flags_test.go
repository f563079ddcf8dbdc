package main

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestTrustedProxiesFlag(t *testing.T) {
	m := NewMain()
	if err := m.ParseFlags(context.Background(), []string{"api", "-trusted-proxies", "10.1.2.3/8, fd00::/8,"}); err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	if !slices.Equal(m.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %v, want %v", m.TrustedProxies, want)
	}
	t.Setenv("ZONER_TRUSTED_PROXIES", "172.16.0.0/12")
	m = NewMain()
	if err := m.ParseFlags(context.Background(), []string{"api"}); err != nil {
		t.Fatal(err)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12")}; !slices.Equal(m.TrustedProxies, want) {
		t.Errorf("from the environment: TrustedProxies = %v, want %v", m.TrustedProxies, want)
	}
	err := NewMain().ParseFlags(context.Background(), []string{"api", "-trusted-proxies", "10.0.0.1"})
	if err == nil || !strings.Contains(err.Error(), `"10.0.0.1" is not a network`) {
		t.Errorf("a bare address: %v", err)
	}
}

func TestMigrateAdminFlag(t *testing.T) {
	m := NewMain()
	if err := m.ParseFlags(context.Background(), []string{"migrate", "-admin", "-warehouse", "snowflake", "-snowflake-role", "ZONER_ADMIN"}); err != nil {
		t.Fatal(err)
	}
	if !m.Admin || m.Snowflake.Role != "ZONER_ADMIN" {
		t.Errorf("Admin = %t, role %q", m.Admin, m.Snowflake.Role)
	}
	// SQLite has no roles: -admin is refused there, before anything opens.
	m = NewMain()
	m.DataDir = t.TempDir()
	if err := m.ParseFlags(context.Background(), []string{"migrate", "-admin", "-warehouse", "sqlite"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "needs -warehouse snowflake") {
		t.Errorf("migrate -admin on SQLite = %v", err)
	}
	// Snowflake without an account fails on the configuration, not later.
	m = NewMain()
	if err := m.ParseFlags(context.Background(), []string{"migrate", "-admin", "-warehouse", "snowflake", "-snowflake-warehouse", "WH"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "need an account and a user") {
		t.Errorf("migrate -admin without an account = %v", err)
	}
}
