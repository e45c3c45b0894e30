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

// TestMatchCrashExactlyOnce runs the real binary with roanuz.match against
// the real broker while the in-process simulator plays 4 matches, drops
// Socket.IO connections and rotates the payload variants; it SIGKILLs the
// binary 12 times and restarts it. A read_committed consumer must then find
// no match content written twice, every ball of every match, each match
// completed, and every match unsubscribed.
func TestMatchCrashExactlyOnce(t *testing.T) {
	const kills = 12
	bin, err := builtBinary()
	if err != nil {
		t.Fatal(err)
	}
	u := testenv.UniqueName(t, "rzm-")
	dir := t.TempDir()
	worker := writeWorker(t, dir, u+"-g", u+"-offsets")
	keys := []string{"cm1", "cm2", "cm3", "cm4"}
	sim := startSim(t, SimMatches(keys...), SimOvers(20), SimStepInterval(120*time.Millisecond), SimSockDropEvery(60),
		SimPingInterval(time.Second), SimTokenLifetime(20*time.Second))
	conn := filepath.Join(dir, "roanuz.json")
	if err := os.WriteFile(conn, []byte(fmt.Sprintf(`{"name": "rzmcrash", "config": {
		"connector.class": "roanuz.match", "topic.prefix": %q, "transaction.boundary": "poll", "tasks.max": "2",
		"topic.creation.default.partitions": "3", "roanuz.api.url": %q, "roanuz.project.key": "sim_project",
		"roanuz.api.key": "${env:RZ_KEY}", "roanuz.matches": %q, "roanuz.matches.per.connection": "2",
		"roanuz.reconnect.backoff.initial.ms": "50", "roanuz.reconnect.backoff.max.ms": "500"}}`,
		u, sim.URL(), strings.Join(keys, ","))), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"RZ_KEY=sim-api-key"}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	for i := 0; i < kills; i++ {
		cmd, _ := startBinary(t, bin, env, worker, conn)
		time.Sleep(time.Duration(1000+rng.IntN(1000)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("kill %d: step %d of %d", i+1, sim.Step("cm1"), sim.Steps("cm1"))
		if sim.Step("cm1") >= sim.Steps("cm1")-1 {
			t.Fatalf("the matches ended before kill %d; make them longer", i+1)
		}
	}
	cmd, logs := startBinary(t, bin, env, worker, conn)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		done := 0
		for _, k := range keys {
			if sim.Step(k) == sim.Steps(k)-1 && !sim.Subscribed(k, MethodWebSocket) && sim.SubscribeCalls(k, "unsubscribe") > 0 {
				done++
			}
		}
		if done == len(keys) {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("matches not all completed and unsubscribed\n%s", logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if strings.Contains(logs.String(), "sim-api-key") {
		t.Fatal("the api key appears in the logs")
	}
	hashes := map[string]int{}
	completed := map[string]bool{}
	for _, r := range readTopic(ctx, t, u+"."+TopicMatches) {
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
	for _, r := range readTopic(ctx, t, u+"."+TopicBalls) {
		balls[r.Key+"/"+r.Value["ball_key"].(string)]++
	}
	total := 0
	for _, k := range keys {
		if !completed[k] {
			t.Fatalf("match %s: no completed document in Kafka", k)
		}
		for _, b := range sim.tls[k].balls {
			if balls[k+"/"+b.Key] == 0 {
				t.Fatalf("match %s: ball %s not in Kafka", k, b.Key)
			}
			total++
		}
	}
	conns, joins, updates, errs, drops := sim.SockStats()
	t.Logf("%d kills: %d match states each once, %d balls (%d distinct ball keys); simulator %d connections, %d joins, %d updates, %d on_error, %d drops",
		kills, len(hashes), total, len(balls), conns, joins, updates, errs, drops)
}
