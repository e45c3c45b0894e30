package saba

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/budget"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/sse"
	"github.com/twmb/franz-go/pkg/kgo"
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
	select {
	case <-ctx.Done():
		return nil, nil
	case b := <-t.ch:
		t.budget.Release(b.size)
		if b.err != nil {
			return nil, b.err
		}
		out = b.records
	}
	for len(out) < t.set.pollMax {
		select {
		case b := <-t.ch:
			t.budget.Release(b.size)
			if b.err != nil {
				t.pending = b.err
				return t.live.Append(out), nil
			}
			out = append(out, b.records...)
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
	recs, err := r.records(ev, received)
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
	case r.t.ch <- batch{records: recs, size: size}:
		return nil
	case <-ctx.Done():
		r.t.budget.Release(size)
		return ctx.Err()
	}
}

// records builds the records of one SSE message. A *StatusError is
// returned for a message carrying an error status. A message repeating the
// id of the message before it (a server replaying the Last-Event-Id it was
// sent, or sending a frame twice) is skipped unless it is a snapshot: SSE
// ids are opaque, but no two messages share one.
func (r *streamRun) records(ev sse.Event, received time.Time) ([]*connector.SourceRecord, error) {
	t := r.t
	off := connector.Offset{OffsetKey: ev.ID}
	hdr := connector.SourceHeaders(Class, ev.ID, received)
	m, err := parseMessage(ev.Data)
	if repeat := ev.HasID && ev.ID == r.lastID && ev.ID != ""; repeat && (err != nil || m.Status == StatusSuccess) {
		t.log.Info("repeated message skipped", zap.String("stream", r.name), zap.String("id", ev.ID))
		return nil, nil
	}
	if ev.HasID {
		r.lastID = ev.ID
	}
	if err != nil {
		return []*connector.SourceRecord{{
			Partition: r.part, Offset: off, Topic: t.eventsTopic, Raw: ev.Data, Headers: r.deadHeaders(hdr), Timestamp: received,
			DeadLetter: &connector.DeadLetter{Raw: ev.Data, Err: fmt.Errorf("stream %s message %s: %w", r.spec.Endpoint, ev.ID, err), Stage: connector.StageTaskPoll},
		}}, nil
	}
	if m.Status >= StatusInvalidEncoding {
		return nil, &StatusError{Status: m.Status, Message: m.text()}
	}
	items := m.Payload.Events.len() + m.Payload.Markets.len()
	snapshot := m.Status == StatusInitialData || m.Status == StatusReset
	if !snapshot && items == 0 {
		return nil, nil // keep-alive, or an update with nothing for us
	}
	out := make([]*connector.SourceRecord, 0, items+2)
	status := int32(m.Status)
	base := func(topic string, key []byte, raw []byte) *connector.SourceRecord {
		return &connector.SourceRecord{Partition: r.part, Offset: off, Topic: topic, Key: key, Raw: raw, Headers: hdr, Timestamp: received}
	}
	dead := func(topic string, raw []byte, err error) {
		rec := base(topic, nil, raw)
		rec.Headers = r.deadHeaders(hdr)
		rec.DeadLetter = &connector.DeadLetter{Raw: raw, Err: fmt.Errorf("stream %s message %s: %w", r.spec.Endpoint, ev.ID, err), Stage: connector.StageTaskPoll}
		out = append(out, rec)
	}
	evRec := func(op string, raw []byte) EventRecord {
		return EventRecord{Op: op, Status: status, MessageID: ev.ID, Endpoint: r.spec.Endpoint, Query: r.spec.Query, ReceivedAt: received, Raw: rawText(raw)}
	}
	mkRec := func(op string, raw []byte) MarketRecord {
		return MarketRecord{Op: op, Status: status, MessageID: ev.ID, Endpoint: r.spec.Endpoint, Query: r.spec.Query, ReceivedAt: received, Raw: rawText(raw)}
	}
	if snapshot {
		clear(r.marketEvent)
		raw := []byte(m.markerRaw())
		if r.carriesEvents(m) {
			rec := base(t.eventsTopic, []byte{}, raw)
			rec.Value, rec.Schema = evRec(OpReset, raw), t.eventSchema
			out = append(out, rec)
		}
		if r.carriesMarkets(m) {
			rec := base(t.marketsTopic, []byte{}, raw)
			rec.Value, rec.Schema = mkRec(OpReset, raw), t.marketSchema
			out = append(out, rec)
		}
	}
	if es := m.Payload.Events; es != nil {
		for _, pair := range [...]struct {
			op    string
			items []json.RawMessage
		}{{OpAdd, es.Add}, {OpChange, es.Change}} {
			for _, raw := range pair.items {
				v := evRec(pair.op, raw)
				if err := decodeEvent(raw, &v); err != nil {
					dead(t.eventsTopic, raw, err)
					continue
				}
				rec := base(t.eventsTopic, []byte(strconv.FormatInt(*v.EventID, 10)), raw)
				rec.Value, rec.Schema = v, t.eventSchema
				out = append(out, rec)
			}
		}
		for _, raw := range es.Remove {
			id, ok, err := jsonInt(raw)
			if err != nil || !ok {
				dead(t.eventsTopic, raw, fmt.Errorf("%w: removed event id %.40q is not an integer", ErrBadMessage, raw))
				continue
			}
			v := evRec(OpRemove, raw)
			v.EventID = &id
			key := []byte(strconv.FormatInt(id, 10))
			rec := base(t.eventsTopic, key, raw)
			rec.Value, rec.Schema = v, t.eventSchema
			out = append(out, rec)
			if t.set.tombstones {
				out = append(out, base(t.eventsTopic, key, raw))
			}
		}
	}
	if ms := m.Payload.Markets; ms != nil {
		for _, pair := range [...]struct {
			op    string
			items []json.RawMessage
		}{{OpAdd, ms.Add}, {OpChange, ms.Change}} {
			for _, raw := range pair.items {
				v := mkRec(pair.op, raw)
				if err := decodeMarket(raw, &v); err != nil {
					dead(t.marketsTopic, raw, err)
					continue
				}
				if v.EventID == nil { // a change without eventId: take it from what we saw
					if e, ok := r.marketEvent[*v.MarketID]; ok {
						v.EventID = &e
					}
				}
				var key []byte
				if v.EventID != nil {
					r.marketEvent[*v.MarketID] = *v.EventID
					key = []byte(strconv.FormatInt(*v.EventID, 10))
				} else {
					key = []byte("market:" + strconv.FormatInt(*v.MarketID, 10))
				}
				rec := base(t.marketsTopic, key, raw)
				rec.Value, rec.Schema = v, t.marketSchema
				out = append(out, rec)
			}
		}
		for _, raw := range ms.Remove {
			id, ok, err := jsonInt(raw)
			if err != nil || !ok {
				dead(t.marketsTopic, raw, fmt.Errorf("%w: removed market id %.40q is not an integer", ErrBadMessage, raw))
				continue
			}
			v := mkRec(OpRemove, raw)
			v.MarketID = &id
			key := []byte("market:" + strconv.FormatInt(id, 10))
			if e, ok := r.marketEvent[id]; ok {
				v.EventID = &e
				key = []byte(strconv.FormatInt(e, 10))
				delete(r.marketEvent, id)
			}
			rec := base(t.marketsTopic, key, raw)
			rec.Value, rec.Schema = v, t.marketSchema
			out = append(out, rec)
		}
	}
	return out, nil
}

// HeaderStream names, on a dead-letter record, the stream (endpoint and
// query) the message came from.
const HeaderStream = "sc.saba.stream"

// deadHeaders returns the headers of a dead-letter record: hdr and the stream.
func (r *streamRun) deadHeaders(hdr []kgo.RecordHeader) []kgo.RecordHeader {
	return append(slices.Clip(hdr), kgo.RecordHeader{Key: HeaderStream, Value: []byte(r.name)})
}

func (r *streamRun) carriesEvents(m *message) bool {
	return m.Payload.Events != nil || r.spec.Endpoint == "GetEvents"
}

func (r *streamRun) carriesMarkets(m *message) bool {
	return m.Payload.Markets != nil || r.spec.Endpoint == "GetMarkets" || (r.spec.Endpoint == "GetEvents" && r.t.set.includeMarkets != "none")
}
