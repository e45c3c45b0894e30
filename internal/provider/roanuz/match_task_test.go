package roanuz

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
)

func matchConfigFor(t testing.TB, sim *roanuzsim.Simulator, extra map[string]string) connector.Config {
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

// startMatch starts a roanuz.match task on cfg with the given committed
// offsets, driven by a fakeRunner.
func startMatch(t testing.TB, cfg connector.Config, offsets ...connector.PartitionOffset) (*fakeRunner, *MatchTask) {
	t.Helper()
	c := &MatchConnector{log: testLogger(t)}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	task := c.NewTask().(*MatchTask)
	return startRunner(t, task, connector.NewTaskContextForTest("rzm", 0, cfg, testLogger(t), offsets...)), task
}

// pollMatches waits until done holds for the committed records.
func pollMatches(t testing.TB, r *fakeRunner, timeout time.Duration, done func([]*connector.SourceRecord) bool) []*connector.SourceRecord {
	t.Helper()
	waitFor(t, timeout, "the matches", func() bool { return done(r.records()) })
	return r.records()
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

// waitUnsubscribed waits until every key is unsubscribed (after completion).
func waitUnsubscribed(t testing.TB, sim *roanuzsim.Simulator, keys ...string) {
	t.Helper()
	waitFor(t, 10*time.Second, "the unsubscribes", func() bool {
		for _, k := range keys {
			if sim.Subscribed(k, MethodWebSocket) || sim.SubscribeCalls(k, "unsubscribe") == 0 {
				return false
			}
		}
		return true
	})
}

// checkStream checks that no match content was written twice and every ball of the timeline was written.
func checkStream(t testing.TB, sim *roanuzsim.Simulator, recs []*connector.SourceRecord, keys ...string) {
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
		for _, b := range sim.Balls(k) {
			if !balls[k][b] {
				t.Fatalf("match %s: ball %s never written (%d balls written)", k, b, len(balls[k]))
			}
		}
		if sim.Subscribed(k, MethodWebSocket) {
			t.Fatalf("match %s still subscribed after completion", k)
		}
	}
}

func TestMatchStreamWithDropsAndVariants(t *testing.T) {
	sim := startSim(t, roanuzsim.WithMatches("m1", "m2"), roanuzsim.WithOvers(2), roanuzsim.WithStepInterval(15*time.Millisecond), roanuzsim.WithSockDropEvery(25),
		roanuzsim.WithSockMalformedEvery(7), roanuzsim.WithPingInterval(500*time.Millisecond))
	r, _ := startMatch(t, matchConfigFor(t, sim, map[string]string{"errors.tolerance": "all"}))
	recs := pollMatches(t, r, 60*time.Second, completedAll("m1", "m2"))
	waitUnsubscribed(t, sim, "m1", "m2")
	checkStream(t, sim, recs, "m1", "m2")
	// FixtureDone follows the unsubscribe, once the roster's release commits.
	waitFor(t, 10*time.Second, "FixtureDone of m1 and m2", func() bool {
		_, _, done := r.metrics.snapshot()
		return done["m1"] > 0 && done["m2"] > 0
	})
	reconnects, lags, done := r.metrics.snapshot()
	if reconnects == 0 || lags["m1"] == 0 || lags["m2"] == 0 || done["m1"] != 1 || done["m2"] != 1 {
		t.Fatalf("metrics: %d reconnects, commit lags %v, FixtureDone %v; want reconnects > 0, lags for m1 and m2, FixtureDone once each",
			reconnects, lags, done)
	}
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
	sim := startSim(t, roanuzsim.WithMatches("m1"), roanuzsim.WithOvers(2), roanuzsim.WithStepInterval(120*time.Millisecond), roanuzsim.WithTokenLifetime(1500*time.Millisecond))
	r, _ := startMatch(t, matchConfigFor(t, sim, map[string]string{KeyMatches: "m1"}))
	recs := pollMatches(t, r, 60*time.Second, completedAll("m1"))
	waitUnsubscribed(t, sim, "m1")
	checkStream(t, sim, recs, "m1")
	if n := sim.Auths(); n < 3 {
		t.Fatalf("%d tokens issued over a match several token lifetimes long, want >= 3", n)
	}
	t.Logf("%d records, %d tokens issued", len(recs), sim.Auths())
}

// TestMatchTokenRenewedOnTheOpenConnection plays a match over several
// lifetimes of a short token: each renewal re-joins on the open connection
// with the fresh token, so the one connection carries the whole match (no
// reconnect, no REST catch-up after the first).
func TestMatchTokenRenewedOnTheOpenConnection(t *testing.T) {
	sim := startSim(t, roanuzsim.WithMatches("m1"), roanuzsim.WithOvers(3), roanuzsim.WithStepInterval(40*time.Millisecond), roanuzsim.WithClockOnSubscribe(),
		roanuzsim.WithTokenLifetime(700*time.Millisecond))
	r, _ := startMatch(t, matchConfigFor(t, sim, map[string]string{KeyMatches: "m1"}))
	recs := pollMatches(t, r, 60*time.Second, completedAll("m1"))
	waitUnsubscribed(t, sim, "m1")
	checkStream(t, sim, recs, "m1")
	conns, joins, _, errs, drops := sim.SockStats()
	reconnects, _, _ := r.metrics.snapshot()
	t.Logf("%d records, %d tokens issued; %d connections, %d joins, %d on_error, %d reconnects", len(recs), sim.Auths(), conns, joins, errs, reconnects)
	if sim.Auths() < 3 {
		t.Fatalf("%d tokens issued over a match several token lifetimes long, want >= 3", sim.Auths())
	}
	if conns != 1 || reconnects != 0 || drops != 0 {
		t.Fatalf("%d connections, %d reconnects (%d drops): the token renewals ended the connection", conns, reconnects, drops)
	}
	if joins < sim.Auths() {
		t.Fatalf("%d joins for %d tokens: a renewed token was not joined with", joins, sim.Auths())
	}
}

func TestMatchStreamEngineIOv3(t *testing.T) {
	for _, tc := range []struct {
		name string
		eio  int
	}{
		{"v3-only server (socket.io 2.x: ignores EIO=4)", roanuzsim.EngineIOv3},
		{"server with both (v4 chosen)", roanuzsim.EngineIOBoth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, roanuzsim.WithMatches("m1"), roanuzsim.WithOvers(1), roanuzsim.WithStepInterval(20*time.Millisecond), roanuzsim.WithEngineIO(tc.eio),
				roanuzsim.WithPingInterval(100*time.Millisecond), roanuzsim.WithSockDropEvery(15))
			r, _ := startMatch(t, matchConfigFor(t, sim, map[string]string{KeyMatches: "m1"}))
			recs := pollMatches(t, r, 60*time.Second, completedAll("m1"))
			waitUnsubscribed(t, sim, "m1")
			checkStream(t, sim, recs, "m1")
			v3, pings := sim.SockEngineStats()
			conns, _, _, _, drops := sim.SockStats()
			t.Logf("%d records; %d connections (%d Engine.IO v3), %d v3 pings answered, %d drops", len(recs), conns, v3, pings, drops)
			if tc.eio == roanuzsim.EngineIOv3 && (v3 != conns || pings == 0) {
				t.Fatalf("v3-only server: %d of %d connections spoke v3, %d client pings", v3, conns, pings)
			}
			if tc.eio == roanuzsim.EngineIOBoth && v3 != 0 {
				t.Fatalf("%d connections fell back to v3 on a server speaking v4", v3)
			}
			if drops == 0 {
				t.Fatal("no connection was dropped: the test did not exercise reconnects")
			}
		})
	}
}

func TestMatchTasksShareTheBuckets(t *testing.T) {
	ms := strings.Split(keys(6), ",")
	sim := startSim(t, roanuzsim.WithMatches(ms...), roanuzsim.WithOvers(1), roanuzsim.WithStepInterval(10*time.Millisecond))
	cfg := matchConfigFor(t, sim, map[string]string{KeyMatches: strings.Join(ms, ","), "tasks.max": "2"})
	c := &MatchConnector{log: testLogger(t)}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	tcs, err := c.TaskConfigs(2)
	if err != nil || len(tcs) != 2 {
		t.Fatalf("TaskConfigs: %d, %v", len(tcs), err)
	}
	var runners []*fakeRunner
	for i, tc := range tcs {
		tc[connector.KeyTaskIndex], tc[connector.KeyTaskCount] = fmt.Sprint(i), "2"
		runners = append(runners, startRunner(t, c.NewTask(), connector.NewTaskContextForTest("rzm", i, tc, testLogger(t))))
	}
	waitFor(t, 60*time.Second, "every match completed", func() bool {
		var all []*connector.SourceRecord
		for _, r := range runners {
			all = append(all, r.records()...)
		}
		return completedAll(ms...)(all)
	})
	owner := map[string]int{}
	for i, r := range runners {
		for _, rec := range r.records() {
			if m, ok := rec.Value.(*Match); ok {
				if o, seen := owner[m.Key]; seen && o != i {
					t.Fatalf("match %s written by tasks %d and %d", m.Key, o, i)
				}
				owner[m.Key] = i
			}
		}
	}
	if len(owner) != len(ms) {
		t.Fatalf("%d of %d matches written", len(owner), len(ms))
	}
	t.Logf("owners: %v", owner)
}
