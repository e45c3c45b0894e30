package saba_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabademo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"go.uber.org/zap/zaptest"
)

// startTask starts a task (without a worker) on cfg.
func startTask(t *testing.T, cfg connector.Config) *saba.Task {
	t.Helper()
	return startTaskMetrics(nil, t, cfg)
}

// startTaskCtx starts a task with ctx given to Start (which may carry
// connector.TaskMetrics).
func startTaskMetrics(m connector.TaskMetrics, t *testing.T, cfg connector.Config) *saba.Task {
	t.Helper()
	task := &saba.Task{}
	if err := task.Start(context.Background(), connector.NewTaskContext("saba-test", 0, cfg, zaptest.NewLogger(t), m, nil)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = task.Stop() })
	return task
}

// observe turns records into observations, checking that every record of
// one message carries that message's offset and that no Poll split a message.
func observe(t *testing.T, recs []*connector.SourceRecord) []sabademo.Obs {
	t.Helper()
	var out []sabademo.Obs
	for _, r := range connector.Flatten(recs) { // as the worker writes them: a large message's chunks built
		id, _ := r.Offset.OffsetString(saba.OffsetKey)
		o := sabademo.Obs{Dead: r.DeadLetter != nil, MsgID: id}
		switch v := r.Value.(type) {
		case saba.EventRecord:
			o.Stream, o.Topic, o.Op, o.Status = saba.StreamSpec{Endpoint: v.Endpoint, Query: v.Query}.Name(), "events", v.Op, v.Status
			if v.MessageID != id {
				t.Fatalf("record of message %s carries offset %s", v.MessageID, id)
			}
		case saba.MarketRecord:
			o.Stream, o.Topic, o.Op, o.Status = saba.StreamSpec{Endpoint: v.Endpoint, Query: v.Query}.Name(), "markets", v.Op, v.Status
			if v.MessageID != id {
				t.Fatalf("record of message %s carries offset %s", v.MessageID, id)
			}
		case *live.Event, *live.Match:
			continue // the normalized records (task_live_test.go)
		case nil:
			if r.DeadLetter == nil {
				continue // a tombstone
			}
			fs := r.Partition.Fields()
			o.Stream = saba.StreamSpec{Endpoint: fs["endpoint"].(string), Query: fs["query"].(string)}.Name()
		}
		if o.Stream == "" {
			fs := r.Partition.Fields()
			o.Stream = saba.StreamSpec{Endpoint: fs["endpoint"].(string), Query: fs["query"].(string)}.Name()
		}
		out = append(out, o)
	}
	return out
}

// pollUntil polls task until done says so, returning every observation.
func pollUntil(t *testing.T, task *saba.Task, timeout time.Duration, done func(all []sabademo.Obs) bool) ([]sabademo.Obs, error) {
	t.Helper()
	var all []sabademo.Obs
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		recs, err := task.Poll(ctx)
		cancel()
		if err != nil {
			return all, err
		}
		// A Poll returns whole messages: the last record's message must not
		// continue in the next Poll; checked by the timeline check.
		all = append(all, observe(t, recs)...)
		if done(all) {
			return all, nil
		}
	}
	return all, fmt.Errorf("timed out after %s with %d records", timeout, len(all))
}

func byStream(all []sabademo.Obs, stream string) []sabademo.Obs {
	var out []sabademo.Obs
	for _, o := range all {
		if o.Stream == stream {
			out = append(out, o)
		}
	}
	return out
}

// runAndCheck steps the simulator n times while the task runs (calling
// fault between steps), then checks every stream against the timeline.
func runAndCheck(t *testing.T, sim *sabasim.Simulator, task *saba.Task, specs []saba.StreamSpec, n int, fault func(i int)) []sabademo.Obs {
	t.Helper()
	return runAndCheckFrom(t, sim, task, specs, n, fault, nil)
}

// runAndCheckFrom is runAndCheck with observations made before.
func runAndCheckFrom(t *testing.T, sim *sabasim.Simulator, task *saba.Task, specs []saba.StreamSpec, n int, fault func(i int), before []sabademo.Obs) []sabademo.Obs {
	t.Helper()
	start, _ := sim.Head()
	go func() {
		for i := 0; i < n; i++ {
			sim.Step(1)
			if fault != nil {
				fault(i)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	_, headID := sim.Head()
	all, err := pollUntil(t, task, 60*time.Second, func(got []sabademo.Obs) bool {
		all := append(before[:len(before):len(before)], got...)
		head, id := sim.Head()
		headID = id
		if head < start+int64(n) {
			return false
		}
		for _, sp := range specs {
			recs := byStream(all, sp.Name())
			if len(recs) == 0 {
				return false
			}
			if _, _, err := sabademo.CheckTimeline(sim, sp, "", recs, headID); err != nil {
				return false
			}
		}
		return true
	})
	all = append(before[:len(before):len(before)], all...)
	for _, sp := range specs {
		u, s, cerr := sabademo.CheckTimeline(sim, sp, "", byStream(all, sp.Name()), headID)
		t.Logf("%s: %d updates, %d snapshots, check: %v", sp.Name(), u, s, cerr)
		if cerr != nil {
			t.Errorf("%s: %v", sp.Name(), cerr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestTaskFollowsTimeline(t *testing.T) {
	sim, url := saba.NewTestSim(t, sabasim.WithMalformedEvery(37))
	specs := []saba.StreamSpec{{Endpoint: "GetEvents", Query: "$filter=sporttype eq 1"}, {Endpoint: "GetMarkets", Query: "$filter=bettype eq 1 or bettype eq 5"}, {Endpoint: "GetEvents", Query: ""}}
	task := startTask(t, saba.TaskConfig(t, url, "GetEvents $filter=sporttype eq 1; GetMarkets $filter=bettype eq 1 or bettype eq 5\nGetEvents", nil))
	all := runAndCheck(t, sim, task, specs, 300, nil)
	if all[0].Op != saba.OpReset || all[0].Status != saba.StatusInitialData {
		t.Fatalf("first record %+v, want a reset marker of status 1", all[0])
	}
}

func TestTaskSurvivesFaults(t *testing.T) {
	sim, url := saba.NewTestSim(t, sabasim.WithKeepAlive(50*time.Millisecond), sabasim.WithTokenTTL(2*time.Second), sabasim.WithCacheSize(10000))
	specs := []saba.StreamSpec{{Endpoint: "GetEvents", Query: ""}, {Endpoint: "GetMarkets", Query: "$filter=sporttype eq 2"}}
	task := startTask(t, saba.TaskConfig(t, url, "GetEvents; GetMarkets $filter=sporttype eq 2", map[string]string{saba.KeySilenceTimeout: "300", saba.KeyRefreshMargin: "500"}))
	runAndCheck(t, sim, task, specs, 600, func(i int) {
		switch i {
		case 100, 250:
			sim.CutStreams()
		case 150:
			sim.Stall(700 * time.Millisecond)
		case 350:
			sim.ExpireTokens()
		case 450:
			sim.FailNext(sabasim.StatusMaintenance, 2)
			sim.FailNext(sabasim.StatusInternalServerError, 1)
			sim.CutStreams()
		}
	})
	st := sim.Stats()
	t.Logf("simulator: %+v", st)
	if st.Replays < 4 || st.Logins < 2 {
		t.Fatalf("expected reconnects with replay and a new login: %+v", st)
	}
	if st.Resets != 0 {
		t.Fatalf("a reconnect inside the cache got a Reset: %+v", st)
	}
}

// TestTaskSkipsRepeatedMessages: a server sending a frame twice, or
// replaying the message named by Last-Event-Id after a cut, must not make
// a record twice.
func TestTaskSkipsRepeatedMessages(t *testing.T) {
	sim, url := saba.NewTestSim(t, sabasim.WithDuplicateEvery(7), sabasim.WithInclusiveReplay(true), sabasim.WithMalformedEvery(21))
	specs := []saba.StreamSpec{{Endpoint: "GetEvents", Query: ""}, {Endpoint: "GetMarkets", Query: "$filter=sporttype eq 1"}}
	task := startTask(t, saba.TaskConfig(t, url, "GetEvents; GetMarkets $filter=sporttype eq 1", nil))
	runAndCheck(t, sim, task, specs, 300, func(i int) {
		if i%60 == 59 {
			sim.CutStreams()
		}
	})
	if st := sim.Stats(); st.Duplicates < 20 || st.Replays < 4 {
		t.Fatalf("the simulator sent too few repeats to test anything: %+v", st)
	}
}

// fakeMetrics records what a task reports through connector.TaskMetrics.
type fakeMetrics struct {
	mu         sync.Mutex
	reconnects int
	lags       map[string]int // observations per label
}

func (f *fakeMetrics) Reconnected() { f.mu.Lock(); f.reconnects++; f.mu.Unlock() }

func (f *fakeMetrics) SequenceGap(int64) {}

func (f *fakeMetrics) CommitLag(label string, lag time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if lag < 0 || lag > time.Minute {
		panic(fmt.Sprintf("lag %s", lag))
	}
	f.lags[label]++
}

func (f *fakeMetrics) FixtureDone(string) {}

func (f *fakeMetrics) counts() (int, map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reconnects, maps.Clone(f.lags)
}

// TestTaskMetrics: every connection after a stream's first is one
// reconnect; every committed message is one commit-lag observation
// labelled with its stream, and an aborted one none.
func TestTaskMetrics(t *testing.T) {
	sim, url := saba.NewTestSim(t)
	m := &fakeMetrics{lags: map[string]int{}}
	task := startTaskMetrics(m, t, saba.TaskConfig(t, url, "GetMarkets $filter=sporttype eq 2", nil))
	const label = "GetMarkets $filter=sporttype eq 2"
	committed, aborted := map[string]bool{}, 0
	pollFor := func(what string, until func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !until(); {
			if time.Now().After(deadline) {
				r, lags := m.counts()
				t.Fatalf("waiting for %s: %d reconnects, lags %v", what, r, lags)
			}
			sim.Step(1)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			recs, err := task.Poll(ctx)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			for i, rec := range recs {
				if rec.OnCommit == nil {
					continue
				}
				id, _ := rec.Offset.OffsetString(saba.OffsetKey)
				if i+1 < len(recs) && recs[i+1].Offset[saba.OffsetKey] == id {
					t.Fatalf("message %s: OnCommit on a record before the message's last", id)
				}
				if len(committed)%5 == 4 && aborted < 3 {
					rec.OnCommit(errors.New("aborted")) // no lag for an aborted transaction
					aborted++
					continue
				}
				committed[id] = true
				rec.OnCommit(nil)
			}
		}
	}
	pollFor("messages", func() bool { return len(committed) >= 10 })
	for cut := 1; cut <= 2; cut++ {
		sim.CutStreams()
		pollFor("a reconnect", func() bool { r, _ := m.counts(); return r == cut })
	}
	pollFor("more messages", func() bool { return len(committed) >= 20 })
	r, lags := m.counts()
	if r != 2 || len(lags) != 1 || lags[label] != len(committed) || aborted != 3 {
		t.Fatalf("%d reconnects for 2 cuts; lags %v for %d committed messages (%d aborted)", r, lags, len(committed), aborted)
	}
}

// TestTaskLargeSnapshot: a snapshot of 900 items is built chunk by chunk
// as it is written, while the stream goes on reading updates, and the
// records follow the simulator's timeline.
func TestTaskLargeSnapshot(t *testing.T) {
	sim, url := saba.NewTestSim(t, sabasim.WithEvents(100, 8))
	specs := []saba.StreamSpec{{Endpoint: "GetEvents", Query: ""}}
	task := startTask(t, saba.TaskConfig(t, url, "GetEvents", nil))
	all := runAndCheck(t, sim, task, specs, 50, nil)
	markets := 0
	for _, o := range all {
		if o.Topic == "markets" && o.Status == saba.StatusInitialData && o.Op == saba.OpAdd {
			markets++
		}
	}
	if markets != 800 {
		t.Fatalf("%d markets of the snapshot written, want 800", markets)
	}
}

func TestTaskReset(t *testing.T) {
	sim, url := saba.NewTestSim(t, sabasim.WithCacheSize(5))
	specs := []saba.StreamSpec{{Endpoint: "GetEvents", Query: ""}}
	task := startTask(t, saba.TaskConfig(t, url, "GetEvents", map[string]string{saba.KeyQueueMessages: "1"}))
	// Do not poll while the simulator runs far ahead and the stream is cut:
	// the queued position falls out of the cache and the reconnect gets a
	// status 3 Reset.
	before, err := pollUntil(t, task, 10*time.Second, func(all []sabademo.Obs) bool { return len(all) > 0 })
	if err != nil {
		t.Fatal(err)
	}
	sim.Step(3)
	time.Sleep(200 * time.Millisecond)
	sim.Step(50)
	sim.CutStreams()
	sim.Step(1)
	time.Sleep(200 * time.Millisecond)
	all := runAndCheckFrom(t, sim, task, specs, 100, nil, before)
	resets := 0
	for _, o := range all {
		if o.Op == saba.OpReset && o.Status == saba.StatusReset {
			resets++
		}
	}
	if resets == 0 || sim.Stats().Resets == 0 {
		t.Fatalf("no status 3 reset marker (%d) / simulator resets %d", resets, sim.Stats().Resets)
	}
}

func TestTaskErrorStatuses(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		streams   string
		extra     map[string]string
		permanent bool
	}{
		{"97 invalid Accept-Encoding", 0, "GetEvents", map[string]string{saba.KeyAcceptEncoding: "compress"}, true},
		{"98 invalid OData query", 0, "GetEvents $filter=nonsense", nil, true},
		{"98 from the server", 98, "GetEvents", nil, true},
		{"99 maintenance", 99, "GetEvents", nil, false},
		{"100 internal error", 100, "GetEvents", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim, url := saba.NewTestSim(t)
			if c.status != 0 {
				sim.FailNext(c.status, 3)
			}
			task := startTask(t, saba.TaskConfig(t, url, c.streams, c.extra))
			all, err := pollUntil(t, task, 10*time.Second, func(all []sabademo.Obs) bool { return len(all) > 0 })
			if !c.permanent {
				if err != nil {
					t.Fatalf("transient status %d: %v", c.status, err)
				}
				if st := sim.Stats(); st.Connects != 4 {
					t.Fatalf("connects %d, want 3 failed + 1", st.Connects)
				}
				return
			}
			if err == nil || !connector.IsPermanent(err) {
				t.Fatalf("got %d records, err %v; want a permanent error", len(all), err)
			}
			var se *saba.StatusError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), sabasim.StatusMessage(se.Status)) {
				t.Fatalf("error %v does not carry the server's status and message", err)
			}
			time.Sleep(300 * time.Millisecond)
			if n := sim.Stats().Connects; n != 1 {
				t.Fatalf("%d connects: a configuration error must not be retried", n)
			}
		})
	}
}

func TestTaskRefreshBrokenLogsInAgain(t *testing.T) {
	sim, url := saba.NewTestSim(t, sabasim.WithRefreshMode(sabasim.RefreshBroken), sabasim.WithTokenTTL(1500*time.Millisecond), sabasim.WithStreamEndsOnTokenExpiry(true))
	specs := []saba.StreamSpec{{Endpoint: "GetMarkets", Query: ""}}
	task := startTask(t, saba.TaskConfig(t, url, "GetMarkets", map[string]string{saba.KeyRefreshMargin: "400"}))
	runAndCheck(t, sim, task, specs, 1200, nil) // ~3 s: the token expires twice
	st := sim.Stats()
	if st.Logins < 2 || st.Refreshes != 0 {
		t.Fatalf("want logins after failed refreshes: %+v", st)
	}
}

func TestTaskRefreshesBeforeExpiry(t *testing.T) {
	sim, url := saba.NewTestSim(t, sabasim.WithTokenTTL(1500*time.Millisecond), sabasim.WithStreamEndsOnTokenExpiry(true))
	task := startTask(t, saba.TaskConfig(t, url, "GetEvents", map[string]string{saba.KeyRefreshMargin: "400"}))
	runAndCheck(t, sim, task, []saba.StreamSpec{{Endpoint: "GetEvents", Query: ""}}, 1200, nil)
	st := sim.Stats()
	if st.Refreshes < 1 || st.Unauthorized != 0 {
		t.Fatalf("want refreshes before expiry and no 401: %+v", st)
	}
}
