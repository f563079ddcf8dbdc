//go:build integration

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	hubhttp "github.com/zoner-family/zoner/hub/http"
	"github.com/zoner-family/zoner/internal/schemathesis"
)

// TestSchemathesis runs Schemathesis with every check and phase
// (hub/http/schemathesis.toml) against a real hub serving the LAN, with
// its pairing token. Before setup, so that generated setups can be
// accepted; the stateful phase follows the document's links from the
// family to writes of its events.
func TestSchemathesis(t *testing.T) {
	schemathesis.Path(t) // skips early when it is not installed
	var shown bytes.Buffer
	m := mustRun(t, t.TempDir(), func(m *Main) {
		m.HTTPAddr = "0.0.0.0:0"
		m.Stdout = &shown
		// The real clock: generated events are stamped now or so.
		m.Now = time.Now
		// Thousands of requests in a few seconds from one address: the
		// limiter is tested elsewhere, and here it would answer most
		// generated writes with 429 before the hub looked at them.
		m.Limits = hubhttp.Limits{WritesPerSecond: 1e6, WriteBurst: 1e6, ReadsPerSecond: 1e6, ReadBurst: 1e6}
	})
	tok := regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`).FindString(shown.String())
	if tok == "" {
		t.Fatalf("no pairing token shown: %q", shown.String())
	}
	// The family of the document's setup example, set up before the run:
	// the document's event examples belong to it, so that generated writes
	// of events can be accepted (Schemathesis may test the events before
	// the setup).
	c := &client{tb: t, base: m.URL, token: tok}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Content map[string]struct {
					Example json.RawMessage `json:"example"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	c.json("GET", "/api/openapi.json", nil, 200, &doc)
	c.json("POST", "/api/v1/setup", doc.Paths["/api/v1/setup"]["post"].RequestBody.Content["application/json"].Example, 200, nil)
	rep := schemathesis.Run(t, schemathesis.Options{
		Schema:  m.URL + "/api/openapi.json",
		Config:  "hub/http/schemathesis.toml",
		Headers: []string{"Authorization: Bearer " + tok},
		Timeout: 6 * time.Minute,
	})
	t.Log(rep.Output)

	// The hub's own count of the answers to writes: generated writes must
	// be accepted too, or the document says less than the hub takes.
	_, metrics := (&client{tb: t, base: m.URL}).do("GET", "/metrics", nil)
	re := regexp.MustCompile(`zoner_hub_http_request_seconds_count\{route="(/api/v1/(?:setup|events))",method="POST",code="(\d+)"\} (\d+)`)
	accepted := 0
	var lines []string
	for _, g := range re.FindAllStringSubmatch(string(metrics), -1) {
		lines = append(lines, fmt.Sprintf("POST %s %s: %s", g[1], g[2], g[3]))
		if g[1] == "/api/v1/events" && strings.HasPrefix(g[2], "2") {
			n, _ := strconv.Atoi(g[3])
			accepted += n
		}
	}
	slices.Sort(lines)
	t.Logf("answers to generated writes:\n%s", strings.Join(lines, "\n"))
	if accepted == 0 {
		t.Errorf("no generated event was accepted: the document's event schemas do not describe what the hub takes")
	}
}
