package connector

import "time"

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

// DiscardMetrics returns TaskMetrics that discard everything.
func DiscardMetrics() TaskMetrics { return nopMetrics{} }

// nopMetrics discards everything (a TaskContext without metrics).
type nopMetrics struct{}

func (nopMetrics) Reconnected()                    {}
func (nopMetrics) SequenceGap(int64)               {}
func (nopMetrics) CommitLag(string, time.Duration) {}
func (nopMetrics) FixtureDone(string)              {}
