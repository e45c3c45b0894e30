// Package demo runs the main job on the embedded default: an in-process
// Kafka cluster (kfake) and schema registry (srfake), every demo source (the
// built-in synthetic source and each provider simulator) driven through one
// worker with exactly-once writes, a live progress line, then a
// read_committed read-back that decodes every record through the registry
// and checks it.
package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
)

// Source is one connector the demo runs, with whatever simulator feeds it.
// Provider packages implement it (without importing this package).
type Source interface {
	// Name is the connector's name.
	Name() string
	// Start starts the source's simulator, if it has one, and returns the
	// connector config to run against it.
	Start(ctx context.Context) (connector.Config, error)
	// Progress says how far the connector got, from its status (typically
	// the committed positions), against what the demo waits for.
	Progress(st worker.ConnectorStatus) (done, want int64)
	// Verify reads back what the connector wrote (read_committed, decoded
	// through the registry), prints a summary and a few records, and
	// returns an error if anything is lost, duplicated or wrong.
	Verify(ctx context.Context, kafka []kgo.Opt, registryURL string, out io.Writer) error
	// Close stops the simulator.
	Close() error
}

// Options sets what the demo runs.
type Options struct {
	Plugins  *connector.Plugins
	Sources  []Source
	Timeout  time.Duration // give up after this long
	Out      io.Writer     // where the progress and results go
	Progress bool          // redraw one progress line (a terminal) instead of printing lines
}

// OffsetsTopic is the demo's offsets topic.
const OffsetsTopic = "connect-offsets"

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
	w, err := worker.New(o.Plugins,
		worker.WithKafka(kafka...),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(log),
		worker.WithOffsetsTopic(OffsetsTopic, 5, -1),
	)
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	defer w.Close()
	for _, s := range o.Sources {
		defer s.Close()
		cfg, err := s.Start(ctx)
		if err != nil {
			return fmt.Errorf("starting %s: %w", s.Name(), err)
		}
		if err := w.CreateConnector(ctx, cfg); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "started connector %s (%s)\n", s.Name(), cfg[connector.KeyClass])
	}
	if err := watch(ctx, w, o); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	for _, s := range o.Sources {
		fmt.Fprintf(o.Out, "\n== %s: reading back read_committed, decoding through the registry\n", s.Name())
		if err := s.Verify(ctx, kafka, env.RegistryURL(), o.Out); err != nil {
			return fmt.Errorf("%s: %w", s.Name(), err)
		}
	}
	fmt.Fprintf(o.Out, "\nall %d connectors checked: nothing lost, nothing duplicated. Done in %s.\n", len(o.Sources), time.Since(start).Round(time.Millisecond))
	return nil
}

// watch prints progress until every source's connector committed what it expects.
func watch(ctx context.Context, w *worker.Worker, o Options) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var lastN int64
	lastT, lastPrint := time.Now(), time.Time{}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo did not finish: %w", ctx.Err())
		case <-tick.C:
		}
		var written, commits int64
		var parts []string
		done := true
		for _, s := range o.Sources {
			st, err := w.Status(s.Name())
			if err != nil {
				return err
			}
			for _, t := range st.Tasks {
				if t.State == worker.StateFailed {
					return fmt.Errorf("%s task %d failed: %s", s.Name(), t.ID, t.Trace)
				}
				written += t.Stats.RecordsWritten
				commits += t.Stats.Commits
			}
			got, want := s.Progress(st)
			if got < want {
				done = false
			}
			parts = append(parts, fmt.Sprintf("%s %d/%d", s.Name(), got, want))
		}
		now := time.Now()
		rate := float64(written-lastN) / now.Sub(lastT).Seconds()
		lastN, lastT = written, now
		line := fmt.Sprintf("%d records committed, %.0f records/s, %d transactions; positions committed: %s", written, rate, commits, strings.Join(parts, ", "))
		if o.Progress {
			fmt.Fprintf(o.Out, "\r%-150s", line)
		} else if done || now.Sub(lastPrint) >= time.Second {
			fmt.Fprintln(o.Out, line)
			lastPrint = now
		}
		if done {
			if o.Progress {
				fmt.Fprintln(o.Out)
			}
			return nil
		}
	}
}
