//go:build integration

package main

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zoner-family/zoner/internal/schemathesis"
)

// TestSchemathesis runs Schemathesis with every check and phase
// (hub/http/schemathesis.toml) against a real hub serving the LAN, with
// its pairing token. Before setup, so that generated setups can be
// accepted; the stateful phase follows the document's links from the
// family to writes of its events.
func TestSchemathesis(t *testing.T) {
	bin := schemathesis.Path(t)
	_ = bin
	var shown bytes.Buffer
	m := mustRun(t, t.TempDir(), func(m *Main) {
		m.HTTPAddr = "0.0.0.0:0"
		m.Stdout = &shown
		// The real clock: generated events are stamped now or so.
		m.Now = time.Now
	})
	tok := regexp.MustCompile(`[a-z2-7]{4}(-[a-z2-7]{1,4}){7}`).FindString(shown.String())
	if tok == "" {
		t.Fatalf("no pairing token shown: %q", shown.String())
	}
	rep := schemathesis.Run(t, schemathesis.Options{
		Schema:  m.URL + "/api/openapi.json",
		Config:  "hub/http/schemathesis.toml",
		Headers: []string{"Authorization: Bearer " + tok},
		Timeout: 6 * time.Minute,
	})
	t.Log(rep.Output)
	var lines []string
	for _, op := range slices.Sorted(maps.Keys(rep.Calls)) {
		lines = append(lines, fmt.Sprintf("%s: %v", op, rep.Calls[op]))
	}
	t.Logf("answers by operation:\n%s", strings.Join(lines, "\n"))
}
