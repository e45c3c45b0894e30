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

// TestWebhookCrashExactlyOnce runs the real binary with roanuz.webhook
// against the real broker while the simulator in this process pushes a storm
// of ball-by-ball updates (8 senders, duplicates, reordering, bad requests),
// SIGKILLs the binary at random instants 12 times and restarts it. The
// simulator retries every push until it gets a 2xx. A read_committed
// consumer must then find every push exactly once (so every push that got
// a 2xx is there exactly once), and every bad request answered 400 or 413
// in the dead-letter topic.
func TestWebhookCrashExactlyOnce(t *testing.T) {
	const kills = 12
	testenv.Binary(t) // built before the simulator starts its clock
	u := testenv.UniqueName(t, "rzw-")
	worker := testenv.WriteFile(t, "worker.properties", testenv.WorkerProperties(t, u+"-g", u+"-offsets"))
	var matches []string
	for i := 1; i <= 48; i++ {
		matches = append(matches, fmt.Sprintf("crash_m%02d", i))
	}
	// 40 overs a match make 16,730 pushes (innings end first), and runs
	// last 1-2 s: a fast machine acked all 12,838 pushes of 20 overs
	// before the twelfth kill with runs of 1-2.5 s (about 1,050 acks a
	// run), and the test needs every kill mid-stream.
	sim := startSim(t, roanuzsim.WithMatches(matches...), roanuzsim.WithOvers(40), roanuzsim.WithSeed(11))
	addr := freePort(t)
	conn := testenv.WriteFile(t, "roanuz.json", fmt.Sprintf(`{"name": "rzcrash", "config": {
		"connector.class": "roanuz.webhook", "topic.prefix": %q, "transaction.boundary": "poll",
		"topic.creation.default.partitions": "3", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": %q,
		"roanuz.webhook.listen": %q, "roanuz.webhook.secret": "${env:RZ_SECRET}", "roanuz.webhook.ack.timeout.ms": "5000",
		"roanuz.api.url": %q, "roanuz.project.key": "sim_project", "roanuz.api.key": "${env:RZ_KEY}",
		"roanuz.matches": %q}}`, u, u+".dlq", addr, sim.URL(), strings.Join(matches, ",")))
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	p := sim.NewPusher(roanuzsim.PushOptions{URL: "http://" + addr + "/roanuz/push", SecretHeader: "X-Roanuz-Secret", Secret: "crash-secret-value",
		Senders: 8, Seed: 5, Duplicates: 0.1, Reorder: 0.1, PlainJSON: 0.1, RetryMin: 20 * time.Millisecond, RetryMax: 300 * time.Millisecond,
		CorruptEvery: 400, WrongSecret: 300, BombEvery: 700, BombBytes: 128 << 20, OversizedEvery: 900})
	type runResult struct {
		rs  []*roanuzsim.PushResult
		err error
	}
	pushed := make(chan runResult, 1)
	go func() { rs, err := p.Run(ctx); pushed <- runResult{rs, err} }()

	var mu sync.Mutex
	var logs []string
	// The final run delivers what is left of the storm, each push answered
	// after its own commit: about 45 s at ~285 pushes/s here; the race
	// detector slows the pushers in this process several times.
	finalTimeout := 4 * time.Minute
	if testenv.RaceEnabled {
		finalTimeout = 12 * time.Minute
	}
	testenv.CrashLoop{
		Args:   []string{"run", "--log-format", "json", worker, conn},
		Env:    []string{"RZ_SECRET=crash-secret-value", "RZ_KEY=sim-api-key"},
		Kills:  kills,
		MinRun: time.Second, MaxRun: 2 * time.Second,
		// Acknowledged pushes are committed ones.
		Progress:     func() int64 { return p.Stats().Acked },
		Done:         int64(len(p.Timeline())),
		FinalTimeout: finalTimeout,
		Logs: func(run int, out string) {
			mu.Lock()
			logs = append(logs, out)
			mu.Unlock()
		},
	}.Run(t)
	var res runResult
	select {
	case res = <-pushed:
	case <-time.After(time.Minute):
		t.Fatalf("the pusher did not end: %+v", p.Stats())
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	for _, s := range logs {
		if strings.Contains(s, "crash-secret-value") || strings.Contains(s, "sim-api-key") {
			t.Fatal("a secret appears in the logs")
		}
	}

	got := map[string]int{}
	records := 0
	provider := map[string][]backRecord{}
	for _, topic := range []string{u + "." + roanuz.TopicBallUpdates, u + "." + roanuz.TopicMatchEvents} {
		recs := readTopic(ctx, t, topic)
		provider[topic] = backRecords(recs)
		for _, r := range recs {
			raw, _ := r.Value["raw"].(string)
			pp, err := roanuz.ParsePush([]byte(raw))
			if err != nil {
				t.Fatalf("%s: raw does not parse: %v", topic, err)
			}
			if r.Key != pp.MatchKey {
				t.Fatalf("key %q for match %q", r.Key, pp.MatchKey)
			}
			got[fmt.Sprintf("%x", pp.Identity())]++
			records++
		}
	}
	for _, pr := range res.rs {
		pp, _ := roanuz.ParsePush(pr.Body)
		if n := got[fmt.Sprintf("%x", pp.Identity())]; n != 1 {
			t.Fatalf("push %s step %d (acknowledged %v after %d attempts) is in Kafka %d times, want 1",
				pr.Match, pr.Step, !pr.Acked.IsZero(), pr.Attempts, n)
		}
	}
	if records != len(res.rs) {
		t.Fatalf("%d records for %d pushes", records, len(res.rs))
	}
	st := p.Stats()
	answered4xx, sentBad := 0, 0
	for kind, want := range map[string]int{"wrong-secret": 401, "bomb": 413, "corrupt": 400, "oversized": 413} {
		for _, s := range st.Injected[kind] {
			if s != want && s != 0 && s != 503 {
				t.Fatalf("%s answered %d, want %d", kind, s, want)
			}
			if kind != "wrong-secret" {
				sentBad++
				if s == want {
					answered4xx++
				}
			}
		}
		if len(st.Injected[kind]) == 0 {
			t.Fatalf("no %s request was injected", kind)
		}
	}
	// A 400/413 is answered only once its dead letter committed.
	dead := readCommitted(ctx, t, u+".dlq", false)
	if len(dead) < answered4xx || len(dead) > sentBad {
		t.Fatalf("%d dead letters for %d bad requests answered 4xx (%d sent)", len(dead), answered4xx, sentBad)
	}
	truncated := 0
	for _, d := range dead {
		if d.Headers[roanuz.HeaderTruncated] == "true" {
			truncated++
			if len(d.Raw) != 64<<10 {
				t.Fatalf("truncated dead letter of %d bytes, want the first 64 KiB", len(d.Raw))
			}
		}
	}
	if truncated == 0 {
		t.Fatal("no oversized body reached the dead-letter topic")
	}
	if st.Duplicates == 0 || st.Retries == 0 {
		t.Fatalf("no duplicates (%d) or no retries (%d): the storm did not exercise dedup and retry", st.Duplicates, st.Retries)
	}
	lv := live.Config{Enabled: true, EventsTopic: u + "." + live.DefaultEventsTopic, MatchesTopic: u + "." + live.DefaultMatchesTopic}
	norm, err := checkWebhookLive(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, testenv.Registry(t), lv, sim, res.rs, provider)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kills, %d pushes each exactly once in Kafka (read_committed); %d dead letters (%d truncated) for %d bad requests answered 4xx; %d attempts, %d retries, %d duplicates, statuses %v; %s, one per push, exactly once",
		kills, len(res.rs), len(dead), truncated, answered4xx, st.Attempts, st.Retries, st.Duplicates, st.ByStatus, norm.Summary())
}
