package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/bench"
	"github.com/seed-474f70f7/sportsconnect/internal/logging"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenademo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzdemo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabademo"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// benchEnv is what a provider benchmark gets from the bench command.
type benchEnv struct {
	brokers  []string
	registry string
	prefix   string // unique topic and group prefix of this benchmark
	log      *zap.Logger
	raw      float64 // the raw franz-go producer's events/s in this run's throughput pair
	// reportDir is where reports with charts go; scaleFixtures and
	// scaleDuration are the imgarena scale curve's steps and step length.
	reportDir     string
	scaleFixtures []int
	scaleDuration time.Duration
	// baseline is an older sportsconnect binary the unpaced process run
	// also measures (make bench: BENCH_BASELINE); empty: none.
	baseline string
	// processEvents is the unpaced process run's events per fixture.
	processEvents int
	// brokerPID is the local broker's process ($KAFKA_PID, which make
	// bench sets), whose CPU the process run reports; 0: unknown.
	brokerPID int
}

// providerBench runs one provider's end-to-end benchmark and returns its
// report.
type providerBench func(ctx context.Context, env benchEnv) (fmt.Stringer, error)

// providerBenches is every provider's benchmark, simulator -> connector ->
// real broker. A provider package adds one entry here.
func providerBenches() map[string]providerBench {
	return map[string]providerBench{
		// Issue #14's latency target: 50 fixtures x 100 events/s (5,000/s),
		// every connector setting at its default (one task, adaptive).
		"imgarena": func(ctx context.Context, env benchEnv) (fmt.Stringer, error) {
			return imgarenademo.Bench(ctx, imgarenademo.BenchOptions{Brokers: env.brokers, RegistryURL: env.registry, Prefix: env.prefix, Log: env.log,
				Fixtures: 50, Events: 1500, EventInterval: 10 * time.Millisecond, Tasks: 1, TopicPartitions: 6, Warmup: 2 * time.Second})
		},
		// The same feed with the former fixed 100 ms transaction interval.
		"imgarena-interval": func(ctx context.Context, env benchEnv) (fmt.Stringer, error) {
			return imgarenademo.Bench(ctx, imgarenademo.BenchOptions{Brokers: env.brokers, RegistryURL: env.registry, Prefix: env.prefix, Log: env.log,
				Fixtures: 50, Events: 1500, EventInterval: 10 * time.Millisecond, Tasks: 1, TopicPartitions: 6, Warmup: 2 * time.Second,
				Boundary: connector.BoundaryInterval, Interval: 100 * time.Millisecond})
		},
		// Throughput: 20 fixtures x 5,000 events as fast as the connector
		// reads them.
		"imgarena-unpaced": func(ctx context.Context, env benchEnv) (fmt.Stringer, error) {
			return imgarenademo.Bench(ctx, imgarenademo.BenchOptions{Brokers: env.brokers, RegistryURL: env.registry, Prefix: env.prefix, Log: env.log,
				Fixtures: 20, Events: 5000, Tasks: 4, TopicPartitions: 6})
		},
		// The same feed through this binary in a child process, measured
		// from outside: peak RSS, CPU, and exec to the first task; with a
		// baseline binary, both alternately, three times each (issue #14's
		// throughput target is a ratio to an older build).
		"imgarena-process": processBench(),
		// The same with each connector given one CPU (GOMAXPROCS=1, as
		// under a one-CPU container limit): what bounds the runs then is
		// each build's own CPU per record, not the shared machine.
		"imgarena-process-1cpu": processBench("GOMAXPROCS=1"),
		// The broker's own transaction round trips: the floor under the
		// latencies above.
		"txn-floor": func(ctx context.Context, env benchEnv) (fmt.Stringer, error) {
			var out strings.Builder
			_, err := bench.TransactionFloor(ctx, []kgo.Opt{kgo.SeedBrokers(env.brokers...)}, env.prefix,
				[]time.Duration{0, 5 * time.Millisecond, 10 * time.Millisecond}, 200, &out)
			return stringer(strings.TrimRight(out.String(), "\n")), err
		},
		// What the broker and the machine allow at the IMG latency run's
		// rate, read by the same reader: its baselines.
		"latency-floor": func(ctx context.Context, env benchEnv) (fmt.Stringer, error) {
			settle := connector.CommonSpec().WithDefaults(connector.Config{}).Millis(connector.KeyTxnBoundarySettleMs)
			res, err := bench.LatencyFloors(ctx, []kgo.Opt{kgo.SeedBrokers(env.brokers...)}, env.prefix, 5000, 15*time.Second, settle)
			var out strings.Builder
			for _, r := range res {
				fmt.Fprintln(&out, r)
			}
			return stringer(strings.TrimRight(out.String(), "\n")), err
		},
		"imgarena-idle-1k": func(ctx context.Context, env benchEnv) (fmt.Stringer, error) {
			return imgarenademo.IdleMemory(ctx, imgarenademo.MemoryOptions{Fixtures: 1000, Log: env.log})
		},
		"imgarena-idle-10k": func(ctx context.Context, env benchEnv) (fmt.Stringer, error) {
			return imgarenademo.IdleMemory(ctx, imgarenademo.MemoryOptions{Fixtures: 10000, Log: env.log})
		},
		"imgarena-scale": func(ctx context.Context, env benchEnv) (fmt.Stringer, error) {
			res, err := imgarenademo.Scale(ctx, imgarenademo.ScaleOptions{Brokers: env.brokers, RegistryURL: env.registry, Prefix: env.prefix,
				Log: env.log, Fixtures: env.scaleFixtures, Duration: env.scaleDuration})
			if err != nil {
				return nil, err
			}
			path, err := res.WriteReport(env.reportDir, env.raw)
			if err != nil {
				return nil, err
			}
			return reportAt{res, path}, nil
		},
		"saba": func(ctx context.Context, env benchEnv) (fmt.Stringer, error) {
			return sabademo.Bench(ctx, sabademo.BenchOptions{Brokers: env.brokers, RegistryURL: env.registry, Prefix: env.prefix, Log: env.log})
		},
		"roanuz": func(ctx context.Context, env benchEnv) (fmt.Stringer, error) {
			return roanuzdemo.BenchWebhook(ctx, roanuzdemo.BenchOptions{Brokers: env.brokers, RegistryURL: env.registry, Prefix: env.prefix, Log: env.log})
		},
	}
}

// processBench runs the unpaced IMG feed through the binary in a child
// process with env added to its environment, beside the baseline binary
// when there is one.
func processBench(env ...string) providerBench {
	return func(ctx context.Context, e benchEnv) (fmt.Stringer, error) {
		o := imgarenademo.ProcessOptions{Brokers: e.brokers, RegistryURL: e.registry, Prefix: e.prefix, Events: e.processEvents, BrokerPID: e.brokerPID, Env: env}
		if e.baseline == "" {
			return imgarenademo.ProcessRun(ctx, o)
		}
		return imgarenademo.CompareProcess(ctx, o, []string{e.baseline}, 3)
	}
}

// defaultBenchProviders are the provider benchmarks the bench command runs
// unless told otherwise, the long scale curve last.
const defaultBenchProviders = "txn-floor,latency-floor,imgarena,imgarena-interval,imgarena-unpaced,imgarena-process,imgarena-process-1cpu,imgarena-idle-1k,imgarena-idle-10k,saba,roanuz,imgarena-scale"

// stringer is a ready-made report line.
type stringer string

func (s stringer) String() string { return string(s) }

// reportAt is a result whose report was also written to path.
type reportAt struct {
	res  fmt.Stringer
	path string
}

func (r reportAt) String() string { return r.res.String() + "\nreport written to " + r.path }

// parseCounts parses a comma-separated list of positive counts.
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no counts")
	}
	return out, nil
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
	rounds := fs.Int("rounds", 3, "times the unpaced synthetic pair runs, alternating; their medians are compared")
	interval := fs.Duration("interval", 0, "the synthetic pipeline's transaction interval; 0: the default boundary (adaptive)")
	rate := fs.Int("rate", 10000, "events/s of the paced latency runs; 0 skips them")
	rateEvents := fs.Int("rate-events", 500, "events per source partition in the paced runs")
	providers := fs.String("providers", defaultBenchProviders, "provider benchmarks to run after the synthetic one (comma-separated; empty for none)")
	reportDir := fs.String("report-dir", "bench-report", "where reports with charts go (the imgarena scale curve's scale.md and SVGs)")
	scaleFixtures := fs.String("scale-fixtures", "1000,5000,10000", "imgarena-scale: live fixtures of each step, at 1 event/s each (comma-separated)")
	scaleDuration := fs.Duration("scale-duration", 20*time.Second, "imgarena-scale: each step's length once every fixture is connected; the last two thirds are measured")
	processEvents := fs.Int("process-events", 20000, "imgarena-process: events per fixture (20 fixtures); at 5,000 a run takes about a second, a fifth of it the process's start")
	baseline := fs.String("baseline-binary", "", "imgarena-process: an older sportsconnect binary to run beside this one on the same feed (make bench builds BENCH_BASELINE)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	steps, err := parseCounts(*scaleFixtures)
	if err != nil {
		return fmt.Errorf("%w: --scale-fixtures: %v", errUsage, err)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"partitions", *parts}, {"events", *events}, {"topic-partitions", *topicParts}, {"tasks", *tasks}, {"rounds", *rounds}, {"process-events", *processEvents}} {
		if f.v < 1 {
			return fmt.Errorf("%w: --%s must be at least 1, not %d", errUsage, f.name, f.v)
		}
	}
	if *brokers == "" || *registry == "" {
		return fmt.Errorf("%w: need --brokers and --registry (or run 'make bench', which starts both)", errUsage)
	}
	log, err := logging.New(logging.FormatConsole, "warn")
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	brokerPID, _ := strconv.Atoi(os.Getenv("KAFKA_PID")) // set by deploy/local/with-services.sh; else unknown
	seeds := strings.Split(*brokers, ",")
	sum, err := bench.Run(ctx, bench.Options{
		Brokers: seeds, RegistryURL: *registry,
		Partitions: *parts, Events: *events, TopicPartitions: int32(*topicParts), Tasks: *tasks, Interval: *interval,
		Rate: *rate, RateEvents: *rateEvents, Rounds: *rounds, Prefix: prefix, Out: stdout, Log: log,
	})
	if err != nil {
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
		res, err := run(ctx, benchEnv{brokers: seeds, registry: *registry, prefix: prefix + "-" + name, log: log, raw: sum.Raw.EventsPerSec(),
			reportDir: *reportDir, scaleFixtures: steps, scaleDuration: *scaleDuration, baseline: *baseline, processEvents: *processEvents, brokerPID: brokerPID})
		if err != nil {
			return fmt.Errorf("%s benchmark: %w", name, err)
		}
		fmt.Fprintln(stdout, res)
	}
	return nil
}
