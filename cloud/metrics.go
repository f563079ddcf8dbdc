package cloud

import (
	"io"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Metrics are the cloud services' Prometheus metrics, in a set they own. A
// nil *Metrics records nothing.
type Metrics struct {
	set *metrics.Set

	records, fresh, repeats, deadLetters *metrics.Counter
	batch, warehouseWrite                *metrics.PrometheusHistogram
	warehouseErrors, commitErrors        *metrics.Counter
	lag, waiting                         *metrics.Gauge

	plans, planErrors, downSent, downErrors *metrics.Counter
	planTime, freshness                     *metrics.PrometheusHistogram
	cacheHits, cacheMisses, cacheErrors     *metrics.Counter
	families, recLag                        *metrics.Gauge
}

var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// NewMetrics makes the cloud's metrics.
func NewMetrics() *Metrics {
	s := metrics.NewSet()
	m := &Metrics{set: s}
	m.records = s.NewCounter("zoner_cloud_ingest_records_total")
	m.fresh = s.NewCounter(`zoner_cloud_ingest_events_total{result="new"}`)
	m.repeats = s.NewCounter(`zoner_cloud_ingest_events_total{result="duplicate"}`)
	m.deadLetters = s.NewCounter("zoner_cloud_ingest_dead_letters_total")
	m.batch = s.NewPrometheusHistogramExt("zoner_cloud_ingest_batch_seconds", latencyBuckets)
	m.warehouseWrite = s.NewPrometheusHistogramExt("zoner_cloud_warehouse_write_seconds", latencyBuckets)
	m.warehouseErrors = s.NewCounter("zoner_cloud_warehouse_errors_total")
	m.commitErrors = s.NewCounter("zoner_cloud_ingest_commit_errors_total")
	m.lag = s.NewGauge("zoner_cloud_ingest_lag_records", nil)
	m.waiting = s.NewGauge("zoner_cloud_ingest_waiting_for_warehouse", nil)
	m.plans = s.NewCounter("zoner_cloud_recommendations_total")
	m.planErrors = s.NewCounter("zoner_cloud_recommendation_errors_total")
	m.planTime = s.NewPrometheusHistogramExt("zoner_cloud_recommendation_seconds", latencyBuckets)
	m.freshness = s.NewPrometheusHistogramExt("zoner_cloud_recommendation_freshness_seconds", latencyBuckets)
	m.downSent = s.NewCounter("zoner_cloud_downlink_sent_total")
	m.downErrors = s.NewCounter("zoner_cloud_downlink_errors_total")
	m.cacheHits = s.NewCounter(`zoner_cloud_cache_requests_total{result="hit"}`)
	m.cacheMisses = s.NewCounter(`zoner_cloud_cache_requests_total{result="miss"}`)
	m.cacheErrors = s.NewCounter(`zoner_cloud_cache_requests_total{result="error"}`)
	m.families = s.NewGauge("zoner_cloud_recommender_families", nil)
	m.recLag = s.NewGauge("zoner_cloud_recommender_lag_records", nil)
	return m
}

// WritePrometheus writes every metric and the process's own.
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

// Set is the metric set, for a program that registers more in it.
func (m *Metrics) Set() *metrics.Set { return m.set }

func inc(c *metrics.Counter) {
	if c != nil {
		c.Inc()
	}
}

func add(c *metrics.Counter, n int) {
	if c != nil && n > 0 {
		c.Add(n)
	}
}

func since(h *metrics.PrometheusHistogram, t time.Time) {
	if h != nil {
		h.UpdateDuration(t)
	}
}

func (m *Metrics) get() *Metrics {
	if m == nil {
		return &Metrics{}
	}
	return m
}

// SetLag records the ingest consumer group's lag.
func (m *Metrics) SetLag(n int64) {
	if m != nil {
		m.lag.Set(float64(n))
	}
}

// SetRecommenderLag records the recommender consumer group's lag.
func (m *Metrics) SetRecommenderLag(n int64) {
	if m != nil {
		m.recLag.Set(float64(n))
	}
}
