package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// scripted is a test plugin: one source partition, positions 1..n, one per
// record, with hooks deciding what each position becomes.
type scripted struct {
	n         int64
	batch     int64
	pace      time.Duration // each Poll waits this long first
	schema    avro.Schema
	starts    atomic.Int64 // Start calls: 1 + restarts
	pollErrAt atomic.Int64 // Poll fails (once) when about to emit this position
	emitted   atomic.Int64 // the last position a Poll handed over
	dead      map[int64]bool
	badValue  map[int64]bool // values that do not match the schema
	huge      map[int64]bool // values larger than the producer may buffer
	derived   bool           // each record's Then adds one with position + 1,000,000
	thens     atomic.Int64   // Then calls
	committed sync.Map       // position -> error passed to OnCommit
}

const scriptedSchema = `{"type":"record","name":"S","namespace":"test","fields":[{"name":"pos","type":"long"},{"name":"pad","type":"string","default":""}]}`

type sValue struct {
	Pos int64  `avro:"pos"`
	Pad string `avro:"pad"`
}

func (s *scripted) plugin() connector.Plugin {
	return connector.Plugin{Class: "scripted", New: func(*zap.Logger) connector.Connector { return &sConn{s: s} }}
}

type sConn struct{ s *scripted }

func (c *sConn) Start(context.Context, connector.Config) error { return nil }
func (c *sConn) Topics() []connector.TopicSpec {
	return []connector.TopicSpec{{Name: "scripted", Schema: c.s.schema}}
}
func (c *sConn) TaskConfigs(int) ([]connector.Config, error) { return []connector.Config{{}}, nil }
func (c *sConn) NewTask() connector.SourceTask               { return &sTask{s: c.s} }
func (c *sConn) Stop() error                                 { return nil }

type sTask struct {
	s    *scripted
	p    connector.Partition
	last int64
}

func (t *sTask) Start(_ context.Context, tc *connector.TaskContext) error {
	t.s.starts.Add(1)
	t.p = connector.NewPartition(map[string]any{"stream": "s"})
	if o, ok := tc.Offset(t.p); ok {
		t.last, _ = o.OffsetInt("position")
	}
	return nil
}

func (t *sTask) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	if t.s.pace > 0 && t.last < t.s.n {
		time.Sleep(t.s.pace)
	}
	var out []*connector.SourceRecord
	for int64(len(out)) < t.s.batch && t.last < t.s.n {
		n := t.last + 1
		if t.s.pollErrAt.CompareAndSwap(n, 0) {
			return nil, fmt.Errorf("provider hiccup before position %d", n)
		}
		t.last = n
		r := &connector.SourceRecord{
			Partition: t.p, Offset: connector.Offset{"position": n}, Topic: "scripted",
			Key: []byte("k"), Value: sValue{Pos: n}, Schema: t.s.schema, Raw: []byte(fmt.Sprintf("raw-%d", n)),
			OnCommit: func(err error) { t.s.committed.Store(n, err) },
		}
		switch {
		case t.s.dead[n]:
			r.DeadLetter = &connector.DeadLetter{Raw: []byte(fmt.Sprintf("garbage-%d", n)), Err: errors.New("malformed packet"), Stage: connector.StageTaskPoll}
		case t.s.badValue[n]:
			r.Value = map[string]any{"nope": "x"}
		case t.s.huge[n]:
			r.Value = sValue{Pos: n, Pad: strings.Repeat("x", 512<<10)}
		}
		if t.s.derived {
			r.Then = func() []*connector.SourceRecord {
				t.s.thens.Add(1)
				return []*connector.SourceRecord{{Partition: r.Partition, Offset: r.Offset, Topic: "scripted", Key: []byte("k"),
					Value: sValue{Pos: n + 1_000_000}, Schema: t.s.schema}}
			}
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		<-ctx.Done()
		return nil, nil
	}
	t.s.emitted.Store(t.last)
	return out, nil
}

func (t *sTask) Stop() error { return nil }

// scriptedEnv runs s on kfake.
type scriptedEnv struct {
	env *embedded.Env
	w   *worker.Worker
}

func startScripted(t *testing.T, s *scripted, extra connector.Config, opts ...worker.Option) *scriptedEnv {
	t.Helper()
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	src, _ := sr.NewClient(sr.URLs(env.RegistryURL()))
	s.schema = avro.MustParse(scriptedSchema)
	w, err := worker.New(connector.NewPlugins(s.plugin()), append([]worker.Option{
		worker.WithKafka(kgo.SeedBrokers(env.Brokers()...)),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(zaptest.NewLogger(t)),
		worker.WithOffsetsTopic("offsets", 1, -1),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := connector.Config{"name": "s", "connector.class": "scripted", "topic.prefix": ""}
	for k, v := range extra {
		cfg[k] = v
	}
	if err := w.CreateConnector(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return &scriptedEnv{env: env, w: w}
}

func (e *scriptedEnv) status(t *testing.T) worker.TaskStatus {
	st, err := e.w.Status("s")
	if err != nil {
		t.Fatal(err)
	}
	return st.Tasks[0]
}

func (e *scriptedEnv) waitPosition(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ts := e.status(t)
		if ts.State == worker.StateFailed {
			t.Fatalf("task failed: %s", ts.Trace)
		}
		for _, o := range ts.Stats.Committed {
			if p, _ := o.OffsetInt("position"); p == n {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("position %d not committed; status %+v", n, e.status(t))
}

// read returns every committed record of topic.
func (e *scriptedEnv) read(t *testing.T, topic string) []*kgo.Record {
	t.Helper()
	// To the end the topic has now, read_committed: a read that stopped at
	// the first quiet poll saw nothing when the machine was slow.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	err := readback.Committed(ctx, []kgo.Opt{kgo.SeedBrokers(e.env.Brokers()...)}, []string{topic}, func(r *kgo.Record) error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func positions(t *testing.T, rs []*kgo.Record, src string) []int64 {
	t.Helper()
	cl, _ := sr.NewClient(sr.URLs(src))
	dec := avroreg.NewDecoder(cl)
	var out []int64
	for _, r := range rs {
		var v sValue
		if err := dec.Decode(context.Background(), r.Value, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.Pos)
	}
	return out
}

func TestDeadLettersWithToleranceAll(t *testing.T) {
	s := &scripted{n: 10, batch: 4, dead: map[int64]bool{3: true}, badValue: map[int64]bool{7: true}}
	e := startScripted(t, s, connector.Config{"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "dlq"})
	e.waitPosition(t, 10)
	st := e.status(t)
	if err := e.w.Close(); err != nil {
		t.Fatal(err)
	}
	got := positions(t, e.read(t, "scripted"), e.env.RegistryURL())
	if fmt.Sprint(got) != "[1 2 4 5 6 8 9 10]" {
		t.Fatalf("written positions %v", got)
	}
	dlq := e.read(t, "dlq")
	if len(dlq) != 2 || string(dlq[0].Value) != "garbage-3" || string(dlq[1].Value) != "raw-7" {
		t.Fatalf("dead letters %v", dlq)
	}
	h := map[string]string{}
	for _, x := range dlq[0].Headers {
		h[x.Key] = string(x.Value)
	}
	want := map[string]string{
		worker.HeaderErrTopic: "scripted", worker.HeaderErrConnector: "s", worker.HeaderErrTask: "0",
		worker.HeaderErrStage: connector.StageTaskPoll, worker.HeaderErrExcMessage: "malformed packet",
		worker.HeaderErrSourceOffset: `{"position":3}`,
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	if st.Stats.DeadLetters != 2 || st.Stats.RecordsWritten != 8 {
		t.Errorf("stats %+v", st.Stats)
	}
}

func TestDeadLetterWithToleranceNoneFailsTask(t *testing.T) {
	s := &scripted{n: 10, batch: 4, dead: map[int64]bool{6: true}}
	e := startScripted(t, s, nil)
	deadline := time.Now().Add(10 * time.Second)
	for e.status(t).State != worker.StateFailed {
		if time.Now().After(deadline) {
			t.Fatalf("task did not fail: %+v", e.status(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := e.status(t)
	if !strings.Contains(st.Trace, worker.ErrDeadLetter.Error()) || !strings.Contains(st.Trace, "malformed packet") {
		t.Fatalf("trace %q", st.Trace)
	}
	// The first batch (1..4) committed; the batch holding 6 was aborted.
	if got := positions(t, e.read(t, "scripted"), e.env.RegistryURL()); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("written positions %v", got)
	}
	if v, ok := s.committed.Load(int64(5)); !ok || v == nil {
		t.Fatalf("OnCommit of aborted position 5 = %v, %v; want an error", v, ok)
	}
	if v, ok := s.committed.Load(int64(2)); !ok || v != nil {
		t.Fatalf("OnCommit of committed position 2 = %v, %v; want nil", v, ok)
	}
}

func TestPollErrorAbortsAndRestartsFromCommitted(t *testing.T) {
	s := &scripted{n: 30, batch: 4}
	s.pollErrAt.Store(15)
	e := startScripted(t, s, connector.Config{"transaction.boundary": "interval", "transaction.boundary.interval.ms": "100000"}, worker.WithTransactionTimeout(300*time.Second))
	// With a 100 s interval nothing commits before the error at 15, so
	// positions 1..14 are produced, aborted, and produced again after the
	// restart.
	deadline := time.Now().Add(20 * time.Second)
	for s.starts.Load() < 2 || s.emitted.Load() < 30 {
		if time.Now().After(deadline) {
			t.Fatalf("task not restarted, or the restarted task did not hand over 1..30: %+v", e.status(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := e.status(t)
	if err := e.w.Close(); err != nil { // graceful stop commits the open transaction
		t.Fatal(err)
	}
	got := positions(t, e.read(t, "scripted"), e.env.RegistryURL())
	for i, p := range got {
		if p != int64(i+1) {
			t.Fatalf("positions %v: want 1..%d once each", got, len(got))
		}
	}
	if len(got) != 30 {
		t.Fatalf("positions %v, want 1..30", got)
	}
	if st.Stats.Restarts != 1 || st.Stats.Aborts != 1 {
		t.Fatalf("stats %+v, want 1 restart and 1 abort", st.Stats)
	}
}

func TestGracefulStopCommitsOpenTransaction(t *testing.T) {
	s := &scripted{n: 50, batch: 50}
	e := startScripted(t, s, connector.Config{"transaction.boundary": "interval", "transaction.boundary.interval.ms": "100000"}, worker.WithTransactionTimeout(300*time.Second))
	// Give the task time to start and hand over all 50 records, which the
	// 100 s interval keeps in an open transaction.
	time.Sleep(500 * time.Millisecond)
	if s.starts.Load() != 1 {
		t.Fatalf("task started %d times", s.starts.Load())
	}
	if _, ok := s.committed.Load(int64(50)); ok {
		t.Fatal("committed before the interval or the stop")
	}
	start := time.Now()
	if err := e.w.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("stop took %s", took)
	}
	if got := positions(t, e.read(t, "scripted"), e.env.RegistryURL()); len(got) != 50 {
		t.Fatalf("after a graceful stop %d records are committed, want 50", len(got))
	}
	if v, ok := s.committed.Load(int64(50)); !ok || v != nil {
		t.Fatalf("OnCommit(50) = %v, %v", v, ok)
	}
}

// TestRecordFailingBeforeBufferingIsNeverAcknowledged: a record the producer
// refuses before buffering it (larger than a batch may be) has its promise
// run after Flush returns. The transaction must not commit as if it were
// written: its OnCommit gets the error and nothing of the batch is visible.
func TestRecordFailingBeforeBufferingIsNeverAcknowledged(t *testing.T) {
	s := &scripted{n: 6, batch: 3, huge: map[int64]bool{5: true}}
	// With a buffer cap below the record's size, kgo fails the record
	// before buffering it.
	e := startScripted(t, s, connector.Config{"errors.retry.timeout": "0"},
		worker.WithProducerOpts(kgo.MaxBufferedBytes(256<<10)))
	deadline := time.Now().Add(15 * time.Second)
	for e.status(t).State != worker.StateFailed {
		if time.Now().After(deadline) {
			t.Fatalf("task did not fail: %+v", e.status(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v, ok := s.committed.Load(int64(5)); !ok || v == nil {
		t.Fatalf("OnCommit of the refused record = %v, %v; want an error", v, ok)
	}
	if v, ok := s.committed.Load(int64(4)); !ok || v == nil {
		t.Fatalf("OnCommit of its batch-mate = %v, %v; want an error", v, ok)
	}
	if got := positions(t, e.read(t, "scripted"), e.env.RegistryURL()); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("written positions %v, want only the first batch", got)
	}
}

// TestBoundaries: how many transactions a paced stream of one-record polls makes
// under each boundary. poll commits each batch; adaptive commits whatever
// arrived while the previous commit settled, never twice within the
// settle time; interval commits once per interval.
func TestBoundaries(t *testing.T) {
	tests := []struct {
		name  string
		cfg   connector.Config
		every time.Duration // the shortest time between two commits
	}{
		{name: "poll", cfg: connector.Config{"transaction.boundary": "poll"}},
		{name: "adaptive", cfg: connector.Config{"transaction.boundary.settle.ms": "40"}, every: 40 * time.Millisecond},
		{name: "interval", cfg: connector.Config{"transaction.boundary": "interval", "transaction.boundary.interval.ms": "60"}, every: 60 * time.Millisecond},
	}
	const n = 300
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{n: n, batch: 1, pace: 2 * time.Millisecond}
			start := time.Now()
			e := startScripted(t, s, tt.cfg)
			e.waitPosition(t, n)
			elapsed := time.Since(start)
			commits := e.status(t).Stats.Commits
			if got := positions(t, e.read(t, "scripted"), e.env.RegistryURL()); len(got) != n {
				t.Fatalf("%d records committed, want %d", len(got), n)
			}
			if tt.every == 0 {
				// One transaction per poll: one record each.
				if commits != n {
					t.Fatalf("%d commits for %d one-record polls, want one each", commits, n)
				}
				return
			}
			if most := int64(elapsed/tt.every) + 1; commits > most || commits > n/4 {
				t.Fatalf("%d commits in %s: more than one per %s (at most %d), or fewer than 4 records each", commits, elapsed, tt.every, most)
			}
			t.Logf("%d commits in %s for %d records", commits, elapsed.Round(time.Millisecond), n)
		})
	}
}

// TestStalledFlushOfAFencedTaskFailsAsFenced stalls the task's produce
// requests while another producer takes its transactional id: the commit's
// flush gives up after a quarter of the transaction timeout, and the abort's
// refused epoch tells the runner it was fenced. Unbounded, the flush waited
// as long as the produce did (a takeover once left a task so for a minute).
func TestStalledFlushOfAFencedTaskFailsAsFenced(t *testing.T) {
	s := &scripted{n: 1 << 30, batch: 5, pace: 2 * time.Millisecond}
	e := startScripted(t, s, nil, worker.WithTransactionTimeout(4*time.Second))
	deadline := time.Now().Add(20 * time.Second)
	for e.status(t).Stats.Commits < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("no 5 commits: %+v", e.status(t))
		}
		time.Sleep(10 * time.Millisecond)
	}

	release := make(chan struct{})
	defer close(release)
	var stalled atomic.Int64
	c := e.env.Cluster()
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if p := req.(*kmsg.ProduceRequest); p.TransactionID != nil && strings.HasSuffix(*p.TransactionID, "-s-0") {
			stalled.Add(1)
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	for stalled.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	id := worker.TransactionalID(e.w.GroupID(), "s", 0)
	start := time.Now()
	fence, err := kgo.NewClient(kgo.SeedBrokers(e.env.Brokers()...), kgo.TransactionalID(id))
	if err != nil {
		t.Fatal(err)
	}
	defer fence.Close()
	if _, _, err := fence.ProducerID(context.Background()); err != nil {
		t.Fatalf("fencing %s: %v", id, err)
	}
	for {
		ts := e.status(t)
		if ts.State == worker.StateFailed {
			if !strings.Contains(ts.Trace, worker.ErrFenced.Error()) || !strings.Contains(ts.Trace, "flushing transaction") {
				t.Fatalf("task failed, but not as fenced after its flush: %s", ts.Trace)
			}
			t.Logf("fenced after %s: %s", time.Since(start).Round(time.Millisecond), ts.Trace)
			return
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("task not failed as fenced 10 s after the takeover (flush bound 1 s): %+v", ts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestThenRecordsFollowTheirRecord checks SourceRecord.Then: what it returns
// is built when its record is written, and written right after it, in the
// same transactions, exactly once.
func TestThenRecordsFollowTheirRecord(t *testing.T) {
	s := &scripted{n: 40, batch: 7, derived: true}
	obs := &countingObserver{}
	e := startScripted(t, s, nil, worker.WithObserver(obs))
	e.waitPosition(t, 40)
	if err := e.w.Close(); err != nil {
		t.Fatal(err)
	}
	got := positions(t, e.read(t, "scripted"), e.env.RegistryURL())
	var want []int64
	for n := int64(1); n <= 40; n++ {
		want = append(want, n, n+1_000_000)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("positions %v, want %v", got, want)
	}
	if s.thens.Load() != 40 {
		t.Fatalf("Then called %d times, want 40", s.thens.Load())
	}
	if n := obs.polled.Load(); n != 80 {
		t.Fatalf("polled %d records, want the 40 of Poll and the 40 Then built", n)
	}
}

// countingObserver counts the records the worker says it polled.
type countingObserver struct{ polled atomic.Int64 }

func (o *countingObserver) Task(string, int) worker.TaskObserver { return o }
func (o *countingObserver) Forget(string)                        {}
func (o *countingObserver) Reconnected()                         {}
func (o *countingObserver) SequenceGap(int64)                    {}
func (o *countingObserver) CommitLag(string, time.Duration)      {}
func (o *countingObserver) FixtureDone(string)                   {}
func (o *countingObserver) Polled(n int)                         { o.polled.Add(int64(n)) }
func (o *countingObserver) Committed(worker.Commit)              {}
