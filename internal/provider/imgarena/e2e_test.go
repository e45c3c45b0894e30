package imgarena

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// binary builds cmd/sportsconnect once per test run.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sportsconnect-imgarena-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "sportsconnect")
	cmd := exec.Command("go", "build", "-o", out, "github.com/seed-474f70f7/sportsconnect/cmd/sportsconnect")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, b)
	}
	return out, nil
})

// committedPositions returns the smallest committed position over fixtures
// and how many fixtures are marked finished.
func committedPositions(ctx context.Context, t *testing.T, offsets, conn, sport string, fixtures []string) (lowest int64, finished int) {
	t.Helper()
	offs, err := connector.ReadOffsets(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, offsets, conn)
	if err != nil {
		t.Logf("reading offsets: %v", err)
		return -1, 0
	}
	lowest = -1
	for _, f := range fixtures {
		o := offs.Offsets[PartitionOf(sport, f).String()]
		pos, _ := o.OffsetInt("position")
		if lowest < 0 || pos < lowest {
			lowest = pos
		}
		if done, _ := o["finished"].(bool); done {
			finished++
		}
	}
	return lowest, finished
}

// TestCrashExactlyOnce runs the real binary against the real broker with
// the simulator in this process dropping connections at random (and once
// per fixture between a status pair and its event), SIGKILLs the binary at
// random instants 12 times, restarts it each time, then lets every fixture
// finish. A read_committed consumer must find every fixture holding
// positions 1..N exactly once, in order, each the simulator's event at
// that position, and every status pair exactly once.
func TestCrashExactlyOnce(t *testing.T) {
	const (
		k     = 4
		n     = 12000
		kills = 12
	)
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	u := testenv.UniqueName(t, "img-")
	group, offsets, prefix := u+"-g", u+"-offsets", u
	sim := startSim(t, SimFixtureCount(k), SimEvents(n), SimFinish(true), SimEventInterval(time.Second, 2*time.Millisecond),
		SimRandomDrops(0.002), SimStatusEvery(1000), SimDropAfterStatus(true), SimHeartbeat(time.Second), SimToken("crash-token"))
	dir := t.TempDir()
	worker := filepath.Join(dir, "worker.properties")
	conn := filepath.Join(dir, "imgarena.json")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(worker, strings.Join([]string{
		"bootstrap.servers=" + testenv.Kafka(t), "schema.registry.url=" + testenv.Registry(t),
		"group.id=" + group, "offset.storage.topic=" + offsets, "offset.storage.partitions=5",
		"task.shutdown.graceful.timeout.ms=10000",
	}, "\n")+"\n")
	write(conn, fmt.Sprintf(`{"name": "imgcrash", "config": {
		"connector.class": "imgarena", "tasks.max": "2", "topic.prefix": %q,
		"transaction.boundary": "poll", "topic.creation.default.partitions": "3",
		"imgarena.url": %q, "imgarena.auth.token": "${env:IMG_TOKEN}", "imgarena.speed": "fast",
		"imgarena.fixtures": %q, "imgarena.reconnect.backoff.initial.ms": "50",
		"imgarena.reconnect.backoff.max.ms": "1000", "imgarena.silence.timeout.ms": "5000"}}`,
		prefix, sim.URL(), joinIDs(sim.Fixtures())))
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	start := func() (*exec.Cmd, *bytes.Buffer) {
		var logs bytes.Buffer
		cmd := exec.Command(bin, "run", "--log-format", "json", worker, conn)
		cmd.Env = append(os.Environ(), "IMG_TOKEN=crash-token")
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &logs
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	prev := int64(0)
	for i := 0; i < kills; i++ {
		cmd, logs := start()
		time.Sleep(time.Duration(800+rng.IntN(1400)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		lowest, _ := committedPositions(ctx, t, offsets, "imgcrash", "soccer", sim.Fixtures())
		t.Logf("kill %d: lowest committed position %d", i+1, lowest)
		if lowest >= n {
			t.Fatalf("kill %d came after the run finished; raise N\n%s", i+1, logs)
		}
		if lowest < prev {
			t.Fatalf("committed position went back from %d to %d", prev, lowest)
		}
		prev = lowest
	}
	if prev == 0 {
		t.Fatal("no run committed anything before being killed")
	}
	cmd, logs := start()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		lowest, finished := committedPositions(ctx, t, offsets, "imgcrash", "soccer", sim.Fixtures())
		if lowest == n && finished == k {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("final run reached position %d, %d finished, want %d and %d\n%s", lowest, finished, n, k, logs)
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
			t.Fatalf("SIGTERM: exit %v\n%s", err, logs)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("SIGTERM: no exit within 20s\n%s", logs)
	}
	if strings.Contains(logs.String(), "crash-token") {
		t.Fatal("the auth token appears in the logs")
	}
	got := readActions(ctx, t, testenv.Brokers(t), testenv.Registry(t), prefix+".imgarena.soccer.actions")
	checkAgainstTimeline(t, sim, got, sim.Fixtures(), n)
	statuses := readStatuses(ctx, t, testenv.Brokers(t), testenv.Registry(t), prefix+".imgarena.soccer.status")
	var pairs []int64
	for p := int64(1000); p <= n; p += 1000 {
		pairs = append(pairs, p-1)
	}
	for _, f := range sim.Fixtures() {
		var ss []*Status
		for i := range statuses[f] {
			ss = append(ss, &statuses[f][i])
		}
		checkStatuses(t, ss, pairs...)
	}
	st := sim.Stats()
	t.Logf("%d kills, %d simulator drops, %d connections: every fixture 1..%d and its %d status packets exactly once (read_committed)",
		kills, st.Drops, st.Connections, n, 2*len(pairs))
	if st.Drops == 0 {
		t.Fatal("the simulator dropped no connection: the test did not exercise reconnects")
	}
}
