package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Serializer turns record values into the bytes written to Kafka. The worker
// registers every topic's schema before any task starts, then encodes each
// record's value. Implementations must be safe for concurrent use.
type Serializer interface {
	// Register makes schema the value schema of topic (subject <topic>-value).
	Register(ctx context.Context, topic string, schema avro.Schema) error
	// AppendEncode appends v, encoded for topic with schema, to dst.
	AppendEncode(dst []byte, topic string, schema avro.Schema, v any) ([]byte, error)
	// Decode decodes b, a value AppendEncode wrote (possibly with an
	// earlier schema), into v; restored state topics are read with it.
	Decode(ctx context.Context, b []byte, v any) error
}

// workerConfig is what Options set.
type workerConfig struct {
	kafka           []kgo.Opt
	producer        []kgo.Opt
	groupID         string
	offsetsTopic    string
	offsetsParts    int32
	offsetsRepl     int16
	serializer      Serializer
	logger          *zap.Logger
	shutdownTimeout time.Duration
	pollMax         time.Duration
	txnTimeout      time.Duration
	observer        Observer // metrics; nil = none (see observer.go)
	noPresence      bool     // the membership is a distributed herder's
	clusterIDs      func() map[string]bool
}

// Option configures a Worker.
type Option func(*workerConfig)

// WithKafka sets the client options shared by every connection the worker
// makes: seed brokers, TLS, SASL.
func WithKafka(opts ...kgo.Opt) Option {
	return func(c *workerConfig) { c.kafka = append(c.kafka, opts...) }
}

// WithProducerOpts adds options to every task's transactional producer.
func WithProducerOpts(opts ...kgo.Opt) Option {
	return func(c *workerConfig) { c.producer = append(c.producer, opts...) }
}

// WithGroupID sets the worker group id, the first part of every task's
// transactional.id (<group>-<connector>-<task>). Default "sportsconnect".
func WithGroupID(id string) Option { return func(c *workerConfig) { c.groupID = id } }

// WithOffsetsTopic sets the offsets topic (offset.storage.topic), and the
// partitions and replication factor it is created with if missing
// (-1 = broker default). Default "connect-offsets", 25 partitions.
func WithOffsetsTopic(name string, partitions int32, replication int16) Option {
	return func(c *workerConfig) {
		c.offsetsTopic, c.offsetsParts, c.offsetsRepl = name, partitions, replication
	}
}

// WithSerializer sets how values are encoded (Avro through a registry).
func WithSerializer(s Serializer) Option { return func(c *workerConfig) { c.serializer = s } }

// WithLogger sets the logger. Default: no logging.
func WithLogger(l *zap.Logger) Option { return func(c *workerConfig) { c.logger = l } }

// WithShutdownTimeout bounds how long stopping waits for tasks to commit
// their open transaction (task.shutdown.graceful.timeout.ms). Default 5 s.
func WithShutdownTimeout(d time.Duration) Option {
	return func(c *workerConfig) { c.shutdownTimeout = d }
}

// WithPollMax bounds each Poll call (default 100 ms), so interval
// boundaries and shutdown are noticed on time.
func WithPollMax(d time.Duration) Option { return func(c *workerConfig) { c.pollMax = d } }

// WithTransactionTimeout sets the producers' transaction.timeout.ms (default 60 s).
func WithTransactionTimeout(d time.Duration) Option {
	return func(c *workerConfig) { c.txnTimeout = d }
}

// WithoutPresence makes the worker skip its standalone membership of the
// group (presence.go): a distributed herder's membership takes its place.
func WithoutPresence() Option { return func(c *workerConfig) { c.noPresence = true } }

// WithClusterTaskIDs gives the transactional ids of every task the cluster
// runs, on any worker. The offsets read never fences those ids when it
// waits on their transactions: they are live elsewhere, and end their
// transactions within their interval.
func WithClusterTaskIDs(ids func() map[string]bool) Option {
	return func(c *workerConfig) { c.clusterIDs = ids }
}

// Worker runs connectors and their tasks. It holds no state a task needs
// after a move to another worker: offsets live in Kafka, and each task's
// transactional id fences its previous owner.
type Worker struct {
	cfg     workerConfig
	plugins *connector.Plugins
	log     *zap.Logger

	// opMu serialises operations; mu guards connectors (see connectors.go).
	opMu       sync.Mutex
	mu         sync.Mutex
	connectors map[string]*connectorRecord
	presence   *kgo.Client // the worker's membership in its group (presence.go)
}

// New returns a worker for plugins. Call Start before adding connectors.
func New(plugins *connector.Plugins, opts ...Option) (*Worker, error) {
	c := workerConfig{
		groupID:         "sportsconnect",
		offsetsTopic:    "connect-offsets",
		offsetsParts:    25,
		offsetsRepl:     -1,
		logger:          zap.NewNop(),
		shutdownTimeout: 5 * time.Second,
		pollMax:         100 * time.Millisecond,
		txnTimeout:      60 * time.Second,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.serializer == nil {
		return nil, errors.New("worker: no serializer configured (WithSerializer)")
	}
	if len(c.kafka) == 0 {
		return nil, errors.New("worker: no Kafka options (WithKafka with seed brokers)")
	}
	return &Worker{cfg: c, plugins: plugins, log: c.logger, connectors: map[string]*connectorRecord{}}, nil
}

// Start creates the offsets topic (compacted) if it is missing, refuses one
// that is not compacted, and makes the worker a member of its group
// (presence.go).
func (w *Worker) Start(ctx context.Context) error {
	err := w.ensureTopics(ctx, []topicToCreate{{
		name: w.cfg.offsetsTopic, partitions: w.cfg.offsetsParts, replication: w.cfg.offsetsRepl, compact: true,
	}})
	if err != nil {
		// The first thing the worker asks of Kafka: a wrong address, TLS
		// or SASL setting surfaces here, often as a bare EOF.
		return fmt.Errorf("%w (the first request to Kafka: check bootstrap.servers, security.protocol, ssl.* and sasl.*)", err)
	}
	if err := w.checkOffsetsCompacted(ctx); err != nil {
		return err
	}
	if w.cfg.noPresence {
		return nil
	}
	return w.joinPresence()
}

// EnsureTopic creates a topic if it is missing (compacted if asked) and
// waits until every partition has a leader.
func (w *Worker) EnsureTopic(ctx context.Context, name string, partitions int32, replication int16, compact bool) error {
	return w.ensureTopics(ctx, []topicToCreate{{name: name, partitions: partitions, replication: replication, compact: compact}})
}

// checkOffsetsCompacted refuses an offsets topic that is not compacted, as
// Connect does: with cleanup.policy=delete the offsets of quiet source
// partitions are deleted after retention, and they replay from the start.
func (w *Worker) checkOffsetsCompacted(ctx context.Context) error {
	cl, err := kgo.NewClient(w.cfg.kafka...)
	if err != nil {
		return fmt.Errorf("creating admin client: %w", err)
	}
	defer cl.Close()
	rcs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, w.cfg.offsetsTopic)
	if err == nil && len(rcs) == 1 {
		err = rcs[0].Err
	}
	if err != nil {
		return fmt.Errorf("describing the offsets topic %s: %w", w.cfg.offsetsTopic, err)
	}
	policy := "delete" // the broker default when the topic does not say
	for _, c := range rcs[0].Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			policy = *c.Value
		}
	}
	if !strings.Contains(policy, "compact") {
		return fmt.Errorf("%w: %s has cleanup.policy=%s; the offsets of quiet source partitions would be deleted after retention "+
			"and replayed from the start. Make it compacted (kafka-configs.sh --alter --entity-type topics --entity-name %s "+
			"--add-config cleanup.policy=compact) or name another topic in %s",
			ErrOffsetsNotCompacted, w.cfg.offsetsTopic, policy, w.cfg.offsetsTopic, WKeyOffsetsTopic)
	}
	return nil
}

// OffsetsTopic returns the offsets topic's name.
func (w *Worker) OffsetsTopic() string { return w.cfg.offsetsTopic }

// KafkaOpts returns the worker's shared Kafka client options.
func (w *Worker) KafkaOpts() []kgo.Opt { return append([]kgo.Opt(nil), w.cfg.kafka...) }

type topicToCreate struct {
	name        string
	partitions  int32
	replication int16
	compact     bool
	restore     bool // a task's state store (connector.TopicSpec.Restore)
}

// restoreSegmentMs and restoreDirtyRatio bound what a task reads back from
// a Restore topic when it starts: the cleaner compacts only closed
// segments, so a segment closes every 10 minutes (the broker's default is
// 7 days) and is cleaned once a tenth of the log is superseded (default:
// half). What a restore reads is then about the keys plus 10 minutes of
// writes. restoreRetentionMs bounds the keys: a state not written for 7
// days (a match long over) is deleted with its segment, so neither the
// topic nor a restoring task grows with every match ever followed.
const (
	restoreSegmentMs   = "600000"
	restoreDirtyRatio  = "0.1"
	restoreRetentionMs = "604800000"
)

// ensureTopics creates the topics that do not exist yet.
func (w *Worker) ensureTopics(ctx context.Context, topics []topicToCreate) error {
	// A short metadata age: waitTopicsReady polls, and kgo would answer
	// from a cache up to 5 s old (the first start on a fresh cluster
	// waited 5 s for leaders that were there after milliseconds).
	cl, err := kgo.NewClient(append(w.KafkaOpts(), kgo.MetadataMinAge(20*time.Millisecond))...)
	if err != nil {
		return fmt.Errorf("creating admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, t := range topics {
		var configs map[string]*string
		if t.compact {
			compact := "compact"
			configs = map[string]*string{"cleanup.policy": &compact}
		}
		if t.restore {
			policy, seg, ratio, ret := "compact,delete", restoreSegmentMs, restoreDirtyRatio, restoreRetentionMs
			configs["cleanup.policy"], configs["segment.ms"], configs["min.cleanable.dirty.ratio"], configs["retention.ms"] = &policy, &seg, &ratio, &ret
		}
		resp, err := adm.CreateTopic(ctx, t.partitions, t.replication, configs, t.name)
		if err == nil {
			err = resp.Err
		}
		switch {
		case err == nil:
			w.log.Info("created topic", zap.String("topic", t.name), zap.Int32("partitions", resp.NumPartitions), zap.Bool("compacted", t.compact))
		case errors.Is(err, kerr.TopicAlreadyExists):
		default:
			return fmt.Errorf("creating topic %s: %w", t.name, err)
		}
	}
	return waitTopicsReady(ctx, adm, topics)
}

// waitTopicsReady waits until every topic has a leader for each partition:
// CreateTopics returns before the metadata has spread, and a task must not
// start reading the offsets topic before then.
func waitTopicsReady(ctx context.Context, adm *kadm.Client, topics []topicToCreate) error {
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.name
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		tds, err := adm.ListTopics(ctx, names...)
		ready := err == nil
		for _, n := range names {
			td, ok := tds[n]
			if !ok || td.Err != nil || len(td.Partitions) == 0 {
				ready = false
				break
			}
			for _, p := range td.Partitions {
				if p.Err != nil || p.Leader < 0 {
					ready = false
				}
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for topics %v to have leaders: %w (last error: %v)", names, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startConnector starts a connector from a resolved config: its instance,
// topics and schemas, then every task of its task set. Call with opMu held;
// the connector must not be running.
func (w *Worker) startConnector(ctx context.Context, cfg connector.Config) (*connectorRun, error) {
	cr, err := w.openConnector(ctx, cfg)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*connectorRun, error) {
		cr.cancel()
		_ = cr.conn.Stop()
		return nil, fmt.Errorf("connector %s: %w", cr.name, err)
	}
	taskCfgs, err := cr.conn.TaskConfigs(cr.settings.TasksMax)
	if err != nil {
		return fail(fmt.Errorf("splitting work into tasks: %w", err))
	}
	// Before any task reads offsets: end the transactions a previous task
	// set left open (a crash, a lowered tasks.max), so neither the offsets
	// read nor any consumer of the data topics waits for their timeout.
	if err := w.fenceConnector(ctx, cr.name); err != nil {
		return fail(fmt.Errorf("fencing the previous task set: %w", err))
	}
	w.mu.Lock()
	for i, tc := range taskCfgs {
		cr.startTask(w.addTask(cr, i, len(taskCfgs), tc))
	}
	w.mu.Unlock()
	w.log.Info("connector started", zap.String("connector", cr.name), zap.String("class", cr.settings.Class),
		zap.Int("tasks", len(taskCfgs)), zap.String("transaction.boundary", cr.settings.Boundary))
	return cr, nil
}

// checkBoundary refuses a transaction interval that cannot fit in the
// producers' transaction timeout: the broker would abort every transaction
// that runs its full interval.
func (w *Worker) checkBoundary(set connector.Settings) error {
	if set.Boundary != connector.BoundaryInterval || 2*set.BoundaryInterval <= w.cfg.txnTimeout {
		return nil
	}
	return connector.ConfigErrors{{Key: connector.KeyTxnBoundaryIntervalMs, Value: fmt.Sprint(set.BoundaryInterval.Milliseconds()),
		Problem: fmt.Sprintf("must be at most half the worker's %s (%d ms), so every transaction commits before the broker aborts it",
			WKeyTxnTimeoutMs, w.cfg.txnTimeout.Milliseconds())}}
}

// prepareTopics creates the connector's topics (and its dead-letter topic),
// registers their schemas, and returns each topic's max.message.bytes.
func (w *Worker) prepareTopics(ctx context.Context, set connector.Settings, specs []connector.TopicSpec) (map[string]int, error) {
	var create []topicToCreate
	for _, t := range specs {
		create = append(create, topicToCreate{name: t.Name, partitions: set.TopicPartitions, replication: set.TopicReplication,
			compact: t.Compact || t.Restore, restore: t.Restore})
	}
	if set.DLQTopic != "" {
		create = append(create, topicToCreate{name: set.DLQTopic, partitions: 1, replication: set.DLQReplication})
	}
	if err := w.ensureTopics(ctx, create); err != nil {
		return nil, err
	}
	// Each subject takes a few registry round trips (its compatibility
	// level, then the schema); the subjects are independent, so they are
	// registered side by side rather than one after another.
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, t := range specs {
		if t.Schema == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.cfg.serializer.Register(ctx, t.Name, t.Schema); err != nil {
				errs[i] = fmt.Errorf("registering schema of %s: %w", t.Name, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	names := make([]string, len(create))
	for i, t := range create {
		names[i] = t.name
	}
	return w.topicLimits(ctx, names)
}

// Close stops every connector. Each task commits its open transaction
// within the shutdown timeout; the rest is aborted by the broker.
func (w *Worker) Close() error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	var errs []error
	for _, name := range w.names(true) {
		if cr, _ := w.detach(name, true); cr != nil {
			errs = append(errs, w.closeRun(cr))
		}
	}
	w.leavePresence()
	return errors.Join(errs...)
}
