package clustertest

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// TestConfigSurvivesRestart: a connector created over REST lives in the
// config topic. Two workers run it; both are SIGKILLed mid-stream; one
// worker started again with nothing but its worker.properties runs the
// connector again from its committed offsets, to the end, exactly once.
func TestConfigSurvivesRestart(t *testing.T) {
	const (
		k = 4
		n = 4000
	)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := newCluster(t)
	a, b := c.start(), c.start()
	a.mustCall(t, "POST", "/connectors", syntheticConnector("survivor", c.prefix, 2, k, n, 400), nil)
	waitFor(t, 60*time.Second, "both tasks to run", func() bool {
		return a.taskOwner(t, "survivor", 0) != "" && a.taskOwner(t, "survivor", 1) != ""
	})
	waitFor(t, 60*time.Second, "some progress", func() bool { return c.committedMin(ctx, "survivor", k) >= 200 })
	a.kill()
	b.kill()
	at := c.committedMin(ctx, "survivor", k)
	if at >= n {
		t.Fatalf("the run finished before the kills (%d of %d); the test proves nothing", at, n)
	}
	t.Logf("both workers SIGKILLed at position %d of %d", at, n)

	fresh := c.start()
	var names []string
	fresh.mustCall(t, "GET", "/connectors", nil, &names)
	if len(names) != 1 || names[0] != "survivor" {
		t.Fatalf("a fresh worker lists connectors %v, want [survivor]", names)
	}
	// The killed workers' memberships expire after the session timeout;
	// then the fresh worker runs both tasks, at 400 events/s each.
	waitFor(t, 90*time.Second, "the fresh worker to finish the run", func() bool { return c.committedMin(ctx, "survivor", k) >= n })
	got, count, err := eoscheck.ReadTopic(ctx, brokers(t), testenv.Registry(t), c.prefix+".synthetic.events", 560)
	if err != nil {
		t.Fatal(err)
	}
	if err := eoscheck.Check(got, k, n); err != nil {
		t.Fatalf("%v\n%s", err, logsOf(fresh))
	}
	if err := eoscheck.CheckOffsets(ctx, brokers(t), c.offsets, "survivor", k, n); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records read_committed: every partition 1..%d exactly once after both workers were killed", count, n)

	// Operations: the expanded listing names the worker of each task, and
	// the worker counts its rebalances.
	var listing map[string]struct {
		Status status `json:"status"`
	}
	fresh.mustCall(t, "GET", "/connectors?expand=status", nil, &listing)
	for _, ts := range listing["survivor"].Status.Tasks {
		if ts.WorkerID != fresh.id {
			t.Errorf("task %d: worker_id %q, want the only live worker %s", ts.ID, ts.WorkerID, fresh.id)
		}
	}
	if got := len(listing["survivor"].Status.Tasks); got != 2 {
		t.Errorf("expand=status lists %d tasks, want 2", got)
	}
	resp, err := http.Get(fresh.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^sportsconnect_worker_rebalances_total\{leader="true"\} [1-9]`).Match(body) ||
		!regexp.MustCompile(`(?m)^sportsconnect_worker_rebalance_seconds_count [1-9]`).Match(body) {
		t.Errorf("/metrics lacks the rebalance count and time:\n%s", grepLines(string(body), "rebalance"))
	}
	fresh.term(t)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
