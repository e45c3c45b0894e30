// Package synthetic is the built-in source (connector.class: synthetic): it
// emits deterministic sequenced events over K source partitions, so the
// runtime's exactly-once behaviour can be checked and measured without a
// provider. Position n of partition p always yields the same record.
package synthetic

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/schemas"
	"go.uber.org/zap"
)

// Class is the connector.class value.
const Class = "synthetic"

// Settings of the synthetic connector.
const (
	KeyPartitions = "synthetic.partitions"
	KeyEvents     = "synthetic.events.per.partition"
	KeyPayload    = "synthetic.payload.bytes"
	KeyRate       = "synthetic.rate"
	KeyBatch      = "synthetic.batch.max"
)

// Spec returns the synthetic connector's own settings.
func Spec() connector.ConfigSpec {
	return connector.ConfigSpec{
		{Name: KeyPartitions, Type: connector.TypeInt, Default: "8", Min: connector.Min(1), Doc: "number of source partitions (K)"},
		{Name: KeyEvents, Type: connector.TypeInt, Default: "0", Min: connector.Min(0), Doc: "events per partition (N); 0 = without end"},
		{Name: KeyPayload, Type: connector.TypeInt, Default: "560", Min: connector.Min(0), Doc: "bytes of filler per event (560 gives ~600-byte values)"},
		{Name: KeyRate, Type: connector.TypeInt, Default: "0", Min: connector.Min(0), Doc: "events per second per task; 0 = as fast as the worker takes them"},
		{Name: KeyBatch, Type: connector.TypeInt, Default: "1000", Min: connector.Min(1), Doc: "most events returned by one poll"},
	}
}

// Plugin returns the plugin description for the worker.
func Plugin() connector.Plugin {
	return connector.Plugin{
		Class:  Class,
		Doc:    "deterministic sequenced events over K source partitions, for tests, demos and benchmarks",
		Spec:   Spec(),
		New:    func(log *zap.Logger) connector.Connector { return &Connector{log: log} },
		Topics: func(cfg connector.Config) []string { return []string{Topic(connector.ParseSettings(cfg))} },
	}
}

// Event is the value of one synthetic record (schemas/synthetic_event.avsc).
type Event struct {
	Partition int32     `avro:"partition"`
	Position  int64     `avro:"position"`
	EventTime time.Time `avro:"event_time"`
	Kind      string    `avro:"kind"`
	Payload   string    `avro:"payload"`
}

// Schema is the parsed value schema.
func Schema() avro.Schema { return schemas.MustParse("synthetic_event.avsc") }

// Topic returns the topic the connector writes, given its settings.
func Topic(set connector.Settings) string { return set.Topic("synthetic.events") }

// epoch is the event time of position 0.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var kinds = [...]string{"GOAL", "CARD", "SHOT", "CORNER", "FOUL"}

// filler is the text payloads are cut from.
const filler = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

// Make returns the event at position n of partition p with a payload of size bytes.
func Make(p int32, n int64, size int) Event {
	b := make([]byte, size)
	x := uint64(p)*0x9E3779B97F4A7C15 ^ uint64(n)*0xBF58476D1CE4E5B9
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = filler[x%uint64(len(filler))]
	}
	return Event{
		Partition: p,
		Position:  n,
		EventTime: epoch.Add(time.Duration(n) * time.Second),
		Kind:      kinds[(uint64(p)+uint64(n))%uint64(len(kinds))],
		Payload:   string(b),
	}
}

// Key returns the record key of partition p.
func Key(p int32) string { return "p" + strconv.Itoa(int(p)) }

// Connector splits the K partitions over tasks.
type Connector struct {
	log    *zap.Logger
	cfg    connector.Config
	schema avro.Schema
	topic  string
}

// Start implements connector.Connector.
func (c *Connector) Start(_ context.Context, cfg connector.Config) error {
	c.cfg = cfg
	c.schema = Schema()
	c.topic = Topic(connector.ParseSettings(cfg))
	return nil
}

// Topics implements connector.Connector.
func (c *Connector) Topics() []connector.TopicSpec {
	return []connector.TopicSpec{{Name: c.topic, Schema: c.schema}}
}

// TaskConfigs implements connector.Connector: task i of m owns the
// partitions p with p mod m = i.
func (c *Connector) TaskConfigs(maxTasks int) ([]connector.Config, error) {
	k := int(c.cfg.Int(KeyPartitions))
	n := min(maxTasks, k)
	out := make([]connector.Config, n)
	for i := range out {
		out[i] = c.cfg.Clone()
	}
	return out, nil
}

// NewTask implements connector.Connector.
func (c *Connector) NewTask() connector.SourceTask {
	return &Task{schema: c.schema, topic: c.topic}
}

// Stop implements connector.Connector.
func (c *Connector) Stop() error { return nil }

// Task emits the events of its partitions in round-robin order.
type Task struct {
	schema avro.Schema
	topic  string
	log    *zap.Logger

	parts    []partState
	events   int64 // N; 0 = endless
	payload  int
	rate     int64
	batch    int
	next     int // round-robin cursor
	started  time.Time
	emitted  int64
	finished bool
}

type partState struct {
	id   int32
	p    connector.Partition
	key  []byte
	last int64 // last position emitted
}

// Start implements connector.SourceTask: each partition resumes after its
// committed position.
func (t *Task) Start(_ context.Context, tc *connector.TaskContext) error {
	cfg := tc.Config
	t.log = tc.Logger
	t.events = cfg.Int(KeyEvents)
	t.payload = int(cfg.Int(KeyPayload))
	t.rate = cfg.Int(KeyRate)
	t.batch = int(cfg.Int(KeyBatch))
	idx, count := cfg.Int(connector.KeyTaskIndex), cfg.Int(connector.KeyTaskCount)
	if count < 1 {
		count = 1
	}
	for p := int32(0); p < int32(cfg.Int(KeyPartitions)); p++ {
		if int64(p)%count != idx {
			continue
		}
		ps := partState{id: p, p: PartitionOf(p), key: []byte(Key(p))}
		if o, ok := tc.Offset(ps.p); ok {
			n, ok := o.OffsetInt("position")
			if !ok {
				return fmt.Errorf("partition %d: committed offset %v has no integer position", p, o)
			}
			ps.last = n
		}
		t.parts = append(t.parts, ps)
	}
	t.started = time.Now()
	t.log.Info("synthetic task started", zap.Int("partitions", len(t.parts)), zap.Int64("events_per_partition", t.events))
	return nil
}

// PartitionOf returns the source partition of synthetic partition p.
func PartitionOf(p int32) connector.Partition {
	return connector.NewPartition(map[string]any{"partition": p})
}

// Poll implements connector.SourceTask.
func (t *Task) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	limit := t.batch
	if t.rate > 0 {
		allowed := int64(time.Since(t.started).Seconds()*float64(t.rate)) - t.emitted
		if allowed <= 0 {
			// Wait for the next event's turn, or the poll deadline.
			wait := time.Duration(float64(time.Second) / float64(t.rate))
			select {
			case <-ctx.Done():
				return nil, nil
			case <-time.After(wait):
			}
			allowed = 1
		}
		limit = int(min(int64(limit), allowed))
	}
	out := make([]*connector.SourceRecord, 0, limit)
	now := time.Now()
	for idle := 0; len(out) < limit && idle < len(t.parts); {
		ps := &t.parts[t.next]
		t.next = (t.next + 1) % len(t.parts)
		if t.events > 0 && ps.last >= t.events {
			idle++
			continue
		}
		idle = 0
		ps.last++
		n := ps.last
		out = append(out, &connector.SourceRecord{
			Partition: ps.p,
			Offset:    connector.Offset{"position": n},
			Topic:     t.topic,
			Key:       ps.key,
			Value:     Make(ps.id, n, t.payload),
			Schema:    t.schema,
			Headers:   connector.SourceHeaders(Class, strconv.FormatInt(n, 10), now),
			Timestamp: now,
		})
	}
	t.emitted += int64(len(out))
	if len(out) == 0 {
		if !t.finished {
			t.finished = true
			t.log.Info("synthetic task emitted every event", zap.Int64("events_per_partition", t.events))
		}
		<-ctx.Done()
		return nil, nil
	}
	return out, nil
}

// Stop implements connector.SourceTask.
func (t *Task) Stop() error { return nil }
