package hub

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zoner-family/zoner/syncproto"
)

// Metrics are the hub's Prometheus metrics, registered on a registry the
// caller owns. A nil *Metrics records nothing.
type Metrics struct {
	accepted *prometheus.CounterVec
	rejected *prometheus.CounterVec
	lag      prometheus.Gauge
	plan     prometheus.Histogram
	HTTP     *prometheus.HistogramVec
}

// NewMetrics makes the hub's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoner_hub_events_accepted_total",
			Help: "Events written to the log, by type.",
		}, []string{"type"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoner_hub_events_rejected_total",
			Help: "Problems found in refused writes, by reason (syncproto code or hub error code).",
		}, []string{"reason"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zoner_hub_projector_lag_events",
			Help: "Events in the log not yet applied to the state database.",
		}),
		plan: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "zoner_hub_plan_seconds",
			Help:    "Time to plan one traveller's trip.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5},
		}),
		HTTP: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zoner_hub_http_request_seconds",
			Help:    "HTTP request latency by route, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "code"}),
	}
	for _, t := range syncproto.Types() {
		m.accepted.WithLabelValues(string(t))
	}
	reg.MustRegister(m.accepted, m.rejected, m.lag, m.plan, m.HTTP)
	return m
}

// Accepted counts one event written to the log.
func (m *Metrics) Accepted(t syncproto.Type) {
	if m != nil {
		m.accepted.WithLabelValues(string(t)).Inc()
	}
}

// Rejected counts one reason a write was refused.
func (m *Metrics) Rejected(reason string) {
	if m != nil {
		m.rejected.WithLabelValues(reason).Inc()
	}
}

// ProjectorLag sets how many events wait to be applied.
func (m *Metrics) ProjectorLag(n float64) {
	if m != nil {
		m.lag.Set(n)
	}
}

// Planned records how long one plan took.
func (m *Metrics) Planned(d time.Duration) {
	if m != nil {
		m.plan.Observe(d.Seconds())
	}
}
