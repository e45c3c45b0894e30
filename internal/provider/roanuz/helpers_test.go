package roanuz

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
)

// startSim starts a simulator on a random local port, closed at cleanup.
func startSim(t testing.TB, opts ...roanuzsim.SimOption) *roanuzsim.Simulator {
	t.Helper()
	sim := roanuzsim.NewSimulator(opts...)
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// timeline returns an unstarted simulator of the single match "m1",
// played from seed with overs per innings: its timeline's documents and
// pushes, with no server.
func timeline(seed uint64, overs int) *roanuzsim.Simulator {
	return roanuzsim.NewSimulator(roanuzsim.WithSeed(seed), roanuzsim.WithMatches("m1"), roanuzsim.WithOvers(overs))
}

// gzipBytes returns b gzipped.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func testLogger(t testing.TB) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)) }

func mustWebhookConfig(t testing.TB, c connector.Config) webhookConfig {
	t.Helper()
	cfg, err := parseWebhookConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// bufferLogger logs JSON lines into w.
func bufferLogger(w io.Writer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zap.DebugLevel))
}

// fakeMetrics records what a task reports through connector.TaskMetrics.
type fakeMetrics struct {
	mu         sync.Mutex
	reconnects int
	lags       map[string]int
	done       map[string]int
}

func newFakeMetrics() *fakeMetrics {
	return &fakeMetrics{lags: map[string]int{}, done: map[string]int{}}
}

func (m *fakeMetrics) Reconnected()      { m.mu.Lock(); m.reconnects++; m.mu.Unlock() }
func (m *fakeMetrics) SequenceGap(int64) {}
func (m *fakeMetrics) CommitLag(f string, d time.Duration) {
	m.mu.Lock()
	if d >= 0 {
		m.lags[f]++
	}
	m.mu.Unlock()
}
func (m *fakeMetrics) FixtureDone(f string) { m.mu.Lock(); m.done[f]++; m.mu.Unlock() }

// snapshot returns the reconnects, the lag observations per match and the
// FixtureDone calls per match.
func (m *fakeMetrics) snapshot() (int, map[string]int, map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	lags, done := map[string]int{}, map[string]int{}
	for k, v := range m.lags {
		lags[k] = v
	}
	for k, v := range m.done {
		done[k] = v
	}
	return m.reconnects, lags, done
}

// fakeRunner drives a task like the worker: Start with a ctx carrying
// fakeMetrics, then Poll and "commit" (or abort) each batch, keeping the
// latest offset of each partition and calling OnCommit.
type fakeRunner struct {
	task    connector.SourceTask
	metrics *fakeMetrics
	stop    chan struct{}
	done    chan struct{}

	mu      sync.Mutex
	recs    []*connector.SourceRecord // provider records
	all     []*connector.SourceRecord // with the normalized live.* records
	offsets map[string]connector.PartitionOffset
	abortN  int // abort the next n batches
}

func startRunner(t testing.TB, task connector.SourceTask, tc *connector.TaskContext) *fakeRunner {
	t.Helper()
	r := &fakeRunner{task: task, metrics: newFakeMetrics(), stop: make(chan struct{}), done: make(chan struct{}),
		offsets: map[string]connector.PartitionOffset{}}
	if err := task.Start(context.Background(), tc.WithMetrics(r.metrics)); err != nil {
		t.Fatal(err)
	}
	go r.loop()
	t.Cleanup(r.close)
	return r
}

func (r *fakeRunner) loop() {
	defer close(r.done)
	for {
		select {
		case <-r.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		recs, _ := r.task.Poll(ctx)
		recs = connector.Flatten(recs) // as the worker writes them
		cancel()
		if len(recs) == 0 {
			continue
		}
		r.mu.Lock()
		abort := r.abortN > 0
		if abort {
			r.abortN--
		} else {
			r.recs = append(r.recs, providerRecords(recs)...)
			r.all = append(r.all, recs...)
			for _, rec := range recs {
				r.offsets[rec.Partition.String()] = connector.PartitionOffset{Partition: rec.Partition, Offset: rec.Offset}
			}
		}
		r.mu.Unlock()
		for _, rec := range recs {
			if rec.OnCommit != nil {
				if abort {
					rec.OnCommit(context.Canceled)
				} else {
					rec.OnCommit(nil)
				}
			}
		}
	}
}

func (r *fakeRunner) close() {
	select {
	case <-r.stop:
		return
	default:
	}
	close(r.stop)
	<-r.done
	_ = r.task.Stop()
}

// records returns the committed provider records (live_test.go checks
// the normalized ones, allRecords).
func (r *fakeRunner) records() []*connector.SourceRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*connector.SourceRecord(nil), r.recs...)
}

// allRecords returns every committed record, the normalized live.* ones
// included, in order.
func (r *fakeRunner) allRecords() []*connector.SourceRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*connector.SourceRecord(nil), r.all...)
}

// providerRecords drops the normalized live.* records a batch also holds.
func providerRecords(recs []*connector.SourceRecord) []*connector.SourceRecord {
	out := recs[:0:0]
	for _, r := range recs {
		if !strings.Contains(r.Topic, ".live.") && !strings.HasPrefix(r.Topic, "live.") {
			out = append(out, r)
		}
	}
	return out
}

func (r *fakeRunner) committed() []connector.PartitionOffset {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []connector.PartitionOffset
	for _, po := range r.offsets {
		out = append(out, po)
	}
	return out
}

// offset returns the committed offset of p.
func (r *fakeRunner) offset(p connector.Partition) (connector.Offset, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	po, ok := r.offsets[p.String()]
	return po.Offset, ok
}

// waitFor polls cond every 10 ms until it holds or timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
