package imgarenademo

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleMemory connects idle fixtures to a simulator in a child process
// and checks the measurement's shape: every fixture connected, one
// goroutine and some stack each, the descriptor limit reported. (The heap
// delta of a few dozen connections is within GC noise, so its sign is not
// checked; the figures that matter come from make bench at 1,000 and 10,000.)
func TestIdleMemory(t *testing.T) {
	const k = 60
	argv, env := simChild()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := IdleMemory(ctx, MemoryOptions{Fixtures: k, Heartbeat: 200 * time.Millisecond, Simulator: argv, Env: env, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	switch {
	case res.Fixtures != k || res.Connects < k:
		t.Fatalf("%d fixtures, %d connects: want %d", res.Fixtures, res.Connects, k)
	case res.StackPerFixture() <= 0:
		t.Fatalf("stack per fixture %.0f: every connection has a goroutine", res.StackPerFixture())
	case res.GoroutinesPerFixture() < 1 || res.GoroutinesPerFixture() > 3:
		t.Fatalf("%.2f goroutines per fixture: want about one (the simulator runs elsewhere)", res.GoroutinesPerFixture())
	case res.FileLimit != 0 && res.FileLimit < k:
		t.Fatalf("descriptor limit %d below %d fixtures", res.FileLimit, k)
	case !strings.Contains(res.String(), "KiB/fixture"):
		t.Fatalf("String() = %q", res)
	}
}

// TestIdleMemoryErrors checks bad options and a simulator that does not
// start are clear errors, not hangs.
func TestIdleMemoryErrors(t *testing.T) {
	argv, env := simChild()
	cases := []struct {
		name string
		o    MemoryOptions
		want string
	}{
		{"no fixtures", MemoryOptions{}, "0 fixtures"},
		{"no such simulator", MemoryOptions{Fixtures: 1, Simulator: []string{"/nonexistent/sportsconnect"}}, "starting the simulator"},
		{"simulator exits", MemoryOptions{Fixtures: 1, Simulator: append(argv, "--no-such-flag"), Env: env}, "exited"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := IdleMemory(t.Context(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// BenchmarkIdleMemory measures memory per idle fixture at 1,000 and 10,000
// fixtures, the simulator in a child process (IMG's 10 s heartbeat):
//
//	go test -run '^$' -bench IdleMemory -benchtime 1x ./internal/provider/imgarena/imgarenademo/
func BenchmarkIdleMemory(b *testing.B) {
	argv, env := simChild()
	for _, k := range []int{1000, 10000} {
		b.Run(strconv.Itoa(k), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				res, err := IdleMemory(b.Context(), MemoryOptions{Fixtures: k, Simulator: argv, Env: env, Log: testLogger(b)})
				if err != nil {
					b.Fatal(err)
				}
				b.Log(res)
				b.ReportMetric(res.HeapPerFixture(), "heap-B/fixture")
				b.ReportMetric(res.StackPerFixture(), "stack-B/fixture")
				b.ReportMetric(res.RSSPerFixture(), "rss-B/fixture")
				b.ReportMetric(res.GoroutinesPerFixture(), "goroutines/fixture")
			}
		})
	}
}
