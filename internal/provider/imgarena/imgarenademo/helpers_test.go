package imgarenademo

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// simChildEnv set to 1 makes the test binary run the simulator (its
// arguments are RunSimulator's flags) instead of the tests: IdleMemory's
// tests start it so the simulator's memory is not counted.
const simChildEnv = "IMGARENA_TEST_SIMULATOR_CHILD"

// simChild is the argv and environment that run the simulator in a child process.
func simChild() ([]string, []string) { return []string{os.Args[0]}, []string{simChildEnv + "=1"} }

func TestMain(m *testing.M) {
	if os.Getenv(simChildEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := imgarenasim.RunSimulator(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The helpers below are the imgarena package's test helpers of the same
// names: that package's tests cannot import this one (it imports them).

// startSim starts a simulator on a random local port, closed at cleanup.
func startSim(t testing.TB, opts ...imgarenasim.SimOption) *imgarenasim.Simulator {
	t.Helper()
	sim := imgarenasim.NewSimulator(opts...)
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// checkExactly checks that positions hold want[0..] exactly, in order.
func checkExactly(t testing.TB, fixture string, got []int64, want []int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("fixture %s: %d positions, want %d: %v", fixture, len(got), len(want), head(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fixture %s: record %d is position %d, want %d (%v)", fixture, i, got[i], want[i], head(got))
		}
	}
}

// checkStatuses checks statuses are a Disconnected/Connected pair at each
// of positions, in order, no packet twice.
func checkStatuses(t *testing.T, statuses []*imgarena.Status, positions ...int64) {
	t.Helper()
	if len(statuses) != 2*len(positions) {
		t.Fatalf("%d status records, want %d (pairs at %v)", len(statuses), 2*len(positions), positions)
	}
	seen := map[string]bool{}
	for i, s := range statuses {
		want := [2]string{"Disconnected", "Connected"}[i%2]
		if s.Position != positions[i/2] || s.State == nil || *s.State != want || seen[s.Raw] {
			t.Fatalf("status %d: position %d state %v (seen before: %v), want %s at %d", i, s.Position, s.State, seen[s.Raw], want, positions[i/2])
		}
		seen[s.Raw] = true
	}
}

// seq returns from..to.
func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func head(xs []int64) []int64 {
	if len(xs) > 40 {
		return xs[:40]
	}
	return xs
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func testLogger(t testing.TB) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
