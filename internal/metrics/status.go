package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
)

// The series read from the worker's status at scrape time.
var (
	labels        = []string{"connector", "task"}
	descWritten   = desc("source_records_written_total", "Records committed to Kafka (dead letters excluded).", labels)
	descBytes     = desc("source_record_bytes_written_total", "Value bytes of the committed records.", labels)
	descCommits   = desc("transactions_committed_total", "Transactions committed.", labels)
	descAborts    = desc("transactions_aborted_total", "Transactions aborted.", labels)
	descRestarts  = desc("task_restarts_total", "Times the task was restarted from its committed offsets.", labels)
	descDead      = desc("dead_letter_records_total", "Records routed to the dead-letter topic (or dropped with errors.tolerance=all and no topic).", labels)
	descAge       = desc("offset_commit_age_seconds", "Seconds since the task last committed a transaction (its source offsets with it); absent before the first commit.", labels)
	descTaskState = desc("task_state", "1 for the task's current state.", append(labels, "state"))
	descConnState = desc("connector_state", "1 for the connector's current state.", []string{"connector", "state"})
	descTasks     = desc("connector_tasks", "Tasks of the connector.", []string{"connector"})
)

func desc(name, help string, labels []string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

var states = []worker.State{worker.StateUnassigned, worker.StateRunning, worker.StatePaused,
	worker.StateStopped, worker.StateFailed, worker.StateRestarting}

// statusCollector reads the worker's status when scraped.
type statusCollector struct{ m *Metrics }

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWritten, descBytes, descCommits, descAborts, descRestarts, descDead, descAge, descTaskState, descConnState, descTasks} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	if c.m.src == nil {
		return
	}
	now := time.Now()
	for _, cs := range c.m.src.Statuses() {
		for _, s := range states {
			ch <- prometheus.MustNewConstMetric(descConnState, prometheus.GaugeValue, b2f(cs.State == s), cs.Name, string(s))
		}
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(len(cs.Tasks)), cs.Name)
		for _, t := range cs.Tasks {
			id := strconv.Itoa(t.ID)
			counter := func(d *prometheus.Desc, v int64) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), cs.Name, id)
			}
			counter(descWritten, t.Stats.RecordsWritten)
			counter(descBytes, t.Stats.BytesWritten)
			counter(descCommits, t.Stats.Commits)
			counter(descAborts, t.Stats.Aborts)
			counter(descRestarts, t.Stats.Restarts)
			counter(descDead, t.Stats.DeadLetters)
			if !t.Stats.LastCommit.IsZero() {
				ch <- prometheus.MustNewConstMetric(descAge, prometheus.GaugeValue, now.Sub(t.Stats.LastCommit).Seconds(), cs.Name, id)
			}
			for _, s := range states {
				ch <- prometheus.MustNewConstMetric(descTaskState, prometheus.GaugeValue, b2f(t.State == s), cs.Name, id, string(s))
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
