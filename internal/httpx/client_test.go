package httpx

import (
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
)

func TestClientIPBehindProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, c := range []struct {
		name, remote string
		forwarded    []string
		trusted      []netip.Prefix
		want         string
	}{
		{"direct", "203.0.113.7:5000", nil, proxies, "203.0.113.7"},
		{"a header from a client is not believed", "203.0.113.7:5000", []string{"198.51.100.1"}, proxies, "203.0.113.7"},
		{"no proxies trusted", "10.1.2.3:5000", []string{"198.51.100.1"}, nil, "10.1.2.3"},
		{"one proxy", "10.1.2.3:5000", []string{"198.51.100.1"}, proxies, "198.51.100.1"},
		{"the nearest untrusted hop", "10.1.2.3:5000", []string{"192.0.2.9, 198.51.100.1, 10.4.4.4"}, proxies, "198.51.100.1"},
		{"hops over several headers", "10.1.2.3:5000", []string{"192.0.2.9", "198.51.100.1", "10.4.4.4"}, proxies, "198.51.100.1"},
		{"a lie to the left is ignored", "10.1.2.3:5000", []string{"10.9.9.9, 203.0.113.50"}, proxies, "203.0.113.50"},
		{"every hop trusted", "10.1.2.3:5000", []string{"10.4.4.4"}, proxies, "10.4.4.4"},
		{"ipv6 proxy", "[fd00::1]:5000", []string{"2001:db8::5"}, proxies, "2001:db8::5"},
		{"garbage hop", "10.1.2.3:5000", []string{"not-an-address"}, proxies, "not-an-address"},
		{"empty entries", "10.1.2.3:5000", []string{"198.51.100.1, ,"}, proxies, "198.51.100.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr = c.remote
			for _, f := range c.forwarded {
				r.Header.Add("X-Forwarded-For", f)
			}
			before := slices.Clone(r.Header.Values("X-Forwarded-For"))
			if got := ClientIP(r, c.trusted); got != c.want {
				t.Errorf("ClientIP = %q, want %q", got, c.want)
			}
			if !slices.Equal(r.Header.Values("X-Forwarded-For"), before) {
				t.Error("the request's header was changed")
			}
		})
	}
}
