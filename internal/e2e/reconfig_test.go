package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTaskCountChangeUnderLoad runs the real binary with a synthetic
// connector of tasks.max=8 and a 2 s transaction interval, SIGKILLs it
// mid-stream (every task has a transaction open), restarts it with
// tasks.max=3, SIGKILLs that, and restarts with tasks.max=8 to the end.
// After each restart the transactions the killed process left open must
// end within one interval of the new process starting: the ids of tasks
// 3..7, which no task of the new set fences by starting, are fenced when
// the connector starts (before, a read_committed consumer of the data
// topic saw nothing new until the broker's 60 s transaction timeout).
// Every position must be written exactly once.
func TestTaskCountChangeUnderLoad(t *testing.T) {
	const (
		k        = 8
		n        = 3000
		interval = 2 * time.Second
	)
	names := newNames(t)
	worker := testenv.WriteFile(t, "worker.properties", testenv.WorkerProperties(t, names.group, names.offsets))
	conf := func(tasks int) string {
		return testenv.WriteFile(t, fmt.Sprintf("synthetic-%d.json", tasks), fmt.Sprintf(`{"name": "reconf", "config": {
			"connector.class": "synthetic", "tasks.max": "%d", "topic.prefix": %q,
			"transaction.boundary": "interval", "transaction.boundary.interval.ms": "%d",
			"topic.creation.default.partitions": "4",
			"synthetic.partitions": "%d", "synthetic.events.per.partition": "%d",
			"synthetic.rate": "300", "synthetic.batch.max": "50", "synthetic.payload.bytes": "100"}}`,
			tasks, names.prefix, interval.Milliseconds(), k, n))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	topic := names.prefix + ".synthetic.events"
	adm := testenv.Admin(t)
	bin := testenv.Binary(t)
	start := func(tasks int) (*exec.Cmd, *bytes.Buffer) {
		var logs bytes.Buffer
		cmd := exec.Command(bin, "run", "--log-format", "json", worker, conf(tasks))
		cmd.Env = os.Environ()
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &logs
	}
	kill := func(cmd *exec.Cmd) kadm.ListedOffsets {
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		return ends
	}
	// stall is how long after the new process started every partition's
	// last stable offset passed the end the killed process left.
	stall := func(since time.Time, ends kadm.ListedOffsets, logs *bytes.Buffer) time.Duration {
		deadline := time.Now().Add(90 * time.Second)
		for {
			lso, err := adm.ListCommittedOffsets(ctx, topic)
			done := err == nil
			ends.Each(func(o kadm.ListedOffset) {
				if l, ok := lso.Lookup(o.Topic, o.Partition); !ok || l.Offset < o.Offset {
					done = false
				}
			})
			if done {
				return time.Since(since)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the killed process's transactions still hold the data topic after 90 s\n%s", logs)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	progress := func() int64 { return committedMin(ctx, t, names, "reconf", k) }

	cmd, _ := start(8)
	waitFor(t, 60*time.Second, "tasks.max=8 commits", func() bool { return progress() > 0 })
	time.Sleep(interval + 700*time.Millisecond) // mid-transaction
	ends := kill(cmd)
	t.Logf("killed the 8-task process at committed position %d", progress())

	var stalls []time.Duration
	for _, tasks := range []int{3, 8} {
		began := time.Now()
		cmd, logs := start(tasks)
		s := stall(began, ends, logs)
		stalls = append(stalls, s)
		t.Logf("tasks.max=%d: the killed process's transactions ended %s after the restart", tasks, s.Round(time.Millisecond))
		if s > 2*interval {
			t.Errorf("tasks.max=%d: data topic stalled %s after the restart, more than 2 transaction intervals (%s)\n%s", tasks, s, 2*interval, logs)
		}
		if tasks == 3 {
			before := progress()
			waitFor(t, 60*time.Second, "tasks.max=3 commits", func() bool { return progress() > before })
			time.Sleep(interval + 500*time.Millisecond)
			if progress() >= n {
				t.Fatal("the run finished before the second kill; make it longer")
			}
			ends = kill(cmd)
			continue
		}
		waitFor(t, 2*time.Minute, "the last run finishes", func() bool { return progress() >= n })
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("SIGTERM: %v\n%s", err, logs)
		}
	}
	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	got, count, err := eoscheck.ReadTopic(ctx, opts, testenv.Registry(t), topic, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := eoscheck.Check(got, k, n); err != nil {
		t.Fatal(err)
	}
	if err := eoscheck.CheckOffsets(ctx, opts, names.offsets, "reconf", k, n); err != nil {
		t.Fatal(err)
	}
	t.Logf("tasks.max 8 → 3 → 8 with two SIGKILLs: %d records read_committed, every partition 1..%d once; stalls after restart %v", count, n, stalls)
}
