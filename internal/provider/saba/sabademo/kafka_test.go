package sabademo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/metrics"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap/zaptest"
)

// lastUpdateFor returns the id of the latest update the stream's view holds
// (the id its committed offset ends at), or the snapshot id "<epoch>-0".
func lastUpdateFor(t *testing.T, sim *sabasim.Simulator, sp saba.StreamSpec) string {
	t.Helper()
	_, id, err := sim.LastRelevant(sp.Endpoint, sp.Query)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// kafkaOpts returns the client options of brokers.
func kafkaOpts(brokers []string) []kgo.Opt { return []kgo.Opt{kgo.SeedBrokers(brokers...)} }

// newSabaWorker returns a started in-process worker.
func newSabaWorker(t *testing.T, brokers []string, registry, group, offsets string, opts ...worker.Option) *worker.Worker {
	t.Helper()
	srcl, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(connector.NewPlugins(saba.Plugin()), append([]worker.Option{
		worker.WithKafka(kgo.SeedBrokers(brokers...)),
		worker.WithSerializer(avroreg.NewSerializer(srcl)),
		worker.WithLogger(zaptest.NewLogger(t)),
		worker.WithGroupID(group),
		worker.WithOffsetsTopic(offsets, 3, -1),
	}, opts...)...,
	)
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

// waitStreamsCommitted waits until every stream's committed offset is want[stream].
func waitStreamsCommitted(t *testing.T, w *worker.Worker, name string, want map[string]string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got map[string]string
	for time.Now().Before(deadline) {
		st, err := w.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ts := range st.Tasks {
			if ts.State == worker.StateFailed {
				t.Fatalf("task %d failed: %s", ts.ID, ts.Trace)
			}
		}
		// The offsets topic is the truth (a task's status also lists
		// the partitions of other tasks, as committed when it started).
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		offs, err := worker.ReadOffsets(ctx, w.KafkaOpts(), w.OffsetsTopic(), name)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		got = map[string]string{}
		done := true
		for p, id := range want {
			got[p], _ = offs.Offsets[p].OffsetString(saba.OffsetKey)
			done = done && got[p] == id
		}
		if done {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("committed %v, want %v", got, want)
}

// TestWorkerEmbedded runs the connector in a worker on kfake through cuts,
// repeated frames and malformed messages: every update exactly once, the
// malformed ones in the dead-letter topic, one normalized event per mapped
// record (VerifyLive), and the provider metrics moved.
func TestWorkerEmbedded(t *testing.T) {
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	sim, url := newTestSim(t, sabasim.WithRate(400), sabasim.WithMaxUpdates(800), sabasim.WithMalformedEvery(97), sabasim.WithDuplicateEvery(31), sabasim.WithInclusiveReplay(true))
	specs := []saba.StreamSpec{{Endpoint: "GetEvents", Query: "$filter=sporttype eq 1"}, {Endpoint: "GetMarkets", Query: ""}}
	m := metrics.New(nil)
	w := newSabaWorker(t, env.Brokers(), env.RegistryURL(), "g", "offsets", worker.WithObserver(m))
	m.SetSource(w)
	cfg := connector.Config{
		"name": "saba", "connector.class": saba.Class, "tasks.max": "2", "topic.prefix": "emb",
		"topic.creation.default.partitions": "3",
		connector.KeyErrorsTolerance:        connector.ToleranceAll, connector.KeyDLQTopic: "emb.dlq",
		saba.KeyBaseURL: url, saba.KeyVendorID: "v", saba.KeyVendorMemberID: "m", saba.KeyStreams: "GetEvents $filter=sporttype eq 1; GetMarkets",
		saba.KeyBackoffInitial: "20", saba.KeyBackoffMax: "200",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.CreateConnector(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cuts := 0
	for head, _ := sim.Head(); head < 800; head, _ = sim.Head() {
		if head > 200*int64(cuts+1) {
			sim.CutStreams()
			cuts++
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := map[string]string{}
	for _, sp := range specs {
		want[saba.PartitionOf(sp).String()] = lastUpdateFor(t, sim, sp)
	}
	waitStreamsCommitted(t, w, "saba", want, 30*time.Second)
	text := scrape(m)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, total, err := ReadBack(ctx, sim, kafkaOpts(env.Brokers()), env.RegistryURL(), "emb", "emb.dlq")
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		u, s, err := CheckTimeline(sim, sp, "", got[sp.Name()], want[saba.PartitionOf(sp).String()])
		t.Logf("%s: %d updates, %d snapshots", sp.Name(), u, s)
		if err != nil {
			t.Fatalf("%s: %v", sp.Name(), err)
		}
	}
	norm, ls, err := VerifyLive(ctx, kafkaOpts(env.Brokers()), env.RegistryURL(), "emb", "emb.live.events", "emb.live.matches", sim, specs, true)
	if err != nil {
		t.Fatal(err)
	}
	if ls.Mapped == 0 {
		t.Fatal("no provider record was mapped to a normalized event")
	}
	st := sim.Stats()
	t.Logf("%d records read back; %s (%d provider records not mapped); simulator %+v", total, norm.Summary(), ls.Unmapped, st)
	if st.Duplicates == 0 || st.Cuts == 0 {
		t.Fatalf("no repeated frames or cuts to survive: %+v", st)
	}
	// Each stream the simulator cut reconnects (more reconnects if a
	// reconnect failed); a cut can find a stream already reconnecting, so
	// count the streams cut, not the cuts asked for.
	if n := sumSeries(t, text, `sportsconnect_provider_reconnects_total{connector="saba",`); n < float64(st.Cuts) {
		t.Errorf("%v reconnects counted for %d streams cut (%d cuts of 2 streams asked):\n%s", n, st.Cuts, cuts, text)
	}
	for _, sp := range specs {
		if n := sumSeries(t, text, `sportsconnect_provider_commit_lag_seconds_count{connector="saba",fixture="`+sp.Name()+`"`); n < 10 {
			t.Errorf("%s: %v commit lag observations", sp.Name(), n)
		}
	}
}

// scrape returns the metrics in Prometheus' text format.
func scrape(m *metrics.Metrics) string {
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// sumSeries adds up the values of the series whose line starts with prefix.
func sumSeries(t *testing.T, text, prefix string) float64 {
	t.Helper()
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("series %q: %v", line, err)
		}
		sum += v
	}
	return sum
}
