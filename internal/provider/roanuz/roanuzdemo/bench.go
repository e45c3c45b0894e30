package roanuzdemo

import (
	"context"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
)

// BenchOptions configure BenchWebhook.
type BenchOptions struct {
	Brokers     []string
	RegistryURL string
	Prefix      string // unique group/topic prefix of the run
	Senders     int    // concurrent senders (default 8)
	Matches     int    // matches pushed (default 8)
	Overs       int    // overs per innings (default 20: ~270 pushes per match)
	Log         *zap.Logger
}

// BenchResult is one measured webhook run.
type BenchResult struct {
	Senders  int
	Pushes   int
	Elapsed  time.Duration
	P50, P99 time.Duration // acknowledgement latency of the acknowledged attempt
}

// PushesPerSec is the acknowledged push throughput.
func (r BenchResult) PushesPerSec() float64 { return float64(r.Pushes) / r.Elapsed.Seconds() }

// String formats the result as one line beside the bench package's.
func (r BenchResult) String() string {
	return fmt.Sprintf("%-34s %9d pushes   %10.0f pushes/s  p50 %8s  p99 %8s",
		fmt.Sprintf("roanuz webhook, acked (%d senders)", r.Senders), r.Pushes, r.PushesPerSec(),
		r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond))
}

// BenchWebhook runs an in-process worker with roanuz.webhook on the given
// Kafka and registry, pushes the simulator's timeline with o.Senders
// concurrent senders, and measures acknowledged pushes per second (a 2xx
// only after commit) and the acknowledgement latency.
func BenchWebhook(ctx context.Context, o BenchOptions) (BenchResult, error) {
	if o.Senders <= 0 {
		o.Senders = 8
	}
	if o.Matches <= 0 {
		o.Matches = 8
	}
	if o.Overs <= 0 {
		o.Overs = 20
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	src, err := sr.NewClient(sr.URLs(o.RegistryURL))
	if err != nil {
		return BenchResult{}, err
	}
	w, err := worker.New(connector.NewPlugins(roanuz.WebhookPlugin()),
		worker.WithKafka(kgo.SeedBrokers(o.Brokers...)), worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(o.Log), worker.WithGroupID(o.Prefix), worker.WithOffsetsTopic(o.Prefix+".offsets", 5, -1))
	if err != nil {
		return BenchResult{}, err
	}
	if err := w.Start(ctx); err != nil {
		return BenchResult{}, err
	}
	defer w.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return BenchResult{}, err
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := w.CreateConnector(ctx, connector.Config{connector.KeyName: "rzbench", connector.KeyClass: roanuz.ClassWebhook,
		connector.KeyTopicPrefix: o.Prefix, roanuz.KeyListen: addr, roanuz.KeySecret: "bench-secret", roanuz.KeySubscribe: "false"}); err != nil {
		return BenchResult{}, err
	}
	var keys []string
	for i := 0; i < o.Matches; i++ {
		keys = append(keys, fmt.Sprintf("bench_m%d", i))
	}
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches(keys...), roanuzsim.WithOvers(o.Overs))
	url := "http://" + addr + "/roanuz/push"
	// Wait for the receiver to listen.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return BenchResult{}, fmt.Errorf("roanuz bench: receiver did not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := sim.NewPusher(roanuzsim.PushOptions{URL: url, SecretHeader: "X-Roanuz-Secret", Secret: "bench-secret", Senders: o.Senders})
	start := time.Now()
	rs, err := p.Run(ctx)
	res := BenchResult{Senders: o.Senders, Pushes: len(rs), Elapsed: time.Since(start), P99: roanuzsim.P99(rs)}
	var ls []time.Duration
	for _, r := range rs {
		ls = append(ls, r.Latency)
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i] < ls[j] })
	if len(ls) > 0 {
		res.P50 = ls[len(ls)/2]
	}
	return res, err
}
