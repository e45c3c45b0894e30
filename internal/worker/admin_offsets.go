package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// ConnectorOffsets is the body of Connect's GET and PATCH
// /connectors/{name}/offsets (KIP-875), and what `sportsconnect offsets`
// reads and writes.
type ConnectorOffsets struct {
	Offsets []OffsetEntry `json:"offsets"`
}

// OffsetEntry is one source partition and its offset, as JSON. A nil Offset
// (JSON null) deletes the partition's offset.
type OffsetEntry struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// ParseConnectorOffsets reads a ConnectorOffsets body, keeping numbers
// exact (json.Number). Every entry needs a non-empty partition object; its
// offset is an object or null.
func ParseConnectorOffsets(b []byte) (ConnectorOffsets, error) {
	var raw struct {
		Offsets []map[string]json.RawMessage `json:"offsets"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		return ConnectorOffsets{}, fmt.Errorf(`%w: expected {"offsets":[{"partition":{...},"offset":{...}}]}: %v`, ErrBadOffsets, err)
	}
	if raw.Offsets == nil {
		return ConnectorOffsets{}, fmt.Errorf(`%w: the "offsets" field is missing: expected {"offsets":[{"partition":{...},"offset":{...}}]}`, ErrBadOffsets)
	}
	out := ConnectorOffsets{Offsets: make([]OffsetEntry, 0, len(raw.Offsets))}
	for i, e := range raw.Offsets {
		pr, ok := e["partition"]
		if !ok {
			return ConnectorOffsets{}, fmt.Errorf("%w: entry %d has no partition", ErrBadOffsets, i)
		}
		p, err := decodeObject(pr)
		if err != nil || len(p) == 0 {
			return ConnectorOffsets{}, fmt.Errorf("%w: entry %d: partition %s is not a non-empty JSON object", ErrBadOffsets, i, pr)
		}
		var o map[string]any
		if or, ok := e["offset"]; ok && !bytes.Equal(bytes.TrimSpace(or), []byte("null")) {
			if o, err = decodeObject(or); err != nil || o == nil {
				return ConnectorOffsets{}, fmt.Errorf("%w: entry %d: offset %s is neither a JSON object nor null", ErrBadOffsets, i, or)
			}
		}
		for k := range e {
			if k != "partition" && k != "offset" {
				return ConnectorOffsets{}, fmt.Errorf("%w: entry %d: unknown field %q (expected partition and offset)", ErrBadOffsets, i, k)
			}
		}
		out.Offsets = append(out.Offsets, OffsetEntry{Partition: p, Offset: o})
	}
	return out, nil
}

// ReadConnectorOffsets returns the committed offsets of connector in the
// offsets topic, sorted by partition.
func ReadConnectorOffsets(ctx context.Context, opts []kgo.Opt, topic, conn string) (ConnectorOffsets, error) {
	offs, err := ReadOffsets(ctx, opts, topic, conn)
	if err != nil {
		return ConnectorOffsets{}, err
	}
	keys := make([]string, 0, len(offs.Offsets))
	for k := range offs.Offsets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := ConnectorOffsets{Offsets: make([]OffsetEntry, 0, len(keys))}
	for _, k := range keys {
		out.Offsets = append(out.Offsets, OffsetEntry{Partition: offs.Partitions[k].Fields(), Offset: offs.Offsets[k]})
	}
	return out, nil
}

// OffsetWriter writes a connector's offsets outside its tasks, the way
// KIP-875 does for exactly-once source connectors: it first fences every
// task's transactional id (so a task still running anywhere can never
// commit again: it fails as fenced), then writes all the offsets in one
// transaction under task 0's id.
type OffsetWriter struct {
	Kafka     []kgo.Opt // the worker's client options
	Topic     string    // offset.storage.topic
	Group     string    // the worker group id (first part of the transactional ids)
	Connector string
	// Tasks is how many task ids to fence: at least the connector's
	// tasks.max, and as many as it ever ran.
	Tasks int
}

// Alter writes each entry's offset (a nil offset deletes it).
func (ow OffsetWriter) Alter(ctx context.Context, offs ConnectorOffsets) error {
	recs := make([]*kgo.Record, 0, len(offs.Offsets))
	for _, e := range offs.Offsets {
		if len(e.Partition) == 0 {
			return fmt.Errorf("%w: an entry has an empty partition", ErrBadOffsets)
		}
		p := connector.NewPartition(e.Partition)
		var v []byte
		if e.Offset != nil {
			var err error
			if v, err = OffsetValue(connector.Offset(e.Offset)); err != nil {
				return fmt.Errorf("%w: %w", ErrBadOffsets, err)
			}
		}
		recs = append(recs, &kgo.Record{Topic: ow.Topic, Key: OffsetKey(ow.Connector, p), Value: v})
	}
	return ow.write(ctx, func(context.Context) ([]*kgo.Record, error) { return recs, nil })
}

// Reset deletes every committed offset of the connector. The offsets are
// read after the fencing: no task can commit one the reset would miss.
func (ow OffsetWriter) Reset(ctx context.Context) error {
	return ow.write(ctx, func(ctx context.Context) ([]*kgo.Record, error) {
		// Waiting: an offset committed after another connector's
		// still-open transaction began must be deleted too.
		offs, err := readOffsets(ctx, ow.Kafka, ow.Topic, ow.Connector, true)
		if err != nil {
			return nil, err
		}
		recs := make([]*kgo.Record, 0, len(offs.Partitions))
		for _, p := range offs.Partitions {
			recs = append(recs, &kgo.Record{Topic: ow.Topic, Key: OffsetKey(ow.Connector, p)})
		}
		return recs, nil
	})
}

// write fences every task id of the connector (tasks 0..Tasks-1 and every
// id the broker knows for it), then writes what records returns, in one
// transaction under task 0's id.
func (ow OffsetWriter) write(ctx context.Context, records func(context.Context) ([]*kgo.Record, error)) error {
	id := TransactionalID(ow.Group, ow.Connector, 0)
	// Task 0's id is fenced by the writer itself.
	if err := FenceConnector(ctx, ow.Kafka, ow.Group, ow.Connector, ow.Tasks, id); err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, ow.Kafka...), kgo.TransactionalID(id))...)
	if err != nil {
		return fmt.Errorf("offsets writer %s: %w", id, err)
	}
	defer cl.Close()
	if _, _, err := cl.ProducerID(ctx); err != nil {
		return fmt.Errorf("fencing %s: %w", id, err)
	}
	recs, err := records(ctx)
	if err != nil || len(recs) == 0 {
		return err
	}
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("beginning offsets transaction: %w", err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		_ = cl.AbortBufferedRecords(ctx)
		_ = cl.EndTransaction(ctx, kgo.TryAbort)
		return fmt.Errorf("writing offsets to %s: %w", ow.Topic, err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("committing offsets to %s: %w", ow.Topic, err)
	}
	// EndTxn is answered before the commit markers are written: wait
	// until a read_committed reader sees the write (the waiting read
	// waits for every transaction open when it began, this one too), so
	// an `offsets get` right after the command shows it.
	if _, err := readOffsets(ctx, ow.Kafka, ow.Topic, ow.Connector, true); err != nil {
		return fmt.Errorf("offsets written to %s, but waiting to see them: %w", ow.Topic, err)
	}
	return nil
}

// Offsets returns a connector's committed offsets (any state).
func (w *Worker) Offsets(ctx context.Context, name string) (ConnectorOffsets, error) {
	if _, err := w.Status(name); err != nil {
		return ConnectorOffsets{}, err
	}
	return ReadConnectorOffsets(ctx, w.cfg.kafka, w.cfg.offsetsTopic, name)
}

// offsetWriter returns the writer of a stopped connector's offsets.
func (w *Worker) offsetWriter(name string) (OffsetWriter, error) {
	rec, cr, err := w.known(name)
	switch {
	case err != nil:
		return OffsetWriter{}, err
	case cr != nil:
		return OffsetWriter{}, fmt.Errorf("%w: connectors must be in the STOPPED state before their offsets can be modified; "+
			"stop %s first with PUT /connectors/%s/stop", ErrNotStopped, name, name)
	}
	w.mu.Lock()
	tasks, raw := rec.stoppedTasks, rec.raw
	w.mu.Unlock()
	if resolved, err := ResolveRefs(raw); err == nil {
		if full, _, err := connector.ValidateConnector(w.plugins, resolved); err == nil {
			tasks = max(tasks, connector.ParseSettings(full).TasksMax)
		}
	}
	return OffsetWriter{Kafka: w.cfg.kafka, Topic: w.cfg.offsetsTopic, Group: w.cfg.groupID, Connector: name, Tasks: tasks}, nil
}

// AlterOffsets writes offsets for a STOPPED connector (KIP-875's PATCH):
// when it is resumed, its tasks start from them.
func (w *Worker) AlterOffsets(ctx context.Context, name string, offs ConnectorOffsets) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	ow, err := w.offsetWriter(name)
	if err != nil {
		return err
	}
	if err := ow.Alter(ctx, offs); err != nil {
		return err
	}
	w.log.Info("offsets altered", zap.String("connector", name), zap.Int("partitions", len(offs.Offsets)))
	return nil
}

// ResetOffsets deletes every offset of a STOPPED connector (KIP-875's
// DELETE): when it is resumed, its tasks start from the beginning.
func (w *Worker) ResetOffsets(ctx context.Context, name string) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	ow, err := w.offsetWriter(name)
	if err != nil {
		return err
	}
	if err := ow.Reset(ctx); err != nil {
		return err
	}
	w.log.Info("offsets reset", zap.String("connector", name))
	return nil
}
