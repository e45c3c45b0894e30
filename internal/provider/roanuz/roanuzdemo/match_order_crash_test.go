package roanuzdemo

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestMatchCatchUpOrderThroughCrashes runs the real binary with
// roanuz.match against the real broker while the simulator answers the
// Match API 400 ms late and one step behind the stream, sends no state on
// a join, drops connections, and issues 2 s tokens (renewed about every
// 1.6 s); the binary is SIGKILLed 4 times and restarted. Read back with
// read_committed, no match's states may ever go back in its timeline, none
// may be written twice, and each match ends completed. The stale documents
// dropped are counted from the logs: there must be some, or the faults did
// not bite.
func TestMatchCatchUpOrderThroughCrashes(t *testing.T) {
	const kills = 4
	testenv.Binary(t) // built before the simulator starts its clock
	u := testenv.UniqueName(t, "rzo-")
	worker := testenv.WriteFile(t, "worker.properties", testenv.WorkerProperties(t, u+"-g", u+"-offsets"))
	keys := []string{"om1", "om2"}
	sim := startSim(t, roanuzsim.WithMatches(keys...), roanuzsim.WithOvers(8), roanuzsim.WithStepInterval(150*time.Millisecond), roanuzsim.WithClockOnSubscribe(),
		roanuzsim.WithRESTDelay(400*time.Millisecond), roanuzsim.WithRESTBehind(1), roanuzsim.WithSockQuietJoin(), roanuzsim.WithSockDropEvery(25),
		roanuzsim.WithPingInterval(time.Second), roanuzsim.WithTokenLifetime(2*time.Second))
	conn := testenv.WriteFile(t, "roanuz.json", fmt.Sprintf(`{"name": "rzorder", "config": {
		"connector.class": "roanuz.match", "topic.prefix": %q, "transaction.boundary": "poll",
		"roanuz.api.url": %q, "roanuz.project.key": "sim_project", "roanuz.api.key": "${env:RZ_KEY}",
		"roanuz.matches": "om1,om2", "roanuz.matches.per.connection": "2",
		"roanuz.reconnect.backoff.initial.ms": "50", "roanuz.reconnect.backoff.max.ms": "300"}}`, u, sim.URL()))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	progress := func() int64 {
		var n int64
		for _, k := range keys {
			n += int64(sim.Step(k))
			if sim.Step(k) == sim.Steps(k)-1 && !sim.Subscribed(k, roanuzsim.MethodWebSocket) && sim.SubscribeCalls(k, "unsubscribe") > 0 {
				n++
			}
		}
		return n
	}
	var done int64
	for _, k := range keys {
		done += int64(sim.Steps(k))
	}
	var mu sync.Mutex
	var logs strings.Builder
	began := time.Now()
	testenv.CrashLoop{
		Args:  []string{"run", "--log-format", "json", worker, conn},
		Env:   []string{"RZ_KEY=sim-api-key"},
		Kills: kills,
		// Each run outlives a token's renewal (80% of 2 s after its login,
		// which follows the start by up to half a second), so renewals on
		// an open connection happen in the killed runs too; at 1-2 s a
		// run could end before its first renewal every time.
		MinRun: 2500 * time.Millisecond, MaxRun: 3500 * time.Millisecond,
		Progress: progress, Done: done,
		FinalTimeout: 2 * time.Minute,
		Logs: func(run int, out string) {
			mu.Lock()
			logs.WriteString(out)
			mu.Unlock()
		},
	}.Run(t)
	played := time.Since(began)
	written := map[string][]string{}
	seen := map[string]int{}
	completed := map[string]bool{}
	docs := readTopic(ctx, t, u+"."+roanuz.TopicMatches)
	for _, r := range docs {
		h := r.Value["content_hash"].(string)
		written[r.Key] = append(written[r.Key], h)
		seen[r.Key+"/"+h]++
		if r.Value["status"] == "completed" {
			completed[r.Key] = true
		}
	}
	for h, n := range seen {
		if n != 1 {
			t.Fatalf("match content %s in Kafka %d times", h, n)
		}
	}
	n := checkForward(t, sim, written)
	for _, k := range keys {
		if !completed[k] {
			t.Fatalf("match %s: no completed document in Kafka", k)
		}
	}
	// The normalized records follow the stale documents' rules too (their
	// balls are events; the documents are not).
	lv := live.Config{Enabled: true, EventsTopic: u + "." + live.DefaultEventsTopic, MatchesTopic: u + "." + live.DefaultMatchesTopic}
	norm, err := checkMatchLive(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, testenv.Registry(t), lv, sim, keys,
		streamRead{matchTopic: u + "." + roanuz.TopicMatches, ballTopic: u + "." + roanuz.TopicBalls, docs: backRecords(docs),
			balls: backRecords(readTopic(ctx, t, u+"."+roanuz.TopicBalls))})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	stale := countLines(out, staleLogLine)
	conns, _, _, _, drops := sim.SockStats()
	t.Logf("%d kills in %s: %d match states written, in order and once each; %d stale documents dropped %v; %s; %d tokens issued, %d renewed on an open connection; simulator %d connections, %d drops",
		kills, played.Round(time.Millisecond), n, stale, staleByReason(out), norm.Summary(), sim.Auths(), countLines(out, "roanuz token renewed on the open connection"), conns, drops)
	if auths := sim.Auths(); auths <= kills+1 {
		t.Fatalf("%d tokens issued over %d runs: no token was renewed", auths, kills+1)
	}
	if stale == 0 {
		t.Fatal("no stale document dropped: the faults did not bite")
	}
}
