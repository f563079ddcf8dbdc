//go:build integration

package http

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/zoner-family/zoner/cloud"
	"github.com/zoner-family/zoner/cloud/memcache"
	"github.com/zoner-family/zoner/internal/schemathesis"
)

// everyFamily is a backend where every family exists, with one member
// named after it, and every member has advice: every generated id reads
// something, so the answers to schema-valid reads are 200s. The web UI's
// reads, the intake, the live stream and push come from the unit tests'
// fakes (push over a real cloud.PushAPI on an in-memory store), so every
// route answers as it would with its backend configured.
type everyFamily struct {
	tb testing.TB
	*fakeIntake
}

func (b everyFamily) member(family uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(family, []byte("member"))
}

func (b everyFamily) Recommendation(_ context.Context, family, member uuid.UUID) ([]byte, error) {
	return oaRecommendation(b.tb, family, member, "Ada"), nil
}

func (b everyFamily) FamilySummary(_ context.Context, family uuid.UUID) (*cloud.FamilySummary, error) {
	return oaSummary(b.tb, family, b.member(family)), nil
}

func (b everyFamily) Analytics(context.Context) (*cloud.Analytics, error) { return oaAnalytics(), nil }

func (b everyFamily) FlightStatus(_ context.Context, s cloud.FlightStatus) (cloud.FlightResult, error) {
	return cloud.FlightResult{Events: []uuid.UUID{uuid.NewSHA1(uuid.NameSpaceURL, []byte(s.ID))}, Trips: 1}, nil
}

func (b everyFamily) Ready(context.Context) error { return nil }

// TestSchemathesis runs Schemathesis with every check and phase
// (cloud/http/schemathesis.toml) against a real API server, with an
// admin's token, which may read every family, and the webhook secret.
func TestSchemathesis(t *testing.T) {
	schemathesis.Path(t) // skips early when it is not installed
	s, err := New(Config{Backend: everyFamily{tb: t, fakeIntake: newFakeIntake()}, Secret: testSecret, WebhookSecret: testWebhookSecret,
		RatePerSecond: 1e6, Burst: 1e6, WebhookRate: 1e6, WebhookBurst: 1e6, SignInRate: 1e6, SignInBurst: 1e6,
		Sessions: memcache.NewSessions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := mustServe(t, s, "", "")
	base := "http://" + addr
	tok, err := IssueToken(testSecret, Claims{Role: RoleAdmin, Subject: "schemathesis"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rep := schemathesis.Run(t, schemathesis.Options{
		Schema:  base + "/v1/openapi.json",
		Config:  "cloud/http/schemathesis.toml",
		Headers: []string{"Authorization: Bearer " + tok, WebhookSecretHeader + ": " + string(testWebhookSecret)},
		Timeout: 6 * time.Minute,
	})
	t.Log(rep.Output)

	// The server's own count of its answers, by route and status.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	re := regexp.MustCompile(`zoner_cloud_http_requests_total\{route="([^"]+)",status="(\d+)"\} (\d+)`)
	ok, all := 0, 0
	var lines []string
	for _, g := range re.FindAllStringSubmatch(string(metrics), -1) {
		n, _ := strconv.Atoi(g[3])
		lines = append(lines, fmt.Sprintf("%s %s: %d", g[1], g[2], n))
		all += n
		if strings.HasPrefix(g[2], "2") {
			ok += n
		}
	}
	slices.Sort(lines)
	t.Logf("answers to generated requests, %d of %d 2xx:\n%s", ok, all, strings.Join(lines, "\n"))
	for _, route := range []string{"/v1/families/{family}/members/{member}/recommendation", "/v1/families/{family}/summary",
		"/v1/analytics", "/v1/webhooks/flight-status", "/v1/webhooks/flightaware"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(route) + ` 2\d\d: `).MatchString(strings.Join(lines, "\n")) {
			t.Errorf("no generated request to %s was answered 2xx: the document does not describe what it takes", route)
		}
	}
}
