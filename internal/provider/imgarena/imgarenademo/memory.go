package imgarenademo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"go.uber.org/zap"
)

// ErrFileLimit means RLIMIT_NOFILE's hard limit is below what
// IdleMemory's fixtures need, one socket each.
var ErrFileLimit = errors.New("not enough file descriptors")

// MemoryOptions configure IdleMemory. Zero fields take the defaults noted.
type MemoryOptions struct {
	Fixtures  int           // idle fixtures to connect (required)
	Heartbeat time.Duration // the simulator's heartbeat interval (IMG's 10 s)
	Settle    time.Duration // how long heartbeats flow before measuring (one heartbeat interval + 500 ms)
	Connect   time.Duration // how long every fixture may take to connect (2 min)
	// Simulator is the command that runs `simulate imgarena` in another
	// process; its flags are appended. Default: this executable's
	// "simulate imgarena" (the sportsconnect binary).
	Simulator []string
	Env       []string    // added to the simulator's environment
	Log       *zap.Logger // the task's logs (none)
}

// MemoryResult is what the connector side of idle connections costs: the
// growth of this process from before the task started to when every
// fixture was connected and heartbeats had flowed, each after a GC.
type MemoryResult struct {
	Fixtures    int           // fixtures connected when measured
	ConnectTime time.Duration // until every fixture was authorised
	Connects    int64         // connection attempts (Fixtures when none failed)
	HeapBytes   int64         // growth of HeapInuse
	StackBytes  int64         // growth of StackInuse (goroutine stacks)
	RSSBytes    int64         // growth of VmRSS; 0 where /proc/self/status is missing
	TotalRSS    int64         // VmRSS of the whole process when measured (issue #14's bound: 200 MB at 10,000)
	Goroutines  int           // growth of runtime.NumGoroutine
	FileLimit   uint64        // RLIMIT_NOFILE soft limit during the run (0: unknown)
	FileRaised  bool          // the soft limit was raised for this run
}

func (r MemoryResult) per(n int64) float64 { return float64(n) / float64(max(r.Fixtures, 1)) }

// HeapPerFixture is heap in use per idle fixture, in bytes.
func (r MemoryResult) HeapPerFixture() float64 { return r.per(r.HeapBytes) }

// StackPerFixture is goroutine stack per idle fixture, in bytes.
func (r MemoryResult) StackPerFixture() float64 { return r.per(r.StackBytes) }

// RSSPerFixture is resident memory per idle fixture, in bytes.
func (r MemoryResult) RSSPerFixture() float64 { return r.per(r.RSSBytes) }

// GoroutinesPerFixture is goroutines per idle fixture.
func (r MemoryResult) GoroutinesPerFixture() float64 { return r.per(int64(r.Goroutines)) }

// String prints the per-fixture figures on one line.
func (r MemoryResult) String() string {
	raised := ""
	if r.FileRaised {
		raised = ", raised for this run"
	}
	return fmt.Sprintf("imgarena idle fixtures (heartbeats only, simulator in another process): %d connected in %s (%d attempts): "+
		"heap %.1f KiB/fixture, stacks %.1f KiB/fixture, RSS %.1f KiB/fixture, %.2f goroutines/fixture, process RSS %.0f MB (RLIMIT_NOFILE %d%s)",
		r.Fixtures, r.ConnectTime.Round(10*time.Millisecond), r.Connects, r.HeapPerFixture()/1024, r.StackPerFixture()/1024,
		r.RSSPerFixture()/1024, r.GoroutinesPerFixture(), float64(r.TotalRSS)/(1<<20), r.FileLimit, raised)
}

// IdleMemory measures this process's memory per connected idle fixture:
// it starts the simulator in a separate process (so only the connector side
// is counted) with o.Fixtures fixtures that have no events and only send
// heartbeats, runs one imgarena task following all of them, and measures
// heap in use, stacks and RSS (each after a GC) and goroutines before and
// after. It raises RLIMIT_NOFILE up to the hard limit when the fixtures
// need more descriptors, and fails with ErrFileLimit when even that is
// too few.
func IdleMemory(ctx context.Context, o MemoryOptions) (MemoryResult, error) {
	if o.Fixtures <= 0 {
		return MemoryResult{}, fmt.Errorf("imgarena idle memory: %d fixtures", o.Fixtures)
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 10 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = o.Heartbeat + 500*time.Millisecond
	}
	if o.Connect <= 0 {
		o.Connect = 2 * time.Minute
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	var res MemoryResult
	var err error
	// Each fixture holds one socket here; the rest covers the process's own.
	if res.FileLimit, res.FileRaised, err = raiseFileLimit(uint64(o.Fixtures) + 256); err != nil {
		return res, fmt.Errorf("imgarena idle memory: %d fixtures: %w", o.Fixtures, err)
	}
	sim, err := startSimProcess(ctx, o)
	if err != nil {
		return res, err
	}
	defer sim.stop()

	raw := connector.Config{
		connector.KeyName: "imgarena-idle", connector.KeyClass: imgarena.Class, imgarena.KeyURL: sim.url, imgarena.KeyToken: benchToken,
		imgarena.KeyFixtures: strings.Join(imgarenasim.FixtureIDs(o.Fixtures), ","), imgarena.KeyBackoffInitialMs: "200", imgarena.KeyBackoffMaxMs: "5000",
		imgarena.KeySilenceMs: strconv.FormatInt(max(30*time.Second, 3*o.Heartbeat).Milliseconds(), 10),
	}
	cfg, err := connector.CommonSpec().Merge(imgarena.Spec()).Validate(raw)
	if err != nil {
		return res, fmt.Errorf("imgarena idle memory: task config: %w", err)
	}
	c := imgarena.Plugin().New(o.Log)
	if err := c.Start(ctx, cfg); err != nil {
		return res, fmt.Errorf("imgarena idle memory: %w", err)
	}
	task := c.NewTask().(*imgarena.Task)
	cfg[connector.KeyTaskIndex], cfg[connector.KeyTaskCount] = "0", "1"

	before := measure()
	began := time.Now()
	if err := task.Start(ctx, connector.NewTaskContext("imgarena-idle", 0, cfg, o.Log, nil, nil)); err != nil {
		return res, fmt.Errorf("imgarena idle memory: starting the task: %w", err)
	}
	defer task.Stop()
	deadline := time.Now().Add(o.Connect)
	for task.Stats().Live < int64(o.Fixtures) {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("imgarena idle memory: %d of %d fixtures connected within %s (stats %+v; simulator: %s)",
				task.Stats().Live, o.Fixtures, o.Connect, task.Stats(), sim.stderr.String())
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return res, err
		}
	}
	res.ConnectTime = time.Since(began)
	if err := sleep(ctx, o.Settle); err != nil {
		return res, err
	}
	st := task.Stats()
	// Every connection has had its authorised reply and, after a whole
	// heartbeat interval, at least one heartbeat: heartbeats are flowing.
	if st.Live != int64(o.Fixtures) || st.Liveness < 2*int64(o.Fixtures) || st.Actions+st.Statuses+st.Malformed != 0 {
		return res, fmt.Errorf("imgarena idle memory: not %d idle connections with heartbeats: stats %+v", o.Fixtures, st)
	}
	after := measure()
	res.Fixtures, res.Connects = o.Fixtures, st.Connects
	res.HeapBytes = int64(after.heap) - int64(before.heap)
	res.StackBytes = int64(after.stack) - int64(before.stack)
	res.Goroutines = after.goroutines - before.goroutines
	if before.rss > 0 && after.rss > 0 {
		res.RSSBytes = after.rss - before.rss
		res.TotalRSS = after.rss
	}
	return res, nil
}

// memSnapshot is the process's memory at one instant, after a GC.
type memSnapshot struct {
	heap, stack uint64
	rss         int64
	goroutines  int
}

func measure() memSnapshot {
	runtime.GC()
	debug.FreeOSMemory() // so RSS is what is in use, not what the heap kept
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSnapshot{heap: ms.HeapInuse, stack: ms.StackInuse, rss: residentBytes(), goroutines: runtime.NumGoroutine()}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// simProcess is a simulator running in a child process.
type simProcess struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	exited chan struct{}
}

var wsURL = regexp.MustCompile(`ws://[0-9.:\[\]a-zA-Z-]+`)

// startSimProcess runs `simulate imgarena` with idle fixtures on a free
// port and waits for the address it prints.
func startSimProcess(ctx context.Context, o MemoryOptions) (*simProcess, error) {
	p, err := startSimChild(ctx, o.Simulator, o.Env, nil, "--fixtures", strconv.Itoa(o.Fixtures), "--events", "0", "--heartbeat", o.Heartbeat.String())
	if err != nil {
		return nil, fmt.Errorf("imgarena idle memory: %w", err)
	}
	return p, nil
}

// startSimChild runs argv (default: this executable's "simulate imgarena")
// with "--addr 127.0.0.1:0 --token sim-token" and args, env added to its
// environment and extra as its descriptors 3, 4, ..., and waits for the
// address it prints. It dies with this process.
func startSimChild(ctx context.Context, argv, env []string, extra []*os.File, args ...string) (*simProcess, error) {
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding this executable to run the simulator: %w", err)
		}
		argv = []string{exe, "simulate", "imgarena"}
	}
	args = append(append(append([]string(nil), argv[1:]...), "--addr", "127.0.0.1:0", "--token", benchToken), args...)
	p := &simProcess{cmd: exec.Command(argv[0], args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.ExtraFiles = extra
	childAttrs(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the simulator %v: %w", argv, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if u := wsURL.FindString(p.stdout.String()); u != "" {
			p.url = u
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("the simulator %v exited: %s%s", argv, p.stdout.String(), p.stderr.String())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("the simulator %v printed no address within 30s: %s", argv, p.stderr.String())
		}
	}
}

// stop interrupts the simulator and waits for it, killing it after 10 s.
func (p *simProcess) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // keep the start, where the address and errors are
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
