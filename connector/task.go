package connector

import (
	"context"
	"fmt"
	"sort"

	"github.com/hamba/avro/v2"
	"go.uber.org/zap"
)

// SourceTask produces records from one share of a connector's work. The
// worker drives it from one goroutine: Start, then Poll repeatedly, then
// Stop. A task that is restarted (after an aborted transaction, or moved to
// another worker) is started again with the offsets committed in Kafka, and
// must resume exactly there.
type SourceTask interface {
	// Start opens the task. tc carries its config and its committed offsets.
	Start(ctx context.Context, tc *TaskContext) error

	// Poll returns the next records. It blocks until records are available
	// or ctx is done, and then returns (nil, nil): the worker bounds each
	// Poll with a deadline so it can commit on time. An error fails the task
	// (after the open transaction is aborted).
	Poll(ctx context.Context) ([]*SourceRecord, error)

	// Stop releases the task's connections. It is called once, after the
	// last Poll, whether the task failed or not.
	Stop() error
}

// Connector is a configured instance of a plugin: it validates its config,
// names the topics it writes, and splits its work into task configs.
type Connector interface {
	// Start takes the connector's validated config.
	Start(ctx context.Context, cfg Config) error

	// Topics lists the topics the connector's tasks write and the Avro
	// schema of each. The worker creates missing topics and registers
	// <topic>-value before any task starts.
	Topics() []TopicSpec

	// TaskConfigs splits the work into at most maxTasks task configs.
	TaskConfigs(maxTasks int) ([]Config, error)

	// NewTask returns a new, unstarted task.
	NewTask() SourceTask

	// Stop releases what Start acquired.
	Stop() error
}

// TopicSpec is one destination topic and the schema of its values.
type TopicSpec struct {
	Name   string
	Schema avro.Schema // nil for topics written without a registered schema
	// Compact makes the worker create the topic with cleanup.policy=compact
	// (for latest-state-per-key topics).
	Compact bool
}

// TaskContext is what a task is given at Start.
type TaskContext struct {
	Connector string // connector name
	Task      int    // task index, 0-based
	Config    Config // the task's config (connector config plus the task's share)
	Logger    *zap.Logger
	// Metrics receives what only the provider knows (reconnects, sequence
	// gaps, lag); never nil.
	Metrics TaskMetrics
	offsets map[string]Offset // by Partition.String()
}

// NewTaskContext returns the context a runtime gives a task: its identity,
// config, logger, metrics (nil discards) and committed offsets, by
// Partition.String().
func NewTaskContext(conn string, task int, cfg Config, log *zap.Logger, metrics TaskMetrics, offsets map[string]Offset) *TaskContext {
	if metrics == nil {
		metrics = nopMetrics{}
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &TaskContext{Connector: conn, Task: task, Config: cfg, Logger: log, Metrics: metrics, offsets: offsets}
}

// WithMetrics returns a copy of tc whose Metrics is m (tests of a provider
// task use it to watch what the task reports).
func (tc *TaskContext) WithMetrics(m TaskMetrics) *TaskContext {
	c := *tc
	c.Metrics = m
	if m == nil {
		c.Metrics = nopMetrics{}
	}
	return &c
}

// Offset returns the committed offset of partition p, if any.
func (tc *TaskContext) Offset(p Partition) (Offset, bool) {
	o, ok := tc.offsets[p.String()]
	return o, ok
}

// Plugin describes a connector class: its name, its config spec and how to
// make an instance.
type Plugin struct {
	Class string     // the connector.class value, e.g. "synthetic"
	Doc   string     // one line on what it does
	Spec  ConfigSpec // the plugin's own settings (the common ones are added by the worker)
	New   func(logger *zap.Logger) Connector

	// PushAddress is set by a connector whose one task receives pushes (a
	// webhook): it returns the host:port the task listens on, from the
	// connector's config (defaults applied). The task listens with
	// SO_REUSEPORT (internal/reuseport); in distributed mode every worker
	// that does not run the task answers 503 with Retry-After at the same
	// address, so behind one shared address (a Kubernetes Service) the
	// provider retries until its push reaches the owner, and no two
	// connectors may share an address. Nil for connectors without pushes.
	PushAddress func(cfg Config) string

	// Topics, if set, returns the topics the connector writes for a
	// config (defaults applied), so ValidateConnector can check each is a
	// legal Kafka topic name before anything starts.
	Topics func(cfg Config) []string
}

// Plugins is the set of connector classes a worker can run. It is built in
// cmd and passed to the worker; there is no global registry.
type Plugins struct {
	byClass map[string]Plugin
}

// NewPlugins returns a set holding ps. A duplicate class is a programming error.
func NewPlugins(ps ...Plugin) *Plugins {
	s := &Plugins{byClass: make(map[string]Plugin, len(ps))}
	for _, p := range ps {
		if _, dup := s.byClass[p.Class]; dup {
			panic(fmt.Sprintf("connector: plugin class %q registered twice", p.Class))
		}
		s.byClass[p.Class] = p
	}
	return s
}

// Lookup returns the plugin for class.
func (s *Plugins) Lookup(class string) (Plugin, error) {
	p, ok := s.byClass[class]
	if !ok {
		return Plugin{}, fmt.Errorf("%w %q (known: %v)", ErrUnknownClass, class, s.Classes())
	}
	return p, nil
}

// Classes returns the known classes, sorted.
func (s *Plugins) Classes() []string {
	out := make([]string, 0, len(s.byClass))
	for c := range s.byClass {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// PartitionOffset is a source partition and its offset.
type PartitionOffset struct {
	Partition Partition
	Offset    Offset
}

// NewTaskContextForTest returns a TaskContext holding the given committed
// offsets, for testing a task without a worker.
func NewTaskContextForTest(conn string, task int, cfg Config, log *zap.Logger, offsets ...PartitionOffset) *TaskContext {
	m := make(map[string]Offset, len(offsets))
	for _, po := range offsets {
		m[po.Partition.String()] = po.Offset
	}
	return NewTaskContext(conn, task, cfg, log, nil, m)
}
