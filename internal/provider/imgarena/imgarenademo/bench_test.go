package imgarenademo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// TestBench runs a small Bench on the real broker and checks the shape of
// its result (not its speed): every action counted once, latencies
// ordered, receive-to-visibility never above send-to-visibility.
func TestBench(t *testing.T) {
	const k, n = 4, 60
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Bench(ctx, BenchOptions{
		Brokers: testenv.Brokers(t), RegistryURL: testenv.Registry(t), Fixtures: k, Events: n,
		EventInterval: time.Millisecond, TopicPartitions: 3, Tasks: 2, Interval: 50 * time.Millisecond,
		Prefix: testenv.UniqueName(t, "imgbench-"), Log: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	switch {
	case res.Records != k*n:
		t.Fatalf("%d records, want %d", res.Records, k*n)
	case res.Bytes <= 0 || res.Elapsed <= 0 || res.EventsPerSec() <= 0:
		t.Fatalf("bytes %d, elapsed %s: want both positive", res.Bytes, res.Elapsed)
	case res.P50 <= 0 || res.P99 < res.P50:
		t.Fatalf("p50 %s p99 %s: want 0 < p50 <= p99", res.P50, res.P99)
	case res.ReceivedP50 <= 0 || res.ReceivedP50 > res.P50 || res.ReceivedP99 > res.P99:
		t.Fatalf("from receive p50 %s p99 %s, from send p50 %s p99 %s: receive comes after send", res.ReceivedP50, res.ReceivedP99, res.P50, res.P99)
	case res.Connections != k:
		t.Fatalf("%d connections for %d fixtures: nothing should have reconnected", res.Connections, k)
	case !strings.Contains(res.String(), "events/s") || !strings.Contains(res.Name, "exactly-once"):
		t.Fatalf("String() = %q", res)
	}
}

// TestBenchNeedsBroker checks Bench refuses to run without a broker or registry.
func TestBenchNeedsBroker(t *testing.T) {
	for _, o := range []BenchOptions{{}, {Brokers: []string{"127.0.0.1:1"}}, {RegistryURL: "http://127.0.0.1:1"}} {
		if _, err := Bench(t.Context(), o); err == nil || !strings.Contains(err.Error(), "need brokers") {
			t.Errorf("%+v: err %v", o, err)
		}
	}
}

func TestSendClock(t *testing.T) {
	c := newSendClock([]string{"a", "b"}, 3)
	t0 := time.Unix(100, 0)
	c.record("b", 2, t0.Add(time.Second))
	c.record("a", 1, t0)
	c.record("a", 4, t0.Add(-time.Hour))   // beyond the feed: ignored
	c.record("zz", 1, t0.Add(-time.Hour))  // unknown fixture: ignored
	c.record("b", 0, t0.Add(-time.Minute)) // no position 0: ignored
	if got, ok := c.sent(1, 2); !ok || !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("b/2 sent %v %v", got, ok)
	}
	if _, ok := c.sent(0, 2); ok {
		t.Fatal("a/2 was never sent")
	}
	if _, ok := c.sent(0, 4); ok {
		t.Fatal("a/4 is beyond the feed")
	}
	if first := time.Unix(0, c.first.Load()); !first.Equal(t0) {
		t.Fatalf("first send %v, want %v", first, t0)
	}
}

func TestPercentiles(t *testing.T) {
	cases := []struct {
		in       []time.Duration
		p50, p99 time.Duration
	}{
		{nil, 0, 0},
		{[]time.Duration{5}, 5, 5},
		{[]time.Duration{3, 1, 2}, 2, 3},
	}
	for _, tc := range cases {
		if p50, p99 := percentiles(tc.in); p50 != tc.p50 || p99 != tc.p99 {
			t.Errorf("%v: p50 %d p99 %d, want %d %d", tc.in, p50, p99, tc.p50, tc.p99)
		}
	}
	var hundred []time.Duration
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, time.Duration(i))
	}
	if p50, p99 := percentiles(hundred); p50 != 51 || p99 != 100 {
		t.Errorf("1..100: p50 %d p99 %d", p50, p99)
	}
}

// BenchmarkPipeline runs Bench with b.N events over 100 fixtures, as fast
// as the connector reads ("max") and paced at 10,000 events/s (each
// fixture every 10 ms), and reports throughput and latency:
//
//	go test -run '^$' -bench Pipeline -benchtime 100000x ./internal/provider/imgarena/imgarenademo/
func BenchmarkPipeline(b *testing.B) {
	const k = 100
	for _, c := range []struct {
		name     string
		interval time.Duration
	}{{"max", 0}, {"paced-10k", 10 * time.Millisecond}} {
		b.Run(c.name, func(b *testing.B) {
			res, err := Bench(b.Context(), BenchOptions{
				Brokers: testenv.Brokers(b), RegistryURL: testenv.Registry(b), Fixtures: k, Events: b.N/k + 1,
				EventInterval: c.interval, Prefix: testenv.UniqueName(b, "imgbench-"), Log: testLogger(b),
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Log(res)
			b.ReportMetric(res.EventsPerSec(), "events/s")
			b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
		})
	}
}
