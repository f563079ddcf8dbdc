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
