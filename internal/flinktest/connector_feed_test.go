package flinktest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// connectorFeed is the real input: the sportsconnect binary following an
// IMG Arena simulator (dropping connections now and then), writing
// <prefix>.live.events in its transactions, SIGKILLed once midway (its
// open transaction aborted, as a crash leaves it) and restarted. What it
// committed is, by the connector's guarantee, the simulator's timeline:
// one event per action, per fixture in order.
type connectorFeed struct {
	t        testing.TB
	fixtures int
	events   int64
	sim      *imgarenasim.Simulator
	prefix   string // topic.prefix: the events topic is <prefix>.live.events
	offsets  string
	name     string

	committed atomic.Int64
	done      atomic.Bool
	kills     atomic.Int64
	finished  chan struct{}
	err       error
}

// newConnectorFeed returns a feed of fixtures × events actions at one
// event per interval per fixture.
func newConnectorFeed(t testing.TB, fixtures int, events int64, interval time.Duration) *connectorFeed {
	sim := imgarenasim.NewSimulator(imgarenasim.SimSeed(1520), imgarenasim.SimFixtureCount(fixtures), imgarenasim.SimEvents(events),
		imgarenasim.SimFinish(true), imgarenasim.SimEventInterval(time.Second, interval), imgarenasim.SimRandomDrops(0.003),
		imgarenasim.SimToken("flink-token"))
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return &connectorFeed{t: t, fixtures: fixtures, events: events, sim: sim, finished: make(chan struct{})}
}

func (f *connectorFeed) Progress() (int, bool) { return int(f.committed.Load()), f.done.Load() }

func (f *connectorFeed) Wait() error {
	<-f.finished
	return f.err
}

// Committed returns the simulator's timeline as live events: what the
// connector must have committed, one per action, in order per fixture.
func (f *connectorFeed) Committed() []Event {
	var out []Event
	for _, fx := range f.sim.Fixtures() {
		for _, te := range f.sim.Timeline(fx) {
			out = append(out, Event{MatchID: live.MatchID(imgarena.Class, "soccer", fx), SourceID: te.ActionID})
		}
	}
	return out
}

// Start runs the binary so that it writes topic, which must be
// <something>.live.events (the prefix is what comes before).
func (f *connectorFeed) Start(ctx context.Context, topic string) error {
	prefix, ok := strings.CutSuffix(topic, ".live.events")
	if !ok {
		return fmt.Errorf("connector feed: topic %s is not <prefix>.live.events", topic)
	}
	f.prefix, f.offsets, f.name = prefix, prefix+"-offsets", "flinkfeed"
	props := testenv.WriteFile(f.t, "worker.properties", testenv.WorkerProperties(f.t, prefix+"-workers", f.offsets))
	conn := testenv.WriteFile(f.t, "imgarena.json", fmt.Sprintf(`{"name": %q, "config": {
		"connector.class": "imgarena", "tasks.max": "2", "topic.prefix": %q, "topic.creation.default.partitions": "3",
		"imgarena.url": %q, "imgarena.auth.token": "${env:IMG_TOKEN}", "imgarena.speed": "fast",
		"imgarena.fixtures": %q, "imgarena.reconnect.backoff.initial.ms": "50", "imgarena.reconnect.backoff.max.ms": "500"}}`,
		f.name, prefix, f.sim.URL(), strings.Join(f.sim.Fixtures(), ",")))
	bin := testenv.Binary(f.t)
	go func() {
		defer close(f.finished)
		defer f.done.Store(true)
		f.err = f.run(ctx, bin, props, conn)
	}()
	return nil
}

// run starts the binary, SIGKILLs it once a third of the feed is
// committed, starts it again, and stops it with SIGTERM once every
// fixture's last action is committed.
func (f *connectorFeed) run(ctx context.Context, bin, props, conn string) error {
	want := int64(f.fixtures) * f.events
	start := func() (*exec.Cmd, *syncWriter, error) {
		out := &syncWriter{}
		cmd := exec.CommandContext(ctx, bin, "run", "--log-format", "json", props, conn)
		cmd.Env = append(os.Environ(), "IMG_TOKEN=flink-token")
		cmd.Stdout, cmd.Stderr = out, out
		return cmd, out, cmd.Start()
	}
	cmd, out, err := start()
	if err != nil {
		return fmt.Errorf("starting the connector: %w", err)
	}
	killed := false
	for {
		n, finished := f.positions(ctx)
		f.committed.Store(n)
		if n >= want && finished == f.fixtures {
			break
		}
		if !killed && n >= want/3 {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			f.kills.Add(1)
			killed = true
			if cmd, out, err = start(); err != nil {
				return fmt.Errorf("restarting the connector: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return fmt.Errorf("connector feed at %d of %d events: %w\n%s", n, want, ctx.Err(), tail(out.String()))
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("connector exit after SIGTERM: %w\n%s", err, tail(out.String()))
	}
	return nil
}

// positions sums the committed positions of the fixtures and counts the
// finished ones.
func (f *connectorFeed) positions(ctx context.Context) (sum int64, finished int) {
	offs, err := worker.ReadOffsets(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(f.t)...)}, f.offsets, f.name)
	if err != nil {
		return f.committed.Load(), 0 // the offsets topic may not exist yet
	}
	for _, fx := range f.sim.Fixtures() {
		o := offs.Offsets[imgarena.PartitionOf("soccer", fx).String()]
		pos, _ := o.OffsetInt("position")
		sum += pos
		if done, _ := o["finished"].(bool); done {
			finished++
		}
	}
	return sum, finished
}

// syncWriter collects the child's stdout and stderr.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tail returns the last lines of a log, for failure messages.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
