// Package bench measures the pipeline on a real broker beside a baseline
// measured in the same run on the same broker: the raw franz-go producer
// writing the same bytes without transactions. It prints events/s, bytes/s
// and creation-to-visibility latency percentiles for both, and their ratio.
package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
)

// Options configure a run.
type Options struct {
	Brokers         []string
	RegistryURL     string
	Partitions      int           // synthetic source partitions
	Events          int           // events per source partition
	TopicPartitions int32         // partitions of each topic
	Tasks           int           // tasks.max of the pipeline
	Interval        time.Duration // transaction.boundary.interval.ms; 0: the default boundary (adaptive)
	Rate            int           // events/s of the paced latency runs (0: skip them)
	RateEvents      int           // events per source partition in the paced runs
	// Rounds is how many times the unpaced pair runs, alternating raw and
	// pipeline; the medians are compared (1 when 0). The raw producer's
	// own figure moves by half from one run to the next on a 2-core
	// machine, so one pair's ratio says little.
	Rounds int
	Prefix string // unique topic/group prefix for this run
	Out    io.Writer
	Log    *zap.Logger
}

// Result is one measured run.
type Result struct {
	Name     string
	Records  int
	Bytes    int64
	Elapsed  time.Duration // first record created to last record visible
	P50, P99 time.Duration // creation to visibility
}

// EventsPerSec is the throughput.
func (r Result) EventsPerSec() float64 { return float64(r.Records) / r.Elapsed.Seconds() }

// MBPerSec is the value throughput in MB/s.
func (r Result) MBPerSec() float64 { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%-34s %9d records  %10.0f events/s  %7.1f MB/s  p50 %8s  p99 %8s",
		r.Name, r.Records, r.EventsPerSec(), r.MBPerSec(), r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond))
}

// Summary is what Run measured: each pair of the raw baseline and the
// pipeline. Paced is zero when Options.Rate is 0.
type Summary struct {
	Raw, Pipeline           Result // the unpaced throughput pair
	PacedRaw, PacedPipeline Result // the paced latency pair
}

// Run measures the raw baseline, then the pipeline, and prints both and the
// ratio; it returns the results for reports that compare against them.
func Run(ctx context.Context, o Options) (Summary, error) {
	var sum Summary
	kafka := []kgo.Opt{kgo.SeedBrokers(o.Brokers...)}
	src, err := sr.NewClient(sr.URLs(o.RegistryURL))
	if err != nil {
		return sum, err
	}
	fmt.Fprintf(o.Out, "benchmark: %d source partitions, values ~600 bytes, %d-partition topics, real broker %v\n",
		o.Partitions, o.TopicPartitions, o.Brokers)
	fmt.Fprintf(o.Out, "\n1. throughput: %d records as fast as each side goes (latency here is mostly queueing)\n", o.Partitions*o.Events)
	unpaced := o
	unpaced.Rate = 0
	var raws, pipes []Result
	for i := range max(o.Rounds, 1) {
		raw, pipe, err := pair(ctx, unpaced, kafka, src, fmt.Sprintf("max%d", i))
		if err != nil {
			return sum, err
		}
		raws, pipes = append(raws, raw), append(pipes, pipe)
	}
	sum.Raw, sum.Pipeline = median(raws), median(pipes)
	if len(raws) > 1 {
		fmt.Fprintf(o.Out, "medians of %d alternating runs: raw %.0f events/s, pipeline %.0f events/s\n", len(raws), sum.Raw.EventsPerSec(), sum.Pipeline.EventsPerSec())
	}
	fmt.Fprintf(o.Out, "ratio pipeline/raw: %.2f events/s\n", sum.Pipeline.EventsPerSec()/sum.Raw.EventsPerSec())
	if o.Rate <= 0 {
		return sum, nil
	}
	paced := o
	paced.Events = o.RateEvents
	fmt.Fprintf(o.Out, "\n2. latency: %d records paced at %d events/s, creation to visibility\n", o.Partitions*o.RateEvents, o.Rate)
	raw, pipe, err := pair(ctx, paced, kafka, src, "paced")
	if err != nil {
		return sum, err
	}
	sum.PacedRaw, sum.PacedPipeline = raw, pipe
	fmt.Fprintf(o.Out, "ratio pipeline/raw: %.2f events/s; p50 %s vs %s, p99 %s vs %s (exactly-once, %s, vs at-least-once)\n",
		pipe.EventsPerSec()/raw.EventsPerSec(), pipe.P50.Round(time.Millisecond), raw.P50.Round(time.Millisecond),
		pipe.P99.Round(time.Millisecond), raw.P99.Round(time.Millisecond), boundaryName(o.Interval))
	return sum, nil
}

// median is the result of median events/s among rs (the lower middle one
// for an even count).
func median(rs []Result) Result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b Result) int { return cmp.Compare(a.EventsPerSec(), b.EventsPerSec()) })
	return s[(len(s)-1)/2]
}

// pair runs the raw baseline and then the pipeline with the same options.
func pair(ctx context.Context, o Options, kafka []kgo.Opt, src *sr.Client, tag string) (Result, Result, error) {
	o.Prefix += "." + tag
	raw, err := runRaw(ctx, o, kafka, src)
	if err != nil {
		return Result{}, Result{}, fmt.Errorf("raw producer baseline: %w", err)
	}
	fmt.Fprintln(o.Out, raw)
	pipe, err := runPipeline(ctx, o, kafka, src)
	if err != nil {
		return Result{}, Result{}, fmt.Errorf("pipeline: %w", err)
	}
	fmt.Fprintln(o.Out, pipe)
	return raw, pipe, nil
}

// createTopic makes a fresh topic with the run's partition count and waits
// until every partition has a leader, so neither side's first records wait
// on metadata (the worker waits the same way for the topics it creates).
func createTopic(ctx context.Context, kafka []kgo.Opt, name string, partitions int32) error {
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
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		tds, err := adm.ListTopics(ctx, name)
		if err == nil {
			if td, ok := tds[name]; ok && td.Err == nil && len(td.Partitions) == int(partitions) {
				ready := true
				for _, p := range td.Partitions {
					ready = ready && p.Err == nil && p.Leader >= 0
				}
				if ready {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s has no leaders after 30s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runRaw writes the same encoded values with plain idempotent producers,
// without transactions, and measures them as a read_uncommitted consumer
// sees them. It runs as many producers as the pipeline runs tasks, each
// owning the same share of the source partitions, so the two differ only
// in what the pipeline adds: the worker, transactions and offsets.
func runRaw(ctx context.Context, o Options, kafka []kgo.Opt, src *sr.Client) (Result, error) {
	topic := o.Prefix + ".raw"
	if err := createTopic(ctx, kafka, topic, o.TopicPartitions); err != nil {
		return Result{}, err
	}
	ser := avroreg.NewSerializer(src)
	schema := synthetic.Schema()
	if err := ser.Register(ctx, topic, schema); err != nil {
		return Result{}, err
	}
	watch := startWatcher(ctx, kafka, topic, o.Partitions*o.Events, false)
	producers := max(o.Tasks, 1)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		bytes int64
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	for i := 0; i < producers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			n, err := produceRaw(ctx, o, kafka, ser, schema, topic, i, producers)
			mu.Lock()
			bytes += n
			mu.Unlock()
			if err != nil {
				fail(err)
			}
		}(i)
	}
	wg.Wait()
	if first != nil {
		return Result{}, first
	}
	res, err := watch.wait()
	res.Name, res.Bytes = fmt.Sprintf("raw franz-go producer (no txn, %d)", producers), bytes
	return res, err
}

// produceRaw is producer i of m: it writes the events of the source
// partitions p with p mod m = i, paced at its share of o.Rate, and returns
// the value bytes written.
func produceRaw(ctx context.Context, o Options, kafka []kgo.Opt, ser *avroreg.Serializer, schema avro.Schema, topic string, i, m int) (int64, error) {
	cl, err := kgo.NewClient(kafka...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	var (
		bytes   int64
		errOnce sync.Once
		perr    error
	)
	rate := float64(o.Rate) / float64(m)
	start := time.Now()
	sent := 0
	for n := 1; n <= o.Events; n++ {
		for p := i; p < o.Partitions; p += m {
			if rate > 0 {
				// Pace like the synthetic source does: never ahead of rate.
				if ahead := time.Duration(float64(sent)/rate*float64(time.Second)) - time.Since(start); ahead > 0 {
					time.Sleep(ahead)
				}
			}
			sent++
			now := time.Now()
			v, err := ser.AppendEncode(nil, topic, schema, synthetic.Make(int32(p), int64(n), 560))
			if err != nil {
				return bytes, err
			}
			bytes += int64(len(v))
			cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte(synthetic.Key(int32(p))), Value: v, Timestamp: now,
				Headers: connector.SourceHeaders(synthetic.Class, fmt.Sprint(n), now)},
				func(_ *kgo.Record, err error) {
					if err != nil {
						errOnce.Do(func() { perr = err })
					}
				})
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return bytes, err
	}
	return bytes, perr
}

// runPipeline runs the synthetic connector through the worker with
// exactly-once transactions and measures what a read_committed consumer sees.
func runPipeline(ctx context.Context, o Options, kafka []kgo.Opt, src *sr.Client) (Result, error) {
	prefix := o.Prefix + ".pipe"
	topic := prefix + ".synthetic.events"
	if err := createTopic(ctx, kafka, topic, o.TopicPartitions); err != nil {
		return Result{}, err
	}
	total := o.Partitions * o.Events
	watch := startWatcher(ctx, kafka, topic, total, true)
	w, err := worker.New(connector.NewPlugins(synthetic.Plugin()),
		worker.WithKafka(kafka...),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(o.Log),
		worker.WithGroupID(o.Prefix),
		worker.WithOffsetsTopic(o.Prefix+".offsets", 5, -1),
	)
	if err != nil {
		return Result{}, err
	}
	if err := w.Start(ctx); err != nil {
		return Result{}, err
	}
	cfg := connector.Config{
		connector.KeyName: "bench", connector.KeyClass: synthetic.Class, connector.KeyTasksMax: fmt.Sprint(o.Tasks),
		connector.KeyTopicPrefix: prefix,
		synthetic.KeyPartitions:  fmt.Sprint(o.Partitions), synthetic.KeyEvents: fmt.Sprint(o.Events),
		synthetic.KeyBatch: "2000",
	}
	if o.Interval > 0 {
		cfg[connector.KeyTxnBoundary] = connector.BoundaryInterval
		cfg[connector.KeyTxnBoundaryIntervalMs] = fmt.Sprint(o.Interval.Milliseconds())
	}
	if o.Rate > 0 {
		cfg[synthetic.KeyRate] = fmt.Sprint(max(1, o.Rate/o.Tasks))
	}
	if err := w.CreateConnector(ctx, cfg); err != nil {
		return Result{}, err
	}
	res, err := watch.wait()
	var bytes int64
	if st, serr := w.Status("bench"); serr == nil {
		for _, t := range st.Tasks {
			bytes += t.Stats.BytesWritten
		}
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	res.Name, res.Bytes = fmt.Sprintf("pipeline, exactly-once (%d tasks, %s)", o.Tasks, boundaryName(o.Interval)), bytes
	return res, err
}

// watcher consumes a topic and records each record's creation-to-visibility latency.
type watcher struct {
	done chan struct{}
	res  Result
	err  error
}

// startWatcher starts consuming topic (read_committed when committed is
// set) and records every record's creation-to-visibility latency until it
// saw total records. It returns once the consumer is fetching (metadata loaded, start offsets
// resolved, a first fetch answered), so what it measures is the writer's
// latency, not the consumer's own start-up.
func startWatcher(ctx context.Context, kafka []kgo.Opt, topic string, total int, committed bool) *watcher {
	w := &watcher{done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(w.done)
		opts := append(append([]kgo.Opt{}, kafka...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if committed {
			opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			w.err = err
			close(ready)
			return
		}
		defer cl.Close()
		warm, cancel := context.WithTimeout(ctx, time.Second)
		first0 := cl.PollFetches(warm) // nothing is written yet: this only warms the consumer up
		cancel()
		close(ready)
		lat := make([]time.Duration, 0, total)
		first0.EachRecord(func(r *kgo.Record) { lat = append(lat, time.Since(r.Timestamp)) })
		var first time.Time
		for len(lat) < total {
			fs := cl.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				w.err = fmt.Errorf("saw %d of %d records: %w", len(lat), total, err)
				return
			}
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				if first.IsZero() || r.Timestamp.Before(first) {
					first = r.Timestamp
				}
				lat = append(lat, now.Sub(r.Timestamp))
			})
		}
		w.res.Records = len(lat)
		w.res.Elapsed = time.Since(first)
		slices.Sort(lat)
		w.res.P50 = lat[len(lat)/2]
		w.res.P99 = lat[len(lat)*99/100]
	}()
	<-ready
	return w
}

func (w *watcher) wait() (Result, error) {
	<-w.done
	return w.res, w.err
}

// boundaryName names the pipeline's transaction boundary.
func boundaryName(interval time.Duration) string {
	if interval > 0 {
		return interval.String() + " interval"
	}
	return "adaptive boundary"
}
