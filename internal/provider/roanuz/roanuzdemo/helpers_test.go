package roanuzdemo

import (
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// startSim starts a simulator on a random local port, closed at cleanup.
func startSim(t testing.TB, opts ...roanuzsim.SimOption) *roanuzsim.Simulator {
	t.Helper()
	sim := roanuzsim.NewSimulator(opts...)
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

func testLogger(t testing.TB) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)) }

// waitFor polls cond every 10 ms until it holds or timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// matchConfigFor returns a validated roanuz.match config for sim's matches
// m1 and m2, with extra settings.
func matchConfigFor(t testing.TB, sim *roanuzsim.Simulator, extra map[string]string) connector.Config {
	t.Helper()
	raw := connector.Config{"name": "rzm", "connector.class": roanuz.ClassMatch, roanuz.KeyAPIURL: sim.URL(), roanuz.KeyProject: "sim_project",
		roanuz.KeyAPIKey: "sim-api-key", roanuz.KeyMatches: "m1,m2", roanuz.KeyBackoffInitialMs: "20", roanuz.KeyBackoffMaxMs: "200"}
	for k, v := range extra {
		raw[k] = v
	}
	cfg, err := connector.CommonSpec().Merge(roanuz.MatchSpec()).Validate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitUnsubscribed waits until every key is unsubscribed (after completion).
func waitUnsubscribed(t testing.TB, sim *roanuzsim.Simulator, keys ...string) {
	t.Helper()
	waitFor(t, 10*time.Second, "the unsubscribes", func() bool {
		for _, k := range keys {
			if sim.Subscribed(k, roanuzsim.MethodWebSocket) || sim.SubscribeCalls(k, "unsubscribe") == 0 {
				return false
			}
		}
		return true
	})
}

// staleLogLine is the message of the log line of a dropped stale document.
const staleLogLine = "roanuz stale match document dropped"

// staleReasons are the reasons a stale document is dropped, as logged.
var staleReasons = []string{"superseded", "behind", "written before"}

// contentSteps maps each distinct document of match k's timeline (by
// content hash, as the connector computes it) to the first step that
// renders it: the order of the match's states.
func contentSteps(t testing.TB, sim *roanuzsim.Simulator, k string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := range sim.Steps(k) {
		d, err := roanuz.ParseMatch(sim.Document(k, i), "test", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out[d.Match().ContentHash]; !ok {
			out[d.Match().ContentHash] = i
		}
	}
	return out
}

// checkForward fails t if the states written for a match (content hashes
// in the order written, per match) ever go back in the match's timeline, or
// one is not in it; it returns how many states it checked.
func checkForward(t testing.TB, sim *roanuzsim.Simulator, written map[string][]string) int {
	t.Helper()
	n := 0
	for k, hashes := range written {
		steps := contentSteps(t, sim, k)
		prev, prevHash := -1, ""
		for i, h := range hashes {
			s, ok := steps[h]
			if !ok {
				t.Fatalf("match %s: written state %s is no state of its timeline", k, h)
			}
			if s <= prev {
				t.Fatalf("match %s went back: its state #%d (%s, step %d) was written after %s (step %d); written steps %v",
					k, i, h, s, prevHash, prev, stepsOf(steps, hashes))
			}
			prev, prevHash = s, h
			n++
		}
	}
	return n
}

func stepsOf(steps map[string]int, hashes []string) []int {
	out := make([]int, len(hashes))
	for i, h := range hashes {
		out[i] = steps[h]
	}
	return out
}

// staleByReason counts the stale-document log lines of JSON logs by reason.
func staleByReason(logs string) map[string]int {
	out := map[string]int{}
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, staleLogLine) {
			continue
		}
		for _, r := range staleReasons {
			if strings.Contains(l, `"reason":"`+r+`"`) {
				out[r]++
			}
		}
	}
	return out
}

// countLines returns how many lines of logs contain s.
func countLines(logs, s string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}
