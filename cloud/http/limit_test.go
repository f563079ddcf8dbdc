package http

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/internal/httpx"
)

func TestRateLimitPerToken(t *testing.T) {
	ts := mustOpenServer(t, Config{RatePerSecond: 1, Burst: 2})
	tok := ts.token(t, RoleGuardian, familyA, "user-1")
	path := summaryPath(familyA)
	for i := range 2 {
		if resp := ts.do("GET", path, tok, nil); resp.code != 200 {
			t.Fatalf("request %d: %d", i, resp.code)
		}
	}
	resp := ts.do("GET", path, tok, nil)
	if resp.code != 429 {
		t.Fatalf("over the burst: %d", resp.code)
	}
	if ra := resp.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q", ra)
	}
	if e := resp.errorBody(t); e.Code != httpx.CodeRateLimited {
		t.Errorf("code %q", e.Code)
	}

	// Another subject, another family: their own buckets.
	if resp := ts.do("GET", path, ts.token(t, RoleGuardian, familyA, "user-2"), nil); resp.code != 200 {
		t.Errorf("another guardian: %d", resp.code)
	}
	if resp := ts.do("GET", summaryPath(familyB), ts.token(t, RoleGuardian, familyB, "user-1"), nil); resp.code != 200 {
		t.Errorf("same subject, another family: %d", resp.code)
	}
	// A new token for the same subject and family shares the bucket.
	ts.clock.advance(time.Millisecond)
	if resp := ts.do("GET", path, ts.token(t, RoleGuardian, familyA, "user-1"), nil); resp.code != 429 {
		t.Errorf("fresh token, same holder: %d", resp.code)
	}

	ts.clock.advance(time.Second)
	if resp := ts.do("GET", path, tok, nil); resp.code != 200 {
		t.Errorf("after a second: %d", resp.code)
	}
	if resp := ts.do("GET", path, tok, nil); resp.code != 429 {
		t.Errorf("right after: %d", resp.code)
	}
}

func TestRateLimitRetryAfter(t *testing.T) {
	ts := mustOpenServer(t, Config{RatePerSecond: 0.2, Burst: 1})
	tok := ts.token(t, RoleAnalyst, uuid.Nil, "a")
	ts.do("GET", "/v1/analytics", tok, nil)
	resp := ts.do("GET", "/v1/analytics", tok, nil)
	if resp.code != 429 || resp.header.Get("Retry-After") != "5" {
		t.Fatalf("%d Retry-After %q", resp.code, resp.header.Get("Retry-After"))
	}
	ts.clock.advance(4 * time.Second)
	if resp := ts.do("GET", "/v1/analytics", tok, nil); resp.code != 429 || resp.header.Get("Retry-After") != "1" {
		t.Errorf("after 4 s: %d Retry-After %q", resp.code, resp.header.Get("Retry-After"))
	}
	ts.clock.advance(time.Second)
	if resp := ts.do("GET", "/v1/analytics", tok, nil); resp.code != 200 {
		t.Errorf("after 5 s: %d", resp.code)
	}
}

func TestRateLimitWebhooksPerAddress(t *testing.T) {
	ts := mustOpenServer(t, Config{WebhookRate: 1, WebhookBurst: 1})
	post := func(addr string) int {
		return ts.do("POST", "/v1/webhooks/flight-status", "", []byte(validStatus),
			WebhookSecretHeader, string(testWebhookSecret), "RemoteAddr", addr).code
	}
	if c := post("198.51.100.7:4000"); c != 200 {
		t.Fatalf("first: %d", c)
	}
	if c := post("198.51.100.7:4001"); c != 429 {
		t.Fatalf("second, other port: %d", c)
	}
	if c := post("198.51.100.8:4000"); c != 200 {
		t.Errorf("another address: %d", c)
	}
	ts.clock.advance(time.Second)
	if c := post("198.51.100.7:4002"); c != 200 {
		t.Errorf("after a second: %d", c)
	}
	// Wrong secrets are counted too.
	ts.clock.advance(time.Second)
	ts.do("POST", "/v1/webhooks/flight-status", "", []byte(validStatus), WebhookSecretHeader, "guess", "RemoteAddr", "198.51.100.9:1")
	if c := ts.do("POST", "/v1/webhooks/flight-status", "", []byte(validStatus), WebhookSecretHeader, "guess2", "RemoteAddr", "198.51.100.9:1").code; c != 429 {
		t.Errorf("second guess: %d", c)
	}
}

// Behind a trusted proxy, each client X-Forwarded-For names has its own
// bucket; without the proxy trusted, they all share the proxy's.
func TestRateLimitWebhooksBehindProxy(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		cfg := Config{WebhookRate: 1, WebhookBurst: 1}
		if trusted {
			cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}
		ts := mustOpenServer(t, cfg)
		post := func(client string) int {
			return ts.do("POST", "/v1/webhooks/flight-status", "", []byte(validStatus),
				WebhookSecretHeader, string(testWebhookSecret), "RemoteAddr", "10.0.0.5:4000", "X-Forwarded-For", client).code
		}
		if c := post("198.51.100.7"); c != 200 {
			t.Fatalf("trusted %v: first client: %d", trusted, c)
		}
		want := 429
		if trusted {
			want = 200
		}
		if c := post("198.51.100.8"); c != want {
			t.Errorf("trusted %v: a second client through the proxy: %d, want %d", trusted, c, want)
		}
		if c := post("198.51.100.7"); c != 429 {
			t.Errorf("trusted %v: the first client again: %d", trusted, c)
		}
	}
}

func TestRateLimitRefusedTokensPerAddress(t *testing.T) {
	ts := mustOpenServer(t, Config{WebhookRate: 1, WebhookBurst: 3})
	for i := range 3 {
		if resp := ts.do("GET", "/v1/analytics", "bad-token-"+strconv.Itoa(i), nil); resp.code != 401 {
			t.Fatalf("guess %d: %d", i, resp.code)
		}
	}
	resp := ts.do("GET", "/v1/analytics", "bad-token", nil)
	if resp.code != 429 || resp.header.Get("Retry-After") == "" {
		t.Fatalf("fourth guess: %d", resp.code)
	}
	// A valid token from the same address is limited by its own bucket.
	if resp := ts.do("GET", "/v1/analytics", ts.token(t, RoleAdmin, uuid.Nil, "ops"), nil); resp.code != 200 {
		t.Errorf("valid token: %d", resp.code)
	}
	ts.clock.advance(time.Second)
	if resp := ts.do("GET", "/v1/analytics", "bad-token", nil); resp.code != 401 {
		t.Errorf("after a second: %d", resp.code)
	}
}
