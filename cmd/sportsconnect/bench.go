package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/bench"
	"github.com/seed-474f70f7/sportsconnect/internal/logging"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenademo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzdemo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabademo"
	"go.uber.org/zap"
)

// providerBench runs one provider's end-to-end benchmark and returns its
// one-line report.
type providerBench func(ctx context.Context, brokers []string, registry, prefix string, log *zap.Logger) (fmt.Stringer, error)

// providerBenches is every provider's benchmark, simulator -> connector ->
// real broker. A provider package adds one entry here.
func providerBenches() map[string]providerBench {
	return map[string]providerBench{
		"imgarena": func(ctx context.Context, brokers []string, registry, prefix string, log *zap.Logger) (fmt.Stringer, error) {
			return imgarenademo.Bench(ctx, imgarenademo.BenchOptions{Brokers: brokers, RegistryURL: registry, Prefix: prefix, Log: log,
				EventInterval: 10 * time.Millisecond})
		},
		"imgarena-idle-1k": func(ctx context.Context, _ []string, _, _ string, log *zap.Logger) (fmt.Stringer, error) {
			return imgarenademo.IdleMemory(ctx, imgarenademo.MemoryOptions{Fixtures: 1000, Log: log})
		},
		"imgarena-idle-10k": func(ctx context.Context, _ []string, _, _ string, log *zap.Logger) (fmt.Stringer, error) {
			return imgarenademo.IdleMemory(ctx, imgarenademo.MemoryOptions{Fixtures: 10000, Log: log})
		},
		"saba": func(ctx context.Context, brokers []string, registry, prefix string, log *zap.Logger) (fmt.Stringer, error) {
			return sabademo.Bench(ctx, sabademo.BenchOptions{Brokers: brokers, RegistryURL: registry, Prefix: prefix, Log: log})
		},
		"roanuz": func(ctx context.Context, brokers []string, registry, prefix string, log *zap.Logger) (fmt.Stringer, error) {
			return roanuzdemo.BenchWebhook(ctx, roanuzdemo.BenchOptions{Brokers: brokers, RegistryURL: registry, Prefix: prefix, Log: log})
		},
	}
}

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "bench [flags]", `  make bench     # starts a real Kafka and registry, runs this, stops them
  KAFKA_BOOTSTRAP=127.0.0.1:9092 SCHEMA_REGISTRY_URL=http://127.0.0.1:8081 sportsconnect bench --events 5000`, stderr)
	brokers := fs.String("brokers", os.Getenv("KAFKA_BOOTSTRAP"), "bootstrap servers (default $KAFKA_BOOTSTRAP)")
	registry := fs.String("registry", os.Getenv("SCHEMA_REGISTRY_URL"), "schema registry URL (default $SCHEMA_REGISTRY_URL)")
	parts := fs.Int("partitions", 100, "synthetic source partitions")
	events := fs.Int("events", 3000, "events per source partition")
	topicParts := fs.Int("topic-partitions", 12, "partitions of each topic")
	tasks := fs.Int("tasks", 4, "pipeline tasks")
	interval := fs.Duration("interval", 100*time.Millisecond, "transaction interval")
	rate := fs.Int("rate", 10000, "events/s of the paced latency runs; 0 skips them")
	rateEvents := fs.Int("rate-events", 500, "events per source partition in the paced runs")
	providers := fs.String("providers", "imgarena,imgarena-idle-1k,imgarena-idle-10k,saba,roanuz", "provider benchmarks to run after the synthetic one (comma-separated; empty for none)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *brokers == "" || *registry == "" {
		return fmt.Errorf("%w: need --brokers and --registry (or run 'make bench', which starts both)", errUsage)
	}
	log, err := logging.New(logging.FormatConsole, "warn")
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	seeds := strings.Split(*brokers, ",")
	if err := bench.Run(ctx, bench.Options{
		Brokers: seeds, RegistryURL: *registry,
		Partitions: *parts, Events: *events, TopicPartitions: int32(*topicParts), Tasks: *tasks, Interval: *interval,
		Rate: *rate, RateEvents: *rateEvents, Prefix: prefix, Out: stdout, Log: log,
	}); err != nil {
		return err
	}
	benches := providerBenches()
	fmt.Fprintf(stdout, "\n3. providers: simulator -> connector -> real broker, exactly-once (compare with the raw producer above)\n")
	for _, name := range strings.Split(*providers, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		run, ok := benches[name]
		if !ok {
			fmt.Fprintf(stdout, "%-34s no benchmark yet\n", name)
			continue
		}
		res, err := run(ctx, seeds, *registry, prefix+"-"+name, log)
		if err != nil {
			return fmt.Errorf("%s benchmark: %w", name, err)
		}
		fmt.Fprintln(stdout, res)
	}
	return nil
}
