package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"syscall"
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
		k     = 8
		n     = 20000
		kills = 12
	)
	bin := buildBinary(t)
	names := newNames(t)
	dir := t.TempDir()
	worker := writeFile(t, dir, "worker.properties", workerProps(t, names))
	conn := writeFile(t, dir, "synthetic.json", fmt.Sprintf(`{"name": "crash", "config": {
		"connector.class": "synthetic", "tasks.max": "2", "topic.prefix": %q,
		"transaction.boundary": "poll", "topic.creation.default.partitions": "3",
		"synthetic.partitions": "%d", "synthetic.events.per.partition": "%d",
		"synthetic.rate": "4000", "synthetic.batch.max": "200"}}`, names.prefix, k, n))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	start := func() (*exec.Cmd, *bytes.Buffer) {
		var logs bytes.Buffer
		cmd := exec.Command(bin, "run", "--log-format", "json", worker, conn)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &logs
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	prev := int64(0)
	for i := 0; i < kills; i++ {
		cmd, logs := start()
		// Let it run long enough to commit something, then kill it at a
		// random instant.
		time.Sleep(time.Duration(600+rng.IntN(1400)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		lowest := committedMin(ctx, t, names, "crash", k)
		t.Logf("kill %d: lowest committed position %d", i+1, lowest)
		if lowest >= n {
			t.Fatalf("kill %d came after the run finished; raise N so every kill lands mid-stream\n%s", i+1, logs)
		}
		if lowest < prev {
			t.Fatalf("committed position went back from %d to %d", prev, lowest)
		}
		prev = lowest
	}
	if prev == 0 {
		t.Fatal("no run committed anything before being killed")
	}

	// Final run: let it finish, then stop it gracefully.
	cmd, logs := start()
	deadline := time.Now().Add(3 * time.Minute)
	for committedMin(ctx, t, names, "crash", k) < n {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("final run did not reach position %d\n%s", n, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("SIGTERM: exit %v, want 0\n%s", err, logs)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("SIGTERM: did not exit within 20s\n%s", logs)
	}

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
	t.Logf("%d kills, %d records read_committed: every partition 1..%d exactly once", kills, count, n)
}
