package imgarenademo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/bench"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
)

// BenchOptions configure Bench. Zero fields take the defaults noted.
type BenchOptions struct {
	Brokers         []string
	RegistryURL     string
	Fixtures        int              // simulated fixtures: one WebSocket and one source partition each (100)
	Events          int              // events per fixture (1000)
	EventInterval   time.Duration    // time between a fixture's events (speed=fast); 0: as fast as the connector reads
	TopicPartitions int32            // partitions of the actions topic (12)
	Tasks           int              // tasks.max (4)
	Boundary        string           // transaction.boundary ("": the connector's default, adaptive)
	Interval        time.Duration    // transaction.boundary.interval.ms with Boundary "interval" (100 ms)
	Extra           connector.Config // more connector settings (transaction.boundary.settle.ms, ...)
	Warmup          time.Duration    // records sent this soon after the first are left out of the percentiles (0)
	Prefix          string           // unique topic and group prefix (imgbench-<nanoseconds>)
	Log             *zap.Logger      // worker and task logs (none)
}

func (o BenchOptions) withDefaults() BenchOptions {
	if o.Fixtures <= 0 {
		o.Fixtures = 100
	}
	if o.Events <= 0 {
		o.Events = 1000
	}
	if o.TopicPartitions <= 0 {
		o.TopicPartitions = 12
	}
	if o.Tasks <= 0 {
		o.Tasks = 4
	}
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Prefix == "" {
		o.Prefix = "imgbench-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return o
}

// BenchResult is one measured run. Name, Records, Bytes, Elapsed, P50 and
// P99 mean what they mean in internal/bench.Result, so the two print side
// by side; latency starts when the simulator writes the action packet.
type BenchResult struct {
	Name    string
	Records int
	// Measured is how many records the percentiles cover: those sent
	// after Warmup.
	Measured int
	Warmup   time.Duration
	Bytes    int64         // value bytes of the committed records
	Elapsed  time.Duration // first action sent by the simulator to the last record visible
	// P50 and P99: simulator send → visible to a read_committed consumer.
	P50, P99 time.Duration
	// ReceivedP50 and ReceivedP99: connector receive (the sc.received.at
	// header) → visible; the WebSocket hop and parsing are left out.
	ReceivedP50, ReceivedP99 time.Duration
	Connections              int64 // WebSocket connections the simulator accepted (Fixtures when nothing dropped)
}

// EventsPerSec is the throughput.
func (r BenchResult) EventsPerSec() float64 { return float64(r.Records) / r.Elapsed.Seconds() }

// MBPerSec is the value throughput in MB/s.
func (r BenchResult) MBPerSec() float64 { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

// String prints the result in internal/bench's columns, then the
// receive-to-visibility percentiles.
func (r BenchResult) String() string {
	warm := ""
	if r.Warmup > 0 {
		warm = fmt.Sprintf("; percentiles of the %d sent after the first %s", r.Measured, r.Warmup)
	}
	return fmt.Sprintf("%-34s %9d records  %10.0f events/s  %7.1f MB/s  p50 %8s  p99 %8s  (from receive: p50 %s, p99 %s%s)",
		r.Name, r.Records, r.EventsPerSec(), r.MBPerSec(), r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond),
		r.ReceivedP50.Round(100*time.Microsecond), r.ReceivedP99.Round(100*time.Microsecond), warm)
}

// benchToken is the token the benchmark's simulator accepts.
const benchToken = "sim-token"

// Bench measures simulator → connector → real broker: Fixtures simulated
// fixtures of Events actions each, served over WebSockets by an imgarenasim.Simulator
// in this process, read by the imgarena connector in a worker.Worker
// with exactly-once transactions (transaction.boundary=interval), written
// to the broker. A read_committed consumer times every action from the
// instant the simulator wrote it to the instant it became visible, and
// checks each fixture's positions arrive 1..Events once and in order.
func Bench(ctx context.Context, o BenchOptions) (BenchResult, error) {
	o = o.withDefaults()
	if len(o.Brokers) == 0 || o.RegistryURL == "" {
		return BenchResult{}, errors.New("imgarena bench: need brokers and a registry URL")
	}
	fixtures := imgarenasim.FixtureIDs(o.Fixtures)
	clock := newSendClock(fixtures, o.Events)
	clock.warmup = o.Warmup
	sim := imgarenasim.NewSimulator(imgarenasim.SimFixtures(fixtures...), imgarenasim.SimEvents(int64(o.Events)), imgarenasim.SimToken(benchToken),
		imgarenasim.SimEventInterval(time.Second, o.EventInterval), imgarenasim.SimOnSend(clock.record))
	if err := sim.Start("127.0.0.1:0"); err != nil {
		return BenchResult{}, err
	}
	defer sim.Close()

	kafka := []kgo.Opt{kgo.SeedBrokers(o.Brokers...)}
	set := connector.Settings{TopicPrefix: o.Prefix}
	topic := imgarena.ActionsTopic(set, "soccer")
	if err := createBenchTopic(ctx, kafka, topic, o.TopicPartitions); err != nil {
		return BenchResult{}, fmt.Errorf("imgarena bench: creating %s: %w", topic, err)
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watch := watchActions(wctx, kafka, topic, clock)

	src, err := sr.NewClient(sr.URLs(o.RegistryURL))
	if err != nil {
		return BenchResult{}, fmt.Errorf("imgarena bench: registry client: %w", err)
	}
	w, err := worker.New(connector.NewPlugins(imgarena.Plugin()),
		worker.WithKafka(kafka...),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(o.Log),
		worker.WithGroupID(o.Prefix),
		worker.WithOffsetsTopic(o.Prefix+".offsets", 5, -1))
	if err != nil {
		return BenchResult{}, fmt.Errorf("imgarena bench: worker: %w", err)
	}
	if err := w.Start(ctx); err != nil {
		return BenchResult{}, fmt.Errorf("imgarena bench: starting the worker: %w", err)
	}
	const name = "imgbench"
	cfg := connector.Config{
		connector.KeyName: name, connector.KeyClass: imgarena.Class, connector.KeyTasksMax: strconv.Itoa(o.Tasks),
		connector.KeyTopicPrefix:     o.Prefix,
		connector.KeyTopicPartitions: strconv.Itoa(int(o.TopicPartitions)),
		imgarena.KeyURL:              sim.URL(), imgarena.KeyToken: benchToken, imgarena.KeySpeed: "fast", imgarena.KeyFixtures: strings.Join(fixtures, ","),
	}
	for k, v := range o.Extra {
		cfg[k] = v
	}
	boundary := "adaptive (default)"
	if o.Boundary != "" {
		cfg[connector.KeyTxnBoundary], boundary = o.Boundary, o.Boundary
	}
	if o.Boundary == connector.BoundaryInterval {
		cfg[connector.KeyTxnBoundaryIntervalMs] = strconv.FormatInt(o.Interval.Milliseconds(), 10)
		boundary = o.Interval.String() + " interval"
	}
	if err := w.CreateConnector(ctx, cfg); err != nil {
		_ = w.Close()
		return BenchResult{}, fmt.Errorf("imgarena bench: adding the connector: %w", err)
	}
	go failOnTaskFailure(wctx, cancel, w, name)
	res, err := watch.wait()
	if st, serr := w.Status(name); serr == nil {
		for _, t := range st.Tasks {
			res.Bytes += t.Stats.BytesWritten
		}
	}
	if cerr := w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("imgarena bench: closing the worker: %w", cerr)
	}
	pace := "unpaced"
	if o.EventInterval > 0 {
		pace = fmt.Sprintf("%.0f/s each", time.Second.Seconds()/o.EventInterval.Seconds())
	}
	res.Name = fmt.Sprintf("imgarena exactly-once, %d fixtures %s, %d tasks, %s", o.Fixtures, pace, o.Tasks, boundary)
	res.Connections = sim.Stats().Connections
	return res, err
}

// failOnTaskFailure cancels the run when a task of connector name fails,
// instead of letting the watcher wait for records that will not come.
func failOnTaskFailure(ctx context.Context, cancel context.CancelCauseFunc, w *worker.Worker, name string) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		st, err := w.Status(name)
		if err != nil {
			continue
		}
		for _, t := range st.Tasks {
			if t.State == worker.StateFailed {
				cancel(fmt.Errorf("task %d failed: %s", t.ID, t.Trace))
				return
			}
		}
	}
}

// createBenchTopic makes the actions topic and waits until every partition
// has a leader, so the watcher reads it from its start before the worker
// writes (the worker keeps an existing topic) without waiting out a
// metadata refresh.
func createBenchTopic(ctx context.Context, kafka []kgo.Opt, name string, partitions int32) error {
	cl, err := kgo.NewClient(kafka...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, partitions, -1, nil, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		td, err := adm.ListTopics(ctx, name)
		if err == nil && topicReady(td[name]) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s has no leader for every partition after 30s (%v)", name, err)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// topicReady reports whether every partition of td has a leader.
func topicReady(td kadm.TopicDetail) bool {
	if td.Err != nil || len(td.Partitions) == 0 {
		return false
	}
	for _, p := range td.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return false
		}
	}
	return true
}

// sendClock holds when the simulator sent each (fixture, position).
type sendClock struct {
	index  map[string]int // fixture id → row; read-only once built
	events int
	at     []atomic.Int64 // unix ns, row-major: index*events + position-1
	first  atomic.Int64   // earliest send, unix ns
	// warmup is how long after the first send records are left out of
	// the latency percentiles (they are still checked): connections
	// opening and first commits are not the steady state.
	warmup time.Duration
}

func newSendClock(fixtures []string, events int) *sendClock {
	c := &sendClock{index: make(map[string]int, len(fixtures)), events: events, at: make([]atomic.Int64, len(fixtures)*events)}
	for i, f := range fixtures {
		c.index[f] = i
	}
	return c
}

// record is the simulator's SimOnSend hook.
func (c *sendClock) record(fixture string, position int64, at time.Time) {
	i, ok := c.index[fixture]
	if !ok || position < 1 || position > int64(c.events) {
		return
	}
	ns := at.UnixNano()
	c.at[i*c.events+int(position-1)].Store(ns)
	for {
		f := c.first.Load()
		if (f != 0 && f <= ns) || c.first.CompareAndSwap(f, ns) {
			return
		}
	}
}

// sent returns when fixture's event position was sent.
func (c *sendClock) sent(row int, position int64) (time.Time, bool) {
	if position < 1 || position > int64(c.events) {
		return time.Time{}, false
	}
	ns := c.at[row*c.events+int(position-1)].Load()
	return time.Unix(0, ns), ns != 0
}

// benchWatcher consumes the actions topic read_committed and times each record.
type benchWatcher struct {
	done chan struct{}
	res  BenchResult
	err  error
}

func watchActions(ctx context.Context, kafka []kgo.Opt, topic string, clock *sendClock) *benchWatcher {
	w := &benchWatcher{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.res, w.err = w.run(ctx, kafka, topic, clock)
	}()
	return w
}

func (w *benchWatcher) run(ctx context.Context, kafka []kgo.Opt, topic string, clock *sendClock) (BenchResult, error) {
	total := len(clock.index) * clock.events
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, kafka...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.MetadataMinAge(250*time.Millisecond),
		// A reader that cares about latency, as the raw producer's
		// latency floors read theirs (bench.LatencyFloors).
		kgo.FetchMaxWait(bench.ReaderFetchMaxWait))...)
	if err != nil {
		return BenchResult{}, err
	}
	defer cl.Close()
	lat := make([]time.Duration, 0, total)
	fromReceive := make([]time.Duration, 0, total)
	last := make([]int64, len(clock.index)) // last position seen per fixture
	var bad error
	var lastSeen time.Time
	seen := 0
	for seen < total && bad == nil {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return BenchResult{}, fmt.Errorf("imgarena bench: saw %d of %d records: %w", seen, total, context.Cause(ctx))
		}
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			if bad != nil {
				return
			}
			row, ok := clock.index[string(r.Key)]
			pos, perr := strconv.ParseInt(header(r, connector.HeaderPosition), 10, 64)
			if !ok || perr != nil {
				bad = fmt.Errorf("imgarena bench: record with key %q position %q is no simulated action", r.Key, header(r, connector.HeaderPosition))
				return
			}
			if pos != last[row]+1 {
				bad = fmt.Errorf("imgarena bench: fixture %s: position %d after %d: not exactly once in order", r.Key, pos, last[row])
				return
			}
			last[row] = pos
			sent, ok := clock.sent(row, pos)
			if !ok {
				bad = fmt.Errorf("imgarena bench: fixture %s position %d visible but never sent", r.Key, pos)
				return
			}
			seen++
			lastSeen = now
			if sent.Sub(time.Unix(0, clock.first.Load())) < clock.warmup {
				return
			}
			lat = append(lat, now.Sub(sent))
			if rcv, err := time.Parse(time.RFC3339Nano, header(r, connector.HeaderReceivedAt)); err == nil {
				fromReceive = append(fromReceive, now.Sub(rcv))
			}
		})
	}
	if bad != nil {
		return BenchResult{}, bad
	}
	res := BenchResult{Records: seen, Measured: len(lat), Warmup: clock.warmup, Elapsed: lastSeen.Sub(time.Unix(0, clock.first.Load()))}
	res.P50, res.P99 = percentiles(lat)
	res.ReceivedP50, res.ReceivedP99 = percentiles(fromReceive)
	return res, nil
}

func (w *benchWatcher) wait() (BenchResult, error) {
	<-w.done
	return w.res, w.err
}

// percentiles returns the 50th and 99th percentile of d (sorting it).
func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100]
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
