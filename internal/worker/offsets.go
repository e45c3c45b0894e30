package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The offsets topic holds Kafka Connect's own format, so Connect tooling and
// operators can read it:
//
//	key:   ["<connector>",{<source partition>}]   (JSON, compact)
//	value: {<source offset>}                       (JSON), or null to delete
//
// It is compacted, and only ever written inside a task's transaction, next to
// the records the offset covers.

// OffsetKey returns the Connect-format offsets-topic key of partition p of connector.
func OffsetKey(conn string, p connector.Partition) []byte {
	name, _ := json.Marshal(conn) // a string always marshals
	b := make([]byte, 0, len(name)+len(p.String())+3)
	b = append(b, '[')
	b = append(b, name...)
	b = append(b, ',')
	b = append(b, p.String()...)
	return append(b, ']')
}

// OffsetValue returns the Connect-format value of offset o; nil o is a
// tombstone (a deleted offset).
func OffsetValue(o connector.Offset) ([]byte, error) {
	if o == nil {
		return nil, nil
	}
	b, err := json.Marshal(map[string]any(o))
	if err != nil {
		return nil, fmt.Errorf("encoding source offset %v: %w", o, err)
	}
	return b, nil
}

// ParseOffsetRecord decodes one offsets-topic record. A nil offset with a nil
// error is a tombstone.
func ParseOffsetRecord(key, value []byte) (conn string, p connector.Partition, o connector.Offset, err error) {
	var k []json.RawMessage
	if err := json.Unmarshal(key, &k); err != nil || len(k) != 2 {
		return "", connector.Partition{}, nil, fmt.Errorf("offsets key %q is not [connector, partition]", key)
	}
	if err := json.Unmarshal(k[0], &conn); err != nil {
		return "", connector.Partition{}, nil, fmt.Errorf("offsets key %q: connector name is not a string", key)
	}
	fields, err := decodeObject(k[1])
	if err != nil || fields == nil {
		return "", connector.Partition{}, nil, fmt.Errorf("offsets key %q: partition is not an object", key)
	}
	p = connector.NewPartition(fields)
	if value == nil || bytes.Equal(bytes.TrimSpace(value), []byte("null")) {
		return conn, p, nil, nil
	}
	ov, err := decodeObject(value)
	if err != nil || ov == nil {
		return "", connector.Partition{}, nil, fmt.Errorf("offsets value %q for key %q is not an object", value, key)
	}
	return conn, p, connector.Offset(ov), nil
}

// decodeObject decodes a JSON object keeping numbers as json.Number, so
// 64-bit positions keep their precision.
func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// CommittedOffsets is what the offsets topic holds for one connector: the
// latest offset of each partition, keyed by Partition.String().
type CommittedOffsets struct {
	Partitions map[string]connector.Partition
	Offsets    map[string]connector.Offset
}

// ReadOffsets returns the offsets of connector committed now: the latest
// of every partition below the offsets topic's last stable offset
// (tombstones delete), the way Kafka Connect's offsets read sees them. It
// never waits for an open transaction, so it suits tools and monitoring.
// A task about to resume must not use it: an offset it committed after
// another task's still-open transaction began is above the last stable
// offset. The runner's read (readOffsets with wait) waits for those.
func ReadOffsets(ctx context.Context, opts []kgo.Opt, topic, conn string) (*CommittedOffsets, error) {
	return readOffsets(ctx, opts, topic, conn, false)
}

// readOffsets reads connector's offsets; with wait it reads to the high
// watermark and waits for every transaction open when it began to end
// (ctx bounds the wait; with tunes it), so an offset committed after a
// transaction that is still open is seen.
func readOffsets(ctx context.Context, opts []kgo.Opt, topic, name string, wait bool, with ...readback.Option) (*CommittedOffsets, error) {
	return readOffsetsAlso(ctx, opts, topic, name, wait, nil, with...)
}

// alsoRead names topics read in the same pass as the offsets topic, each
// record handed to its topic's function in offset order per partition.
type alsoRead map[string]func(*kgo.Record)

// readOffsetsAlso is readOffsets reading the topics of also in the same
// pass: one consumer and one wait for a task's offsets and its restored
// state, which a restart would otherwise pay twice.
func readOffsetsAlso(ctx context.Context, opts []kgo.Opt, topic, name string, wait bool, also alsoRead, with ...readback.Option) (*CommittedOffsets, error) {
	out := &CommittedOffsets{Partitions: map[string]connector.Partition{}, Offsets: map[string]connector.Offset{}}
	err := scanOffsets(ctx, opts, topic, also, func(conn string, p connector.Partition, o connector.Offset) {
		if conn != name {
			return
		}
		if o == nil {
			delete(out.Offsets, p.String())
			delete(out.Partitions, p.String())
			return
		}
		out.Offsets[p.String()] = o
		out.Partitions[p.String()] = p
	}, wait, with...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanOffsets calls fn for every committed record of the offsets topic, in
// partition order: with wait up to the high watermark the topic had when
// the scan started, once the transactions open then have ended
// (readback.Committed); without, what is committed now (readback.Stable).
// Records that do not parse are skipped: another tool may share the topic.
// Records of one partition arrive in order, so fn sees each key's latest
// value last.
func scanOffsets(ctx context.Context, opts []kgo.Opt, topic string, also alsoRead, fn func(string, connector.Partition, connector.Offset), wait bool, with ...readback.Option) error {
	topics := []string{topic}
	for t := range also {
		topics = append(topics, t)
	}
	each := func(r *kgo.Record) error {
		if r.Topic != topic {
			if f := also[r.Topic]; f != nil {
				f(r)
			}
			return nil
		}
		if conn, p, o, err := ParseOffsetRecord(r.Key, r.Value); err == nil {
			fn(conn, p, o)
		}
		return nil
	}
	var err error
	if wait {
		err = readback.Committed(ctx, opts, topics, each, with...)
	} else {
		err = readback.Stable(ctx, opts, topics, each)
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("offsets topic %s (or %d state topics) does not exist: %w", topic, len(also), err)
	}
	if err != nil {
		return fmt.Errorf("reading offsets topic %s: %w", topic, err)
	}
	return nil
}
