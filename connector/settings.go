package connector

import (
	"fmt"
	"time"
)

// Names of the settings every connector understands, as Kafka Connect names them.
const (
	KeyName                  = "name"
	KeyClass                 = "connector.class"
	KeyTasksMax              = "tasks.max"
	KeyTopicPrefix           = "topic.prefix"
	KeyTxnBoundary           = "transaction.boundary"
	KeyTxnBoundaryIntervalMs = "transaction.boundary.interval.ms"
	KeyTxnBoundarySettleMs   = "transaction.boundary.settle.ms"
	KeyErrorsTolerance       = "errors.tolerance"
	KeyDLQTopic              = "errors.deadletterqueue.topic.name"
	KeyDLQReplication        = "errors.deadletterqueue.topic.replication.factor"
	KeyDLQContextHeaders     = "errors.deadletterqueue.context.headers.enable"
	KeyRetryTimeoutMs        = "errors.retry.timeout"
	KeyRetryDelayMaxMs       = "errors.retry.delay.max.ms"
	KeyTopicPartitions       = "topic.creation.default.partitions"
	KeyTopicReplication      = "topic.creation.default.replication.factor"
	KeyTaskIndex             = "task.index" // set by the worker in each task's config
	KeyTaskCount             = "task.count" // set by the worker in each task's config
)

// Values of transaction.boundary and errors.tolerance.
const (
	BoundaryAdaptive = "adaptive"
	BoundaryPoll     = "poll"
	BoundaryInterval = "interval"
	ToleranceNone    = "none"
	ToleranceAll     = "all"
)

// CommonSpec returns the spec of the settings every connector understands. A
// plugin's own spec is merged with it.
func CommonSpec() ConfigSpec {
	return ConfigSpec{
		{Name: KeyName, Type: TypeString, Required: true, Check: CheckConnectorName, Doc: "globally unique connector name; part of every task's transactional.id and offset key; no '/' and no control characters"},
		{Name: KeyClass, Type: TypeString, Required: true, Doc: "the connector plugin, e.g. synthetic, imgarena, saba, roanuz.match, roanuz.webhook"},
		{Name: KeyTasksMax, Type: TypeInt, Default: "1", Min: Min(1), Doc: "the most tasks the connector's work is split into"},
		{Name: KeyTopicPrefix, Type: TypeString, Default: "sportsconnect", Check: CheckTopicPrefix, Doc: "prefix of every topic the connector writes (prefix.name); empty = no prefix"},
		{Name: KeyTxnBoundary, Type: TypeString, Default: BoundaryAdaptive, Allowed: []string{BoundaryAdaptive, BoundaryPoll, BoundaryInterval},
			Doc: "adaptive: commit as soon as the previous commit has finished and records are waiting, so a transaction holds what arrived meanwhile (its size follows the load); " +
				"poll: one transaction per batch a task returns; interval: one transaction per transaction.boundary.interval.ms"},
		{Name: KeyTxnBoundaryIntervalMs, Type: TypeInt, Default: "1000", Min: Min(1), Doc: "with transaction.boundary=interval, how long a transaction stays open"},
		{Name: KeyTxnBoundarySettleMs, Type: TypeInt, Default: "2", Min: Min(0),
			Doc: "with transaction.boundary=adaptive, how long after a commit the next transaction's first records are sent: the broker completes a commit after answering it, " +
				"and holds a produce that arrives sooner for its add.partitions.to.txn.retry.backoff.ms (20 ms by default)"},
		{Name: KeyErrorsTolerance, Type: TypeString, Default: ToleranceNone, Allowed: []string{ToleranceNone, ToleranceAll}, Doc: "none: a bad message fails the task; all: it goes to the dead-letter topic (or is logged and counted without one)"},
		{Name: KeyDLQTopic, Type: TypeString, Default: "", Check: OrEmpty(CheckTopicName), Doc: "dead-letter topic for messages that cannot be converted (with errors.tolerance=all)"},
		{Name: KeyDLQReplication, Type: TypeInt, Default: "-1", Doc: "replication factor of the dead-letter topic when created; -1 = broker default"},
		{Name: KeyDLQContextHeaders, Type: TypeBool, Default: "true", Doc: "add __connect.errors.* headers to dead-letter records (Connect's default is false; ours is true)"},
		{Name: KeyRetryTimeoutMs, Type: TypeInt, Default: "300000", Min: Min(-1), Doc: "how long a task is restarted from its committed offsets after aborted transactions before it fails; -1 = forever, 0 = fail at once"},
		{Name: KeyRetryDelayMaxMs, Type: TypeInt, Default: "60000", Min: Min(1), Doc: "the longest wait between restarts"},
		{Name: KeyTopicPartitions, Type: TypeInt, Default: "-1", Min: Min(-1), Doc: "partitions of topics the worker creates; -1 = broker default"},
		{Name: KeyTopicReplication, Type: TypeInt, Default: "-1", Min: Min(-1), Doc: "replication factor of topics the worker creates; -1 = broker default"},
	}
}

// Settings are the common settings, parsed.
type Settings struct {
	Name             string
	Class            string
	TasksMax         int
	TopicPrefix      string
	Boundary         string
	BoundaryInterval time.Duration
	BoundarySettle   time.Duration
	TolerateAll      bool
	DLQTopic         string
	DLQReplication   int16
	DLQHeaders       bool
	RetryTimeout     time.Duration // < 0: forever
	RetryDelayMax    time.Duration
	TopicPartitions  int32
	TopicReplication int16
}

// ParseSettings reads the common settings of a validated config.
func ParseSettings(c Config) Settings {
	return Settings{
		Name:             c.String(KeyName),
		Class:            c.String(KeyClass),
		TasksMax:         int(c.Int(KeyTasksMax)),
		TopicPrefix:      c.String(KeyTopicPrefix),
		Boundary:         c.String(KeyTxnBoundary),
		BoundaryInterval: c.Millis(KeyTxnBoundaryIntervalMs),
		BoundarySettle:   c.Millis(KeyTxnBoundarySettleMs),
		TolerateAll:      c.String(KeyErrorsTolerance) == ToleranceAll,
		DLQTopic:         c.String(KeyDLQTopic),
		DLQReplication:   int16(c.Int(KeyDLQReplication)),
		DLQHeaders:       c.Bool(KeyDLQContextHeaders),
		RetryTimeout:     c.Millis(KeyRetryTimeoutMs),
		RetryDelayMax:    c.Millis(KeyRetryDelayMaxMs),
		TopicPartitions:  int32(c.Int(KeyTopicPartitions)),
		TopicReplication: int16(c.Int(KeyTopicReplication)),
	}
}

// Topic returns the prefixed topic name: prefix + "." + name.
func (s Settings) Topic(name string) string {
	if s.TopicPrefix == "" {
		return name
	}
	return s.TopicPrefix + "." + name
}

// ValidateConnector checks a connector config against the common settings
// and its plugin's spec, and the names of the topics it writes (when the
// plugin says which), returning the config with defaults applied.
func ValidateConnector(plugins *Plugins, cfg Config) (Config, Plugin, error) {
	p, err := plugins.Lookup(cfg[KeyClass])
	if err != nil {
		if cfg[KeyClass] == "" {
			return nil, Plugin{}, ConfigErrors{{Key: KeyClass, Problem: "is required: " + "the connector plugin"}}
		}
		return nil, Plugin{}, ConfigErrors{{Key: KeyClass, Value: cfg[KeyClass], Problem: fmt.Sprintf("no such plugin; known: %v", plugins.Classes())}}
	}
	out, err := CommonSpec().Merge(p.Spec).Validate(cfg)
	if err != nil {
		return nil, p, err
	}
	if p.Topics != nil {
		var errs ConfigErrors
		for _, topic := range p.Topics(out) {
			if terr := CheckTopicName(topic); terr != nil {
				errs = append(errs, &ConfigError{Key: KeyTopicPrefix, Value: out[KeyTopicPrefix], Problem: fmt.Sprintf("makes the topic %q: %v", topic, terr)})
			}
		}
		if len(errs) > 0 {
			return nil, p, errs
		}
	}
	return out, p, nil
}
