package sabademo

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// binaryRun is the real binary on the real broker with one saba connector.
type binaryRun struct {
	t               *testing.T
	args            []string // run --log-format json worker.properties saba.json
	prefix, offsets string
	dlq             string
}

// newBinaryRun writes the worker properties and the connector config
// (errors.tolerance=all, a dead-letter topic) of a run against url.
func newBinaryRun(t *testing.T, connName, url, streams string, extra map[string]string) *binaryRun {
	t.Helper()
	u := testenv.UniqueName(t, "sc-")
	r := &binaryRun{t: t, prefix: u, offsets: u + "-offsets", dlq: u + ".dlq"}
	worker := testenv.WriteFile(t, "worker.properties", testenv.WorkerProperties(t, u+"-g", r.offsets))
	cfg := map[string]string{
		"connector.class": saba.Class, "tasks.max": "2", "topic.prefix": u, "transaction.boundary": "poll",
		"topic.creation.default.partitions": "3",
		connector.KeyErrorsTolerance:        connector.ToleranceAll, connector.KeyDLQTopic: r.dlq,
		saba.KeyBaseURL: url, saba.KeyVendorID: "vendor", saba.KeyVendorMemberID: "member", saba.KeyStreams: streams,
		saba.KeySilenceTimeout: "1500", saba.KeyBackoffInitial: "50", saba.KeyBackoffMax: "1000", saba.KeyRefreshMargin: "1000",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	b, err := json.Marshal(map[string]any{"name": connName, "config": cfg})
	if err != nil {
		t.Fatal(err)
	}
	r.args = []string{"run", "--log-format", "json", worker, testenv.WriteFile(t, "saba.json", string(b))}
	return r
}

func (r *binaryRun) start() (*exec.Cmd, *bytes.Buffer) {
	var logs bytes.Buffer
	cmd := exec.Command(testenv.Binary(r.t), r.args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	return cmd, &logs
}

// committed returns the committed last_event_id of every stream.
func (r *binaryRun) committed(ctx context.Context, connName string, specs []saba.StreamSpec) map[string]string {
	offs, err := worker.ReadOffsets(ctx, kafkaOpts(testenv.Brokers(r.t)), r.offsets, connName)
	out := map[string]string{}
	if err != nil {
		r.t.Logf("reading offsets: %v", err)
		return out
	}
	for _, sp := range specs {
		out[sp.Name()], _ = offs.Offsets[saba.PartitionOf(sp).String()].OffsetString(saba.OffsetKey)
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
func (r *binaryRun) waitAll(ctx context.Context, sim *sabasim.Simulator, connName string, specs []saba.StreamSpec, logs *bytes.Buffer, timeout time.Duration) map[string]string {
	r.t.Helper()
	want := map[string]string{}
	for _, sp := range specs {
		want[sp.Name()] = lastUpdateFor(r.t, sim, sp)
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
// the simulator cuts streams, stalls, revokes tokens, repeats frames,
// replays the Last-Event-Id message and sends malformed ones; restarts it
// each time, and checks that a read_committed consumer finds every update
// of the simulator's timeline exactly once per stream (the malformed ones
// in the dead-letter topic), and on live.events one normalized event per
// mapped record, with live.matches ending where the timeline does
// (VerifyLive).
func TestCrashExactlyOnce(t *testing.T) {
	const (
		rate  = 250
		total = 12000
	)
	opts := []sabasim.SimOption{sabasim.WithSeed(42), sabasim.WithRecordTimeline(true), sabasim.WithCacheSize(1 << 20), sabasim.WithTokenTTL(4 * time.Second),
		sabasim.WithKeepAlive(300 * time.Millisecond), sabasim.WithEvents(30, 4), sabasim.WithMalformedEvery(401), sabasim.WithDuplicateEvery(97), sabasim.WithInclusiveReplay(true)}
	specs := []saba.StreamSpec{{Endpoint: "GetEvents", Query: "$filter=sporttype eq 1"}, {Endpoint: "GetMarkets", Query: ""}, {Endpoint: "GetEvents", Query: "$filter=sporttype ne 1"}}

	// The timeline is a function of the seed: where each stream ends is
	// known before the run, from a twin that is only stepped.
	twin := sabasim.NewSimulator(append(opts, sabasim.WithEpoch("twin"))...)
	twin.Step(total)
	var done int64
	for _, sp := range specs {
		idx, _, err := twin.LastRelevant(sp.Endpoint, sp.Query)
		if err != nil {
			t.Fatal(err)
		}
		done += idx
	}

	sim := sabasim.NewSimulator(append(opts, sabasim.WithRate(rate), sabasim.WithMaxUpdates(total))...)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	url, err := sim.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
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

	const kills = 12
	prev := map[string]int64{}
	testenv.CrashLoop{
		Args:  run.args,
		Kills: kills, MinRun: time.Second, MaxRun: 2500 * time.Millisecond,
		// The sum of the streams' committed positions; each must never go back.
		Progress: func() int64 {
			var sum int64
			for k, id := range run.committed(ctx, "saba-crash", specs) {
				idx, _ := sim.Lookup(id)
				if idx < prev[k] {
					t.Errorf("%s: committed position went back from %d to %d", k, prev[k], idx)
				}
				prev[k] = max(prev[k], idx)
				sum += idx
			}
			return sum
		},
		Done:         done,
		FinalTimeout: 3 * time.Minute,
	}.Run(t)
	<-faultsDone

	want := map[string]string{}
	for _, sp := range specs {
		want[sp.Name()] = lastUpdateFor(t, sim, sp)
	}
	got, count, err := ReadBack(ctx, sim, kafkaOpts(testenv.Brokers(t)), testenv.Registry(t), run.prefix, run.dlq)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		u, s, err := CheckTimeline(sim, sp, "", got[sp.Name()], want[sp.Name()])
		t.Logf("%s: %d updates exactly once, %d snapshots", sp.Name(), u, s)
		if err != nil {
			t.Fatalf("%s: %v", sp.Name(), err)
		}
	}
	checked := time.Now()
	norm, ls, err := VerifyLive(ctx, kafkaOpts(testenv.Brokers(t)), testenv.Registry(t), run.prefix, run.prefix+".live.events", run.prefix+".live.matches", sim, specs, true)
	if err != nil {
		t.Fatal(err)
	}
	st := sim.Stats()
	t.Logf("%d kills, %d records read_committed; %s, each exactly once (%d provider records mapped, %d not; checked in %s); simulator %+v",
		kills, count, norm.Summary(), ls.Mapped, ls.Unmapped, time.Since(checked).Round(time.Millisecond), st)
	if st.Replays < kills || st.Duplicates < kills {
		t.Fatalf("only %d Last-Event-Id replays and %d repeated frames for %d restarts", st.Replays, st.Duplicates, kills)
	}
}
