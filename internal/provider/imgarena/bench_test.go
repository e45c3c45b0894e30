package imgarena

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// BenchmarkPipeline measures simulator → connector → real broker:
// b.N events over 8 fixtures, committed (transaction.boundary=poll).
func BenchmarkPipeline(b *testing.B) {
	const k = 8
	n := int64(b.N/k + 1)
	sim := startSim(b, SimFixtureCount(k), SimEvents(n), SimEventInterval(time.Second, 0), SimHeartbeat(time.Second))
	u := testenv.UniqueName(b, "imgbench-")
	w := newWorker(b, testenv.Brokers(b), testenv.Registry(b), u+"-g", u+"-offsets", testLogger(b))
	defer w.Close()
	cfg := connector.Config{
		"name": "img", "connector.class": Class, "tasks.max": "1", "topic.prefix": u, KeyURL: sim.URL(), KeyToken: "sim-token",
		KeySpeed: "fast", KeyFixtures: joinIDs(sim.Fixtures()), "topic.creation.default.partitions": "3",
	}
	b.ResetTimer()
	start := time.Now()
	if err := w.AddConnector(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	waitPositions(b, w, "img", "soccer", sim.Fixtures(), n, 10*time.Minute)
	el := time.Since(start)
	b.ReportMetric(float64(n*k)/el.Seconds(), "events/s")
}

// BenchmarkIdleFixtureMemory measures the heap per connected idle fixture
// (heartbeats only) at 1,000 fixtures. The simulator runs in the same
// process, so the figure includes both ends of each connection: an upper
// bound for the connector alone.
func BenchmarkIdleFixtureMemory(b *testing.B) {
	const k = 1000
	for i := 0; i < b.N; i++ {
		sim := startSim(b, SimFixtureCount(k), SimEvents(0), SimHeartbeat(time.Second))
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		task := runTask(b, taskConfig(b, sim, map[string]string{KeyFixtures: joinIDs(sim.Fixtures())}), nil, testLogger(b))
		for sim.Stats().Authorised < k {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(1500 * time.Millisecond) // heartbeats flowing
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapInuse+after.StackInuse-before.HeapInuse-before.StackInuse)/k, "bytes/fixture(both-ends)")
		b.ReportMetric(float64(runtime.NumGoroutine())/k, "goroutines/fixture(both-ends)")
		_ = task.Stop()
		_ = sim.Close()
	}
}
