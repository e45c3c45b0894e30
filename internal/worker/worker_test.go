package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap/zaptest"
)

// newWorker returns a worker on the given brokers and registry.
func newWorker(t *testing.T, brokers []string, registry string, opts ...worker.Option) *worker.Worker {
	t.Helper()
	src, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		t.Fatal(err)
	}
	base := []worker.Option{
		worker.WithKafka(kgo.SeedBrokers(brokers...)),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(zaptest.NewLogger(t)),
		worker.WithOffsetsTopic("test-offsets", 3, -1),
	}
	w, err := worker.New(connector.NewPlugins(synthetic.Plugin()), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w
}

// waitCommitted waits until the connector's tasks committed n positions in
// every one of k partitions.
func waitCommitted(t *testing.T, w *worker.Worker, name string, k int, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		st, err := w.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		// Every task reports the offsets it started with too, so take
		// each partition's highest position over all tasks.
		best := map[string]int64{}
		for _, ts := range st.Tasks {
			if ts.State == worker.StateFailed {
				t.Fatalf("task %d failed: %s", ts.ID, ts.Trace)
			}
			for p, o := range ts.Stats.Committed {
				got, _ := o.OffsetInt("position")
				best[p] = max(best[p], got)
			}
		}
		done := 0
		for _, got := range best {
			if got == n {
				done++
			}
		}
		if done == k {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("connector %s did not commit %d positions in %d partitions within %s", name, n, k, timeout)
}

func TestWorkerExactlyOnceEmbedded(t *testing.T) {
	for _, boundary := range []string{connector.BoundaryPoll, connector.BoundaryInterval} {
		t.Run(boundary, func(t *testing.T) {
			env, err := embedded.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer env.Close()
			w := newWorker(t, env.Brokers(), env.RegistryURL())
			const k, n = 6, 700
			cfg := connector.Config{
				"name": "syn", "connector.class": "synthetic", "tasks.max": "3",
				"transaction.boundary": boundary, "transaction.boundary.interval.ms": "50",
				"synthetic.partitions": "6", "synthetic.events.per.partition": "700", "synthetic.batch.max": "128",
				"topic.creation.default.partitions": "4",
			}
			ctx := context.Background()
			if err := w.CreateConnector(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			waitCommitted(t, w, "syn", k, n, 30*time.Second)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			opts := []kgo.Opt{kgo.SeedBrokers(env.Brokers()...)}
			got, _, err := eoscheck.ReadTopic(ctx, opts, env.RegistryURL(), "sportsconnect.synthetic.events", 560)
			if err != nil {
				t.Fatal(err)
			}
			if err := eoscheck.Check(got, k, n); err != nil {
				t.Fatal(err)
			}
			if err := eoscheck.CheckOffsets(ctx, opts, "test-offsets", "syn", k, n); err != nil {
				t.Fatal(err)
			}
		})
	}
}
