package imgarenademo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
)

// ScaleOptions configure Scale. Zero fields take the defaults noted.
type ScaleOptions struct {
	Brokers     []string
	RegistryURL string
	Fixtures    []int // the steps: live fixtures at once (1000, 5000, 10000)
	// Duration is each step's length from the moment every fixture is
	// streaming (30 s): its first third is warm-up, the other two thirds
	// are measured.
	Duration        time.Duration
	EventInterval   time.Duration // time between a fixture's events (1 s: 1 event/s per fixture)
	Tasks           int           // tasks.max (4)
	TopicPartitions int32         // partitions of the actions topic (12)
	Connect         time.Duration // how long every fixture may take to start streaming (1 min)
	Drain           time.Duration // how long what was sent may take to become visible once the simulator stops (1 min)
	Prefix          string        // unique topic and group prefix (imgscale-<nanoseconds>)
	// Simulator is the command that runs `simulate imgarena` in another
	// process; its flags are appended. Default: this executable's
	// "simulate imgarena" (the sportsconnect binary).
	Simulator []string
	Env       []string    // added to the simulator's environment
	Log       *zap.Logger // worker and task logs (none)
}

func (o ScaleOptions) withDefaults() ScaleOptions {
	if len(o.Fixtures) == 0 {
		o.Fixtures = []int{1000, 5000, 10000}
	}
	if o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	if o.EventInterval <= 0 {
		o.EventInterval = time.Second
	}
	if o.Tasks <= 0 {
		o.Tasks = 4
	}
	if o.TopicPartitions <= 0 {
		o.TopicPartitions = 12
	}
	if o.Connect <= 0 {
		o.Connect = time.Minute
	}
	if o.Drain <= 0 {
		o.Drain = time.Minute
	}
	if o.Prefix == "" {
		o.Prefix = "imgscale-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return o
}

// ScaleResult is the scale curve: one step per fixture count, in order.
type ScaleResult struct {
	Steps         []ScaleStep
	Tasks         int
	Duration      time.Duration // each step's length once streaming, warm-up included
	EventInterval time.Duration // time between a fixture's events
	FileLimit     uint64        // RLIMIT_NOFILE soft limit during the run (0: unknown)
	Boundary      string        // transaction.boundary in force: the connector default, not set by Scale
}

// ScaleStep is one measured fixture count. Rates, latencies and CPU are
// over the measured window (the step after its warm-up). CPU and RSS are
// this process's (worker, connector and the watching consumer), with the
// simulator's, in its own process, beside them.
type ScaleStep struct {
	Fixtures int
	// ConnectTime is from adding the connector until every fixture had
	// sent its first event: connected, authorised, then one EventInterval.
	ConnectTime time.Duration
	Window      time.Duration // the measured window
	Nominal     float64       // events/s offered on paper: Fixtures / EventInterval
	Offered     float64       // action packets the simulator sent per second in the window
	Held        float64       // records that became visible to a read_committed consumer per second in the window
	// P50, P99 and Max: simulator send → visible, of the records that
	// became visible in the window; ReceivedP99 is from the connector's
	// receive (sc.received.at) instead, leaving the WebSocket hop out.
	P50, P99, Max, ReceivedP99 time.Duration
	CPUCores                   float64 // this process's CPU seconds per wall second in the window
	BaseRSS, PeakRSS           int64   // bytes, this process: before the step (after a GC) and the most sampled during it
	SimCPUCores                float64 // the simulator process's CPU seconds per wall second in the window
	SimPeakRSS                 int64   // bytes, the simulator process, the most sampled
	Commits                    int64   // transactions committed in the window
	Sent, Visible              int64   // fixture positions the simulator sent in the whole step; records read back
	DeadLetters, Aborts        int64   // over all tasks for the whole step
	Restarts                   int64   // task restarts in the step
	Duplicates, Gaps           int64   // records at or below a fixture's last position; positions skipped
	Short                      int     // fixtures whose last visible position is below the last one sent
}

// ExactlyOnce reports whether every fixture's positions arrived 1..k in
// order, once each, with k the last position the simulator sent, and no
// record went to the dead-letter path.
func (s ScaleStep) ExactlyOnce() bool {
	return s.Duplicates == 0 && s.Gaps == 0 && s.Short == 0 && s.DeadLetters == 0 && s.Visible == s.Sent
}

// Scale measures the scale curve of one worker: for each count in
// o.Fixtures, a fresh simulator in a child process serves that many live
// fixtures, each one WebSocket sending an action every o.EventInterval,
// and reports when it sent each one over a pipe; a fresh worker in this
// process runs the imgarena connector with o.Tasks tasks and the
// connector's default transaction settings, writing to the real broker. A
// read_committed consumer times every action from the simulator's send to
// its visibility and checks each fixture's positions arrive 1..k once and
// in order. Once every fixture is streaming the step runs o.Duration; the
// last two thirds are measured. Then the simulator stops, what it sent is
// waited for (o.Drain at most), and the worker closes before the next step.
//
// The simulator is a separate process so that each process holds one
// socket per fixture, not two (10,000 fixtures in one process need over
// 20,000 descriptors), and so that its CPU and memory are not the
// connector's.
func Scale(ctx context.Context, o ScaleOptions) (ScaleResult, error) {
	o = o.withDefaults()
	res := ScaleResult{Tasks: o.Tasks, Duration: o.Duration, EventInterval: o.EventInterval, Boundary: defaultBoundary()}
	if len(o.Brokers) == 0 || o.RegistryURL == "" {
		return res, errors.New("imgarena scale: need brokers and a registry URL")
	}
	most := 0
	for _, n := range o.Fixtures {
		if n <= 0 {
			return res, fmt.Errorf("imgarena scale: %d fixtures", n)
		}
		most = max(most, n)
	}
	// One socket per fixture in each process (the simulator inherits the
	// limit); the rest covers the broker connections and the process's own.
	var err error
	if res.FileLimit, _, err = raiseFileLimit(uint64(most) + 1024); err != nil {
		return res, fmt.Errorf("imgarena scale: %d fixtures: %w", most, err)
	}
	for _, n := range o.Fixtures {
		st, err := scaleStep(ctx, o, n)
		if err != nil {
			return res, fmt.Errorf("imgarena scale: %d fixtures: %w", n, err)
		}
		res.Steps = append(res.Steps, st)
		o.Log.Info("imgarena scale step", zap.Int("fixtures", n), zap.Float64("held", st.Held), zap.Duration("p99", st.P99))
		measure() // settle: collect this step's garbage and return it to the OS
		if err := sleep(ctx, time.Second); err != nil {
			return res, err
		}
	}
	return res, nil
}

// errStepDone ends a step's watcher normally.
var errStepDone = errors.New("step done")

// scaleStep runs and measures one fixture count.
func scaleStep(ctx context.Context, o ScaleOptions, n int) (ScaleStep, error) {
	st := ScaleStep{Fixtures: n, Nominal: float64(n) / o.EventInterval.Seconds(), BaseRSS: measure().rss}
	prefix := fmt.Sprintf("%s-%d", o.Prefix, n)
	// Events enough for the slowest start and the step; the simulator
	// stops before a fixture runs out.
	events := int((o.Connect+o.Duration)/o.EventInterval) + 2
	clock := newSendClock(imgarenasim.FixtureIDs(n), events)
	sim, err := startScaleSim(ctx, o, n, events, clock)
	if err != nil {
		return st, err
	}
	defer sim.stop()
	kafka := []kgo.Opt{kgo.SeedBrokers(o.Brokers...)}
	topic := imgarena.ActionsTopic(connector.Settings{TopicPrefix: prefix}, "soccer")
	if err := createBenchTopic(ctx, kafka, topic, o.TopicPartitions); err != nil {
		return st, fmt.Errorf("creating %s: %w", topic, err)
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watch := watchScale(wctx, cancel, kafka, topic, clock)
	peak, simPeak := sampleRSS(wctx, "self"), sampleRSS(wctx, strconv.Itoa(sim.pid()))

	src, err := sr.NewClient(sr.URLs(o.RegistryURL))
	if err != nil {
		return st, fmt.Errorf("registry client: %w", err)
	}
	w, err := worker.New(connector.NewPlugins(imgarena.Plugin()), worker.WithKafka(kafka...), worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(o.Log), worker.WithGroupID(prefix), worker.WithOffsetsTopic(prefix+".offsets", 5, -1))
	if err != nil {
		return st, fmt.Errorf("worker: %w", err)
	}
	if err := w.Start(ctx); err != nil {
		return st, fmt.Errorf("starting the worker: %w", err)
	}
	workerOpen := true
	defer func() {
		if workerOpen {
			_ = w.Close()
		}
	}()
	const name = "imgscale"
	cfg := connector.Config{ // transaction.boundary left to the connector's default
		connector.KeyName: name, connector.KeyClass: imgarena.Class, connector.KeyTasksMax: strconv.Itoa(o.Tasks),
		connector.KeyTopicPrefix: prefix, connector.KeyTopicPartitions: strconv.Itoa(int(o.TopicPartitions)),
		imgarena.KeyURL: sim.url, imgarena.KeyToken: benchToken, imgarena.KeyFixtures: strings.Join(imgarenasim.FixtureIDs(n), ","),
	}
	began := time.Now()
	if err := w.CreateConnector(ctx, cfg); err != nil {
		return st, fmt.Errorf("adding the connector: %w", err)
	}
	go failOnTaskFailure(wctx, cancel, w, name)

	stop := func(err error) error {
		if c := context.Cause(wctx); c != nil && ctx.Err() == nil {
			return c // a task failed, or the watcher saw a stranger
		}
		return err
	}
	for sim.streaming.Load() < int64(n) {
		if time.Since(began) > o.Connect {
			return st, fmt.Errorf("%d of %d fixtures streaming within %s (simulator: %s)", sim.streaming.Load(), n, o.Connect, sim.stderr.String())
		}
		if err := sleep(wctx, 20*time.Millisecond); err != nil {
			return st, stop(err)
		}
	}
	st.ConnectTime = time.Since(began)
	if err := sleep(wctx, o.Duration/3); err != nil {
		return st, stop(err)
	}
	from, cpu0, simCPU0, commits0 := watch.open(), processCPU(), processCPUOf(sim.pid()), taskTotals(w, name).Commits
	if err := sleep(wctx, o.Duration-o.Duration/3); err != nil {
		return st, stop(err)
	}
	to, cpu1, simCPU1, commits1 := watch.close(), processCPU(), processCPUOf(sim.pid()), taskTotals(w, name).Commits
	st.Window = to.Sub(from)
	st.CPUCores = (cpu1 - cpu0).Seconds() / st.Window.Seconds()
	st.SimCPUCores = (simCPU1 - simCPU0).Seconds() / st.Window.Seconds()
	st.Commits = commits1 - commits0

	// Stop sending, then wait until what was sent is visible.
	st.SimPeakRSS = simPeak.Load()
	if err := sim.finish(); err != nil {
		return st, err
	}
	st.Sent = clock.sentTotal()
	st.Offered = float64(clock.sentBetween(from, to)) / st.Window.Seconds()
	drainBy := time.Now().Add(o.Drain)
	for watch.visible.Load() < st.Sent && time.Now().Before(drainBy) {
		if err := sleep(wctx, 50*time.Millisecond); err != nil {
			return st, stop(err)
		}
	}
	tot := taskTotals(w, name)
	st.DeadLetters, st.Aborts, st.Restarts = tot.DeadLetters, tot.Aborts, tot.Restarts
	workerOpen = false
	if err := w.Close(); err != nil {
		return st, fmt.Errorf("closing the worker: %w", err)
	}
	cancel(errStepDone)
	r, err := watch.wait()
	if err != nil {
		return st, err
	}
	st.PeakRSS = max(peak.Load(), st.BaseRSS)
	st.Visible, st.Duplicates, st.Gaps = r.visible, r.duplicates, r.gaps
	st.Short = clock.short(r.last)
	lat, err := r.latencies(clock)
	if err != nil {
		return st, err
	}
	st.Held = float64(len(lat)) / st.Window.Seconds()
	st.P50, st.P99 = percentiles(lat)
	if len(lat) > 0 {
		st.Max = lat[len(lat)-1] // percentiles sorted it
	}
	_, st.ReceivedP99 = percentiles(r.fromReceive)
	return st, nil
}

// defaultBoundary is transaction.boundary's default, which the scale
// connector runs with.
func defaultBoundary() string {
	for _, d := range connector.CommonSpec() {
		if d.Name == connector.KeyTxnBoundary {
			return d.Default
		}
	}
	return ""
}

// taskTotals sums the worker's counters over the connector's tasks.
func taskTotals(w *worker.Worker, name string) worker.TaskStats {
	var sum worker.TaskStats
	st, err := w.Status(name)
	if err != nil {
		return sum
	}
	for _, t := range st.Tasks {
		sum.RecordsWritten += t.Stats.RecordsWritten
		sum.DeadLetters += t.Stats.DeadLetters
		sum.Commits += t.Stats.Commits
		sum.Aborts += t.Stats.Aborts
		sum.Restarts += t.Stats.Restarts
	}
	return sum
}

// sampleRSS samples VmRSS of process pid ("self" or a number) every 100 ms
// until ctx ends and keeps the most.
func sampleRSS(ctx context.Context, pid string) *atomic.Int64 {
	var peak atomic.Int64
	peak.Store(residentBytesOf(pid))
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if rss := residentBytesOf(pid); rss > peak.Load() {
				peak.Store(rss)
			}
		}
	}()
	return &peak
}

// short counts the fixtures whose last visible position (last, by row) is
// below the last position the simulator sent them.
func (c *sendClock) short(last []int64) int {
	n := 0
	for row := range last {
		sent := int64(0)
		for p := int64(c.events); p >= 1; p-- {
			if _, ok := c.sent(row, p); ok {
				sent = p
				break
			}
		}
		if last[row] < sent {
			n++
		}
	}
	return n
}

// sentTotal counts the positions sent, each once however often it was sent.
func (c *sendClock) sentTotal() int64 {
	var n int64
	for i := range c.at {
		if c.at[i].Load() != 0 {
			n++
		}
	}
	return n
}

// sentBetween counts the events sent at or after from and before to.
func (c *sendClock) sentBetween(from, to time.Time) int64 {
	lo, hi := from.UnixNano(), to.UnixNano()
	var n int64
	for i := range c.at {
		if ns := c.at[i].Load(); ns >= lo && ns < hi {
			n++
		}
	}
	return n
}
