package bridge

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/zoner-family/zoner/internal/retry"
)

// Forwarder moves events from a Source to a Sink: several workers, each
// with one batch in flight, so the work in flight is bounded by Workers ×
// Batch. An event is acknowledged at the source only after the sink wrote
// it; one the sink can never write is dead-lettered, then dropped; one it
// could not write now is handed back to be fetched again, and the worker
// backs off.
type Forwarder struct {
	Source  Source
	Sink    Sink
	Dead    DeadLetters
	Metrics *Metrics
	Logger  *slog.Logger
	// Workers is how many batches may be in flight at once (default 2).
	Workers int
	// Batch is the most events one fetch takes (default 1000).
	Batch int
	// Wait is how long a fetch waits for a first event (default 1 s).
	Wait time.Duration
	// Drain bounds how long, after the context ends, in-flight batches may
	// take to finish (default 30 s); what is not finished comes back from
	// the source to whoever fetches next.
	Drain time.Duration
	// MaxBackoff caps the wait between attempts while the sink fails
	// (default 10 s).
	MaxBackoff time.Duration
}

// Run forwards until ctx ends, then finishes the batches in flight.
func (f *Forwarder) Run(ctx context.Context) {
	workers := f.Workers
	if workers <= 0 {
		workers = 2
	}
	if f.Logger == nil {
		f.Logger = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { f.work(ctx) })
	}
	wg.Wait()
}

func (f *Forwarder) work(ctx context.Context) {
	batch := f.Batch
	if batch <= 0 {
		batch = 1000
	}
	wait := f.Wait
	if wait <= 0 {
		wait = time.Second
	}
	failures := 0
	for ctx.Err() == nil {
		ds, err := f.Source.Fetch(ctx, batch, wait)
		if err != nil {
			f.Logger.Warn("bridge: fetch failed", "err", err)
		}
		if len(ds) == 0 {
			if err != nil {
				failures++
				retry.Sleep(ctx, f.backoff(failures))
			}
			continue
		}
		// The batch is finished even if ctx ends meanwhile: a graceful
		// drain. Its own deadline bounds it.
		drain := f.Drain
		if drain <= 0 {
			drain = 30 * time.Second
		}
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
		ok := f.forward(bctx, ds, failures+1)
		cancel()
		if ok {
			failures = 0
		} else {
			failures++
			retry.Sleep(ctx, f.backoff(failures))
		}
	}
}

// forward handles one batch and reports whether the sink took all of it.
func (f *Forwarder) forward(ctx context.Context, ds []Delivery, attempt int) bool {
	start := time.Now()
	var events []Event
	var sent []int
	for i, d := range ds {
		if d.Problem != "" {
			f.deadLetter(ctx, d, "not an event message: "+d.Problem, attempt)
			continue
		}
		events = append(events, d.Event)
		sent = append(sent, i)
	}
	if len(events) == 0 {
		return true
	}
	results := f.Sink.Produce(ctx, events)
	all := true
	var firstErr error
	for j, err := range results {
		d := ds[sent[j]]
		switch {
		case err == nil:
			if aerr := d.Ack(); aerr != nil {
				// Written but not acknowledged: it comes back and is
				// written again (a duplicate the warehouse drops by id).
				f.Logger.Warn("bridge: ack failed", "id", d.Event.ID, "err", aerr)
			}
			f.Metrics.forwarded()
		case errors.Is(err, ErrPermanent):
			f.deadLetter(ctx, d, err.Error(), attempt)
		default:
			all = false
			if firstErr == nil {
				firstErr = err
			}
			f.Metrics.retried()
			d.Retry(f.backoff(attempt))
		}
	}
	f.Metrics.batch(time.Since(start))
	if !all {
		f.Logger.Warn("bridge: the sink did not take every event; they will be retried", "batch", len(events), "err", firstErr)
	}
	return all
}

func (f *Forwarder) deadLetter(ctx context.Context, d Delivery, reason string, attempt int) {
	if f.Dead == nil {
		f.Logger.Error("bridge: an event can never be forwarded and there is no dead-letter store; it stays in the source", "id", d.Event.ID, "reason", reason)
		d.Retry(f.MaxBackoff)
		return
	}
	if err := f.Dead.DeadLetter(ctx, d, reason); err != nil {
		// Not kept anywhere else yet: hand it back rather than drop it.
		f.Logger.Error("bridge: could not dead-letter an event; it will be tried again", "id", d.Event.ID, "err", err)
		d.Retry(f.backoff(attempt))
		return
	}
	f.Metrics.deadLettered()
	f.Logger.Warn("bridge: event dead-lettered", "id", d.Event.ID, "type", d.Event.Type, "reason", reason)
	if err := d.Drop(reason); err != nil {
		f.Logger.Warn("bridge: drop failed (the event will come back and be dead-lettered again)", "id", d.Event.ID, "err", err)
	}
}

// backoff is the wait after the nth failure in a row: 100 ms doubling to
// MaxBackoff, jittered by up to half.
func (f *Forwarder) backoff(n int) time.Duration {
	limit := f.MaxBackoff
	if limit <= 0 {
		limit = 10 * time.Second
	}
	return retry.Policy{Initial: 100 * time.Millisecond, Max: limit, Jitter: true}.Delay(n)
}

// Metrics are the bridge's Prometheus metrics, in a set it owns. A nil
// *Metrics records nothing.
type Metrics struct {
	set         *metrics.Set
	lag         *metrics.Gauge
	dur         *metrics.PrometheusHistogram
	forwards    *metrics.Counter
	retries     *metrics.Counter
	deadLetters *metrics.Counter
}

// NewMetrics makes the bridge's metrics.
func NewMetrics() *Metrics {
	m := &Metrics{set: metrics.NewSet()}
	m.lag = m.set.NewGauge("zoner_bridge_lag_events", nil)
	m.dur = m.set.NewPrometheusHistogramExt("zoner_bridge_batch_seconds",
		[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30})
	m.forwards = m.set.NewCounter("zoner_bridge_forwarded_total")
	m.retries = m.set.NewCounter("zoner_bridge_retried_total")
	m.deadLetters = m.set.NewCounter("zoner_bridge_dead_letters_total")
	return m
}

// WritePrometheus writes every metric and the process's own.
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

// WriteSet writes the bridge's metrics without the process's own, for a
// program that serves them beside its own.
func (m *Metrics) WriteSet(w io.Writer) { m.set.WritePrometheus(w) }

// Lag sets how many events wait in the source.
func (m *Metrics) Lag(n uint64) {
	if m != nil {
		m.lag.Set(float64(n))
	}
}

func (m *Metrics) forwarded() {
	if m != nil {
		m.forwards.Inc()
	}
}

func (m *Metrics) retried() {
	if m != nil {
		m.retries.Inc()
	}
}

func (m *Metrics) deadLettered() {
	if m != nil {
		m.deadLetters.Inc()
	}
}

func (m *Metrics) batch(d time.Duration) {
	if m != nil {
		m.dur.Update(d.Seconds())
	}
}

// Forwarded is how many events the sink has taken, for tests and reports.
func (m *Metrics) Forwarded() uint64 {
	return m.forwards.Get()
}

// DeadLettered is how many events were dead-lettered.
func (m *Metrics) DeadLettered() uint64 {
	return m.deadLetters.Get()
}
