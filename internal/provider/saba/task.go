package saba

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/budget"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/sse"
	"go.uber.org/zap"
)

// OffsetKey is the key of the source offset: the SSE id of the last message
// whose records were all handed to the worker.
const OffsetKey = "last_event_id"

// Plugin returns the plugin description for the worker.
func Plugin() connector.Plugin {
	return connector.Plugin{
		Class: Class,
		Doc:   "Saba OddsDirect GetEvents/GetMarkets over Server-Sent Events, resumed by Last-Event-Id",
		Spec:  Spec(),
		New:   func(log *zap.Logger) connector.Connector { return &Connector{log: log} },
		Topics: func(cfg connector.Config) []string {
			set := connector.ParseSettings(cfg)
			return append([]string{EventsTopic(set), MarketsTopic(set)}, live.ParseConfig(cfg).TopicNames()...)
		},
	}
}

// PartitionOf returns the source partition of a stream.
func PartitionOf(sp StreamSpec) connector.Partition {
	return connector.NewPartition(map[string]any{"endpoint": sp.Endpoint, "query": sp.Query})
}

// EventsTopic and MarketsTopic return the topics, given the common settings.
func EventsTopic(set connector.Settings) string { return set.Topic("saba.events") }

// MarketsTopic returns the markets topic.
func MarketsTopic(set connector.Settings) string { return set.Topic("saba.markets") }

// Connector splits the configured streams over tasks.
type Connector struct {
	log                       *zap.Logger
	cfg                       connector.Config
	set                       settings
	eventSchema, marketSchema avro.Schema
	eventsTopic, marketsTopic string
	live                      live.Config
}

// Start implements connector.Connector.
func (c *Connector) Start(_ context.Context, cfg connector.Config) error {
	set, err := parseSettings(cfg)
	if err != nil {
		return connector.Permanent(err)
	}
	common := connector.ParseSettings(cfg)
	c.cfg, c.set = cfg, set
	c.eventSchema, c.marketSchema = EventSchema(), MarketSchema()
	c.eventsTopic, c.marketsTopic = EventsTopic(common), MarketsTopic(common)
	c.live = live.ParseConfig(cfg)
	return nil
}

// Topics implements connector.Connector.
func (c *Connector) Topics() []connector.TopicSpec {
	return append([]connector.TopicSpec{
		{Name: c.eventsTopic, Schema: c.eventSchema},
		{Name: c.marketsTopic, Schema: c.marketSchema},
	}, c.live.Topics()...)
}

// TaskConfigs implements connector.Connector: task i of m owns the streams
// j with j mod m = i.
func (c *Connector) TaskConfigs(maxTasks int) ([]connector.Config, error) {
	n := min(maxTasks, len(c.set.streams))
	out := make([]connector.Config, n)
	for i := range out {
		out[i] = c.cfg.Clone()
	}
	return out, nil
}

// NewTask implements connector.Connector.
func (c *Connector) NewTask() connector.SourceTask {
	return &Task{eventSchema: c.eventSchema, marketSchema: c.marketSchema, eventsTopic: c.eventsTopic, marketsTopic: c.marketsTopic,
		liveCfg: c.live}
}

// Stop implements connector.Connector.
func (c *Connector) Stop() error { return nil }

// batch is the records of one SSE message, or a fatal error of a stream.
type batch struct {
	records []*connector.SourceRecord
	n       int // records of the message, those its records' Then builds included
	size    int // bytes of the message, held in the queue's byte budget
	err     error
}

// Task runs its streams in goroutines that hand whole messages to Poll
// through a bounded channel.
type Task struct {
	eventSchema, marketSchema avro.Schema
	eventsTopic, marketsTopic string
	liveCfg                   live.Config

	// The normalized records (live.go): nil when live.events.enabled is
	// false; used by Poll's goroutine only.
	live   *live.Writer
	mapper *liveMapper

	log     *zap.Logger
	metrics connector.TaskMetrics
	set     settings
	ch      chan batch
	budget  *budget.Bytes
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	pending error // a stream's fatal error, returned after the records before it
	chunk   int   // items built at a time in a large message; 0: buildChunk
}

// Start implements connector.SourceTask: each stream resumes after its
// committed Last-Event-Id.
func (t *Task) Start(ctx context.Context, tc *connector.TaskContext) error {
	set, err := parseSettings(tc.Config)
	if err != nil {
		return connector.Permanent(err)
	}
	t.set, t.log, t.metrics = set, tc.Logger, tc.Metrics
	if t.eventSchema == nil { // a Task made without its Connector (tests)
		common := connector.ParseSettings(tc.Config)
		t.eventSchema, t.marketSchema = EventSchema(), MarketSchema()
		t.eventsTopic, t.marketsTopic = EventsTopic(common), MarketsTopic(common)
		t.liveCfg = live.ParseConfig(tc.Config)
	}
	idx, count := tc.Config.Int(connector.KeyTaskIndex), tc.Config.Int(connector.KeyTaskCount)
	if count < 1 {
		count = 1
	}
	var runs []*streamRun
	for j, sp := range set.streams {
		if int64(j)%count != idx {
			continue
		}
		r := &streamRun{t: t, spec: sp, name: sp.Name(), part: PartitionOf(sp), marketEvent: map[int64]int64{}}
		if o, ok := tc.Offset(r.part); ok {
			id, ok := o.OffsetString(OffsetKey)
			if !ok {
				return connector.Permanent(fmt.Errorf("stream %s %q: committed offset %v has no string %s", sp.Endpoint, sp.Query, o, OffsetKey))
			}
			r.startID, r.lastID = id, id
		}
		runs = append(runs, r)
	}
	// The match states committed with the offsets just read.
	t.mapper = newLiveMapper()
	t.live = live.NewWriter(t.liveCfg, t.mapper.mapRecord)
	t.live.Restore(ctx, tc, t.log)
	t.mapper.restore(t.live)
	t.ch = make(chan batch, set.queue*max(1, len(runs)))
	t.budget = budget.New(set.queueBytes)
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	client := newClient(set, t.log, t.metrics)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		client.keepFresh(ctx)
	}()
	for _, r := range runs {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			err := client.streamLoop(ctx, r.spec, r.startID, set, r.deliver)
			if err != nil {
				select {
				case t.ch <- batch{err: err}:
				case <-ctx.Done():
				}
			}
		}()
		t.log.Info("saba stream started", zap.String("stream", r.name), zap.String("last_event_id", r.startID))
	}
	return nil
}

// Poll implements connector.SourceTask: it returns whole messages only,
// each mapped record followed by its normalized event and the batch's
// match states at the end (live.Writer); saba.poll.max.records counts the
// provider records only.
func (t *Task) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	if t.pending != nil {
		return nil, t.pending
	}
	var out []*connector.SourceRecord
	var n int // records gathered, those built later included
	select {
	case <-ctx.Done():
		return nil, nil
	case b := <-t.ch:
		t.budget.Release(b.size)
		if b.err != nil {
			return nil, b.err
		}
		out, n = b.records, b.n
	}
	for n < t.set.pollMax {
		select {
		case b := <-t.ch:
			t.budget.Release(b.size)
			if b.err != nil {
				t.pending = b.err
				return t.live.Append(out), nil
			}
			out, n = append(out, b.records...), n+b.n
			continue
		default:
		}
		break
	}
	return t.live.Append(out), nil
}

// Stop implements connector.SourceTask.
func (t *Task) Stop() error {
	if t.cancel != nil {
		t.cancel()
	}
	t.wg.Wait()
	return nil
}

// streamRun is one stream's state inside a task.
type streamRun struct {
	t           *Task
	spec        StreamSpec
	name        string // endpoint and query, for logs and metrics
	part        connector.Partition
	startID     string
	lastID      string          // id of the last message with an id field, repeats of it are skipped
	marketEvent map[int64]int64 // marketId -> eventId, as seen since the last snapshot
}

// deliver turns one SSE event into a batch and hands it to Poll. The
// message's bytes are counted in the task's budget before it is decoded,
// so a stream waiting for room holds its raw message, not its records too.
func (r *streamRun) deliver(ctx context.Context, ev sse.Event) error {
	received, size := time.Now(), len(ev.Data)
	if err := r.t.budget.Acquire(ctx, size); err != nil {
		return err
	}
	recs, n, err := r.records(ev, received)
	if err != nil || len(recs) == 0 {
		r.t.budget.Release(size)
		return err
	}
	// One lag observation per message, when its transaction commits. Saba
	// messages carry no event time: the lag runs from receipt.
	metrics, name := r.t.metrics, r.name
	recs[len(recs)-1].OnCommit = func(err error) {
		if err == nil {
			metrics.CommitLag(name, time.Since(received))
		}
	}
	select {
	case r.t.ch <- batch{records: recs, n: n, size: size}:
		return nil
	case <-ctx.Done():
		r.t.budget.Release(size)
		return ctx.Err()
	}
}
