package monitoring

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/zoner-family/zoner/bridge"
	"github.com/zoner-family/zoner/cloud"
	chttp "github.com/zoner-family/zoner/cloud/http"
	"github.com/zoner-family/zoner/edge/natsedge"
	"github.com/zoner-family/zoner/hub"
	"github.com/zoner-family/zoner/syncproto"
)

// kind is what a query may do with a series: take the rate of a counter
// (or of a histogram's buckets, sum and count), or the delta of a gauge.
type kind string

const (
	counter  kind = "counter"
	gauge    kind = "gauge"
	recorded kind = "recorded" // a recording rule's output: a gauge
)

// external are the metrics of exporters the rules and the dashboard may
// use, with what they are. Names come from the exporters' code and docs:
// prometheus-nats-exporter turns every number of the server's /varz into
// gnatsd_varz_<field> (a gauge, even for cumulative counts); the Kafka
// exporter (Strimzi's, or danielqsj/kafka_exporter) writes
// kafka_consumergroup_lag{consumergroup,topic,partition}.
var external = map[string]kind{
	"up":                         gauge,
	"kafka_consumergroup_lag":    gauge,
	"gnatsd_varz_connections":    gauge,
	"gnatsd_varz_leafnodes":      gauge,
	"gnatsd_varz_in_msgs":        counter,
	"gnatsd_varz_out_msgs":       counter,
	"gnatsd_varz_slow_consumers": counter,
}

// catalog is every series the code writes, with its family's type, as
// read back from the Prometheus text the real metric sets write.
type catalog struct {
	series map[string]bool                       // sample names: zoner_x_total, zoner_y_bucket, ...
	types  map[string]string                     // family name → counter, gauge, histogram, ...
	rules  map[string]bool                       // recording rules' names (zoner:...)
	labels map[string]map[string]map[string]bool // series name → label → values written
}

// targetLabels are the labels Prometheus and the Prometheus Operator put
// on every series of a PodMonitor's targets.
var targetLabels = setOf("namespace job pod instance container endpoint")

var sampleLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// checkLabels checks s's matchers against the series the code writes.
// Recorded and exporters' series are not checked: their labels come from
// the rules and from the exporters. Values with a Grafana variable in
// them ($namespace) are not checked either.
func (c *catalog) checkLabels(s selector) error {
	own, ok := c.labels[s.name]
	if !ok {
		return nil
	}
	var errs []error
	for _, m := range s.matchers {
		values, mine := own[m.Name]
		switch {
		case targetLabels[m.Name] && !mine:
		case !mine:
			errs = append(errs, fmt.Errorf("%s has no label %s", s.name, m.Name))
		case m.Type == labels.MatchEqual && !strings.Contains(m.Value, "$") && !values[m.Value]:
			errs = append(errs, fmt.Errorf("the code writes no %s{%s=%q}", s.name, m.Name, m.Value))
		}
	}
	return errors.Join(errs...)
}

// lookup says what name is, or why it is not a series anyone writes.
func (c *catalog) lookup(name string) (kind, error) {
	if strings.HasPrefix(name, "zoner:") {
		if c.rules[name] {
			return recorded, nil
		}
		return "", fmt.Errorf("%s is not a recording rule of prometheusrule.yaml", name)
	}
	if k, ok := external[name]; ok {
		return k, nil
	}
	if histogramSeries(c, name) {
		if !c.series[name] {
			return "", fmt.Errorf("%s: its histogram writes no such series", name)
		}
		return counter, nil
	}
	if c.types[name] == "histogram" {
		return "", fmt.Errorf("%s is a histogram: query its _bucket, _sum or _count series", name)
	}
	if !c.series[name] {
		return "", fmt.Errorf("%s is not written by the code (nor in the exporters' allowlist)", name)
	}
	switch t := c.types[name]; t {
	case "counter":
		return counter, nil
	case "gauge":
		return gauge, nil
	default:
		return "", fmt.Errorf("%s has type %q", name, t)
	}
}

// collect writes out the metric sets the services really build, each
// with every lazily created series made once, and reads back the series
// names and types.
func collect(t testing.TB) *catalog {
	t.Helper()
	metrics.ExposeMetadata(true) // # TYPE lines: counters, gauges, histograms
	t.Cleanup(func() { metrics.ExposeMetadata(false) })
	var buf bytes.Buffer

	// The hub (hub/metrics.go): counters and histograms made on first use.
	hm := hub.NewMetrics()
	hm.Accepted(syncproto.Types()[0])
	hm.Rejected("invalid")
	hm.Received(syncproto.Types()[0])
	hm.Sent(1)
	hm.SyncState(true, 1, time.Now())
	hm.ProjectorLag(1)
	hm.Planned(time.Millisecond)
	hm.HTTP("/api/events", http.MethodPost, http.StatusCreated, time.Millisecond)
	hm.WritePrometheus(&buf) // with the process's own (go_*, process_*)

	// The bridge (bridge/forwarder.go) and the edge's NATS auth callout
	// the bridge's program also runs (edge/natsedge/callout.go,
	// zoner-bridge callout): made up front.
	bridge.NewMetrics().WritePrometheus(&buf)
	natsedge.NewCalloutMetrics().WritePrometheus(&buf)

	// The cloud (cloud/metrics.go), with the API's metrics in the same
	// set, as zoner-cloud wires them (Config.Metrics: m.Metrics.Set()).
	cm := cloud.NewMetrics()
	srv, err := chttp.New(chttp.Config{
		Backend:       noBackend{},
		Secret:        bytes.Repeat([]byte("s"), chttp.MinSecretBytes),
		WebhookSecret: bytes.Repeat([]byte("w"), chttp.MinWebhookSecretBytes),
		Metrics:       cm.Set(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/no-such-route"} {
		srv.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	cm.WritePrometheus(&buf)

	c := &catalog{series: map[string]bool{}, types: map[string]string{}, rules: map[string]bool{},
		labels: map[string]map[string]map[string]bool{}}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(f, " ")
			c.types[name] = typ
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		c.series[name] = true
		if c.labels[name] == nil {
			c.labels[name] = map[string]map[string]bool{}
		}
		if open := strings.IndexByte(line, '{'); open == len(name) {
			for _, m := range sampleLabel.FindAllStringSubmatch(line[open:strings.LastIndexByte(line, '}')], -1) {
				if c.labels[name][m[1]] == nil {
					c.labels[name][m[1]] = map[string]bool{}
				}
				c.labels[name][m[1]][m[2]] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for name := range c.series {
		if strings.HasPrefix(name, "zoner_") && c.types[name] == "" && !histogramSeries(c, name) {
			t.Fatalf("no # TYPE line for %s: the catalog would guess", name)
		}
	}
	return c
}

// histogramSeries says whether name is a _bucket, _sum or _count series
// of a histogram the code writes.
func histogramSeries(c *catalog, name string) bool {
	return slices.ContainsFunc([]string{"_bucket", "_sum", "_count"}, func(suffix string) bool {
		base, ok := strings.CutSuffix(name, suffix)
		return ok && c.types[base] == "histogram"
	})
}

// isBucket says whether name is the _bucket series of a histogram.
func (c *catalog) isBucket(name string) bool {
	base, ok := strings.CutSuffix(name, "_bucket")
	return ok && c.types[base] == "histogram" && c.series[name]
}

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// noBackend is an API backend for routes that never reach it (/healthz
// and the unmatched 404): any call panics.
type noBackend struct{ chttp.Backend }

// TestCatalogHoldsTheMetricsTheIssueNames guards the catalog itself: if
// the code stops writing one of these, every check built on the catalog
// would be quietly weaker.
func TestCatalogHoldsTheMetricsTheIssueNames(t *testing.T) {
	c := collect(t)
	for name, want := range map[string]string{
		"zoner_cloud_ingest_lag_records":               "gauge",     // consumer lag
		"zoner_bridge_forwarded_total":                 "counter",   // bridge rate
		"zoner_bridge_lag_events":                      "gauge",     // bridge lag
		"zoner_cloud_warehouse_write_seconds":          "histogram", // warehouse write latency
		"zoner_cloud_cache_requests_total":             "counter",   // Redis hit rate
		"zoner_cloud_recommendation_freshness_seconds": "histogram", // freshness
		"zoner_hub_sync_pending_events":                "gauge",     // hub sync backlog
		"zoner_cloud_ingest_dead_letters_total":        "counter",
		"zoner_bridge_dead_letters_total":              "counter",
		"zoner_bridge_callout_requests_total":          "counter",
		"zoner_cloud_http_requests_total":              "counter",
		"zoner_cloud_http_request_duration_seconds":    "histogram",
		"process_resident_memory_bytes":                "gauge",
		"go_goroutines":                                "gauge",
	} {
		if got := c.types[name]; got != want {
			t.Errorf("%s: type %q, want %q", name, got, want)
		}
	}
	if !c.series["zoner_cloud_warehouse_write_seconds_bucket"] {
		t.Error("the warehouse histogram writes no _bucket series")
	}
}
