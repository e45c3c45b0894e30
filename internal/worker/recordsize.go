package worker

import (
	"context"
	"fmt"
	"strconv"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A record larger than its topic accepts would fail every produce, abort
// every transaction, and restart the task from the same offset until the
// retry timeout fails it with all its other source partitions. So the
// runner measures each encoded record against its topic's
// max.message.bytes (and the producer's batch size) before producing: an
// oversized record is a conversion error, dead-lettered under
// errors.tolerance=all and failing the task at once, naming the source
// partition and the limit, otherwise.

// brokerDefaultMaxMessageBytes is Kafka's default message.max.bytes, used
// when a topic's config does not say.
const brokerDefaultMaxMessageBytes = 1048588

// Overheads added to key, value and headers to bound a record's size in a
// batch of its own: the v2 batch header is 61 bytes, a record's own fields
// (length, attributes, timestamp and offset deltas, key and value lengths,
// header count) at most 5+1+10+5+5+5+5, each header's two lengths at most 10.
const (
	batchOverhead  = 61
	recordOverhead = 36
	headerOverhead = 10
)

// recordSize bounds from above the bytes a record takes, uncompressed, in
// a batch of its own: what the broker's max.message.bytes is checked
// against when compression does not help.
func recordSize(key, value []byte, headers []kgo.RecordHeader) int {
	n := batchOverhead + recordOverhead + len(key) + len(value)
	for _, h := range headers {
		n += headerOverhead + len(h.Key) + len(h.Value)
	}
	return n
}

// topicLimits returns max.message.bytes of each topic.
func (w *Worker) topicLimits(ctx context.Context, topics []string) (map[string]int, error) {
	out := make(map[string]int, len(topics))
	if len(topics) == 0 {
		return out, nil
	}
	cl, err := kgo.NewClient(w.cfg.kafka...)
	if err != nil {
		return nil, fmt.Errorf("creating admin client: %w", err)
	}
	defer cl.Close()
	rcs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("describing topics %v: %w", topics, err)
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			return nil, fmt.Errorf("describing topic %s: %w", rc.Name, rc.Err)
		}
		out[rc.Name] = brokerDefaultMaxMessageBytes
		for _, c := range rc.Configs {
			if c.Key != "max.message.bytes" || c.Value == nil {
				continue
			}
			if v, err := strconv.Atoi(*c.Value); err == nil && v > 0 {
				out[rc.Name] = v
			}
		}
	}
	return out, nil
}

// recordLimit is the most bytes a record to topic may take: the topic's
// max.message.bytes, and no more than one producer batch.
func (r *taskRunner) recordLimit(topic string) int {
	lim := r.batchMax
	if t, ok := r.cr.maxBytes[topic]; ok && (lim <= 0 || t < lim) {
		lim = t
	}
	if lim <= 0 {
		lim = brokerDefaultMaxMessageBytes
	}
	return lim
}

// oversized returns a conversion error for a record of size bytes to topic
// over limit, naming the source partition.
func oversized(rec *connector.SourceRecord, size, limit int) error {
	return fmt.Errorf("%w: the record for source partition %s (key %q) is %d bytes encoded, over the %d bytes %s accepts "+
		"(its max.message.bytes, at most one producer batch)", ErrRecordTooLarge, rec.Partition, rec.Key, size, limit, rec.Topic)
}
