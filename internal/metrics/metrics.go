// Package metrics exports the worker's metrics in Prometheus' text format
// (client_golang): per connector and task, the records polled and written,
// bytes, transactions committed and aborted, commit latency, the age of
// the last offset commit, restarts, dead-letter records and task states;
// the provider-specific series (reconnects, sequence gaps, per-fixture
// commit lag); and Go runtime and process metrics.
//
// The worker's own counters are read from its status at scrape time (so a
// deleted connector's series disappear with it); the per-event series come
// through worker.Observer, which Metrics implements: pass it to the
// worker with worker.WithObserver.
//
// Provider tasks report their own series through connector.TaskMetrics:
//
//	m := tc.Metrics                     // the TaskContext given to Start
//	m.Reconnected()                     // after re-establishing a connection
//	m.SequenceGap(missing)              // a gap in the provider's sequence numbers
//	rec.OnCommit = func(err error) {    // lag from event time to commit, per fixture
//		if err == nil { m.CommitLag(fixture, time.Since(eventTime)) }
//	}
//	m.FixtureDone(fixture)              // when a fixture is finished or released
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
)

// namespace prefixes every series.
const namespace = "sportsconnect"

// StatusSource is what the metrics read at scrape time: the worker.
type StatusSource interface {
	Statuses() []worker.ConnectorStatus
}

// Metrics is the worker's Prometheus registry. It implements
// worker.Observer.
type Metrics struct {
	reg *prometheus.Registry
	src StatusSource

	polled     *prometheus.CounterVec
	commitTime *prometheus.HistogramVec
	reconnects *prometheus.CounterVec
	gaps       *prometheus.CounterVec
	missing    *prometheus.CounterVec
	lag        *prometheus.HistogramVec
	rebalances *prometheus.CounterVec
	rebalTime  prometheus.Histogram
}

// New returns the metrics of the worker src (which may be set later with
// SetSource, as the worker needs the observer before it exists).
func New(src StatusSource) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), src: src}
	labels := []string{"connector", "task"}
	m.polled = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "source_records_polled_total",
		Help: "Records the task returned (before writing): from its polls, and those built as they are written (a large message's rest, the normalized live records)."}, labels)
	m.commitTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "transaction_commit_seconds",
		Help:    "Time to write a transaction's offsets and commit it.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, labels)
	m.reconnects = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "provider_reconnects_total",
		Help: "Provider connections re-established after a drop."}, labels)
	m.gaps = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "provider_sequence_gaps_total",
		Help: "Gaps (or reorderings) seen in the provider's sequence numbers."}, labels)
	m.missing = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "provider_sequence_missing_total",
		Help: "Events missing in the provider's sequence gaps."}, labels)
	m.lag = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "provider_commit_lag_seconds",
		Help:    "Time from the provider's event time to the commit of the record holding it, per fixture.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, append(labels, "fixture"))
	m.rebalances = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "worker_rebalances_total",
		Help: "Completed rebalances of the worker group seen by this worker (distributed mode), by whether it led them."}, []string{"leader"})
	m.rebalTime = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "worker_rebalance_seconds",
		Help:    "Time from joining the group to this worker's assignment applied (tasks stopped and started).",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)})
	m.reg.MustRegister(m.polled, m.commitTime, m.reconnects, m.gaps, m.missing, m.lag, m.rebalances, m.rebalTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&statusCollector{m: m})
	return m
}

// SetSource sets the worker whose status is read at scrape time. Call it
// before serving.
func (m *Metrics) SetSource(src StatusSource) { m.src = src }

// Registry returns the registry, for registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Rebalanced implements distributed.RebalanceObserver.
func (m *Metrics) Rebalanced(took time.Duration, leader bool) {
	m.rebalances.WithLabelValues(strconv.FormatBool(leader)).Inc()
	m.rebalTime.Observe(took.Seconds())
}

// Task implements worker.Observer.
func (m *Metrics) Task(conn string, task int) worker.TaskObserver {
	id := strconv.Itoa(task)
	return &taskObserver{
		m: m, conn: conn, task: id,
		polled:     m.polled.WithLabelValues(conn, id),
		commitTime: m.commitTime.WithLabelValues(conn, id),
		reconnects: m.reconnects.WithLabelValues(conn, id),
		gaps:       m.gaps.WithLabelValues(conn, id),
		missing:    m.missing.WithLabelValues(conn, id),
	}
}

// Forget implements worker.Observer: it drops a deleted connector's series.
func (m *Metrics) Forget(conn string) {
	l := prometheus.Labels{"connector": conn}
	m.polled.DeletePartialMatch(l)
	m.commitTime.DeletePartialMatch(l)
	m.reconnects.DeletePartialMatch(l)
	m.gaps.DeletePartialMatch(l)
	m.missing.DeletePartialMatch(l)
	m.lag.DeletePartialMatch(l)
}

// taskObserver is one task's bound series.
type taskObserver struct {
	m          *Metrics
	conn, task string
	polled     prometheus.Counter
	commitTime prometheus.Observer
	reconnects prometheus.Counter
	gaps       prometheus.Counter
	missing    prometheus.Counter
}

func (o *taskObserver) Polled(n int) { o.polled.Add(float64(n)) }

func (o *taskObserver) Committed(c worker.Commit) { o.commitTime.Observe(c.Took.Seconds()) }

func (o *taskObserver) Reconnected() { o.reconnects.Inc() }

func (o *taskObserver) SequenceGap(missing int64) {
	o.gaps.Inc()
	if missing > 0 {
		o.missing.Add(float64(missing))
	}
}

func (o *taskObserver) CommitLag(fixture string, lag time.Duration) {
	o.m.lag.WithLabelValues(o.conn, o.task, fixture).Observe(max(lag, 0).Seconds())
}

func (o *taskObserver) FixtureDone(fixture string) {
	o.m.lag.DeleteLabelValues(o.conn, o.task, fixture)
}
