package connector

import (
	"context"
	"errors"
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
	// (after the open transaction is aborted). The returned slice and its
	// records belong to the worker from then on: the task must not read,
	// change or reuse them (the worker drops each record once produced).
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
	// Restore makes the topic a task's state store: the worker marks every
	// record it writes there with the header HeaderConnector, and before
	// each task starts it reads the topic back (read_committed, after the
	// previous task set was fenced, so it matches the committed offsets
	// exactly) and hands the latest value of each key this connector wrote
	// to the task through TaskContext.Restored. The worker creates it
	// compacted with short segments, so the read stays proportional to the
	// keys rather than the history, and deletes keys not written for 7
	// days (cleanup.policy=compact,delete).
	Restore bool
}

// HeaderConnector names the connector that wrote a record of a Restore
// topic; the worker sets it.
const HeaderConnector = "sc.connector"

// RestoredRecord is the latest value of one key of a Restore topic.
type RestoredRecord struct {
	Key    []byte
	value  []byte
	decode func(ctx context.Context, b []byte, v any) error
}

// Decode decodes the value into v (a pointer to the Go type of the topic's
// schema), with the schema the value was written with: fields that schema
// lacks keep their zero value, fields v lacks are skipped.
func (r RestoredRecord) Decode(ctx context.Context, v any) error {
	if r.decode == nil {
		return errors.New("connector: restored record has no decoder")
	}
	return r.decode(ctx, r.value, v)
}

// NewRestoredRecord returns a restored record: key, value as written and
// the function that decodes it. For runtimes and tests.
func NewRestoredRecord(key, value []byte, decode func(ctx context.Context, b []byte, v any) error) RestoredRecord {
	return RestoredRecord{Key: key, value: value, decode: decode}
}

// TaskContext is what a task is given at Start.
type TaskContext struct {
	Connector string // connector name
	Task      int    // task index, 0-based
	Config    Config // the task's config (connector config plus the task's share)
	Logger    *zap.Logger
	// Metrics receives what only the provider knows (reconnects, sequence
	// gaps, lag); never nil.
	Metrics  TaskMetrics
	offsets  map[string]Offset           // by Partition.String()
	restored map[string][]RestoredRecord // by topic; see WithRestored
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

// WithRestored returns a copy of tc that hands out recs (by topic) from
// Restored. The runtime calls it for connectors with Restore topics.
func (tc *TaskContext) WithRestored(recs map[string][]RestoredRecord) *TaskContext {
	c := *tc
	c.restored = recs
	return &c
}

// Restored returns the latest value of every key of topic (a TopicSpec
// with Restore) that this connector wrote, as committed when the task
// started; nil for other topics. Tasks read it in Start.
func (tc *TaskContext) Restored(topic string) []RestoredRecord { return tc.restored[topic] }

// ReleaseRestored drops the restored records; the runtime calls it once
// Start has returned, so they are not held for the task's life.
func (tc *TaskContext) ReleaseRestored() { tc.restored = nil }

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
