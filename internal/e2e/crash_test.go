package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCrashExactlyOnce runs the real binary with the synthetic source
// against the real broker, SIGKILLs it at random instants (mid-transaction
// more often than not), restarts it each time, then lets it finish and
// stops it with SIGTERM. A read_committed consumer must then find every
// source partition holding positions 1..N exactly once, in order, and the
// committed offsets must equal N.
func TestCrashExactlyOnce(t *testing.T) {
	const (
		k = 8
		n = 20000
	)
	names := newNames(t)
	worker := testenv.WriteFile(t, "worker.properties", testenv.WorkerProperties(t, names.group, names.offsets))
	conn := testenv.WriteFile(t, "synthetic.json", fmt.Sprintf(`{"name": "crash", "config": {
		"connector.class": "synthetic", "tasks.max": "2", "topic.prefix": %q,
		"transaction.boundary": "poll", "topic.creation.default.partitions": "3",
		"synthetic.partitions": "%d", "synthetic.events.per.partition": "%d",
		"synthetic.rate": "4000", "synthetic.batch.max": "200"}}`, names.prefix, k, n))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	testenv.CrashLoop{
		Args:  []string{"run", "--log-format", "json", worker, conn},
		Kills: 12, MinRun: 600 * time.Millisecond, MaxRun: 2 * time.Second,
		Progress: func() int64 { return committedMin(ctx, t, names, "crash", k) },
		Done:     n,
	}.Run(t)

	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	got, count, err := eoscheck.ReadTopic(ctx, opts, testenv.Registry(t), names.prefix+".synthetic.events", 560)
	if err != nil {
		t.Fatal(err)
	}
	if err := eoscheck.Check(got, k, n); err != nil {
		t.Fatal(err)
	}
	if err := eoscheck.CheckOffsets(ctx, opts, names.offsets, "crash", k, n); err != nil {
		t.Fatal(err)
	}
	t.Logf("12 kills, %d records read_committed: every partition 1..%d exactly once", count, n)
}
