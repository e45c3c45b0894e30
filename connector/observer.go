package connector

import (
	"context"
	"time"
)

// Observer is told what the worker's tasks do, for metrics. The worker
// holds at most one (WithObserver); package internal/metrics implements it.
// Methods must be fast and safe for concurrent use.
type Observer interface {
	// Task returns the observer of one task. It is called at the start of
	// every session of the task (after each restart), so it must return the
	// same series for the same connector and task.
	Task(connector string, task int) TaskObserver
	// Forget drops what is kept about a deleted connector.
	Forget(connector string)
}

// TaskObserver observes one task. The worker calls Polled and Committed;
// the task itself reaches the TaskMetrics part through TaskMetricsFrom.
type TaskObserver interface {
	TaskMetrics
	// Polled is called after a Poll that returned records.
	Polled(records int)
	// Committed is called after a transaction committed.
	Committed(c Commit)
}

// Commit describes one committed transaction.
type Commit struct {
	Records     int64         // records written, dead letters excluded
	Bytes       int64         // value bytes written
	DeadLetters int64         // records routed to the dead-letter topic (or dropped)
	Partitions  int           // source partitions whose offsets were written
	Took        time.Duration // from the first offset write to the end of the commit
}

// TaskMetrics is what a provider task reports beyond the worker's own
// counters. A task finds it in TaskContext.Metrics (never nil: without an
// observer the calls do nothing). Label
// values must have bounded cardinality: fixtures come and go, so call
// FixtureDone when a fixture is released.
type TaskMetrics interface {
	// Reconnected counts a provider connection re-established after it
	// dropped (log the cause separately, once per reconnect).
	Reconnected()
	// SequenceGap counts a gap in the provider's sequence numbers and the
	// number of events missing in it (0 when unknown, e.g. a reordering).
	SequenceGap(missing int64)
	// CommitLag records, for a fixture, the time from the provider's event
	// time to the commit of the record holding it. Call it from the record's
	// OnCommit callback (err == nil) with time.Since(eventTime).
	CommitLag(fixture string, lag time.Duration)
	// FixtureDone drops the fixture's series once it is finished or released.
	FixtureDone(fixture string)
}

// WithObserver sets the worker's observer (metrics).
func WithObserver(o Observer) WorkerOption { return func(c *workerConfig) { c.observer = o } }

type taskMetricsKey struct{}

// WithTaskMetrics returns ctx carrying m, for TaskMetricsFrom. The worker
// calls it; tests of a provider task may too.
func WithTaskMetrics(ctx context.Context, m TaskMetrics) context.Context {
	return context.WithValue(ctx, taskMetricsKey{}, m)
}

// TaskMetricsFrom returns the task's metrics carried by ctx (the ctx a task
// is given in Start and Poll), or one that discards everything.
func TaskMetricsFrom(ctx context.Context) TaskMetrics {
	if m, ok := ctx.Value(taskMetricsKey{}).(TaskMetrics); ok && m != nil {
		return m
	}
	return nopObserver{}
}

// nopObserver discards everything.
type nopObserver struct{}

func (nopObserver) Reconnected()                    {}
func (nopObserver) SequenceGap(int64)               {}
func (nopObserver) CommitLag(string, time.Duration) {}
func (nopObserver) FixtureDone(string)              {}
func (nopObserver) Polled(int)                      {}
func (nopObserver) Committed(Commit)                {}

// taskObserver returns the observer of a task (a no-op one without an observer).
func (w *Worker) taskObserver(connector string, task int) TaskObserver {
	if w.cfg.observer == nil {
		return nopObserver{}
	}
	if o := w.cfg.observer.Task(connector, task); o != nil {
		return o
	}
	return nopObserver{}
}
