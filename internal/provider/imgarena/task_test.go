package imgarena

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"go.uber.org/zap/zaptest"
)

// TestThousandFixtures follows 1,000 fixtures from one task in one process.
func TestThousandFixtures(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections: not in -short")
	}
	const k, n = 1000, 5
	sim := startSim(t, imgarenasim.SimFixtureCount(k), imgarenasim.SimEvents(n), imgarenasim.SimEventInterval(time.Second, 20*time.Millisecond), imgarenasim.SimHeartbeat(500*time.Millisecond))
	task := runTask(t, taskConfig(t, sim, map[string]string{KeyPollIntervalMs: "60000", KeySilenceMs: "10000"}), nil, testLogger(t))
	var c collector
	recs := c.pollUntil(t, task, 90*time.Second, countActions(sim.Fixtures(), n))
	got := actionPositions(recs)
	for _, f := range sim.Fixtures() {
		checkExactly(t, f, got[f], seq(1, n))
	}
	if st := task.Stats(); st.Following != k || st.SeqErrors != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// fakeMetrics counts the provider metrics a task reports.
type fakeMetrics struct {
	mu                     sync.Mutex
	reconnects, gaps, lags int
	lagsAfterDone          int
	done                   map[string]bool
}

func (m *fakeMetrics) Reconnected()      { m.mu.Lock(); m.reconnects++; m.mu.Unlock() }
func (m *fakeMetrics) SequenceGap(int64) { m.mu.Lock(); m.gaps++; m.mu.Unlock() }
func (m *fakeMetrics) CommitLag(f string, _ time.Duration) {
	m.mu.Lock()
	m.lags++
	if m.done[f] {
		m.lagsAfterDone++ // the series would come back after it was dropped
	}
	m.mu.Unlock()
}
func (m *fakeMetrics) FixtureDone(f string) { m.mu.Lock(); m.done[f] = true; m.mu.Unlock() }

// TestTaskReportsMetrics: reconnects, sequence gaps, per-fixture commit lag
// (from OnCommit) and a finished fixture reach the metrics API.
func TestTaskReportsMetrics(t *testing.T) {
	sim := startSim(t, imgarenasim.SimFixtureCount(1), imgarenasim.SimEvents(40), imgarenasim.SimFinish(true), imgarenasim.SimDropAfter(15), imgarenasim.SimSeqGap(25),
		imgarenasim.SimEventInterval(time.Second, time.Millisecond))
	cfg := taskConfig(t, sim, map[string]string{KeyFixtures: sim.Fixtures()[0]})
	m := &fakeMetrics{done: map[string]bool{}}
	c := &Connector{log: zaptest.NewLogger(t)}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	task := c.NewTask().(*Task)
	tcfg := cfg.Clone()
	tcfg[connector.KeyTaskIndex], tcfg[connector.KeyTaskCount] = "0", "1"
	if err := task.Start(context.Background(), connector.NewTaskContextForTest("img", 0, tcfg, zaptest.NewLogger(t)).WithMetrics(m)); err != nil {
		t.Fatal(err)
	}
	defer task.Stop()
	var actions int
	deadline := time.Now().Add(20 * time.Second)
	for actions < 40 && time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		recs, err := task.Poll(pctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.OnCommit != nil {
				r.OnCommit(nil) // as the worker does after the commit
			}
			if r.Topic == task.actionsTopic && r.DeadLetter == nil {
				actions++
			}
		}
	}
	// The fixture is released just after its last record is handed on.
	for time.Now().Before(deadline) {
		m.mu.Lock()
		done := m.done[sim.Fixtures()[0]]
		m.mu.Unlock()
		if done {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if actions != 40 || m.reconnects < 2 || m.gaps < 1 || m.lags != 40 || !m.done[sim.Fixtures()[0]] {
		t.Fatalf("actions %d, metrics reconnects=%d gaps=%d lags=%d done=%v", actions, m.reconnects, m.gaps, m.lags, m.done)
	}
	if m.lagsAfterDone != 0 {
		t.Fatalf("%d lag samples after the fixture was reported done: its series came back", m.lagsAfterDone)
	}
}
