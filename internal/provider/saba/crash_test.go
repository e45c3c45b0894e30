package saba

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

// sabaBinary builds cmd/sportsconnect once per test run.
var sabaBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sportsconnect-saba-")
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

// binaryRun is the real binary on the real broker with one saba connector.
type binaryRun struct {
	t                 *testing.T
	bin, worker, conn string
	prefix, offsets   string
}

func newBinaryRun(t *testing.T, connName, url, streams string, extra map[string]string) *binaryRun {
	t.Helper()
	brokers := testenv.Kafka(t)
	registry := testenv.Registry(t)
	bin, err := sabaBinary()
	if err != nil {
		t.Fatal(err)
	}
	u := testenv.UniqueName(t, "sc-")
	dir := t.TempDir()
	r := &binaryRun{t: t, bin: bin, prefix: u, offsets: u + "-offsets"}
	r.worker = filepath.Join(dir, "worker.properties")
	props := strings.Join([]string{
		"bootstrap.servers=" + brokers, "schema.registry.url=" + registry, "group.id=" + u + "-g",
		"offset.storage.topic=" + r.offsets, "offset.storage.partitions=3", "task.shutdown.graceful.timeout.ms=10000",
	}, "\n") + "\n"
	if err := os.WriteFile(r.worker, []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{
		"connector.class": Class, "tasks.max": "2", "topic.prefix": u, "transaction.boundary": "poll",
		"topic.creation.default.partitions": "3",
		KeyBaseURL:                          url, KeyVendorID: "vendor", KeyVendorMemberID: "member", KeyStreams: streams,
		KeySilenceTimeout: "1500", KeyBackoffInitial: "50", KeyBackoffMax: "1000", KeyRefreshMargin: "1000",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"name": %q, "config": {`, connName)
	first := true
	for k, v := range cfg {
		if !first {
			b.WriteString(", ")
		}
		first = false
		fmt.Fprintf(&b, "%q: %q", k, v)
	}
	b.WriteString("}}")
	r.conn = filepath.Join(dir, "saba.json")
	if err := os.WriteFile(r.conn, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *binaryRun) start() (*exec.Cmd, *bytes.Buffer) {
	var logs bytes.Buffer
	cmd := exec.Command(r.bin, "run", "--log-format", "json", r.worker, r.conn)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	return cmd, &logs
}

// committed returns the committed last_event_id of every stream.
func (r *binaryRun) committed(ctx context.Context, connName string, specs []StreamSpec) map[string]string {
	offs, err := connector.ReadOffsets(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(r.t)...)}, r.offsets, connName)
	out := map[string]string{}
	if err != nil {
		r.t.Logf("reading offsets: %v", err)
		return out
	}
	for _, sp := range specs {
		out[streamName(sp)], _ = offs.Offsets[PartitionOf(sp).String()].OffsetString(OffsetKey)
	}
	return out
}

func (r *binaryRun) stop(cmd *exec.Cmd, logs *bytes.Buffer) {
	r.t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		r.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			r.t.Fatalf("SIGTERM: exit %v, want 0\n%s", err, tail(logs))
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		r.t.Fatalf("SIGTERM: did not exit within 30s\n%s", tail(logs))
	}
}

func tail(b *bytes.Buffer) string {
	s := b.String()
	if len(s) > 8000 {
		s = s[len(s)-8000:]
	}
	return s
}

// waitAll waits until every stream committed the latest update of its view.
func (r *binaryRun) waitAll(ctx context.Context, sim *Simulator, connName string, specs []StreamSpec, logs *bytes.Buffer, timeout time.Duration) map[string]string {
	r.t.Helper()
	want := map[string]string{}
	for _, sp := range specs {
		want[streamName(sp)] = lastUpdateFor(r.t, sim, sp)
	}
	deadline := time.Now().Add(timeout)
	for {
		got := r.committed(ctx, connName, specs)
		done := true
		for k, v := range want {
			done = done && got[k] == v
		}
		if done {
			return want
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("committed %v, want %v\n%s", got, want, tail(logs))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestCrashExactlyOnce SIGKILLs the real binary at random instants while
// the simulator cuts streams, stalls and revokes tokens, restarts it each
// time, and checks that a read_committed consumer finds every update of
// the simulator's timeline exactly once per stream.
func TestCrashExactlyOnce(t *testing.T) {
	const (
		rate  = 250
		total = 12000
		kills = 12
	)
	sim := NewSimulator(WithSeed(42), WithRecordTimeline(true), WithRate(rate), WithMaxUpdates(total),
		WithCacheSize(1<<20), WithTokenTTL(4*time.Second), WithKeepAlive(300*time.Millisecond), WithEvents(30, 4))
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	url, err := sim.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	specs := []StreamSpec{{"GetEvents", "$filter=sporttype eq 1"}, {"GetMarkets", ""}, {"GetEvents", "$filter=sporttype ne 1"}}
	run := newBinaryRun(t, "saba-crash", url, "GetEvents $filter=sporttype eq 1; GetMarkets; GetEvents $filter=sporttype ne 1", nil)
	sim.Start()

	faultsDone := make(chan struct{})
	go func() { // stream faults while the binary is being killed
		defer close(faultsDone)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; ctx.Err() == nil; i++ {
			if head, _ := sim.Head(); head >= total {
				return
			}
			time.Sleep(time.Duration(700+rng.IntN(1500)) * time.Millisecond)
			switch i % 5 {
			case 0, 2, 4:
				sim.CutStreams()
			case 1:
				sim.Stall(2 * time.Second)
			case 3:
				sim.ExpireTokens()
			}
		}
	}()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	prev := map[string]int64{}
	committedSomething := false
	for i := 0; i < kills; i++ {
		cmd, logs := run.start()
		time.Sleep(time.Duration(1000+rng.IntN(1500)) * time.Millisecond)
		head, _ := sim.Head()
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if head >= total {
			t.Fatalf("kill %d came after the timeline ended; raise total\n%s", i+1, tail(logs))
		}
		got := run.committed(ctx, "saba-crash", specs)
		for k, id := range got {
			idx, _ := sim.lookup(id)
			if id != "" {
				committedSomething = true
			}
			if idx < prev[k] {
				t.Fatalf("kill %d: %s committed position went back from %d to %d", i+1, k, prev[k], idx)
			}
			prev[k] = idx
		}
		t.Logf("kill %d at update %d: committed %v", i+1, head, prev)
	}
	if !committedSomething {
		t.Fatal("no run committed anything before being killed")
	}
	cmd, logs := run.start()
	for head, _ := sim.Head(); head < total; head, _ = sim.Head() {
		time.Sleep(200 * time.Millisecond)
	}
	<-faultsDone
	want := run.waitAll(ctx, sim, "saba-crash", specs, logs, 2*time.Minute)
	run.stop(cmd, logs)

	got, count, err := readBack(ctx, t, sim, testenv.Brokers(t), testenv.Registry(t), run.prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		u, s, err := checkTimeline(sim, sp, "", got[streamName(sp)], want[streamName(sp)])
		t.Logf("%s: %d updates exactly once, %d snapshots", streamName(sp), u, s)
		if err != nil {
			t.Fatalf("%s: %v", streamName(sp), err)
		}
	}
	st := sim.Stats()
	t.Logf("%d kills, %d records read_committed; simulator %+v", kills, count, st)
	if st.Replays < kills {
		t.Fatalf("only %d Last-Event-Id replays for %d restarts", st.Replays, kills)
	}
}
