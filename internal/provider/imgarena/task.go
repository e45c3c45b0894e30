package imgarena

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/budget"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"go.uber.org/zap"
)

// Plugin returns the plugin description for the worker.
func Plugin() connector.Plugin {
	return connector.Plugin{
		Class: Class,
		Doc:   "IMG Arena live actions / FastPath: one WebSocket per fixture, resumed exactly with startPosition",
		Spec:  Spec(),
		New:   func(log *zap.Logger) connector.Connector { return &Connector{log: log} },
		Topics: func(cfg connector.Config) []string {
			set, sport := connector.ParseSettings(cfg), cfg.String(KeySport)
			return append([]string{ActionsTopic(set, sport), StatusTopic(set, sport)}, live.ParseConfig(cfg).TopicNames()...)
		},
	}
}

// ActionsTopic returns the actions topic of sport: <prefix>.imgarena.<sport>.actions.
func ActionsTopic(set connector.Settings, sport string) string {
	return set.Topic("imgarena." + topicSport(sport) + ".actions")
}

// StatusTopic returns the status topic of sport: <prefix>.imgarena.<sport>.status.
func StatusTopic(set connector.Settings, sport string) string {
	return set.Topic("imgarena." + topicSport(sport) + ".status")
}

// PartitionOf returns the source partition of a fixture.
func PartitionOf(sport, fixture string) connector.Partition {
	return connector.NewPartition(map[string]any{"sport": sport, "fixture": fixture})
}

// Connector splits the fixtures over tasks: a static list is dealt out;
// discovered fixtures go to task hash(id) mod tasks.
type Connector struct {
	log                        *zap.Logger
	cfg                        connector.Config
	parsed                     config
	actionsTopic, statusTopic  string
	actionSchema, statusSchema avro.Schema
	live                       live.Config
}

// Start implements connector.Connector.
func (c *Connector) Start(_ context.Context, cfg connector.Config) error {
	p, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	set := connector.ParseSettings(cfg)
	c.cfg, c.parsed = cfg, p
	c.actionsTopic, c.statusTopic = ActionsTopic(set, p.sport), StatusTopic(set, p.sport)
	c.actionSchema, c.statusSchema = ActionSchema(), StatusSchema()
	c.live = live.ParseConfig(cfg)
	return nil
}

// Topics implements connector.Connector.
func (c *Connector) Topics() []connector.TopicSpec {
	return append([]connector.TopicSpec{{Name: c.actionsTopic, Schema: c.actionSchema}, {Name: c.statusTopic, Schema: c.statusSchema}},
		c.live.Topics()...)
}

// TaskConfigs implements connector.Connector.
func (c *Connector) TaskConfigs(maxTasks int) ([]connector.Config, error) {
	fx := c.parsed.fixtures
	if len(fx) == 0 {
		out := make([]connector.Config, maxTasks)
		for i := range out {
			out[i] = c.cfg.Clone()
		}
		return out, nil
	}
	n := min(maxTasks, len(fx))
	shares := make([][]string, n)
	for i, id := range fx {
		shares[i%n] = append(shares[i%n], id)
	}
	out := make([]connector.Config, n)
	for i := range out {
		out[i] = c.cfg.Clone()
		out[i][KeyFixtures] = strings.Join(shares[i], ",")
	}
	return out, nil
}

// NewTask implements connector.Connector.
func (c *Connector) NewTask() connector.SourceTask {
	return &Task{actionsTopic: c.actionsTopic, statusTopic: c.statusTopic, actionSchema: c.actionSchema, statusSchema: c.statusSchema,
		live: live.NewWriter(c.live, liveMapper)}
}

// Stop implements connector.Connector.
func (c *Connector) Stop() error { return nil }

// Task follows its fixtures, one WebSocket each, and hands their records
// to Poll through a bounded channel.
type Task struct {
	actionsTopic, statusTopic  string
	actionSchema, statusSchema avro.Schema
	live                       *live.Writer // normalized records; nil when disabled; only Poll's goroutine

	cfg      config
	log      *zap.Logger
	metrics  connector.TaskMetrics // reconnects, sequence gaps, per-fixture commit lag
	tc       *connector.TaskContext
	dialer   *websocket.Dialer
	http     *http.Client
	out      chan *connector.SourceRecord
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	index    uint64
	count    uint64
	stats    counters
	budget   *budget.Bytes
	frames   sync.Pool      // *bytes.Buffer: the fixtures' read buffers (readFrame)
	readings [2]atomic.Bool // how servers read startPosition: [0] skip that many, [1] 1-based
	mu       sync.Mutex
	running  map[string]bool
	finished map[string]bool
}

// Start implements connector.SourceTask: each fixture resumes at its
// committed position; fixtures whose committed offset says finished are
// not reopened.
func (t *Task) Start(ctx context.Context, tc *connector.TaskContext) error {
	cfg, err := parseConfig(tc.Config)
	if err != nil {
		return err
	}
	t.cfg, t.tc, t.log, t.metrics = cfg, tc, tc.Logger, tc.Metrics
	t.index, t.count = uint64(tc.Config.Int(connector.KeyTaskIndex)), uint64(max(tc.Config.Int(connector.KeyTaskCount), 1))
	t.dialer = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 2048, WriteBufferSize: 512, WriteBufferPool: &sync.Pool{}}
	t.http = &http.Client{Timeout: 30 * time.Second}
	t.out = make(chan *connector.SourceRecord, cfg.queue)
	t.budget = budget.New(cfg.queueBytes)
	t.running, t.finished = map[string]bool{}, map[string]bool{}
	t.live.Restore(ctx, tc, t.log)
	t.ctx, t.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if len(cfg.fixtures) > 0 {
		for _, id := range cfg.fixtures {
			t.follow(id)
		}
		t.log.Info("imgarena task started", zap.Int("fixtures", len(cfg.fixtures)), zap.String("sport", cfg.sport))
		return nil
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.discover(t.ctx)
	}()
	t.log.Info("imgarena task started; discovering live fixtures", zap.String("sport", cfg.sport),
		zap.Duration("poll_interval", cfg.pollInterval))
	return nil
}

// owns reports whether a discovered fixture belongs to this task.
func (t *Task) owns(id string) bool {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()%t.count == t.index
}

// discover polls the Fixtures REST API and follows new live fixtures.
func (t *Task) discover(ctx context.Context) {
	failures := 0
	for {
		ids, err := fetchFixtures(ctx, t.http, &t.cfg)
		wait := t.cfg.pollInterval
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait = min(t.cfg.backoffInitial<<min(failures, 16), t.cfg.pollInterval)
			t.log.Error("discovering fixtures", zap.Error(err), zap.Duration("retry_in", wait))
		} else {
			failures = 0
			added := 0
			for _, id := range ids {
				if t.owns(id) && t.follow(id) {
					added++
				}
			}
			if added > 0 {
				t.log.Info("following newly live fixtures", zap.Int("added", added), zap.Int("listed", len(ids)))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// follow starts following fixture unless it is followed or finished; it
// reports whether it started.
func (t *Task) follow(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running[id] || t.finished[id] {
		return false
	}
	f := &fixtureStream{t: t, fixture: id, part: PartitionOf(t.cfg.sport, id), key: []byte(id),
		log: t.log.With(zap.String("fixture", id), zap.String("sport", t.cfg.sport))}
	if o, ok := t.tc.Offset(f.part); ok {
		pos, ok := o.OffsetInt("position")
		if !ok || pos < 0 {
			f.log.Error("committed offset has no usable position; starting from 0", zap.Any("offset", o))
			pos = 0
		}
		f.position = pos
		f.restore(o)
		if done, _ := o["finished"].(bool); done {
			t.finished[id] = true
			f.log.Info("fixture finished before; not reopened", zap.Int64("position", pos))
			return false
		}
	}
	t.running[id] = true
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		_ = f.run(t.ctx)
		t.mu.Lock()
		delete(t.running, id)
		if t.ctx.Err() == nil {
			t.finished[id] = true // run returns before ctx ends only when the fixture finished
		}
		t.mu.Unlock()
	}()
	return true
}

// offsetKeys reads the since list of a committed offset ([]any of strings
// when read back from Kafka); anything else is no list.
func offsetKeys(v any) []string {
	var out []string
	switch l := v.(type) {
	case []string:
		out = append(out, l...)
	case []any:
		for _, k := range l {
			if s, ok := k.(string); ok {
				out = append(out, s)
			}
		}
	}
	if len(out) > maxSince {
		out = out[len(out)-maxSince:]
	}
	return out
}

// Poll implements connector.SourceTask: it waits for the first record, then
// takes what is ready up to imgarena.batch.max. The batch's bytes leave
// the queue's byte budget when Poll returns.
func (t *Task) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	var batch []*connector.SourceRecord
	select {
	case r := <-t.out:
		batch = append(batch, r)
	case <-ctx.Done():
		return nil, nil
	}
	size := len(batch[0].Raw)
	defer func() { t.budget.Release(size) }()
	for len(batch) < t.cfg.batch {
		select {
		case r := <-t.out:
			batch = append(batch, r)
			size += len(r.Raw)
		default:
			return t.live.Append(batch), nil
		}
	}
	return t.live.Append(batch), nil
}

// noteReading logs, once per task and reading, how the server reads
// startPosition, as the first event of a resumed connection shows: it
// repeats the last event written (1-based: "5 would start sending events
// from the 5th event") or follows it (the number of events to skip).
func (t *Task) noteReading(oneBased bool, log *zap.Logger, start int64, actionID string) {
	i, other := 0, 1
	if oneBased {
		i, other = 1, 0
	}
	if !t.readings[i].CompareAndSwap(false, true) {
		return
	}
	if oneBased {
		log.Info("imgarena server reads startPosition as the 1-based event to start at: a resumed connection's first event repeated "+
			"the last one written; it is dropped, here and on every resume", zap.Int64("start_position", start), zap.String("action_id", actionID))
	} else {
		log.Info("imgarena server reads startPosition as the number of events to skip: a resumed connection's first event follows "+
			"the last one written", zap.Int64("start_position", start))
	}
	if t.readings[other].Load() {
		log.Warn("imgarena servers of this task read startPosition both ways; each resume is checked, so nothing is written twice")
	}
}

// Stop implements connector.SourceTask: it closes every connection.
func (t *Task) Stop() error {
	if t.cancel != nil {
		t.cancel()
		t.wg.Wait()
	}
	return nil
}

// TaskStats are a task's protocol counters.
type TaskStats struct {
	Following, Finished                                         int
	Connects, Reconnects, SeqErrors, Silences, AuthFailures     int64
	ServerErrors, Malformed, Actions, Statuses, FinishedPackets int64
	// Live is the number of connections authorised right now.
	Live int64
	// Liveness counts packets that only prove a connection alive
	// (authorised replies, heartbeats).
	Liveness int64
	// Replayed counts status and dead-letter packets a resumed connection
	// received again and skipped, because they were handed on before.
	Replayed int64
	// Repeats counts first events of resumed connections dropped because
	// they repeated the last event written (a server reading startPosition
	// as 1-based).
	Repeats int64
	// BrokenFilled counts broken action frames without a readable
	// fixtureSeqNum that took the positions of a gap, after a second
	// connection sent them there again.
	BrokenFilled int64
}

// Stats returns the task's counters.
func (t *Task) Stats() TaskStats {
	t.mu.Lock()
	st := TaskStats{Following: len(t.running), Finished: len(t.finished)}
	t.mu.Unlock()
	c := &t.stats
	st.Connects, st.Reconnects, st.SeqErrors, st.Silences = c.connects.Load(), c.reconnects.Load(), c.seqErrors.Load(), c.silences.Load()
	st.AuthFailures, st.ServerErrors, st.Malformed = c.authFailures.Load(), c.serverErrors.Load(), c.malformed.Load()
	st.Actions, st.Statuses, st.FinishedPackets = c.actions.Load(), c.statuses.Load(), c.finished.Load()
	st.Live, st.Liveness, st.Replayed = c.live.Load(), c.liveness.Load(), c.replayed.Load()
	st.Repeats, st.BrokenFilled = c.repeats.Load(), c.brokenFilled.Load()
	return st
}

// String describes the task for logs.
func (t *Task) String() string { return fmt.Sprintf("imgarena task %d/%d", t.index, t.count) }
