package roanuzdemo

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/metrics"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// TestMatchMetricsThroughTheWorker runs roanuz.match in a worker on the
// embedded Kafka with the Prometheus metrics as observer: the reconnects
// after dropped connections and the per-match commit lag reach the
// exported series, and a released match's lag series goes away.
func TestMatchMetricsThroughTheWorker(t *testing.T) {
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	src, err := sr.NewClient(sr.URLs(env.RegistryURL()))
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(nil)
	w, err := worker.New(connector.NewPlugins(roanuz.MatchPlugin()), worker.WithKafka(kgo.SeedBrokers(env.Brokers()...)),
		worker.WithSerializer(avroreg.NewSerializer(src)), worker.WithLogger(testLogger(t)), worker.WithObserver(m),
		worker.WithOffsetsTopic("rz-metrics-offsets", 1, -1))
	if err != nil {
		t.Fatal(err)
	}
	m.SetSource(w)
	ctx := context.Background()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sim := startSim(t, roanuzsim.WithMatches("m1"), roanuzsim.WithOvers(1), roanuzsim.WithStepInterval(30*time.Millisecond), roanuzsim.WithClockOnSubscribe(), roanuzsim.WithSockDropEvery(8))
	cfg := matchConfigFor(t, sim, map[string]string{"name": "rzmet", roanuz.KeyMatches: "m1"})
	if err := w.CreateConnector(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	lag := `sportsconnect_provider_commit_lag_seconds_count{connector="rzmet",fixture="m1",task="0"}`
	reconnects := `sportsconnect_provider_reconnects_total{connector="rzmet",task="0"} `
	waitFor(t, 20*time.Second, "the commit lag of m1", func() bool { return strings.Contains(scrape(), lag) })
	waitUnsubscribed(t, sim, "m1")
	waitFor(t, 10*time.Second, "m1's lag series dropped after its release", func() bool { return !strings.Contains(scrape(), lag) })
	text := scrape()
	i := strings.Index(text, reconnects)
	if i < 0 || strings.HasPrefix(text[i+len(reconnects):], "0\n") {
		t.Fatalf("no reconnect counted after %d drops:\n%s", func() int64 { _, _, _, _, d := sim.SockStats(); return d }(), text)
	}
}
