package worker

import (
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
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
// the task itself reaches the TaskMetrics part through TaskContext.Metrics.
type TaskObserver interface {
	connector.TaskMetrics
	// Polled is called after a Poll that returned records, and after a
	// record's Then built more (SourceRecord.Then).
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

// WithObserver sets the worker's observer (metrics).
func WithObserver(o Observer) Option { return func(c *workerConfig) { c.observer = o } }

// nopObserver discards everything.
type nopObserver struct{}

func (nopObserver) Reconnected()                    {}
func (nopObserver) SequenceGap(int64)               {}
func (nopObserver) CommitLag(string, time.Duration) {}
func (nopObserver) FixtureDone(string)              {}
func (nopObserver) Polled(int)                      {}
func (nopObserver) Committed(Commit)                {}

// taskObserver returns the observer of a task (a no-op one without an observer).
func (w *Worker) taskObserver(conn string, task int) TaskObserver {
	if w.cfg.observer == nil {
		return nopObserver{}
	}
	if o := w.cfg.observer.Task(conn, task); o != nil {
		return o
	}
	return nopObserver{}
}
