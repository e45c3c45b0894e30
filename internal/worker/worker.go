package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
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

// Worker runs connectors and their tasks. It holds no state a task needs
// after a move to another worker: offsets live in Kafka, and each task's
// transactional id fences its previous owner.
type Worker struct {
	cfg     workerConfig
	plugins *connector.Plugins
	log     *zap.Logger

	mu         sync.Mutex
	connectors map[string]*connectorRun
	presence   *kgo.Client // the worker's membership in its group (presence.go)
	admin      adminState  // operators' requests: raw configs, stopped connectors (admin.go)
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
	return &Worker{cfg: c, plugins: plugins, log: c.logger, connectors: map[string]*connectorRun{}}, nil
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
	return w.joinPresence()
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
}

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

// connectorRun is one running connector and its tasks.
type connectorRun struct {
	name     string
	config   connector.Config
	settings connector.Settings
	plugin   connector.Plugin
	conn     connector.Connector
	tasks    []*taskRunner
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	ctl      *controls      // per-task cancels and the pause gate (admin.go)
	maxBytes map[string]int // max.message.bytes of each topic; read-only once running
}

// startConnector validates cfg, starts the connector, creates its topics,
// registers its schemas and starts its tasks.
func (w *Worker) startConnector(ctx context.Context, cfg connector.Config) error {
	full, plugin, err := connector.ValidateConnector(w.plugins, cfg)
	if err != nil {
		return fmt.Errorf("connector %q: invalid config:\n%w", cfg[connector.KeyName], err)
	}
	set := connector.ParseSettings(full)
	if err := w.checkBoundary(set); err != nil {
		return fmt.Errorf("connector %q: invalid config:\n%w", set.Name, err)
	}
	w.mu.Lock()
	_, exists := w.connectors[set.Name]
	w.mu.Unlock()
	if exists {
		return fmt.Errorf("%w: %s", ErrConnectorExists, set.Name)
	}
	log := w.log.With(zap.String("connector", set.Name))
	conn := plugin.New(log)
	if err := conn.Start(ctx, full); err != nil {
		return fmt.Errorf("starting connector %s: %w", set.Name, err)
	}
	maxBytes, err := w.prepareTopics(ctx, set, conn.Topics())
	if err != nil {
		_ = conn.Stop()
		return fmt.Errorf("connector %s: %w", set.Name, err)
	}
	taskCfgs, err := conn.TaskConfigs(set.TasksMax)
	if err != nil {
		_ = conn.Stop()
		return fmt.Errorf("connector %s: splitting work into tasks: %w", set.Name, err)
	}
	// Before any task reads offsets: end the transactions a previous task
	// set left open (a crash, a lowered tasks.max), so neither the offsets
	// read nor any consumer of the data topics waits for their timeout.
	if err := w.fenceConnector(ctx, set.Name); err != nil {
		_ = conn.Stop()
		return fmt.Errorf("connector %s: fencing the previous task set: %w", set.Name, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cr := &connectorRun{name: set.Name, config: full, settings: set, plugin: plugin, conn: conn, cancel: cancel, ctl: newControls(runCtx), maxBytes: maxBytes}
	for i, tc := range taskCfgs {
		tc = tc.Clone()
		tc[connector.KeyTaskIndex] = fmt.Sprint(i)
		tc[connector.KeyTaskCount] = fmt.Sprint(len(taskCfgs))
		cr.tasks = append(cr.tasks, newTaskRunner(w, cr, i, tc))
	}
	w.mu.Lock()
	if _, exists := w.connectors[set.Name]; exists {
		w.mu.Unlock()
		cancel()
		_ = conn.Stop()
		return fmt.Errorf("%w: %s", ErrConnectorExists, set.Name)
	}
	w.connectors[set.Name] = cr
	w.mu.Unlock()
	for _, t := range cr.tasks {
		cr.startTask(t)
	}
	log.Info("connector started", zap.String("class", set.Class), zap.Int("tasks", len(cr.tasks)),
		zap.String("transaction.boundary", set.Boundary))
	return nil
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
		create = append(create, topicToCreate{name: t.Name, partitions: set.TopicPartitions, replication: set.TopicReplication, compact: t.Compact})
	}
	if set.DLQTopic != "" {
		create = append(create, topicToCreate{name: set.DLQTopic, partitions: 1, replication: set.DLQReplication})
	}
	if err := w.ensureTopics(ctx, create); err != nil {
		return nil, err
	}
	for _, t := range specs {
		if t.Schema == nil {
			continue
		}
		if err := w.cfg.serializer.Register(ctx, t.Name, t.Schema); err != nil {
			return nil, fmt.Errorf("registering schema of %s: %w", t.Name, err)
		}
	}
	names := make([]string, len(create))
	for i, t := range create {
		names[i] = t.name
	}
	return w.topicLimits(ctx, names)
}

// shutdown stops a running connector's tasks, each committing its open
// transaction within the shutdown timeout, then the connector instance,
// and forgets it (StopConnector and DeleteConnector build on it).
func (w *Worker) shutdown(name string) error {
	w.mu.Lock()
	cr, ok := w.connectors[name]
	delete(w.connectors, name)
	w.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	cr.cancel()
	cr.wg.Wait()
	if err := cr.conn.Stop(); err != nil {
		return fmt.Errorf("stopping connector %s: %w", name, err)
	}
	w.log.Info("connector stopped", zap.String("connector", name))
	return nil
}

// Close stops every connector. Each task commits its open transaction
// within the shutdown timeout; the rest is aborted by the broker.
func (w *Worker) Close() error {
	var errs []error
	for _, name := range w.runningNames() {
		if err := w.shutdown(name); err != nil {
			errs = append(errs, err)
		}
	}
	w.leavePresence()
	return errors.Join(errs...)
}

// runningNames returns the names of the running connectors, sorted.
func (w *Worker) runningNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.connectors))
	for n := range w.connectors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// runningStatus returns a running connector's state and each task's.
func (w *Worker) runningStatus(name string) (ConnectorStatus, error) {
	w.mu.Lock()
	cr, ok := w.connectors[name]
	w.mu.Unlock()
	if !ok {
		return ConnectorStatus{}, fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	st := ConnectorStatus{Name: name, Class: cr.settings.Class, State: cr.ctl.state()}
	for _, t := range cr.tasks {
		st.Tasks = append(st.Tasks, t.status())
	}
	return st, nil
}
