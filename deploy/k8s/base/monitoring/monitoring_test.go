package monitoring

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
)

const (
	runbookBase   = "https://github.com/zoner-family/zoner/blob/main/docs/operations.md#"
	operationsDoc = "../../../../docs/operations.md"
	dashboardFile = "dashboards/zoner.json"
)

// loadRules returns the rendered PrometheusRule with the catalog, which
// then knows the recording rules' names.
func loadRules(t testing.TB) (*monitoringv1.PrometheusRule, *catalog) {
	t.Helper()
	pr := render(t).rule
	c := collect(t)
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				c.rules[r.Record] = true
			}
		}
	}
	return pr, c
}

var (
	recordName = regexp.MustCompile(`^zoner:[a-z0-9_]+:[a-z0-9_]+$`) // level:metric:operations
	alertName  = regexp.MustCompile(`^Zoner[A-Za-z0-9]+$`)
	severities = setOf("info warning critical")
)

// annotationFuncs are the template functions of Prometheus alerts the
// annotations use; parsing with them checks the templates' syntax.
var annotationFuncs = template.FuncMap{
	"humanize": fmt.Sprint, "humanizeDuration": fmt.Sprint, "humanizePercentage": fmt.Sprint,
}

// checkRules checks the rules of f: shape, names, durations, annotations,
// and every expression against the catalog. It returns the alerts.
func checkRules(t *testing.T, f monitoringv1.PrometheusRuleSpec, c *catalog, anchors map[string]bool) []monitoringv1.Rule {
	t.Helper()
	var alerts []monitoringv1.Rule
	seen := map[string]bool{}
	for _, g := range f.Groups {
		if g.Name == "" || seen["group "+g.Name] {
			t.Errorf("group %q: empty or repeated name", g.Name)
		}
		seen["group "+g.Name] = true
		defined := map[string]bool{} // recording rules of this group seen so far
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			if (r.Record == "") == (r.Alert == "") {
				t.Errorf("group %s: a rule must have exactly one of record and alert (%q)", g.Name, name)
				continue
			}
			if seen[name] {
				t.Errorf("%s is defined twice", name)
			}
			seen[name] = true
			expr := r.Expr.String()
			if err := checkExpr(c, expr); err != nil {
				t.Errorf("%s: %v\n%s", name, err, expr)
			}
			if e, err := parse(expr); err == nil {
				for _, s := range selectors(e) {
					if c.rules[s.name] && !defined[s.name] && slices.ContainsFunc(g.Rules, func(r monitoringv1.Rule) bool { return r.Record == s.name }) {
						t.Errorf("%s uses %s before the group defines it", name, s.name)
					}
				}
			}
			if r.Record != "" {
				defined[r.Record] = true
				if !recordName.MatchString(r.Record) {
					t.Errorf("recording rule %s: want zoner:<metric>:<operations>", r.Record)
				}
				if r.For != nil || len(r.Annotations) > 0 {
					t.Errorf("recording rule %s has for or annotations", r.Record)
				}
				continue
			}
			alerts = append(alerts, r)
			checkAlert(t, r, anchors)
		}
	}
	return alerts
}

func checkAlert(t *testing.T, r monitoringv1.Rule, anchors map[string]bool) {
	t.Helper()
	if !alertName.MatchString(r.Alert) {
		t.Errorf("alert %s: want Zoner<CamelCase>", r.Alert)
	}
	if r.For == nil {
		t.Errorf("alert %s: no for", r.Alert)
	} else if d, err := model.ParseDuration(string(*r.For)); err != nil || d <= 0 {
		t.Errorf("alert %s: for %q: want a positive duration (%v)", r.Alert, *r.For, err)
	}
	if !severities[r.Labels["severity"]] {
		t.Errorf("alert %s: severity %q", r.Alert, r.Labels["severity"])
	}
	for _, a := range []string{"summary", "description", "runbook_url"} {
		v := strings.TrimSpace(r.Annotations[a])
		if v == "" {
			t.Errorf("alert %s: no %s annotation", r.Alert, a)
			continue
		}
		// Prometheus defines these before expanding an annotation.
		const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}"
		if _, err := template.New(a).Funcs(annotationFuncs).Parse(defs + v); err != nil {
			t.Errorf("alert %s: %s: %v", r.Alert, a, err)
		}
	}
	anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], runbookBase)
	switch {
	case !ok:
		t.Errorf("alert %s: runbook_url %q does not start %s", r.Alert, r.Annotations["runbook_url"], runbookBase)
	case anchor != strings.ToLower(r.Alert):
		t.Errorf("alert %s: runbook anchor %q, want the alert's own section #%s", r.Alert, anchor, strings.ToLower(r.Alert))
	case !anchors[anchor]:
		t.Errorf("alert %s: docs/operations.md has no heading with anchor #%s", r.Alert, anchor)
	}
}

func TestPrometheusRule(t *testing.T) {
	pr, c := loadRules(t)
	if pr.Labels["app.kubernetes.io/part-of"] != "zoner" {
		t.Error("the PrometheusRule is not labelled app.kubernetes.io/part-of: zoner")
	}
	alerts := checkRules(t, pr.Spec, c, anchors(t, read(t, operationsDoc)))
	// What the issue asks alerts for.
	for _, metric := range []string{
		"zoner:ingest_lag_records:max", `zoner:consumergroup_lag:sum{consumergroup="zoner-recommender"}`,
		"zoner:bridge_lag_events:max", "zoner_cloud_ingest_waiting_for_warehouse", "zoner:warehouse_write_seconds:p99_5m",
		"zoner:recommendation_freshness_seconds:p99_5m", "zoner_cloud_ingest_dead_letters_total",
		"zoner_bridge_dead_letters_total", "zoner:dead_letters:rate5m", "zoner:cache_error_ratio:rate5m",
		"zoner:cache_hit_ratio:rate5m", "zoner:http_5xx_ratio:rate5m", "zoner:http_request_duration_seconds:p99_5m", "up{",
	} {
		if !slices.ContainsFunc(alerts, func(r monitoringv1.Rule) bool { return strings.Contains(r.Expr.String(), metric) }) {
			t.Errorf("no alert on %s", metric)
		}
	}
	for _, sev := range []string{"warning", "critical"} {
		if !slices.ContainsFunc(alerts, func(r monitoringv1.Rule) bool { return r.Labels["severity"] == sev }) {
			t.Errorf("no %s alert", sev)
		}
	}
	// The target: hub event to fresh recommendation in Redis, p99 under 1 s.
	if !slices.ContainsFunc(alerts, func(r monitoringv1.Rule) bool {
		return r.Expr.String() == "zoner:recommendation_freshness_seconds:p99_5m > 1"
	}) {
		t.Error("no alert holds recommendation freshness to its target, p99 under 1 s")
	}
}

// The checks must be able to fail: each of these is a mistake they catch,
// for the reason given.
func TestMetricCheckCatchesMistakes(t *testing.T) {
	_, c := loadRules(t)
	for _, good := range []string{
		`sum by (namespace) (rate(zoner_bridge_forwarded_total{namespace="x", job=~"zoner-.+"}[5m])) > 0 and delta(zoner:bridge_lag_events:max[15m]) > 0`,
		`histogram_quantile(0.99, sum by (le) (rate(zoner_cloud_warehouse_write_seconds_bucket{namespace="$namespace"}[$__rate_interval])))`,
	} {
		if err := checkExpr(c, good); err != nil {
			t.Fatalf("a good expression fails: %v\n%s", err, good)
		}
	}
	for name, tc := range map[string]struct{ expr, want string }{
		"made-up metric":            {`rate(zoner_cloud_made_up_total[5m]) > 0`, "not written by the code"},
		"made-up recording rule":    {`zoner:made_up:rate5m > 0`, "not a recording rule"},
		"bare histogram name":       {`zoner_cloud_warehouse_write_seconds > 1`, "is a histogram: query its _bucket"},
		"_bucket of a counter":      {`rate(zoner_bridge_forwarded_total_bucket[5m])`, "zoner_bridge_forwarded_total_bucket is not written"},
		"_count of no histogram":    {`rate(zoner_cloud_ingest_lag_records_count[5m])`, "zoner_cloud_ingest_lag_records_count is not written"},
		"rate of a gauge":           {`rate(zoner_cloud_ingest_lag_records[5m])`, "is a gauge, not a counter"},
		"delta of a counter":        {`delta(zoner_bridge_forwarded_total[5m])`, "is a counter; use rate"},
		"unknown exporter metric":   {`gnatsd_varz_made_up > 0`, "nor in the exporters' allowlist"},
		"unknown function":          {`rates(zoner_bridge_forwarded_total[5m])`, `unknown function with name "rates"`},
		"label the metric lacks":    {`zoner_cloud_cache_requests_total{reslt="hit"}`, "has no label reslt"},
		"label value never written": {`zoner_cloud_cache_requests_total{result="hits"}`, `writes no zoner_cloud_cache_requests_total{result="hits"}`},
		"bad grouping":              {`sum by (topic) (zoner_bridge_lag_events)`, "sum by (topic): the series under it have no label topic"},
		"grouping dropped label":    {`sum by (result) (sum by (namespace) (zoner_cloud_cache_requests_total))`, "have no label result"},
		"no metric name":            {`{job="zoner-bridge"}`, "a selector without a metric name"},
		"quantile of a counter":     {`histogram_quantile(0.9, rate(zoner_bridge_forwarded_total[5m]))`, "not the _bucket series of a histogram"},
		"quantile of a _count":      {`histogram_quantile(0.9, rate(zoner_cloud_warehouse_write_seconds_count[5m]))`, "not the _bucket series"},
		"syntax error":              {`sum(rate(zoner_bridge_forwarded_total[5m])`, "unclosed left parenthesis"},
	} {
		t.Run(name, func(t *testing.T) {
			err := checkExpr(c, tc.expr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("checkExpr(%s) = %v, want an error with %q", tc.expr, err, tc.want)
			}
		})
	}
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *datasourceRef           `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []struct {
		Expr       string         `json:"expr"`
		RefID      string         `json:"refId"`
		Datasource *datasourceRef `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type dashboard struct {
	SchemaVersion int     `json:"schemaVersion"`
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Datasource *datasourceRef  `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

var (
	labelValues = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	variableUse = regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?`)
)

func TestDashboard(t *testing.T) {
	_, c := loadRules(t)
	var d dashboard
	if err := json.Unmarshal(read(t, dashboardFile), &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	if d.SchemaVersion < 39 || d.UID == "" || d.Title == "" {
		t.Errorf("schemaVersion %d, uid %q, title %q", d.SchemaVersion, d.UID, d.Title)
	}
	vars := map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		switch v.Name {
		case "datasource":
			if v.Type != "datasource" || string(v.Query) != `"prometheus"` {
				t.Errorf("variable datasource: type %q, query %s", v.Type, v.Query)
			}
		case "namespace":
			m := labelValues.FindStringSubmatch(v.Definition)
			if v.Type != "query" || v.Datasource == nil || v.Datasource.UID != "${datasource}" || m == nil || m[2] != "namespace" {
				t.Fatalf("variable namespace: type %q, datasource %v, definition %q", v.Type, v.Datasource, v.Definition)
			}
			if err := checkExpr(c, m[1]); err != nil {
				t.Errorf("variable namespace: %v", err)
			}
			if !strings.Contains(string(v.Query), v.Definition) && !strings.Contains(string(v.Query), strings.ReplaceAll(v.Definition, `"`, `\"`)) {
				t.Errorf("variable namespace: query %s differs from its definition", v.Query)
			}
		}
	}
	if !vars["datasource"] || !vars["namespace"] {
		t.Fatal("the dashboard needs the variables datasource and namespace")
	}

	ids := map[int]string{}
	var rows []string
	var grid []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if prev, ok := ids[p.ID]; ok || p.ID <= 0 {
				t.Errorf("panel %q: id %d (also %q)", p.Title, p.ID, prev)
			}
			ids[p.ID] = p.Title
			if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
			}
			grid = append(grid, p)
			if p.Type == "row" { // rows hold panels, not queries
				rows = append(rows, p.Title)
				walk(p.Panels)
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" || p.Datasource.Type != "prometheus" {
				t.Errorf("panel %q: datasource %+v, want prometheus ${datasource}", p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no target", p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" || refs[tg.RefID] {
					t.Errorf("panel %q: target %q with refId %q", p.Title, tg.Expr, tg.RefID)
				}
				refs[tg.RefID] = true
				if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q: target datasource %+v", p.Title, tg.Datasource)
				}
				if err := checkExpr(c, tg.Expr); err != nil {
					t.Errorf("panel %q: %v\n%s", p.Title, err, tg.Expr)
				}
				for _, m := range variableUse.FindAllStringSubmatch(tg.Expr, -1) {
					if !vars[m[1]] {
						t.Errorf("panel %q: undefined variable $%s", p.Title, m[1])
					}
				}
			}
		}
	}
	walk(d.Panels)
	for i, a := range grid {
		for _, b := range grid[i+1:] {
			ga, gb := a.GridPos, b.GridPos
			if ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H {
				t.Errorf("panels %q and %q overlap", a.Title, b.Title)
			}
		}
	}
	for _, want := range []string{"Pipeline overview", "Lag", "Warehouse", "Recommendations", "API", "NATS", "Hubs"} {
		if !slices.ContainsFunc(rows, func(r string) bool { return strings.HasPrefix(r, want) }) {
			t.Errorf("no row %q (rows: %q)", want, rows)
		}
	}
}
