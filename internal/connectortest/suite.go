package connectortest

import (
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// runTimeout bounds each wait for the simulator's run to progress.
const runTimeout = 3 * time.Minute

// ExactlyOnceAcrossRestarts stops the worker gracefully at a third of the
// run, abruptly (a 1 ms shutdown timeout: the open transaction is left to
// the next owner to fence) at two thirds, and lets a third worker finish:
// every record exactly once.
func ExactlyOnceAcrossRestarts(t *testing.T, d Driver) {
	e := newEnv(t, d)
	ctx := ctxFor(t)
	want := e.src.Want()
	cfg := e.config()

	w := e.worker(cfg)
	e.waitProgress(ctx, w, len(want)/3, runTimeout)
	if err := w.Close(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	w = e.worker(cfg, worker.WithShutdownTimeout(time.Millisecond))
	e.waitProgress(ctx, w, 2*len(want)/3, runTimeout)
	_ = w.Close() // abrupt: the commit is cut off
	w = e.worker(cfg)
	defer w.Close()
	e.waitProgress(ctx, w, len(want), runTimeout)
	time.Sleep(500 * time.Millisecond) // anything written twice would show now
	checkExactlyOnce(t, e.read(ctx, e.src.Topic(e.prefix), e.src.Identity), want)
}

// Fencing starts a second worker on the same connector: it fences the
// first one's tasks, which fail for good, and finishes the run alone.
func Fencing(t *testing.T, d Driver) {
	e := newEnv(t, d)
	ctx := ctxFor(t)
	want := e.src.Want()
	cfg := e.config(connector.KeyRetryTimeoutMs, "0")

	first := e.worker(cfg)
	defer first.Close()
	e.waitProgress(ctx, first, len(want)/4, runTimeout)
	if got := e.progress(ctx); got >= len(want) {
		// A task with nothing left to write never learns it was fenced.
		t.Fatalf("the run was complete (%d records) before the takeover: make the driver's run last longer", got)
	}
	second := e.worker(cfg)
	defer second.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := first.Status(e.name)
		if err != nil {
			t.Fatal(err)
		}
		fenced := len(st.Tasks) > 0
		for _, ts := range st.Tasks {
			if ts.State != worker.StateFailed || !strings.Contains(ts.Trace, worker.ErrFenced.Error()) {
				fenced = false
			}
		}
		if fenced {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first worker's tasks were not all fenced within 60 s: %+v", st.Tasks)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.waitProgress(ctx, second, len(want), runTimeout)
	time.Sleep(500 * time.Millisecond)
	checkExactlyOnce(t, e.read(ctx, e.src.Topic(e.prefix), e.src.Identity), want)
}

// DeadLetters checks the dead-letter topic (every test runs with
// errors.tolerance=all and one): each
// undecodable message the simulator sends is one dead letter with Kafka
// Connect's error headers, and every good record is written exactly once.
// A Source that does not implement BadInput fails it: every provider's
// simulator must be able to send bad input.
func DeadLetters(t *testing.T, d Driver) {
	e := newEnv(t, d)
	bad, ok := e.src.(BadInput)
	if !ok || bad.BadMessages() == 0 {
		t.Fatalf("%T does not send bad input (implement connectortest.BadInput)", e.src)
	}
	ctx := ctxFor(t)
	dlq := e.dlq()
	w := e.worker(e.config())
	defer w.Close()
	want := e.src.Want()
	e.waitProgress(ctx, w, len(want), runTimeout)
	deadline := time.Now().Add(30 * time.Second)
	var dead []*kgo.Record
	for {
		dead = dead[:0]
		err := readback.Stable(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, []string{dlq}, func(r *kgo.Record) error {
			dead = append(dead, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) >= bad.BadMessages() || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(dead) != bad.BadMessages() {
		t.Fatalf("%d dead letters, want %d", len(dead), bad.BadMessages())
	}
	for _, r := range dead {
		hs := map[string]string{}
		for _, h := range r.Headers {
			hs[h.Key] = string(h.Value)
		}
		if hs[worker.HeaderErrConnector] != e.name || hs[worker.HeaderErrStage] == "" || hs[worker.HeaderErrExcMessage] == "" {
			t.Fatalf("dead letter at offset %d lacks Connect's error headers: %v", r.Offset, hs)
		}
	}
	checkExactlyOnce(t, e.read(ctx, e.src.Topic(e.prefix), e.src.Identity), want)
}

// StopWithinShutdownTimeout stops a worker in the middle of the run: Close
// returns within the shutdown timeout (plus a second for the broker).
func StopWithinShutdownTimeout(t *testing.T, d Driver) {
	e := newEnv(t, d)
	ctx := ctxFor(t)
	const timeout = 3 * time.Second
	w := e.worker(e.config(), worker.WithShutdownTimeout(timeout))
	e.waitProgress(ctx, w, 1, runTimeout)
	start := time.Now()
	if err := w.Close(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if took := time.Since(start); took > timeout+time.Second {
		t.Fatalf("stopping took %s, more than the %s shutdown timeout", took, timeout)
	}
}
