package worker

import (
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// State is a connector's or task's state, named as Kafka Connect names them.
type State string

// States.
const (
	StateUnassigned State = "UNASSIGNED"
	StateRunning    State = "RUNNING"
	StatePaused     State = "PAUSED"
	StateStopped    State = "STOPPED"
	StateFailed     State = "FAILED"
	StateRestarting State = "RESTARTING"
)

// ConnectorStatus is a connector's state and its tasks'.
type ConnectorStatus struct {
	Name     string
	Class    string
	State    State
	WorkerID string // the worker that reports it (host:port); empty = this one
	Tasks    []TaskStatus
}

// TaskStatus is one task's state, the error that failed it, and its counters.
type TaskStatus struct {
	ID       int
	State    State
	Trace    string // why the task failed, for FAILED
	WorkerID string // the worker that runs it (host:port); empty = this one
	Stats    TaskStats
}

// TaskStats are a task's counters since the worker started it.
type TaskStats struct {
	RecordsWritten int64     // records committed, dead letters excluded
	BytesWritten   int64     // value bytes of committed records
	DeadLetters    int64     // records sent to the dead-letter topic (or logged and skipped)
	Commits        int64     // transactions committed
	Aborts         int64     // transactions aborted
	Restarts       int64     // times the task was restarted from its committed offsets
	LastCommit     time.Time // when the last transaction committed
	// Committed is the latest committed offset of each source partition
	// this task wrote, and of every partition of the connector as the task
	// read them when it (re)started, keyed by the partition's canonical
	// JSON. Across tasks, take the highest.
	Committed map[string]connector.Offset
}
