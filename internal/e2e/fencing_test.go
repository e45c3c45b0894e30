package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFencing starts a second worker on the same connector while the first
// is writing: the second's producer takes the task's transactional id, the
// first is fenced, stops its task for good and never writes again, and a
// read_committed consumer sees every position exactly once.
func TestFencing(t *testing.T) {
	const k, n = 4, 6000
	names := newNames(t)
	cfg := connector.Config{
		"name": "fence", "connector.class": "synthetic", "tasks.max": "1", "topic.prefix": names.prefix,
		"transaction.boundary": "interval", "transaction.boundary.interval.ms": "200",
		"topic.creation.default.partitions": "2",
		"synthetic.partitions":              "4", "synthetic.events.per.partition": "6000", "synthetic.rate": "4000",
		"synthetic.batch.max": "100", "errors.retry.timeout": "0",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	first := inProcessWorker(t, names)
	defer first.Close()
	if err := first.CreateConnector(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "first worker commits", func() bool {
		st, _ := first.Status("fence")
		return st.Tasks[0].Stats.Commits >= 3
	})

	second := inProcessWorker(t, names)
	defer second.Close()
	if err := second.CreateConnector(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "first worker's task fails as fenced", func() bool {
		st, _ := first.Status("fence")
		return st.Tasks[0].State == worker.StateFailed
	})
	st, _ := first.Status("fence")
	if !strings.Contains(st.Tasks[0].Trace, worker.ErrFenced.Error()) {
		t.Fatalf("first task failed, but not as fenced: %s", st.Tasks[0].Trace)
	}
	writtenAtFence := st.Tasks[0].Stats.RecordsWritten
	commitsAtFence := st.Tasks[0].Stats.Commits

	waitFor(t, 90*time.Second, "second worker finishes", func() bool {
		st, _ := second.Status("fence")
		if st.Tasks[0].State == worker.StateFailed {
			t.Fatalf("second worker's task failed: %s", st.Tasks[0].Trace)
		}
		done := 0
		for _, o := range st.Tasks[0].Stats.Committed {
			if p, _ := o.OffsetInt("position"); p == n {
				done++
			}
		}
		return done == k
	})
	// The fenced task never runs again.
	st, _ = first.Status("fence")
	if st.Tasks[0].State != worker.StateFailed || st.Tasks[0].Stats.RecordsWritten != writtenAtFence || st.Tasks[0].Stats.Commits != commitsAtFence {
		t.Fatalf("fenced task moved on: %+v", st.Tasks[0])
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	got, count, err := eoscheck.ReadTopic(ctx, opts, testenv.Registry(t), names.prefix+".synthetic.events", 560)
	if err != nil {
		t.Fatal(err)
	}
	if err := eoscheck.Check(got, k, n); err != nil {
		t.Fatal(err)
	}
	t.Logf("first worker committed %d records in %d transactions before it was fenced; %d records in all, each once", writtenAtFence, commitsAtFence, count)
}

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
