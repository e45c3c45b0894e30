// Package eoscheck reads back what the synthetic source wrote and checks
// the exactly-once promise: every source partition holds positions 1..N
// exactly once, in order, for a read_committed consumer, and the committed
// offsets say N. Tests and the demo use it.
package eoscheck

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// Positions is what a topic holds: for each synthetic partition, the
// positions in the order they were read.
type Positions map[int32][]int64

// ReadTopic reads topic from the start to its read_committed end, decodes
// every value through the registry and returns the positions per partition.
// It also checks each record's key and content against the deterministic
// event for its position.
func ReadTopic(ctx context.Context, opts []kgo.Opt, registryURL, topic string, payload int) (Positions, int, error) {
	src, err := sr.NewClient(sr.URLs(registryURL))
	if err != nil {
		return nil, 0, err
	}
	return ReadTopicWith(ctx, opts, src, topic, payload)
}

// ReadTopicWith is ReadTopic with a registry client of the caller's (one
// with credentials, say).
func ReadTopicWith(ctx context.Context, opts []kgo.Opt, src *sr.Client, topic string, payload int) (Positions, int, error) {
	dec := avroreg.NewDecoder(src)
	out := Positions{}
	count := 0
	var bad []string
	err := readback.Committed(ctx, opts, []string{topic}, func(r *kgo.Record) error {
		count++
		var ev synthetic.Event
		if err := dec.Decode(ctx, r.Value, &ev); err != nil {
			bad = append(bad, fmt.Sprintf("offset %d: %v", r.Offset, err))
			return nil
		}
		if string(r.Key) != synthetic.Key(ev.Partition) {
			bad = append(bad, fmt.Sprintf("offset %d: key %q for partition %d", r.Offset, r.Key, ev.Partition))
		}
		if exp := synthetic.Make(ev.Partition, ev.Position, payload); exp.Payload != ev.Payload || exp.Kind != ev.Kind || !exp.EventTime.Equal(ev.EventTime) {
			bad = append(bad, fmt.Sprintf("offset %d: partition %d position %d is not the deterministic event", r.Offset, ev.Partition, ev.Position))
		}
		out[ev.Partition] = append(out[ev.Partition], ev.Position)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if len(bad) > 0 {
		return out, count, fmt.Errorf("%d bad records, first: %s", len(bad), bad[0])
	}
	return out, count, nil
}

// Check returns an error describing every partition of 0..k-1 that does
// not hold exactly 1..n in order.
func Check(got Positions, k int32, n int64) error {
	var problems []string
	for p := int32(0); p < k; p++ {
		ps := got[p]
		if int64(len(ps)) != n {
			problems = append(problems, fmt.Sprintf("partition %d: %d records, want %d%s", p, len(ps), n, firstDiff(ps)))
			continue
		}
		for i, pos := range ps {
			if pos != int64(i+1) {
				problems = append(problems, fmt.Sprintf("partition %d: record %d is position %d, want %d", p, i, pos, i+1))
				break
			}
		}
	}
	for p := range got {
		if p < 0 || p >= k {
			problems = append(problems, fmt.Sprintf("unexpected partition %d", p))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("exactly-once violated:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// firstDiff describes the first duplicate or gap in ps.
func firstDiff(ps []int64) string {
	for i, pos := range ps {
		if pos != int64(i+1) {
			return fmt.Sprintf(" (first anomaly at index %d: position %d)", i, pos)
		}
	}
	return ""
}

// CheckOffsets checks that the offsets topic holds position n for every
// partition 0..k-1 of connector.
func CheckOffsets(ctx context.Context, opts []kgo.Opt, offsetsTopic, connectorName string, k int32, n int64) error {
	offs, err := worker.ReadOffsets(ctx, opts, offsetsTopic, connectorName)
	if err != nil {
		return err
	}
	var problems []string
	for p := int32(0); p < k; p++ {
		o, ok := offs.Offsets[synthetic.PartitionOf(p).String()]
		if !ok {
			problems = append(problems, fmt.Sprintf("partition %d: no committed offset", p))
			continue
		}
		if got, _ := o.OffsetInt("position"); got != n {
			problems = append(problems, fmt.Sprintf("partition %d: committed position %v, want %d", p, o["position"], n))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("committed offsets wrong:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
