package imgarenademo

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// committedPositions returns the smallest committed position over fixtures
// and how many fixtures are marked finished.
func committedPositions(ctx context.Context, t *testing.T, offsets, conn, sport string, fixtures []string) (lowest int64, finished int) {
	t.Helper()
	offs, err := worker.ReadOffsets(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, offsets, conn)
	if err != nil {
		t.Logf("reading offsets: %v", err)
		return -1, 0
	}
	lowest = -1
	for _, f := range fixtures {
		o := offs.Offsets[imgarena.PartitionOf(sport, f).String()]
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
	testenv.Binary(t) // build before the first timed run
	u := testenv.UniqueName(t, "img-")
	group, offsets, prefix := u+"-g", u+"-offsets", u
	sim := startSim(t, imgarenasim.SimFixtureCount(k), imgarenasim.SimEvents(n), imgarenasim.SimFinish(true), imgarenasim.SimEventInterval(time.Second, 2*time.Millisecond),
		imgarenasim.SimRandomDrops(0.002), imgarenasim.SimStatusEvery(1000), imgarenasim.SimDropAfterStatus(true), imgarenasim.SimHeartbeat(time.Second), imgarenasim.SimToken("crash-token"))
	worker := testenv.WriteFile(t, "worker.properties", testenv.WorkerProperties(t, group, offsets))
	conn := testenv.WriteFile(t, "imgarena.json", fmt.Sprintf(`{"name": "imgcrash", "config": {
		"connector.class": "imgarena", "tasks.max": "2", "topic.prefix": %q,
		"transaction.boundary": "poll", "topic.creation.default.partitions": "3",
		"imgarena.url": %q, "imgarena.auth.token": "${env:IMG_TOKEN}", "imgarena.speed": "fast",
		"imgarena.fixtures": %q, "imgarena.reconnect.backoff.initial.ms": "50",
		"imgarena.reconnect.backoff.max.ms": "1000", "imgarena.silence.timeout.ms": "5000"}}`,
		prefix, sim.URL(), joinIDs(sim.Fixtures())))
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	// Progress: the lowest committed position, plus one when every fixture
	// is marked finished, so the final run waits for the finish markers too.
	progress := func() int64 {
		lowest, finished := committedPositions(ctx, t, offsets, "imgcrash", "soccer", sim.Fixtures())
		if lowest == n && finished == k {
			return n + 1
		}
		return lowest
	}
	var mu sync.Mutex
	var logs strings.Builder
	testenv.CrashLoop{
		Args:   []string{"run", "--log-format", "json", worker, conn},
		Env:    []string{"IMG_TOKEN=crash-token"},
		Kills:  kills,
		MinRun: 800 * time.Millisecond, MaxRun: 2200 * time.Millisecond,
		Progress: progress, Done: n + 1,
		Logs: func(_ int, out string) {
			mu.Lock()
			logs.WriteString(out)
			mu.Unlock()
		},
	}.Run(t)
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
		var ss []*imgarena.Status
		for i := range statuses[f] {
			ss = append(ss, &statuses[f][i])
		}
		checkStatuses(t, ss, pairs...)
	}
	norm, err := VerifyLive(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, testenv.Registry(t), prefix+".live.events", prefix+".live.matches", sim, "soccer", n)
	if err != nil {
		t.Fatal(err)
	}
	checkStateTopicConfig(ctx, t, prefix+".live.matches")
	st := sim.Stats()
	t.Logf("%d kills, %d simulator drops, %d connections: every fixture 1..%d and its %d status packets exactly once (read_committed); %s, exactly once",
		kills, st.Drops, st.Connections, n, 2*len(pairs), norm.Summary())
	if st.Drops == 0 {
		t.Fatal("the simulator dropped no connection: the test did not exercise reconnects")
	}
}

// checkStateTopicConfig checks the worker created the match states topic
// as a task's state store: compacted, with segments short enough that a
// restoring task reads little beyond the latest state of each key.
func checkStateTopicConfig(ctx context.Context, t *testing.T, topic string) {
	t.Helper()
	rcs, err := testenv.Admin(t).DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describing %s: %v %v", topic, err, rc.Err)
	}
	want := map[string]string{"cleanup.policy": "compact,delete", "segment.ms": "600000", "min.cleanable.dirty.ratio": "0.1", "retention.ms": "604800000"}
	for _, c := range rc.Configs {
		if w, ok := want[c.Key]; ok {
			if c.Value == nil || *c.Value != w {
				t.Fatalf("%s: %s = %v, want %s", topic, c.Key, c.MaybeValue(), w)
			}
			delete(want, c.Key)
		}
	}
	if len(want) > 0 {
		t.Fatalf("%s: configs %v not described", topic, want)
	}
}
