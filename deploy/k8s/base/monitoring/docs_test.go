package monitoring

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

type heading struct {
	level  int
	text   string
	anchor string
}

// headings returns the Markdown headings of doc outside code blocks, each
// with the anchor GitHub gives it: lowercased, punctuation dropped (letters,
// digits, spaces, hyphens and underscores kept), spaces made hyphens, and
// -1, -2, ... added to repeats.
func headings(doc []byte) []heading {
	var hs []heading
	seen := map[string]int{}
	fenced := false
	for line := range strings.SplitSeq(string(doc), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if fenced || level == 0 || level > 6 || !strings.HasPrefix(line[level:], " ") {
			continue
		}
		text := strings.TrimSpace(line[level:])
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			seen[a] = n + 1
			a += "-" + strconv.Itoa(n)
		} else {
			seen[a] = 1
		}
		hs = append(hs, heading{level, text, a})
	}
	return hs
}

func anchors(t testing.TB, doc []byte) map[string]bool {
	t.Helper()
	m := map[string]bool{}
	for _, h := range headings(doc) {
		m[h.anchor] = true
	}
	if len(m) == 0 {
		t.Fatal("docs/operations.md has no headings")
	}
	return m
}

var (
	docMetric = regexp.MustCompile(`zoner[_:][a-zA-Z0-9_:]*`)
	yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")
)

// TestOperationsDoc keeps the runbooks and the alerts in step, and the
// doc's metric names true.
func TestOperationsDoc(t *testing.T) {
	pr, c := loadRules(t)
	doc := read(t, operationsDoc)

	var alerts []string
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts = append(alerts, r.Alert)
			}
		}
	}
	var runbooks []string
	section := ""
	for _, h := range headings(doc) {
		if h.level == 2 {
			section = h.text
		}
		if h.level == 3 && section == "Alerts" {
			runbooks = append(runbooks, h.text)
		}
	}
	for _, a := range alerts {
		if !slices.Contains(runbooks, a) {
			t.Errorf("alert %s has no runbook (### %s under ## Alerts)", a, a)
		}
	}
	for _, r := range runbooks {
		if !slices.Contains(alerts, r) {
			t.Errorf("runbook %q is for no alert of prometheusrule.yaml", r)
		}
	}

	// Every metric the doc names is written by the code (a histogram by
	// its family name, a prefix ending in _ by some series) or recorded.
	for _, name := range slices.Compact(slices.Sorted(slices.Values(docMetric.FindAllString(string(doc), -1)))) {
		switch {
		case strings.HasSuffix(name, "_"):
			if !slices.ContainsFunc(slices.Collect(maps.Keys(c.series)), func(s string) bool { return strings.HasPrefix(s, name) }) {
				t.Errorf("docs/operations.md: no metric starts %s", name)
			}
		case c.types[name] == "histogram":
		default:
			if _, err := c.lookup(name); err != nil {
				t.Errorf("docs/operations.md: %v", err)
			}
		}
	}

	// The hub's rules for a home Prometheus are checked as the cloud's.
	blocks := 0
	for _, m := range yamlBlock.FindAllSubmatch(doc, -1) {
		if !strings.HasPrefix(string(m[1]), "groups:") {
			continue
		}
		blocks++
		var f monitoringv1.PrometheusRuleSpec
		if err := decodeStrict(m[1], &f); err != nil {
			t.Fatalf("docs/operations.md: rule file: %v", err)
		}
		if len(checkRules(t, f, c, anchors(t, doc))) == 0 {
			t.Error("docs/operations.md: a rule file without alerts")
		}
	}
	if blocks == 0 {
		t.Error("docs/operations.md has no hub rule file (```yaml starting groups:)")
	}
}
