package imgarenademo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
)

// newWorker returns a started worker with the imgarena plugin.
func newWorker(t testing.TB, brokers []string, registry, group, offsets string, log *zap.Logger) *worker.Worker {
	t.Helper()
	src, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(connector.NewPlugins(imgarena.Plugin()),
		worker.WithKafka(kgo.SeedBrokers(brokers...)),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(log),
		worker.WithGroupID(group),
		worker.WithOffsetsTopic(offsets, 3, -1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

// readActions reads topic read_committed to its end and returns, per
// fixture, the decoded actions in order.
func readActions(ctx context.Context, t testing.TB, brokers []string, registry, topic string) map[string][]imgarena.Action {
	t.Helper()
	return readRecords(ctx, t, brokers, registry, topic, func(a *imgarena.Action) string { return a.Fixture })
}

// readStatuses reads a status topic like readActions.
func readStatuses(ctx context.Context, t testing.TB, brokers []string, registry, topic string) map[string][]imgarena.Status {
	t.Helper()
	return readRecords(ctx, t, brokers, registry, topic, func(s *imgarena.Status) string { return s.Fixture })
}

// readRecords reads topic read_committed to its end and returns, per
// fixture, the decoded values in order; each record's key must be its fixture.
func readRecords[T any](ctx context.Context, t testing.TB, brokers []string, registry, topic string, fixtureOf func(*T) string) map[string][]T {
	t.Helper()
	got, err := ReadFixtureRecords(ctx, []kgo.Opt{kgo.SeedBrokers(brokers...)}, registry, topic, fixtureOf)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// checkAgainstTimeline checks every fixture holds positions 1..n once, in
// order, each the simulator's event at that position.
func checkAgainstTimeline(t testing.TB, sim *imgarenasim.Simulator, got map[string][]imgarena.Action, fixtures []string, n int64) {
	t.Helper()
	for _, f := range fixtures {
		tl := sim.Timeline(f)
		var pos []int64
		for _, a := range got[f] {
			pos = append(pos, a.Position)
			if a.Position >= 1 && a.Position <= int64(len(tl)) && (a.ActionID == nil || *a.ActionID != tl[a.Position-1].ActionID) {
				t.Fatalf("fixture %s position %d: action %v, timeline %s", f, a.Position, a.ActionID, tl[a.Position-1].ActionID)
			}
		}
		checkExactly(t, f, pos, seq(1, n))
	}
	if len(got) != len(fixtures) {
		t.Fatalf("%d fixtures in the topic, want %d (%v)", len(got), len(fixtures), sortedKeys(got))
	}
}

// waitPositions waits until every fixture's committed position is n.
func waitPositions(t testing.TB, w *worker.Worker, name, sport string, fixtures []string, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := w.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, ts := range st.Tasks {
			if ts.State == worker.StateFailed {
				t.Fatalf("task %d failed: %s", ts.ID, ts.Trace)
			}
			for _, f := range fixtures {
				if p, _ := ts.Stats.Committed[imgarena.PartitionOf(sport, f).String()].OffsetInt("position"); p == n {
					done++
				}
			}
		}
		if done == len(fixtures) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d fixtures committed position %d within %s", done, len(fixtures), n, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWorker runs the connector in a worker, on kfake and on the real
// broker, with simulator faults (random drops, a duplicated seq, a seq gap,
// a stalled connection, status packets) and checks what a read_committed
// consumer sees: every position 1..N once, in order, as the timeline says.
func TestWorker(t *testing.T) {
	for _, real := range []bool{false, true} {
		name := "kfake"
		if real {
			name = "real broker"
		}
		t.Run(name, func(t *testing.T) {
			brokers, registry := testenvOrEmbedded(t, real)
			const n = 120
			sim := startSim(t, imgarenasim.SimFixtureCount(6), imgarenasim.SimEvents(n), imgarenasim.SimEventInterval(time.Second, 2*time.Millisecond),
				imgarenasim.SimRandomDrops(0.02), imgarenasim.SimDuplicateSeq(40), imgarenasim.SimSeqGap(70), imgarenasim.SimStallAfter(90), imgarenasim.SimStatusEvery(50),
				imgarenasim.SimHeartbeat(100*time.Millisecond))
			u := fmt.Sprintf("img-%d", time.Now().UnixNano())
			w := newWorker(t, brokers, registry, u+"-g", u+"-offsets", testLogger(t))
			defer w.Close()
			cfg := connector.Config{
				"name": "img", "connector.class": imgarena.Class, "tasks.max": "2", "topic.prefix": u, imgarena.KeyURL: sim.URL(), imgarena.KeyToken: "sim-token",
				imgarena.KeySpeed: "fast", imgarena.KeyBackoffInitialMs: "20", imgarena.KeyBackoffMaxMs: "200", imgarena.KeySilenceMs: "500",
				imgarena.KeyFixtures: joinIDs(sim.Fixtures()), "topic.creation.default.partitions": "3",
			}
			if err := w.CreateConnector(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			waitPositions(t, w, "img", "soccer", sim.Fixtures(), n, 60*time.Second)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			got := readActions(ctx, t, brokers, registry, u+".imgarena.soccer.actions")
			checkAgainstTimeline(t, sim, got, sim.Fixtures(), n)
			if st := sim.Stats(); st.Connections < 6*3 {
				t.Fatalf("%d connections: the faults did not force reconnects", st.Connections)
			}
		})
	}
}

// testenvOrEmbedded returns the real broker and registry, or a kfake/srfake pair.
func testenvOrEmbedded(t *testing.T, real bool) ([]string, string) {
	if real {
		return testenv.Brokers(t), testenv.Registry(t)
	}
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env.Brokers(), env.RegistryURL()
}

func joinIDs(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += id
	}
	return s
}
