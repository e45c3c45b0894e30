// Package distributed runs a worker as one member of a cluster of workers,
// Kafka Connect's distributed mode: the workers that share a group.id
// divide the connectors' tasks among them through Kafka's group
// coordinator, keep connector configs in the config topic and states in the
// status topic, and move tasks to the survivors when a worker leaves or
// dies.
//
// Who does what:
//   - The coordinator decides the members and the leader (cluster.Member).
//   - The leader computes each connector's task configs and writes them to
//     the config topic in transactions of its own transactional id, so a
//     deposed leader is fenced (leader.go); it assigns tasks to members
//     (assign.go) and forwards nothing: REST writes on other workers are
//     forwarded to it (api.go).
//   - Every member runs the tasks assigned to it on its worker.Worker, which
//     fences each task's previous owner when the task's producer starts.
//
// Why Connect's own group protocol (JoinGroup/SyncGroup/Heartbeat with
// protocol type "connect", spoken through kmsg in internal/cluster) and
// not franz-go's consumer groups with a custom balancer: the consumer
// protocol assigns topic partitions to members that subscribe to topics,
// and Kafka Streams-style tunnelling would have us subscribe to a topic we
// do not read and squeeze tasks into partition assignments. Connect's
// protocol carries opaque member metadata and assignments, which are
// exactly our task lists; operators see the group as Connect's in every
// Kafka tool; and the coordinator refuses a group.id already used by
// consumers or by standalone workers (another protocol type) instead of
// mixing them.
//
// Concurrency: the member's callbacks (Assign, Assigned, Lost) run on its
// goroutine one at a time; Run's loop reacts to config topic changes and
// writes statuses; REST calls come from any goroutine. h.mu guards the
// fields marked below and is never held across a Kafka call.
package distributed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/cluster"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Options configure a Herder.
type Options struct {
	// Worker runs the tasks assigned here; build it WithoutPresence and
	// WithClusterTaskIDs(h.ClusterTaskIDs).
	Worker *worker.Worker
	// Kafka is the worker's client options (seed brokers, TLS, SASL).
	Kafka []kgo.Opt
	// Group is group.id: the worker group, and the first part of every
	// transactional id.
	Group string
	// ConfigTopic (config.storage.topic, one partition) and StatusTopic
	// (status.storage.topic) are created compacted if missing, with their
	// replication factors (-1 or 0 = the broker's default).
	ConfigTopic, StatusTopic             string
	StatusPartitions                     int32
	ConfigReplication, StatusReplication int16
	// URL is this worker's REST API as the other workers reach it
	// (rest.advertised.listener); WorkerID is its host:port.
	URL, WorkerID string
	// SessionTimeout, HeartbeatInterval and RebalanceTimeout are the
	// group's (session.timeout.ms, heartbeat.interval.ms,
	// rebalance.timeout.ms); zero = 10 s, 3 s, 60 s.
	SessionTimeout, HeartbeatInterval, RebalanceTimeout time.Duration
	// Metrics receives rebalance counts and times; nil = none.
	Metrics RebalanceObserver
	Logger  *zap.Logger
}

// RebalanceObserver is told of each completed rebalance on this worker.
type RebalanceObserver interface {
	// Rebalanced reports one completed rebalance: how long from the
	// moment this worker joined to its assignment being applied, and
	// whether this worker led it.
	Rebalanced(took time.Duration, leader bool)
}

// Herder is one worker's part in a distributed cluster.
type Herder struct {
	opts Options
	w    *worker.Worker
	log  *zap.Logger

	configs   *cluster.Configs
	statuses  *cluster.Statuses
	configLog *cluster.KafkaLog
	statusLog *cluster.KafkaLog
	member    *cluster.Member
	statusCl  *kgo.Client     // writes status records (idempotent, not transactional)
	changed   chan struct{}   // the config topic changed
	restarts  chan restartReq // restart-connector records read after start

	writeMu sync.Mutex // one config topic transaction at a time (leader.go)
	sb      standbys   // push address standbys (standby.go)

	mu          sync.Mutex
	gen         cluster.Generation
	leaderURL   string
	leaderCl    *kgo.Client              // the leader's transactional producer; nil unless leading
	running     map[taskKey]TaskRef      // tasks assigned here, with the version of their task set
	stopping    bool                     // the worker is leaving: an assignment starts no task (rebalance.go)
	failedStart map[taskKey]string       // assigned tasks that could not start here, and why
	written     map[taskKey]worker.State // the last status written for each task here
	writtenConn map[string]string        // the last connector status the leader wrote
	startOffset int64                    // the config topic's end when this worker started
	lastShape   string                   // what the assignment depends on, at the last rejoin
	joinedAt    time.Time
}

// New returns a herder; Run starts it.
func New(opts Options) (*Herder, error) {
	if opts.Worker == nil || len(opts.Kafka) == 0 || opts.Group == "" || opts.ConfigTopic == "" || opts.StatusTopic == "" {
		return nil, errors.New("distributed: Worker, Kafka, Group, ConfigTopic and StatusTopic are required")
	}
	if opts.URL == "" || opts.WorkerID == "" {
		return nil, errors.New("distributed: the worker's REST URL and id are required (the others forward requests to it)")
	}
	if opts.StatusPartitions <= 0 {
		opts.StatusPartitions = 5
	}
	if opts.ConfigReplication == 0 {
		opts.ConfigReplication = -1
	}
	if opts.StatusReplication == 0 {
		opts.StatusReplication = -1
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	h := &Herder{opts: opts, w: opts.Worker, log: opts.Logger.With(zap.String("worker_id", opts.WorkerID)),
		changed: make(chan struct{}, 1), restarts: make(chan restartReq, 64),
		running: map[taskKey]TaskRef{}, failedStart: map[taskKey]string{}, written: map[taskKey]worker.State{},
		writtenConn: map[string]string{}, startOffset: -1, gen: cluster.Generation{ID: -1}}
	h.configs = cluster.NewConfigs(h.signalChange)
	h.statuses = cluster.NewStatuses()
	return h, nil
}

func (h *Herder) signalChange() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// Open creates the config and status topics if missing and reads them to
// their end, so the herder answers from the cluster's state; Run joins.
func (h *Herder) Open(ctx context.Context) error {
	if err := h.open(ctx); err != nil {
		h.close()
		return err
	}
	return nil
}

// Run joins the cluster and runs the tasks assigned here until ctx ends;
// then it stops them (each committing its open transaction), writes their
// state and leaves the group, so the others take them over at once. Call
// Open first.
func (h *Herder) Run(ctx context.Context) error {
	if h.member == nil {
		return errors.New("distributed: Run before Open")
	}
	defer h.close()
	memberCtx, stopMember := context.WithCancel(context.WithoutCancel(ctx))
	memberDone := make(chan error, 1)
	go func() { memberDone <- h.member.Run(memberCtx) }()

	statusTick := time.NewTicker(500 * time.Millisecond)
	defer statusTick.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-memberDone:
			runErr = fmt.Errorf("worker group membership ended: %w", err)
			memberDone <- err
			break loop
		case <-h.changed:
			h.onConfigChange(ctx)
		case rq := <-h.restarts:
			h.restartLocal(ctx, rq)
		case <-statusTick.C:
			h.writeStatuses(ctx)
		}
	}
	// Graceful leave: stop and commit first, then leave the group, so the
	// tasks start elsewhere from what was just committed. The member's
	// callbacks run on its own goroutine until it has left: from here on an
	// assignment it applies starts no task (stopping), and whatever one
	// started before seeing the flag is stopped once the member is gone.
	h.mu.Lock()
	h.stopping = true
	h.mu.Unlock()
	h.stopAll("worker stopping")
	h.writeStatuses(context.WithoutCancel(ctx))
	stopMember()
	if err := <-memberDone; runErr == nil && err != nil && !errors.Is(err, context.Canceled) {
		runErr = err
	}
	h.stopAll("worker stopping (started by a late assignment)")
	h.writeStatuses(context.WithoutCancel(ctx))
	return runErr
}

// open creates the topics, reads them to their end and makes the member.
func (h *Herder) open(ctx context.Context) error {
	o := h.opts
	if err := h.w.EnsureTopic(ctx, o.ConfigTopic, 1, o.ConfigReplication, true); err != nil {
		return fmt.Errorf("config topic: %w", err)
	}
	if err := h.w.EnsureTopic(ctx, o.StatusTopic, o.StatusPartitions, o.StatusReplication, true); err != nil {
		return fmt.Errorf("status topic: %w", err)
	}
	var err error
	if h.statusCl, err = kgo.NewClient(append(append([]kgo.Opt(nil), o.Kafka...), kgo.DefaultProduceTopic(o.StatusTopic))...); err != nil {
		return fmt.Errorf("status writer: %w", err)
	}
	if h.configLog, err = cluster.NewKafkaLog(o.Kafka, o.ConfigTopic, h.applyConfig, h.log); err != nil {
		return err
	}
	if h.statusLog, err = cluster.NewKafkaLog(o.Kafka, o.StatusTopic, h.statuses.Apply, h.log); err != nil {
		return err
	}
	readCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := h.configLog.ReadToEnd(readCtx); err != nil {
		return err
	}
	if err := h.statusLog.ReadToEnd(readCtx); err != nil {
		return err
	}
	snap, at := h.configs.Snapshot()
	h.mu.Lock()
	h.startOffset = at
	h.lastShape = shape(snap)
	h.mu.Unlock()
	h.member, err = cluster.New(cluster.Config{
		Group: o.Group, Kafka: o.Kafka, Log: h.log,
		SessionTimeout: o.SessionTimeout, HeartbeatInterval: o.HeartbeatInterval, RebalanceTimeout: o.RebalanceTimeout,
		Metadata: h.metadata, Assign: h.assign, Assigned: h.assigned, Lost: h.lost,
	})
	if err != nil {
		return err
	}
	names := h.configs.Names()
	h.log.Info("distributed worker started", zap.String("group.id", o.Group), zap.String("url", o.URL),
		zap.Int("connectors_in_config_topic", len(names)), zap.Strings("connectors", names))
	return nil
}

func (h *Herder) close() {
	h.closeStandbys()
	h.mu.Lock()
	lc := h.leaderCl
	h.leaderCl = nil
	h.mu.Unlock()
	if lc != nil {
		lc.Close()
	}
	if h.configLog != nil {
		h.configLog.Close()
	}
	if h.statusLog != nil {
		h.statusLog.Close()
	}
	if h.statusCl != nil {
		h.statusCl.Close()
	}
}

// memberMeta is what a member tells the leader when it joins.
type memberMeta struct {
	URL          string    `json:"url"`
	WorkerID     string    `json:"worker_id"`
	ConfigOffset int64     `json:"config_offset"`
	Running      []TaskRef `json:"running"`
}

// assignment is what the leader hands each member.
type assignment struct {
	LeaderURL    string    `json:"leader_url"`
	ConfigOffset int64     `json:"config_offset"`
	Tasks        []TaskRef `json:"tasks"`
	Rejoin       bool      `json:"rejoin"`
}

// metadata is the member's JoinGroup metadata: it also marks the start of
// a rebalance for the metrics.
func (h *Herder) metadata() []byte {
	_, at := h.configs.Snapshot()
	h.mu.Lock()
	m := memberMeta{URL: h.opts.URL, WorkerID: h.opts.WorkerID, ConfigOffset: at, Running: []TaskRef{}}
	for _, t := range h.running {
		m.Running = append(m.Running, t)
	}
	h.joinedAt = time.Now()
	h.mu.Unlock()
	b, _ := json.Marshal(m)
	return b
}

// Ready reports whether the worker has joined its group and applied an
// assignment, with no task here FAILED (the readiness probe).
func (h *Herder) Ready() error {
	h.mu.Lock()
	gen := h.gen.ID
	failed := len(h.failedStart)
	h.mu.Unlock()
	if gen < 0 {
		return errors.New("the worker has not joined its group yet")
	}
	if failed > 0 {
		return fmt.Errorf("%d assigned tasks could not start here", failed)
	}
	return nil
}

// ClusterTaskIDs returns the transactional ids of every task of every
// wanted task set: tasks live on some worker, never fenced by an offsets
// read that waits on them (worker.WithClusterTaskIDs).
func (h *Herder) ClusterTaskIDs() map[string]bool {
	snap, _ := h.configs.Snapshot()
	out := map[string]bool{}
	for name, c := range snap {
		if c.Target == cluster.TargetStopped {
			continue
		}
		for i := range c.Tasks {
			out[worker.TransactionalID(h.opts.Group, name, i)] = true
		}
	}
	return out
}
