package saba

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
	"go.uber.org/zap/zaptest"
)

// taskConfig returns a validated connector config for the simulator at url.
func taskConfig(t *testing.T, url, streams string, extra map[string]string) connector.Config {
	t.Helper()
	cfg := connector.Config{
		"name": "saba-test", "connector.class": Class,
		KeyBaseURL: url, KeyVendorID: "vendor", KeyVendorMemberID: "member", KeyStreams: streams,
		KeySilenceTimeout: "2000", KeyBackoffInitial: "20", KeyBackoffMax: "200",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	out, err := connector.CommonSpec().Merge(Spec()).Validate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// startTask starts a task (without a worker) on cfg.
func startTask(t *testing.T, cfg connector.Config) *Task {
	t.Helper()
	return startTaskCtx(context.Background(), t, cfg)
}

// startTaskCtx starts a task with ctx given to Start (which may carry
// connector.TaskMetrics).
func startTaskCtx(ctx context.Context, t *testing.T, cfg connector.Config) *Task {
	t.Helper()
	task := &Task{}
	if err := task.Start(ctx, &connector.TaskContext{Connector: "saba-test", Config: cfg, Logger: zaptest.NewLogger(t)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = task.Stop() })
	return task
}

// observe turns records into observations, checking that every record of
// one message carries that message's offset and that no Poll split a message.
func observe(t *testing.T, recs []*connector.SourceRecord) []obs {
	t.Helper()
	var out []obs
	for _, r := range recs {
		id, _ := r.Offset.OffsetString(OffsetKey)
		o := obs{dead: r.DeadLetter != nil, msgID: id}
		switch v := r.Value.(type) {
		case EventRecord:
			o.stream, o.topic, o.op, o.status = streamName(StreamSpec{v.Endpoint, v.Query}), "events", v.Op, v.Status
			if v.MessageID != id {
				t.Fatalf("record of message %s carries offset %s", v.MessageID, id)
			}
		case MarketRecord:
			o.stream, o.topic, o.op, o.status = streamName(StreamSpec{v.Endpoint, v.Query}), "markets", v.Op, v.Status
			if v.MessageID != id {
				t.Fatalf("record of message %s carries offset %s", v.MessageID, id)
			}
		case nil:
			if r.DeadLetter == nil {
				continue // a tombstone
			}
			fs := r.Partition.Fields()
			o.stream = streamName(StreamSpec{fs["endpoint"].(string), fs["query"].(string)})
		}
		if o.stream == "" {
			fs := r.Partition.Fields()
			o.stream = streamName(StreamSpec{fs["endpoint"].(string), fs["query"].(string)})
		}
		out = append(out, o)
	}
	return out
}

// pollUntil polls task until done says so, returning every observation.
func pollUntil(t *testing.T, task *Task, timeout time.Duration, done func(all []obs) bool) ([]obs, error) {
	t.Helper()
	var all []obs
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

func byStream(all []obs, stream string) []obs {
	var out []obs
	for _, o := range all {
		if o.stream == stream {
			out = append(out, o)
		}
	}
	return out
}

// runAndCheck steps the simulator n times while the task runs (calling
// fault between steps), then checks every stream against the timeline.
func runAndCheck(t *testing.T, sim *Simulator, task *Task, specs []StreamSpec, n int, fault func(i int)) []obs {
	t.Helper()
	return runAndCheckFrom(t, sim, task, specs, n, fault, nil)
}

// runAndCheckFrom is runAndCheck with observations made before.
func runAndCheckFrom(t *testing.T, sim *Simulator, task *Task, specs []StreamSpec, n int, fault func(i int), before []obs) []obs {
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
	all, err := pollUntil(t, task, 60*time.Second, func(got []obs) bool {
		all := append(before[:len(before):len(before)], got...)
		head, id := sim.Head()
		headID = id
		if head < start+int64(n) {
			return false
		}
		for _, sp := range specs {
			recs := byStream(all, streamName(sp))
			if len(recs) == 0 {
				return false
			}
			if _, _, err := checkTimeline(sim, sp, "", recs, headID); err != nil {
				return false
			}
		}
		return true
	})
	all = append(before[:len(before):len(before)], all...)
	for _, sp := range specs {
		u, s, cerr := checkTimeline(sim, sp, "", byStream(all, streamName(sp)), headID)
		t.Logf("%s: %d updates, %d snapshots, check: %v", streamName(sp), u, s, cerr)
		if cerr != nil {
			t.Errorf("%s: %v", streamName(sp), cerr)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestTaskFollowsTimeline(t *testing.T) {
	sim, url := newTestSim(t, WithMalformedEvery(37))
	specs := []StreamSpec{{"GetEvents", "$filter=sporttype eq 1"}, {"GetMarkets", "$filter=bettype eq 1 or bettype eq 5"}, {"GetEvents", ""}}
	task := startTask(t, taskConfig(t, url, "GetEvents $filter=sporttype eq 1; GetMarkets $filter=bettype eq 1 or bettype eq 5\nGetEvents", nil))
	all := runAndCheck(t, sim, task, specs, 300, nil)
	if all[0].op != OpReset || all[0].status != StatusInitialData {
		t.Fatalf("first record %+v, want a reset marker of status 1", all[0])
	}
}

func TestTaskSurvivesFaults(t *testing.T) {
	sim, url := newTestSim(t, WithKeepAlive(50*time.Millisecond), WithTokenTTL(2*time.Second), WithCacheSize(10000))
	specs := []StreamSpec{{"GetEvents", ""}, {"GetMarkets", "$filter=sporttype eq 2"}}
	task := startTask(t, taskConfig(t, url, "GetEvents; GetMarkets $filter=sporttype eq 2", map[string]string{KeySilenceTimeout: "300", KeyRefreshMargin: "500"}))
	runAndCheck(t, sim, task, specs, 600, func(i int) {
		switch i {
		case 100, 250:
			sim.CutStreams()
		case 150:
			sim.Stall(700 * time.Millisecond)
		case 350:
			sim.ExpireTokens()
		case 450:
			sim.FailNext(StatusMaintenance, 2)
			sim.FailNext(StatusInternalServerError, 1)
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
	sim, url := newTestSim(t, WithDuplicateEvery(7), WithInclusiveReplay(true), WithMalformedEvery(21))
	specs := []StreamSpec{{"GetEvents", ""}, {"GetMarkets", "$filter=sporttype eq 1"}}
	task := startTask(t, taskConfig(t, url, "GetEvents; GetMarkets $filter=sporttype eq 1", nil))
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
	sim, url := newTestSim(t)
	m := &fakeMetrics{lags: map[string]int{}}
	task := startTaskCtx(connector.WithTaskMetrics(context.Background(), m), t, taskConfig(t, url, "GetMarkets $filter=sporttype eq 2", nil))
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
				id, _ := rec.Offset.OffsetString(OffsetKey)
				if i+1 < len(recs) && recs[i+1].Offset[OffsetKey] == id {
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

func TestTaskReset(t *testing.T) {
	sim, url := newTestSim(t, WithCacheSize(5))
	specs := []StreamSpec{{"GetEvents", ""}}
	task := startTask(t, taskConfig(t, url, "GetEvents", map[string]string{KeyQueueMessages: "1"}))
	// Do not poll while the simulator runs far ahead and the stream is cut:
	// the queued position falls out of the cache and the reconnect gets a
	// status 3 Reset.
	before, err := pollUntil(t, task, 10*time.Second, func(all []obs) bool { return len(all) > 0 })
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
		if o.op == OpReset && o.status == StatusReset {
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
		{"97 invalid Accept-Encoding", 0, "GetEvents", map[string]string{KeyAcceptEncoding: "compress"}, true},
		{"98 invalid OData query", 0, "GetEvents $filter=nonsense", nil, true},
		{"98 from the server", 98, "GetEvents", nil, true},
		{"99 maintenance", 99, "GetEvents", nil, false},
		{"100 internal error", 100, "GetEvents", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim, url := newTestSim(t)
			if c.status != 0 {
				sim.FailNext(c.status, 3)
			}
			task := startTask(t, taskConfig(t, url, c.streams, c.extra))
			all, err := pollUntil(t, task, 10*time.Second, func(all []obs) bool { return len(all) > 0 })
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
			var se *StatusError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), statusMessage(se.Status)) {
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
	sim, url := newTestSim(t, WithRefreshMode(RefreshBroken), WithTokenTTL(1500*time.Millisecond), WithStreamEndsOnTokenExpiry(true))
	specs := []StreamSpec{{"GetMarkets", ""}}
	task := startTask(t, taskConfig(t, url, "GetMarkets", map[string]string{KeyRefreshMargin: "400"}))
	runAndCheck(t, sim, task, specs, 1200, nil) // ~3 s: the token expires twice
	st := sim.Stats()
	if st.Logins < 2 || st.Refreshes != 0 {
		t.Fatalf("want logins after failed refreshes: %+v", st)
	}
}

func TestTaskRefreshesBeforeExpiry(t *testing.T) {
	sim, url := newTestSim(t, WithTokenTTL(1500*time.Millisecond), WithStreamEndsOnTokenExpiry(true))
	task := startTask(t, taskConfig(t, url, "GetEvents", map[string]string{KeyRefreshMargin: "400"}))
	runAndCheck(t, sim, task, []StreamSpec{{"GetEvents", ""}}, 1200, nil)
	st := sim.Stats()
	if st.Refreshes < 1 || st.Unauthorized != 0 {
		t.Fatalf("want refreshes before expiry and no 401: %+v", st)
	}
}

func TestByteBudget(t *testing.T) {
	b := newByteBudget(100)
	ctx := context.Background()
	if err := b.acquire(ctx, 500); err != nil { // one message always passes
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.acquire(short, 10); err == nil {
		t.Fatal("acquired beyond the budget while a message is queued")
	}
	done := make(chan error, 1)
	go func() { done <- b.acquire(ctx, 60) }()
	time.Sleep(20 * time.Millisecond)
	b.release(500)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := b.acquire(ctx, 40); err != nil { // 60 + 40 fits 100
		t.Fatal(err)
	}
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if err := b.acquire(short2, 1); err == nil {
		t.Fatal("acquired 101 of 100")
	}
}
