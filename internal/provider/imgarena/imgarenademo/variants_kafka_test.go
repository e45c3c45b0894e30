package imgarenademo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestWorkerServerVariants runs the connector in a worker on the real
// broker against a server that reads startPosition either way, drops
// connections (once between a status pair and its event), always sends
// one event broken without a readable fixtureSeqNum, and once sends a
// broken action fragment, a non-JSON heartbeat and an empty frame where a
// lost event should be. Half-way the worker is closed and a new one
// resumes from the offsets committed in Kafka. A read_committed consumer
// must find every other event once, in order, as the timeline says; every
// status pair once; and in the dead-letter topic the broken event and the
// fragment, once each.
func TestWorkerServerVariants(t *testing.T) {
	for _, oneBased := range []bool{true, false} {
		t.Run(fmt.Sprintf("one-based=%v", oneBased), func(t *testing.T) { testWorkerServerVariants(t, oneBased) })
	}
}

func testWorkerServerVariants(t *testing.T, oneBased bool) {
	const n, broken, lost = 160, 50, 110
	brokers, registry := testenv.Brokers(t), testenv.Registry(t)
	sim := startSim(t, imgarenasim.SimFixtureCount(3), imgarenasim.SimEvents(n), imgarenasim.SimEventInterval(time.Second, 4*time.Millisecond),
		imgarenasim.SimStartPositionOneBased(oneBased), imgarenasim.SimDropAfter(30), imgarenasim.SimStatusEvery(40), imgarenasim.SimDropAfterStatus(true),
		imgarenasim.SimMalformedNoSeq(broken), imgarenasim.SimExtraFrames(lost, `{"fixtureAction":{"actionId":"junk`, "ping", ""), imgarenasim.SimSeqGap(lost),
		imgarenasim.SimHeartbeat(20*time.Millisecond))
	u := testenv.UniqueName(t, "imgv-")
	cfg := connector.Config{
		"name": "imgv", "connector.class": imgarena.Class, "tasks.max": "2", "topic.prefix": u, imgarena.KeyURL: sim.URL(), imgarena.KeyToken: "sim-token",
		imgarena.KeySpeed: "fast", imgarena.KeyBackoffInitialMs: "20", imgarena.KeyBackoffMaxMs: "200", imgarena.KeySilenceMs: "2000",
		imgarena.KeyFixtures: joinIDs(sim.Fixtures()), "topic.creation.default.partitions": "3",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": u + ".dlq",
		"transaction.boundary": "interval", "transaction.boundary.interval.ms": "50",
	}
	run := func(until func(lowest int64) bool) {
		w := newWorker(t, brokers, registry, u+"-g", u+"-offsets", testLogger(t))
		defer w.Close()
		if err := w.CreateConnector(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			st, err := w.Status("imgv")
			if err != nil {
				t.Fatal(err)
			}
			lowest := int64(-1)
			for _, f := range sim.Fixtures() {
				var p int64
				for _, ts := range st.Tasks {
					if ts.State == worker.StateFailed {
						t.Fatalf("task %d failed: %s", ts.ID, ts.Trace)
					}
					if q, _ := ts.Stats.Committed[imgarena.PartitionOf("soccer", f).String()].OffsetInt("position"); q > p {
						p = q // a task also holds the others' offsets as it read them at start
					}
				}
				if lowest < 0 || p < lowest {
					lowest = p
				}
			}
			if until(lowest) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("lowest committed position %d after 60s", lowest)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	run(func(lowest int64) bool { return lowest >= 20 })
	conns := sim.Stats().Connections
	run(func(lowest int64) bool { return lowest == n })
	if sim.Stats().Connections == conns {
		t.Fatal("the second worker opened no connection")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := readActions(ctx, t, brokers, registry, u+".imgarena.soccer.actions")
	want := append(seq(1, broken-1), seq(broken+1, n)...)
	for _, f := range sim.Fixtures() {
		tl := sim.Timeline(f)
		var pos []int64
		for _, a := range got[f] {
			pos = append(pos, a.Position)
			if te := tl[a.Position-1]; a.ActionID == nil || *a.ActionID != te.ActionID {
				t.Fatalf("fixture %s position %d: action %s, timeline %s", f, a.Position, deref(a.ActionID), te.ActionID)
			}
		}
		checkExactly(t, f, pos, want)
	}
	statuses := readStatuses(ctx, t, brokers, registry, u+".imgarena.soccer.status")
	for _, f := range sim.Fixtures() {
		var ss []*imgarena.Status
		for i := range statuses[f] {
			ss = append(ss, &statuses[f][i])
		}
		checkStatuses(t, ss, 39, 79, 119, 159)
	}
	dead := map[string][]string{}
	err := readback.Committed(ctx, []kgo.Opt{kgo.SeedBrokers(brokers...)}, []string{u + ".dlq"}, func(r *kgo.Record) error {
		dead[string(r.Key)] = append(dead[string(r.Key)], string(r.Value))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sim.Fixtures() {
		d := dead[f]
		if len(d) != 2 || !strings.HasSuffix(d[0], `"fixtureSeqNum":`) || !strings.Contains(d[1], "junk") {
			t.Fatalf("fixture %s: dead letters %s: want the broken event %d, then the fragment before %d, once each", f, fmt.Sprint(d), broken, lost)
		}
	}
	st := sim.Stats()
	t.Logf("%d connections, %d drops: every event once, the broken ones dead-lettered once, over a worker restart", st.Connections, st.Drops)
}
