package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// TestRestartSeesOwnCommitBehindOpenTransaction: a transaction of another
// task id is open on the offsets topic (a zombie left by a crash) when the
// task commits positions 11..20 and stops. The restarted task must start
// from 20, not from 10 (the last commit below the zombie's first record,
// where the last stable offset stops), and so write nothing twice. The
// zombie is another connector's task in the worker group (fenced once the
// offsets read stalls on it), the connector's own former task 1 (fenced when
// the connector starts), or a transactional id outside the group (waited for
// until the broker's transaction timeout aborts it).
func TestRestartSeesOwnCommitBehindOpenTransaction(t *testing.T) {
	for _, tc := range []struct {
		name    string
		zombie  func(n names) string
		timeout time.Duration // the zombie's transaction.timeout.ms
	}{
		{"another connector's task", func(n names) string { return worker.TransactionalID(n.group, "gone", 0) }, time.Minute},
		{"the connector's former task 1", func(n names) string { return worker.TransactionalID(n.group, "steps", 1) }, time.Minute},
		{"outside the worker group", func(n names) string { return n.prefix + "-elsewhere" }, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			n := newNames(t)
			s := &stepper{n: 10}
			cfg := connector.Config{"name": "steps", "connector.class": "stepper", "tasks.max": "1", "topic.prefix": n.prefix,
				"topic.creation.default.partitions": "1"}

			w1 := stepperWorker(t, n, s)
			if err := w1.CreateConnector(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			waitSteps(t, w1, "steps", 10)
			// w1 stays up; its task idles, with its last commit at 10.

			zombie := testenv.Client(t, kgo.TransactionalID(tc.zombie(n)), kgo.TransactionTimeout(tc.timeout),
				kgo.DefaultProduceTopic(n.offsets))
			if err := zombie.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			key := worker.OffsetKey("gone", connector.NewPartition(map[string]any{"step": "0"}))
			if err := zombie.ProduceSync(ctx, &kgo.Record{Key: key, Value: []byte(`{"position":7}`)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			// The zombie's process "dies": its transaction stays open.

			s.setLimit(20)
			waitSteps(t, w1, "steps", 20) // committed above the zombie's record
			if err := w1.Close(); err != nil {
				t.Fatal(err)
			}

			w2 := stepperWorker(t, n, s)
			defer w2.Close()
			start := time.Now()
			if err := w2.CreateConnector(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 90*time.Second, "the restarted task starts", func() bool { return len(s.starts()) == 2 })
			took := time.Since(start)
			if got := s.starts(); got[1] != 20 {
				t.Fatalf("the restarted task started from position %d, want 20 (its own last commit); starts %v", got[1], got)
			}
			time.Sleep(300 * time.Millisecond) // a task started from a stale offset would be writing now
			if err := w2.Close(); err != nil {
				t.Fatal(err)
			}
			checkSteps(t, stepCounts(ctx, t, n.prefix+".steps"), 1, 20)
			t.Logf("restarted task started from its own last commit (20) %s after the connector was added", took.Round(time.Millisecond))
		})
	}
}

// TestTransactionTimeoutRestartsTheTask: a poll stalls past the producer's
// transaction timeout, the broker aborts the transaction and refuses the
// producer's epoch. That is not another owner: the task must restart from
// its committed offsets (and write every position once), not fail as fenced.
func TestTransactionTimeoutRestartsTheTask(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n := newNames(t)
	const timeout = 2 * time.Second
	// The broker looks for timed-out transactions every 10 s (its default
	// transaction.abort.timed.out.transaction.cleanup.interval.ms).
	s := &stepper{n: 30, stallAt: 10, stallFor: timeout + 11*time.Second}
	w := stepperWorker(t, n, s, worker.WithTransactionTimeout(timeout))
	defer w.Close()
	cfg := connector.Config{"name": "steps", "connector.class": "stepper", "tasks.max": "1", "topic.prefix": n.prefix,
		"transaction.boundary": "interval", "transaction.boundary.interval.ms": "500",
		"topic.creation.default.partitions": "1"}
	if err := w.CreateConnector(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	waitSteps(t, w, "steps", 30)
	st, _ := w.Status("steps")
	if st.Tasks[0].Stats.Restarts < 1 {
		t.Fatalf("the task never restarted: %+v", st.Tasks[0])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkSteps(t, stepCounts(ctx, t, n.prefix+".steps"), 1, 30)
	t.Logf("task restarted %d time(s) after the timed-out transaction; starts from %v", st.Tasks[0].Stats.Restarts, s.starts())
}

// TestIntervalMustFitTransactionTimeout: an interval longer than half the
// transaction timeout is refused with the key named.
func TestIntervalMustFitTransactionTimeout(t *testing.T) {
	n := newNames(t)
	w := stepperWorker(t, n, &stepper{n: 1}, worker.WithTransactionTimeout(10*time.Second))
	defer w.Close()
	err := w.CreateConnector(context.Background(), connector.Config{"name": "steps", "connector.class": "stepper", "topic.prefix": n.prefix,
		"transaction.boundary": "interval", "transaction.boundary.interval.ms": "6000"})
	if err == nil {
		t.Fatal("an interval of 6 s was accepted with a 10 s transaction timeout")
	}
	want := fmt.Sprintf("%q", connector.KeyTxnBoundaryIntervalMs)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), worker.WKeyTxnTimeoutMs) {
		t.Fatalf("error does not name %s and %s: %v", want, worker.WKeyTxnTimeoutMs, err)
	}
}

// TestOffsetsTopicMustBeCompacted: an existing offsets topic with
// cleanup.policy=delete would lose the offsets of quiet source partitions
// after retention; the worker refuses to start on it, naming the topic and
// the fix. A compacted one (or one the worker creates) is accepted.
func TestOffsetsTopicMustBeCompacted(t *testing.T) {
	n := newNames(t)
	testenv.CreateTopic(t, n.offsets, 1, map[string]string{"cleanup.policy": "delete"})
	src, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(connector.NewPlugins(), worker.WithKafka(kgo.SeedBrokers(testenv.Brokers(t)...)),
		worker.WithSerializer(avroreg.NewSerializer(src)), worker.WithOffsetsTopic(n.offsets, 1, -1))
	if err != nil {
		t.Fatal(err)
	}
	err = w.Start(context.Background())
	if !errors.Is(err, worker.ErrOffsetsNotCompacted) || !strings.Contains(err.Error(), n.offsets) ||
		!strings.Contains(err.Error(), "cleanup.policy=compact") {
		t.Fatalf("Start on a delete-policy offsets topic: %v", err)
	}
	_ = stepperWorker(t, newNames(t), &stepper{}) // a topic the worker creates is compacted and accepted
}

// TestOversizedRecordIsAConversionError: position 5 encodes to ~30 KB for
// a topic whose max.message.bytes is 20,000. It must never be produced (a
// produce the broker refuses aborts the transaction and restarts the task
// from the same offset, over and over): with errors.tolerance=all it is
// dead-lettered (cut to fit the dead-letter topic's 10,000 bytes, marked
// so) and every other position is written once; with none the task fails
// at once, naming the source partition and the limit.
func TestOversizedRecordIsAConversionError(t *testing.T) {
	for _, tolerance := range []string{"all", "none"} {
		t.Run(tolerance, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			n := newNames(t)
			testenv.CreateTopic(t, n.prefix+".steps", 1, map[string]string{"max.message.bytes": "20000"})
			testenv.CreateTopic(t, n.prefix+".dlq", 1, map[string]string{"max.message.bytes": "10000"})
			s := &stepper{n: 10, payload: 100, big: map[int64]int{5: 30000}}
			w := stepperWorker(t, n, s)
			defer w.Close()
			err := w.CreateConnector(ctx, connector.Config{"name": "steps", "connector.class": "stepper", "topic.prefix": n.prefix,
				"errors.tolerance": tolerance, "errors.deadletterqueue.topic.name": n.prefix + ".dlq", "errors.retry.timeout": "60000"})
			if err != nil {
				t.Fatal(err)
			}
			if tolerance == "none" {
				waitFor(t, 20*time.Second, "the task fails", func() bool {
					st, _ := w.Status("steps")
					return st.Tasks[0].State == worker.StateFailed
				})
				st, _ := w.Status("steps")
				trace := st.Tasks[0].Trace
				if !strings.Contains(trace, worker.ErrRecordTooLarge.Error()) || !strings.Contains(trace, `{"step":"0"}`) ||
					!strings.Contains(trace, "20000") || st.Tasks[0].Stats.Restarts != 0 {
					t.Fatalf("restarts %d, trace %q: want no restart and an error naming the partition and the limit",
						st.Tasks[0].Stats.Restarts, trace)
				}
				return
			}
			waitSteps(t, w, "steps", 10)
			st, _ := w.Status("steps")
			if st.Tasks[0].Stats.Restarts != 0 || st.Tasks[0].Stats.DeadLetters != 1 {
				t.Fatalf("stats %+v: want no restart and one dead letter", st.Tasks[0].Stats)
			}
			counts := stepCounts(ctx, t, n.prefix+".steps")
			key := connector.NewPartition(map[string]any{"step": "0"}).String()
			for pos := 1; pos <= 10; pos++ {
				want := 1
				if pos == 5 {
					want = 0
				}
				if c := counts[fmt.Sprintf("%s@%d", key, pos)]; c != want {
					t.Fatalf("position %d written %d times, want %d: %v", pos, c, want, counts)
				}
			}
			var dead []*kgo.Record
			err = readback.Committed(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, []string{n.prefix + ".dlq"}, func(r *kgo.Record) error {
				dead = append(dead, r)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			hs := map[string]string{}
			for _, h := range dead[0].Headers {
				hs[h.Key] = string(h.Value)
			}
			if len(dead) != 1 || hs[worker.HeaderRawTruncated] != "true" || hs[worker.HeaderRawBytes] != "30000" ||
				!strings.Contains(hs[worker.HeaderErrExcMessage], "max.message.bytes") || len(dead[0].Value) == 0 {
				t.Fatalf("%d dead letters, headers %v, %d raw bytes kept", len(dead), hs, len(dead[0].Value))
			}
			t.Logf("dead letter kept %d of 30000 raw bytes", len(dead[0].Value))
		})
	}
}

// TestOffsetsResetFencesBeforeReading: a zombie of the connector's task 1
// holds an offset of a new source partition in an open transaction. Reset
// must fence first and then read: the zombie's offset is aborted, the read
// is final at once, and nothing is left. Reading first waits on the
// zombie's transaction (until the broker's timeout) or, if it commits
// between the read and the fence, misses the offset it committed.
func TestOffsetsResetFencesBeforeReading(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	n := newNames(t)
	s := &stepper{n: 3}
	w := stepperWorker(t, n, s)
	if err := w.CreateConnector(ctx, connector.Config{"name": "steps", "connector.class": "stepper", "topic.prefix": n.prefix}); err != nil {
		t.Fatal(err)
	}
	waitSteps(t, w, "steps", 3)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	zombie := testenv.Client(t, kgo.TransactionalID(worker.TransactionalID(n.group, "steps", 1)), kgo.DefaultProduceTopic(n.offsets))
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	key := worker.OffsetKey("steps", connector.NewPartition(map[string]any{"step": "1"}))
	if err := zombie.ProduceSync(ctx, &kgo.Record{Key: key, Value: []byte(`{"position":9}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	ow := worker.OffsetWriter{Kafka: opts, Topic: n.offsets, Group: n.group, Connector: "steps", Tasks: 1}
	resetCtx, resetCancel := context.WithTimeout(ctx, 20*time.Second)
	defer resetCancel()
	start := time.Now()
	if err := ow.Reset(resetCtx); err != nil {
		t.Fatalf("reset with a zombie's transaction open: %v", err)
	}
	offs, err := worker.ReadOffsets(ctx, opts, n.offsets, "steps")
	if err != nil {
		t.Fatal(err)
	}
	if len(offs.Offsets) != 0 {
		t.Fatalf("offsets left after reset: %v", offs.Offsets)
	}
	if err := zombie.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Fatal("the zombie could still commit after the reset")
	}
	t.Logf("reset took %s with the zombie's transaction open", time.Since(start).Round(time.Millisecond))
}
