package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// Synthetic is the demo source of the built-in synthetic connector.
type Synthetic struct {
	Partitions int
	Events     int64
}

// Name implements Source.
func (s *Synthetic) Name() string { return "demo-synthetic" }

// Start implements Source.
func (s *Synthetic) Start(context.Context) (connector.Config, error) {
	return connector.Config{
		connector.KeyName: s.Name(), connector.KeyClass: synthetic.Class, connector.KeyTasksMax: "2",
		connector.KeyTxnBoundary: connector.BoundaryInterval, connector.KeyTxnBoundaryIntervalMs: "100",
		connector.KeyTopicPartitions: "4",
		synthetic.KeyPartitions:      fmt.Sprint(s.Partitions), synthetic.KeyEvents: fmt.Sprint(s.Events),
	}, nil
}

// Progress implements Source: the sum of committed positions.
func (s *Synthetic) Progress(st worker.ConnectorStatus) (done, want int64) {
	return SumPositions(st, "position"), int64(s.Partitions) * s.Events
}

// SumPositions adds up the integer field key of the committed offset of
// every source partition (the highest any task reports, since each task
// also reports the offsets it started with): the records committed, for
// sources whose offset counts them.
func SumPositions(st worker.ConnectorStatus, key string) int64 {
	best := map[string]int64{}
	for _, t := range st.Tasks {
		for p, o := range t.Stats.Committed {
			n, _ := o.OffsetInt(key)
			best[p] = max(best[p], n)
		}
	}
	var n int64
	for _, v := range best {
		n += v
	}
	return n
}

// Close implements Source.
func (s *Synthetic) Close() error { return nil }

// Verify implements Source: every partition holds 1..N exactly once, in order.
func (s *Synthetic) Verify(ctx context.Context, kafka []kgo.Opt, registry string, out io.Writer) error {
	topic := synthetic.Topic(connector.ParseSettings(connector.Config{connector.KeyTopicPrefix: "sportsconnect"}))
	got, n, err := eoscheck.ReadTopic(ctx, kafka, registry, topic, 560)
	if err != nil {
		return err
	}
	parts := make([]int, 0, len(got))
	for p := range got {
		parts = append(parts, int(p))
	}
	sort.Ints(parts)
	for _, p := range parts {
		fmt.Fprintf(out, "  source partition %d: %d records\n", p, len(got[int32(p)]))
	}
	if err := eoscheck.Check(got, int32(s.Partitions), s.Events); err != nil {
		return err
	}
	if err := eoscheck.CheckOffsets(ctx, kafka, OffsetsTopic, s.Name(), int32(s.Partitions), s.Events); err != nil {
		return err
	}
	if err := PrintSamples(ctx, out, kafka, registry, topic, 2); err != nil {
		return err
	}
	fmt.Fprintf(out, "  %s: %d records; every source partition holds positions 1..%d exactly once, in order; committed offsets = %d\n",
		topic, n, s.Events, s.Events)
	return nil
}

// PrintSamples decodes and prints the first n records of topic as JSON,
// long strings shortened.
func PrintSamples(ctx context.Context, out io.Writer, kafka []kgo.Opt, registry, topic string, n int) error {
	src, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		return err
	}
	dec := avroreg.NewDecoder(src)
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, kafka...),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	fmt.Fprintf(out, "  first %d records of %s, decoded:\n", n, topic)
	for shown := 0; shown < n; {
		fs := cl.PollRecords(ctx, n-shown)
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, r := range fs.Records() {
			var v map[string]any
			if err := dec.Decode(ctx, r.Value, &v); err != nil {
				return err
			}
			shorten(v)
			b, _ := json.Marshal(v)
			fmt.Fprintf(out, "    key=%s %s\n", r.Key, b)
			shown++
		}
	}
	return nil
}

// shorten cuts long strings (payloads, raw messages) for display.
func shorten(v map[string]any) {
	for k, x := range v {
		switch y := x.(type) {
		case string:
			if len(y) > 48 {
				v[k] = y[:48] + "…"
			}
		case map[string]any:
			shorten(y)
		}
	}
}
