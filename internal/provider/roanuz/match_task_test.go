package roanuz

import (
	"context"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

func matchConfigFor(t testing.TB, sim *Simulator, extra map[string]string) connector.Config {
	t.Helper()
	raw := connector.Config{"name": "rzm", "connector.class": ClassMatch, KeyAPIURL: sim.URL(), KeyProject: "sim_project",
		KeyAPIKey: "sim-api-key", KeyMatches: "m1,m2", KeyBackoffInitialMs: "20", KeyBackoffMaxMs: "200"}
	for k, v := range extra {
		raw[k] = v
	}
	cfg, err := connector.CommonSpec().Merge(MatchSpec()).Validate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// pollMatches polls task until done or timeout, committing every batch.
func pollMatches(t testing.TB, task *MatchTask, timeout time.Duration, done func([]*connector.SourceRecord) bool) []*connector.SourceRecord {
	t.Helper()
	var recs []*connector.SourceRecord
	deadline := time.Now().Add(timeout)
	for !done(recs) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out with %d records", len(recs))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		rs, err := task.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.OnCommit != nil {
				r.OnCommit(nil)
			}
		}
		recs = append(recs, rs...)
	}
	return recs
}

func completedAll(keys ...string) func([]*connector.SourceRecord) bool {
	return func(recs []*connector.SourceRecord) bool {
		done := map[string]bool{}
		for _, r := range recs {
			if m, ok := r.Value.(*Match); ok && m.Status == "completed" {
				done[m.Key] = true
			}
		}
		return len(done) == len(keys)
	}
}

// checkStream checks that no match content was written twice and every ball of the timeline was written.
func checkStream(t testing.TB, sim *Simulator, recs []*connector.SourceRecord, keys ...string) {
	t.Helper()
	hashes := map[string]int{}
	balls := map[string]map[string]bool{}
	for _, r := range recs {
		switch v := r.Value.(type) {
		case *Match:
			hashes[v.Key+"/"+v.ContentHash]++
		case *Ball:
			if balls[v.MatchKey] == nil {
				balls[v.MatchKey] = map[string]bool{}
			}
			balls[v.MatchKey][v.BallKey] = true
		}
	}
	for h, n := range hashes {
		if n != 1 {
			t.Fatalf("match content %s written %d times", h, n)
		}
	}
	for _, k := range keys {
		for _, b := range sim.tls[k].balls {
			if !balls[k][b.Key] {
				t.Fatalf("match %s: ball %s never written (%d balls written)", k, b.Key, len(balls[k]))
			}
		}
		if sim.Subscribed(k, MethodWebSocket) {
			t.Fatalf("match %s still subscribed after completion", k)
		}
	}
}

func TestMatchStreamWithDropsAndVariants(t *testing.T) {
	sim := startSim(t, SimMatches("m1", "m2"), SimOvers(2), SimStepInterval(15*time.Millisecond), SimSockDropEvery(25),
		SimSockMalformedEvery(7), SimPingInterval(500*time.Millisecond))
	cfg := matchConfigFor(t, sim, map[string]string{"errors.tolerance": "all"})
	c := &MatchConnector{log: testLogger(t)}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	task := c.NewTask().(*MatchTask)
	if err := task.Start(context.Background(), connector.NewTaskContextForTest("rzm", 0, cfg, testLogger(t))); err != nil {
		t.Fatal(err)
	}
	defer task.Stop()
	recs := pollMatches(t, task, 60*time.Second, completedAll("m1", "m2"))
	time.Sleep(300 * time.Millisecond) // the unsubscribe runs after the commit
	checkStream(t, sim, recs, "m1", "m2")
	conns, joins, updates, errs, drops := sim.SockStats()
	dead := 0
	for _, r := range recs {
		if r.DeadLetter != nil {
			dead++
		}
	}
	t.Logf("%d records, %d dead letters; simulator: %d connections, %d joins, %d updates, %d on_error, %d drops", len(recs), dead, conns, joins, updates, errs, drops)
	if drops == 0 || dead == 0 {
		t.Fatal("no drop or no malformed update: the test did not exercise the faults")
	}
}

func TestMatchStreamTokenExpiryMidMatch(t *testing.T) {
	sim := startSim(t, SimMatches("m1"), SimOvers(2), SimStepInterval(120*time.Millisecond), SimTokenLifetime(1500*time.Millisecond))
	cfg := matchConfigFor(t, sim, map[string]string{KeyMatches: "m1"})
	c := &MatchConnector{log: testLogger(t)}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	task := c.NewTask().(*MatchTask)
	if err := task.Start(context.Background(), connector.NewTaskContextForTest("rzm", 0, cfg, testLogger(t))); err != nil {
		t.Fatal(err)
	}
	defer task.Stop()
	recs := pollMatches(t, task, 60*time.Second, completedAll("m1"))
	time.Sleep(300 * time.Millisecond)
	checkStream(t, sim, recs, "m1")
	if n := sim.Auths(); n < 3 {
		t.Fatalf("%d tokens issued over a match several token lifetimes long, want >= 3", n)
	}
	t.Logf("%d records, %d tokens issued", len(recs), sim.Auths())
}
