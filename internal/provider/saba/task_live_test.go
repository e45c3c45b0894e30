package saba_test

import (
	"context"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/live/livecheck"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabademo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"go.uber.org/zap/zaptest"
)

// TestLiveEventsFollowTheFeed runs a task through cuts, repeated frames
// and malformed messages, and restarts it twice from the offsets and match
// states it left (as a worker would): once inside the replay cache, once
// after the simulator ran past it (the streams come back with a status 3
// Reset). Every mapped provider record has exactly one
// normalized event, right after it, and the normalized records of both
// tasks together pass sabademo.CheckLive against the timeline.
func TestLiveEventsFollowTheFeed(t *testing.T) {
	sim, url := saba.NewTestSim(t, sabasim.WithCacheSize(40), sabasim.WithEvents(20, 3),
		sabasim.WithMalformedEvery(37), sabasim.WithDuplicateEvery(13), sabasim.WithInclusiveReplay(true))
	specs, err := saba.ParseStreams("GetEvents $filter=sporttype eq 1; GetMarkets; GetEvents $filter=sporttype ne 1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := saba.TaskConfig(t, url, "GetEvents $filter=sporttype eq 1; GetMarkets; GetEvents $filter=sporttype ne 1", nil)
	lv := live.ParseConfig(cfg)
	all := runLiveTask(t, sim, connector.NewTaskContext("saba-test", 0, cfg, zaptest.NewLogger(t), nil, nil), specs, 150, nil)
	// Two restarts, as a worker makes them: the tasks start from the last
	// offset of every stream and the last state of every match. The
	// first resumes inside the replay cache (no snapshot: the sport of
	// every event comes from the restored states); before the second the
	// simulator runs past the cache of 40.
	for _, skip := range []int{0, 200} {
		offsets := map[string]connector.Offset{}
		last := map[string]*live.Match{}
		for _, r := range all {
			offsets[r.Partition.String()] = r.Offset
			if m, ok := r.Value.(*live.Match); ok {
				last[m.MatchID] = m
			}
		}
		var states []connector.RestoredRecord
		for id, m := range last {
			b, err := avro.Marshal(live.MatchSchema(), m)
			if err != nil {
				t.Fatal(err)
			}
			states = append(states, connector.NewRestoredRecord([]byte(id), b, func(_ context.Context, b []byte, v any) error {
				return avro.Unmarshal(live.MatchSchema(), b, v)
			}))
		}
		sim.Step(skip)
		tc := connector.NewTaskContext("saba-test", 0, cfg, zaptest.NewLogger(t), nil, offsets).
			WithRestored(map[string][]connector.RestoredRecord{lv.MatchesTopic: states})
		all = runLiveTask(t, sim, tc, specs, 150, all)
	}

	var recs []sabademo.ProviderRecord
	got := &livecheck.Topics{Events: map[string][]live.Event{}, Matches: map[string]live.Match{}}
	for i, r := range all {
		switch v := r.Value.(type) {
		case saba.EventRecord, saba.MarketRecord:
			recs = append(recs, sabademo.ProviderRecord{Value: v, Seq: int64(i)})
		case *live.Event:
			prev := all[i-1]
			id, _ := prev.Offset.OffsetString(saba.OffsetKey)
			if r.Topic != lv.EventsTopic || string(r.Key) != v.MatchID || v.Position != id || r.Offset[saba.OffsetKey] != id || v.SourceTopic != prev.Topic {
				t.Fatalf("normalized event %+v on %s after a record of message %s on %s", v, r.Topic, id, prev.Topic)
			}
			got.Events[v.MatchID] = append(got.Events[v.MatchID], *v)
		case *live.Match:
			got.Matches[v.MatchID] = *v
		}
	}
	st, err := sabademo.CheckLive(sim, specs, recs, got, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d provider records (%d mapped), %s; %d corrections, %d matches left as last seen by the Reset", len(recs), st.Mapped, got.Summary(), st.Corrections, st.Stale)
	kinds := got.Kinds()
	for _, k := range []live.Kind{live.KindMatchStatus, live.KindScoreChange, live.KindOddsChange, live.KindMarketSuspended, live.KindMarketReopened, live.KindCorrection} {
		if kinds[k] == 0 {
			t.Errorf("no %s event: %v", k, kinds)
		}
	}
	if sim.Stats().Resets != 3 {
		t.Errorf("%d status 3 Resets, want one per stream", sim.Stats().Resets)
	}
}

// runLiveTask starts a task with tc, steps the simulator n times (cutting
// the streams once), polls until every stream holds the whole timeline
// (with prior, the records of the tasks before), stops the task and
// returns prior and every record it returned.
func runLiveTask(t *testing.T, sim *sabasim.Simulator, tc *connector.TaskContext, specs []saba.StreamSpec, n int, prior []*connector.SourceRecord) []*connector.SourceRecord {
	t.Helper()
	task := &saba.Task{}
	if err := task.Start(context.Background(), tc); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = task.Stop() }()
	start, _ := sim.Head()
	go func() {
		for i := range n {
			sim.Step(1)
			if i == n/2 {
				sim.CutStreams()
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	all := prior
	before := observe(t, prior)
	for deadline := time.Now().Add(60 * time.Second); ; {
		if time.Now().After(deadline) {
			t.Fatalf("the task did not catch up with the simulator: %d records", len(all))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		recs, err := task.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		recs = connector.Flatten(recs) // as the worker writes them
		all = append(all, recs...)
		before = append(before, observe(t, recs)...)
		head, id := sim.Head()
		if head < start+int64(n) {
			continue
		}
		done := true
		for _, sp := range specs {
			if _, _, err := sabademo.CheckTimeline(sim, sp, "", byStream(before, sp.Name()), id); err != nil {
				done = false
			}
		}
		if done {
			return all
		}
	}
}
