package hub

import (
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/zoner-family/zoner/syncproto"
)

// Metrics are the hub's Prometheus metrics, kept in a set the hub owns
// (no global registry). A nil *Metrics records nothing.
//
// The hub uses github.com/VictoriaMetrics/metrics rather than the
// Prometheus client: it writes the same text format with classic "le"
// histograms and keeps protobuf out of a binary that must stay small.
type Metrics struct {
	set  *metrics.Set
	lag  *metrics.Gauge
	plan *metrics.PrometheusHistogram
}

var (
	planBuckets = []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5}
	httpBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
)

// NewMetrics makes the hub's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{set: metrics.NewSet()}
	for _, t := range syncproto.Types() {
		m.set.GetOrCreateCounter(`zoner_hub_events_accepted_total{type="` + string(t) + `"}`)
	}
	m.lag = m.set.NewGauge("zoner_hub_projector_lag_events", nil)
	m.plan = m.set.NewPrometheusHistogramExt("zoner_hub_plan_seconds", planBuckets)
	return m
}

// WritePrometheus writes every metric, and the process's own (memory, CPU,
// goroutines), in the Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

// Accepted counts one event written to the log.
func (m *Metrics) Accepted(t syncproto.Type) {
	if m != nil {
		m.set.GetOrCreateCounter(`zoner_hub_events_accepted_total{type=` + quote(string(t)) + `}`).Inc()
	}
}

// Rejected counts one reason a write was refused: a syncproto code or a
// hub error code.
func (m *Metrics) Rejected(reason string) {
	if m != nil {
		m.set.GetOrCreateCounter(`zoner_hub_events_rejected_total{reason=` + quote(reason) + `}`).Inc()
	}
}

// Received counts one event that came down from the cloud and was new.
func (m *Metrics) Received(t syncproto.Type) {
	if m != nil {
		m.set.GetOrCreateCounter(`zoner_hub_sync_received_total{type=` + quote(string(t)) + `}`).Inc()
	}
}

// Sent counts events the cloud confirmed it stored.
func (m *Metrics) Sent(n int) {
	if m != nil {
		m.set.GetOrCreateCounter(`zoner_hub_sync_sent_total`).Add(n)
	}
}

// SyncState sets the link's gauges: whether it is up, how many events wait
// to go up, and when the hub was last fully in step with the cloud.
func (m *Metrics) SyncState(linked bool, pending uint64, lastSynced time.Time) {
	if m == nil {
		return
	}
	up := 0.0
	if linked {
		up = 1
	}
	m.set.GetOrCreateGauge(`zoner_hub_sync_linked`, nil).Set(up)
	m.set.GetOrCreateGauge(`zoner_hub_sync_pending_events`, nil).Set(float64(pending))
	if !lastSynced.IsZero() {
		m.set.GetOrCreateGauge(`zoner_hub_sync_last_synced_timestamp_seconds`, nil).Set(float64(lastSynced.Unix()))
	}
}

// ProjectorLag sets how many events in the log wait to be applied.
func (m *Metrics) ProjectorLag(n float64) {
	if m != nil {
		m.lag.Set(n)
	}
}

// Planned records how long planning one traveller's trip took.
func (m *Metrics) Planned(d time.Duration) {
	if m != nil {
		m.plan.Update(d.Seconds())
	}
}

// HTTP records one request's latency by route, method and status code.
func (m *Metrics) HTTP(route, method string, code int, d time.Duration) {
	if m != nil {
		name := `zoner_hub_http_request_seconds{route=` + quote(route) + `,method=` + quote(method) + `,code="` + strconv.Itoa(code) + `"}`
		m.set.GetOrCreatePrometheusHistogramExt(name, httpBuckets).Update(d.Seconds())
	}
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
