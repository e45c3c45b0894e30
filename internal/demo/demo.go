// Package demo runs the main job on the embedded default: an in-process
// Kafka cluster (kfake) and schema registry (srfake), the built-in sources
// driven through the worker with exactly-once writes, a live progress line,
// then a read_committed read-back that decodes every record through the
// registry and checks it.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
)

// Options sets what the demo runs.
type Options struct {
	Partitions int           // synthetic source partitions
	Events     int64         // events per partition
	Timeout    time.Duration // give up after this long
	Out        io.Writer     // where the progress and results go
	Progress   bool          // redraw one progress line (a terminal) instead of printing lines
}

// Run runs the demo and returns an error if anything is lost, duplicated or
// undecodable.
func Run(ctx context.Context, log *zap.Logger, o Options) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	start := time.Now()
	env, err := embedded.Start()
	if err != nil {
		return err
	}
	defer env.Close()
	fmt.Fprintf(o.Out, "in-process Kafka at %s, schema registry at %s\n", strings.Join(env.Brokers(), ","), env.RegistryURL())

	src, err := sr.NewClient(sr.URLs(env.RegistryURL()))
	if err != nil {
		return err
	}
	kafka := []kgo.Opt{kgo.SeedBrokers(env.Brokers()...)}
	w, err := connector.NewWorker(connector.NewPlugins(synthetic.Plugin()),
		connector.WithKafka(kafka...),
		connector.WithSerializer(avroreg.NewSerializer(src)),
		connector.WithLogger(log),
		connector.WithOffsetsTopic("connect-offsets", 5, -1),
	)
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	cfg := connector.Config{
		connector.KeyName: "demo-synthetic", connector.KeyClass: synthetic.Class, connector.KeyTasksMax: "2",
		connector.KeyTxnBoundary: connector.BoundaryInterval, connector.KeyTxnBoundaryIntervalMs: "100",
		connector.KeyTopicPartitions: "4",
		synthetic.KeyPartitions:      fmt.Sprint(o.Partitions), synthetic.KeyEvents: fmt.Sprint(o.Events),
	}
	if err := w.AddConnector(ctx, cfg); err != nil {
		return err
	}
	total := int64(o.Partitions) * o.Events
	if err := watch(ctx, w, "demo-synthetic", total, o); err != nil {
		_ = w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	topic := synthetic.Topic(connector.ParseSettings(connector.Config{connector.KeyTopicPrefix: "sportsconnect"}))
	fmt.Fprintf(o.Out, "\nreading %s back read_committed and decoding through the registry...\n", topic)
	got, n, err := eoscheck.ReadTopic(ctx, kafka, env.RegistryURL(), topic, 560)
	if err != nil {
		return err
	}
	parts := make([]int, 0, len(got))
	for p := range got {
		parts = append(parts, int(p))
	}
	sort.Ints(parts)
	for _, p := range parts {
		fmt.Fprintf(o.Out, "  partition %d: %d records\n", p, len(got[int32(p)]))
	}
	if err := eoscheck.Check(got, int32(o.Partitions), o.Events); err != nil {
		return err
	}
	if err := eoscheck.CheckOffsets(ctx, kafka, "connect-offsets", "demo-synthetic", int32(o.Partitions), o.Events); err != nil {
		return err
	}
	if err := printSamples(ctx, o.Out, kafka, env.RegistryURL(), topic, 3); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "%s: %d records, every partition holds positions 1..%d exactly once, in order; committed offsets = %d. Done in %s.\n",
		topic, n, o.Events, o.Events, time.Since(start).Round(time.Millisecond))
	return nil
}

// watch prints progress until the connector committed total records.
func watch(ctx context.Context, w *connector.Worker, name string, total int64, o Options) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var lastN int64
	lastT := time.Now()
	lastPrint := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo did not finish: %w", ctx.Err())
		case <-tick.C:
		}
		st, err := w.Status(name)
		if err != nil {
			return err
		}
		var written, commits, minPos, maxPos int64
		minPos = -1
		for _, t := range st.Tasks {
			if t.State == connector.StateFailed {
				return fmt.Errorf("task %d failed: %s", t.ID, t.Trace)
			}
			written += t.Stats.RecordsWritten
			commits += t.Stats.Commits
			for _, off := range t.Stats.Committed {
				p, _ := off.OffsetInt("position")
				if minPos < 0 || p < minPos {
					minPos = p
				}
				maxPos = max(maxPos, p)
			}
		}
		now := time.Now()
		rate := float64(written-lastN) / now.Sub(lastT).Seconds()
		lastN, lastT = written, now
		line := fmt.Sprintf("%s: %d/%d events committed, %.0f events/s, %d transactions, committed positions %d..%d",
			name, written, total, rate, commits, max(minPos, 0), maxPos)
		done := written >= total
		if o.Progress {
			fmt.Fprintf(o.Out, "\r%-110s", line)
		} else if done || now.Sub(lastPrint) >= time.Second {
			fmt.Fprintln(o.Out, line)
			lastPrint = now
		}
		if done {
			return nil
		}
	}
}

// printSamples decodes and prints the first few records of topic as JSON.
func printSamples(ctx context.Context, out io.Writer, kafka []kgo.Opt, registry, topic string, n int) error {
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
	fmt.Fprintf(out, "first %d records, decoded:\n", n)
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
			if p, ok := v["payload"].(string); ok && len(p) > 24 {
				v["payload"] = p[:24] + "…"
			}
			b, _ := json.Marshal(v)
			fmt.Fprintf(out, "  key=%s partition=%d offset=%d %s\n", r.Key, r.Partition, r.Offset, b)
			shown++
		}
	}
	return nil
}
