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
)

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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *brokers == "" || *registry == "" {
		return fmt.Errorf("%w: need --brokers and --registry (or run 'make bench', which starts both)", errUsage)
	}
	log, err := logging.New(logging.FormatConsole, "warn")
	if err != nil {
		return err
	}
	return bench.Run(ctx, bench.Options{
		Brokers: strings.Split(*brokers, ","), RegistryURL: *registry,
		Partitions: *parts, Events: *events, TopicPartitions: int32(*topicParts), Tasks: *tasks, Interval: *interval,
		Rate: *rate, RateEvents: *rateEvents,
		Prefix: fmt.Sprintf("bench-%d", time.Now().UnixNano()), Out: stdout, Log: log,
	})
}
