package imgarena

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

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

// taskConfig returns a validated connector config for sim with extra
// settings (with a nil sim, extra names KeyURL).
func taskConfig(t testing.TB, sim *imgarenasim.Simulator, extra map[string]string) connector.Config {
	t.Helper()
	url := ""
	if sim != nil {
		url = sim.URL()
	}
	raw := connector.Config{
		"name": "img", "connector.class": Class, KeyURL: url, KeyToken: "sim-token",
		KeySpeed: "fast", KeyBackoffInitialMs: "20", KeyBackoffMaxMs: "200", KeySilenceMs: "2000",
	}
	for k, v := range extra {
		raw[k] = v
	}
	cfg, err := connector.CommonSpec().Merge(Spec()).Validate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runTask starts a task directly (no worker) with the given committed
// offsets, keyed by fixture id; it is stopped at cleanup.
func runTask(t testing.TB, cfg connector.Config, committed map[string]connector.Offset, log *zap.Logger) *Task {
	t.Helper()
	c := &Connector{log: log}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	task := c.NewTask().(*Task)
	var offsets []connector.PartitionOffset
	for fixture, o := range committed {
		offsets = append(offsets, connector.PartitionOffset{Partition: PartitionOf(c.parsed.sport, fixture), Offset: o})
	}
	tcfg := cfg.Clone()
	tcfg[connector.KeyTaskIndex], tcfg[connector.KeyTaskCount] = "0", "1"
	if err := task.Start(context.Background(), connector.NewTaskContextForTest("img", 0, tcfg, log, offsets...)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = task.Stop() })
	return task
}

// scriptServer is a WebSocket server playing scripts: connection i (the
// last script for every connection after it) reads the auth frame, sends
// the script's frames, then drops the connection; the last script instead
// keeps it open and silent. It returns its ws:// URL and a func listing
// the startPosition each connection asked for. Register it before the task
// that uses it, so the task stops first at cleanup.
func scriptServer(t testing.TB, scripts ...[]string) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var starts []string
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		mu.Lock()
		i := min(len(starts), len(scripts)-1)
		starts = append(starts, r.URL.Query().Get("startPosition"))
		mu.Unlock()
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
		for _, f := range scripts[i] {
			if err := c.WriteMessage(websocket.TextMessage, []byte(f)); err != nil {
				return
			}
		}
		if i < len(scripts)-1 {
			return // dropped
		}
		for { // open and silent until the client goes
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), starts...)
	}
}

// actionFrame returns event pos of fixture's simulated feed (seed 1) framed with seq.
func actionFrame(fixture string, pos, seq int64) string {
	return string(imgarenasim.ActionFrame(1, fixture, pos, seq))
}

// statusRecords returns the status record values in order.
func statusRecords(recs []*connector.SourceRecord) []*Status {
	var out []*Status
	for _, r := range recs {
		if s, ok := r.Value.(*Status); ok {
			out = append(out, s)
		}
	}
	return out
}

// collector polls a task like the worker does and keeps every record.
type collector struct {
	mu   sync.Mutex
	recs []*connector.SourceRecord
}

// pollUntil polls until done(records so far) or the timeout.
func (c *collector) pollUntil(t testing.TB, task *Task, timeout time.Duration, done func([]*connector.SourceRecord) bool) []*connector.SourceRecord {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		ok := done(c.recs)
		c.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s with %d records; stats %+v", timeout, len(c.recs), task.Stats())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		recs, err := task.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.recs = append(c.recs, providerRecords(recs)...)
		c.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*connector.SourceRecord(nil), c.recs...)
}

// providerRecords drops the normalized live.* records a batch also holds
// (live_test.go checks those).
func providerRecords(recs []*connector.SourceRecord) []*connector.SourceRecord {
	out := recs[:0:0]
	for _, r := range recs {
		if !strings.Contains(r.Topic, ".live.") {
			out = append(out, r)
		}
	}
	return out
}

// actionPositions returns, per fixture, the positions of the action records in order.
func actionPositions(recs []*connector.SourceRecord) map[string][]int64 {
	out := map[string][]int64{}
	for _, r := range recs {
		if a, ok := r.Value.(*Action); ok && r.DeadLetter == nil {
			out[a.Fixture] = append(out[a.Fixture], a.Position)
		}
	}
	return out
}

// countActions returns a done func: every fixture has n actions.
func countActions(fixtures []string, n int) func([]*connector.SourceRecord) bool {
	return func(recs []*connector.SourceRecord) bool {
		got := actionPositions(recs)
		for _, f := range fixtures {
			if len(got[f]) < n {
				return false
			}
		}
		return true
	}
}

// checkExactlyOnce checks that positions hold want[0..] exactly, in order.
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

func testLogger(t testing.TB) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)) }

func itoa(n int64) string { return fmtInt(n) }

func fmtInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
