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

// TestMatchCrashExactlyOnce runs the real binary with roanuz.match (two
// tasks; two configured matches and two found in the featured list) against
// the real broker while the in-process simulator plays the 4 matches,
// drops Socket.IO connections, rotates the payload variants and expires
// tokens; it SIGKILLs the binary 12 times and restarts it. A read_committed
// consumer must then find no match content written twice, every ball of
// every match, each match completed, every match unsubscribed, and each
// match followed once and released once in the subscriptions topic.
func TestMatchCrashExactlyOnce(t *testing.T) {
	const kills = 12
	testenv.Binary(t) // built before the simulator starts its clock
	u := testenv.UniqueName(t, "rzm-")
	worker := testenv.WriteFile(t, "worker.properties", testenv.WorkerProperties(t, u+"-g", u+"-offsets"))
	keys := []string{"cm1", "cm2", "cm3", "cm4"}
	// A match document carries only its last 12 balls (related_balls), so
	// a ball is recoverable after a restart only if fewer than 12 balls
	// were played while the connector was down: at 200 ms a step that is
	// about 2.4 s of downtime, restart included, which a loaded CI machine
	// stays within. (The webhook push is the complete ball feed.)
	sim := startSim(t, roanuzsim.WithMatches(keys...), roanuzsim.WithListed("cm3", "cm4"), roanuzsim.WithOvers(20), roanuzsim.WithStepInterval(200*time.Millisecond),
		roanuzsim.WithSockDropEvery(60), roanuzsim.WithPingInterval(time.Second), roanuzsim.WithTokenLifetime(20*time.Second), roanuzsim.WithEngineIO(roanuzsim.EngineIOBoth))
	conn := testenv.WriteFile(t, "roanuz.json", fmt.Sprintf(`{"name": "rzmcrash", "config": {
		"connector.class": "roanuz.match", "topic.prefix": %q, "transaction.boundary": "poll", "tasks.max": "2",
		"topic.creation.default.partitions": "3", "roanuz.api.url": %q, "roanuz.project.key": "sim_project",
		"roanuz.api.key": "${env:RZ_KEY}", "roanuz.matches": "cm1,cm2", "roanuz.matches.per.connection": "2",
		"roanuz.matches.discover": "featured", "roanuz.matches.discover.interval.ms": "500",
		"roanuz.reconnect.backoff.initial.ms": "50", "roanuz.reconnect.backoff.max.ms": "500"}}`, u, sim.URL()))
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	// Progress is the simulator's: the steps played, plus one per match
	// completed and unsubscribed. It never goes back, and the last kill
	// must come before the end of the matches.
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
	testenv.CrashLoop{
		Args:   []string{"run", "--log-format", "json", worker, conn},
		Env:    []string{"RZ_KEY=sim-api-key"},
		Kills:  kills,
		MinRun: time.Second, MaxRun: 2 * time.Second,
		Progress: progress, Done: done,
		Logs: func(run int, out string) {
			mu.Lock()
			logs.WriteString(out)
			mu.Unlock()
		},
	}.Run(t)
	if strings.Contains(logs.String(), "sim-api-key") {
		t.Fatal("the api key appears in the logs")
	}
	hashes := map[string]int{}
	completed := map[string]bool{}
	docs := readTopic(ctx, t, u+"."+roanuz.TopicMatches)
	for _, r := range docs {
		hashes[r.Key+"/"+r.Value["content_hash"].(string)]++
		if r.Value["status"] == "completed" {
			completed[r.Key] = true
		}
	}
	for h, n := range hashes {
		if n != 1 {
			t.Fatalf("match content %s in Kafka %d times", h, n)
		}
	}
	balls := map[string]int{}
	ballRecs := readTopic(ctx, t, u+"."+roanuz.TopicBalls)
	for _, r := range ballRecs {
		balls[r.Key+"/"+r.Value["ball_key"].(string)]++
	}
	total := 0
	for _, k := range keys {
		if !completed[k] {
			t.Fatalf("match %s: no completed document in Kafka", k)
		}
		for _, b := range sim.Balls(k) {
			if balls[k+"/"+b] == 0 {
				t.Fatalf("match %s: ball %s not in Kafka", k, b)
			}
			total++
		}
	}
	subs := map[string]int{}
	for _, r := range readTopic(ctx, t, u+"."+roanuz.TopicSubscriptions) {
		subs[fmt.Sprintf("%s %s %s", r.Key, r.Value["action"], r.Value["reason"])]++
	}
	for _, k := range keys {
		reason := roanuz.ReasonConfigured
		if k == "cm3" || k == "cm4" {
			reason = roanuz.ReasonListed
		}
		for _, want := range []string{k + " follow " + reason, k + " release " + roanuz.ReasonCompleted} {
			if subs[want] != 1 {
				t.Fatalf("subscriptions: %q committed %d times, want once (all: %v)", want, subs[want], subs)
			}
		}
	}
	lv := live.Config{Enabled: true, EventsTopic: u + "." + live.DefaultEventsTopic, MatchesTopic: u + "." + live.DefaultMatchesTopic}
	norm, err := checkMatchLive(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, testenv.Registry(t), lv, sim, keys,
		streamRead{matchTopic: u + "." + roanuz.TopicMatches, ballTopic: u + "." + roanuz.TopicBalls, docs: backRecords(docs), balls: backRecords(ballRecs)})
	if err != nil {
		t.Fatal(err)
	}
	conns, joins, updates, errs, drops := sim.SockStats()
	t.Logf("%d kills: %d match states each once, %d balls (%d distinct ball keys, %d ball records), subscriptions %v; %s, exactly once; simulator %d connections, %d joins, %d updates, %d on_error, %d drops",
		kills, len(hashes), total, len(balls), len(ballRecs), subs, norm.Summary(), conns, joins, updates, errs, drops)
}
