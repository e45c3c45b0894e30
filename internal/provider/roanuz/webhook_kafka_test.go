package roanuz

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// TestWebhookCrashExactlyOnce runs the real binary with roanuz.webhook
// against the real broker while the simulator in this process pushes a storm
// of ball-by-ball updates (8 senders, duplicates, reordering, bad requests),
// SIGKILLs the binary at random instants 12 times and restarts it. The
// simulator retries every push until it gets a 2xx. A read_committed
// consumer must then find every push exactly once; so every push that got
// a 2xx is there exactly once.
func TestWebhookCrashExactlyOnce(t *testing.T) {
	const kills = 12
	bin, err := builtBinary()
	if err != nil {
		t.Fatal(err)
	}
	u := testenv.UniqueName(t, "rzw-")
	dir := t.TempDir()
	worker := writeWorker(t, dir, u+"-g", u+"-offsets")
	var matches []string
	for i := 1; i <= 48; i++ {
		matches = append(matches, fmt.Sprintf("crash_m%02d", i))
	}
	sim := startSim(t, SimMatches(matches...), SimOvers(20), SimSeed(11))
	addr := freePort(t)
	conn := filepath.Join(dir, "roanuz.json")
	if err := os.WriteFile(conn, []byte(fmt.Sprintf(`{"name": "rzcrash", "config": {
		"connector.class": "roanuz.webhook", "topic.prefix": %q, "transaction.boundary": "poll",
		"topic.creation.default.partitions": "3", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": %q,
		"roanuz.webhook.listen": %q, "roanuz.webhook.secret": "${env:RZ_SECRET}", "roanuz.webhook.ack.timeout.ms": "5000",
		"roanuz.api.url": %q, "roanuz.project.key": "sim_project", "roanuz.api.key": "${env:RZ_KEY}",
		"roanuz.matches": %q}}`, u, u+".dlq", addr, sim.URL(), strings.Join(matches, ","))), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"RZ_SECRET=crash-secret-value", "RZ_KEY=sim-api-key"}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	p := sim.NewPusher(PushOptions{URL: "http://" + addr + "/roanuz/push", SecretHeader: "X-Roanuz-Secret", Secret: "crash-secret-value",
		Senders: 8, Seed: 5, Duplicates: 0.1, Reorder: 0.1, PlainJSON: 0.1, RetryMin: 20 * time.Millisecond, RetryMax: 300 * time.Millisecond,
		CorruptEvery: 400, WrongSecret: 300, BombEvery: 700, BombBytes: 128 << 20})
	type runResult struct {
		rs  []*PushResult
		err error
	}
	pushed := make(chan runResult, 1)
	go func() { rs, err := p.Run(ctx); pushed <- runResult{rs, err} }()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	var logs []string
	for i := 0; i < kills; i++ {
		cmd, l := startBinary(t, bin, env, worker, conn)
		time.Sleep(time.Duration(1000+rng.IntN(1500)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		logs = append(logs, l.String())
		st := p.Stats()
		t.Logf("kill %d: %d pushes acknowledged, %d attempts", i+1, st.Acked, st.Attempts)
		select {
		case r := <-pushed:
			t.Fatalf("the push storm ended (%v) before kill %d; make it longer\n%s", r.err, i+1, l)
		default:
		}
	}
	cmd, l := startBinary(t, bin, env, worker, conn)
	var res runResult
	select {
	case res = <-pushed:
	case <-time.After(4 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("pushes not all acknowledged: %+v\n%s", p.Stats(), l)
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	logs = append(logs, l.String())
	for _, s := range logs {
		if strings.Contains(s, "crash-secret-value") || strings.Contains(s, "sim-api-key") {
			t.Fatal("a secret appears in the logs")
		}
	}

	got := map[string]int{}
	records := 0
	for _, topic := range []string{u + "." + TopicBallUpdates, u + "." + TopicMatchEvents} {
		for _, r := range readTopic(ctx, t, topic) {
			raw, _ := r.Value["raw"].(string)
			pp, err := ParsePush([]byte(raw))
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
		pp, _ := ParsePush(pr.Body)
		if n := got[fmt.Sprintf("%x", pp.Identity())]; n != 1 {
			t.Fatalf("push %s step %d (acknowledged %v after %d attempts) is in Kafka %d times, want 1",
				pr.Match, pr.Step, !pr.Acked.IsZero(), pr.Attempts, n)
		}
	}
	if records != len(res.rs) {
		t.Fatalf("%d records for %d pushes", records, len(res.rs))
	}
	st := p.Stats()
	for kind, want := range map[string]int{"wrong-secret": 401, "bomb": 413, "corrupt": 400} {
		for _, s := range st.Injected[kind] {
			if s != want && s != 0 && s != 503 {
				t.Fatalf("%s answered %d, want %d", kind, s, want)
			}
		}
		if len(st.Injected[kind]) == 0 {
			t.Fatalf("no %s request was injected", kind)
		}
	}
	if st.Duplicates == 0 || st.Retries == 0 {
		t.Fatalf("no duplicates (%d) or no retries (%d): the storm did not exercise dedup and retry", st.Duplicates, st.Retries)
	}
	t.Logf("%d kills, %d pushes each exactly once in Kafka (read_committed); %d attempts, %d retries, %d duplicates, statuses %v, injected %v",
		kills, len(res.rs), st.Attempts, st.Retries, st.Duplicates, st.ByStatus, st.Injected)
}
