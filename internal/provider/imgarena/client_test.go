package imgarena

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// TestStreamFaultsRepaired runs one fixture through each fault and checks
// the connector hands on positions 1..N exactly once, in order, matching
// the simulator's timeline.
func TestStreamFaultsRepaired(t *testing.T) {
	const n = 60
	cases := []struct {
		name          string
		opts          []SimOption
		wantSeqErrors int64
		wantSilences  int64
		minReconnects int64
	}{
		{name: "clean"},
		{name: "duplicate seq", opts: []SimOption{SimDuplicateSeq(20)}, wantSeqErrors: 1, minReconnects: 1},
		{name: "reorder seq", opts: []SimOption{SimReorderSeq(30)}, wantSeqErrors: 1, minReconnects: 1},
		{name: "seq gap", opts: []SimOption{SimSeqGap(25)}, wantSeqErrors: 1, minReconnects: 1},
		{name: "drop after 7", opts: []SimOption{SimDropAfter(7)}, minReconnects: n/7 - 1},
		{name: "random drops", opts: []SimOption{SimRandomDrops(0.1)}, minReconnects: 1},
		{name: "stall", opts: []SimOption{SimStallAfter(10), SimHeartbeat(50 * time.Millisecond)}, wantSilences: 1, minReconnects: 1},
		{name: "status packets", opts: []SimOption{SimStatusEvery(10)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, append([]SimOption{SimFixtures("7001"), SimEvents(n), SimEventInterval(time.Second, time.Millisecond), SimHeartbeat(100 * time.Millisecond)}, tc.opts...)...)
			task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "7001", KeySilenceMs: "500"}), nil, testLogger(t))
			var c collector
			recs := c.pollUntil(t, task, 20*time.Second, countActions([]string{"7001"}, n))
			checkExactly(t, "7001", actionPositions(recs)["7001"], seq(1, n))
			timeline := sim.Timeline("7001")
			statuses := 0
			for _, r := range recs {
				switch v := r.Value.(type) {
				case *Action:
					if te := timeline[v.Position-1]; v.ActionID == nil || *v.ActionID != te.ActionID || *v.ActionType != te.ActionType {
						t.Fatalf("position %d: action %v/%v, timeline says %s/%s", v.Position, v.ActionID, v.ActionType, te.ActionID, te.ActionType)
					}
					if got, _ := r.Offset.OffsetInt("position"); got != v.Position {
						t.Fatalf("offset position %d for record at position %d", got, v.Position)
					}
					if !strings.HasSuffix(r.Topic, ".imgarena.soccer.actions") || string(r.Key) != "7001" {
						t.Fatalf("topic %s key %s", r.Topic, r.Key)
					}
				case *Status:
					statuses++
					if !strings.HasSuffix(r.Topic, ".imgarena.soccer.status") || v.EventElementType != "ConnectionStateChanged" {
						t.Fatalf("status record: topic %s type %s", r.Topic, v.EventElementType)
					}
				}
			}
			st := task.Stats()
			if st.SeqErrors != tc.wantSeqErrors || st.Silences < tc.wantSilences || st.Reconnects < tc.minReconnects {
				t.Fatalf("stats %+v: want seq errors %d, silences >= %d, reconnects >= %d", st, tc.wantSeqErrors, tc.wantSilences, tc.minReconnects)
			}
			if tc.name == "status packets" && statuses < 2*(n/10) {
				t.Fatalf("%d status records, want >= %d", statuses, 2*(n/10))
			}
			if tc.name == "stall" && sim.Connections("7001") < 2 {
				t.Fatalf("stall: %d connections, want a reconnect", sim.Connections("7001"))
			}
		})
	}
}

// TestResumeFromCommitted checks that a task started with a committed
// offset asks for startPosition = position and continues exactly there.
func TestResumeFromCommitted(t *testing.T) {
	sim := startSim(t, SimFixtures("8001", "8002"), SimEvents(40), SimEventInterval(time.Second, time.Millisecond))
	committed := map[string]connector.Offset{"8001": {"position": int64(17), "seq": int64(17)}}
	task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "8001,8002"}), committed, testLogger(t))
	var c collector
	recs := c.pollUntil(t, task, 10*time.Second, func(rs []*connector.SourceRecord) bool {
		p := actionPositions(rs)
		return len(p["8001"]) >= 23 && len(p["8002"]) >= 40
	})
	got := actionPositions(recs)
	checkExactly(t, "8001", got["8001"], seq(18, 40))
	checkExactly(t, "8002", got["8002"], seq(1, 40))
}

// TestFinishedFixtureReleased checks finished: true ends the fixture, marks
// the offset, and a restart with that offset does not reconnect.
func TestFinishedFixtureReleased(t *testing.T) {
	sim := startSim(t, SimFixtures("9001"), SimEvents(15), SimFinish(true), SimEventInterval(time.Second, time.Millisecond))
	task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "9001"}), nil, testLogger(t))
	var c collector
	recs := c.pollUntil(t, task, 10*time.Second, countActions([]string{"9001"}, 15))
	last := recs[len(recs)-1]
	if done, _ := last.Offset["finished"].(bool); !done || !last.Value.(*Action).Finished {
		t.Fatalf("last record offset %v: want finished", last.Offset)
	}
	deadline := time.Now().Add(5 * time.Second)
	for task.Stats().Following != 0 || task.Stats().Finished != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("fixture not released: %+v", task.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	before := sim.Connections("9001")
	task2 := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "9001"}), map[string]connector.Offset{"9001": last.Offset}, testLogger(t))
	time.Sleep(300 * time.Millisecond)
	if got := sim.Connections("9001"); got != before || task2.Stats().Finished != 1 {
		t.Fatalf("restarted task reconnected a finished fixture: connections %d -> %d, stats %+v", before, got, task2.Stats())
	}
}

// TestWrongTokenBacksOff checks a refused token is reported as
// ErrUnauthorized and retried with growing delays, not in a hot loop.
func TestWrongTokenBacksOff(t *testing.T) {
	sim := startSim(t, SimFixtures("6001"), SimEvents(10))
	cfg := taskConfig(t, sim, map[string]string{KeyFixtures: "6001", KeyToken: "wrong", KeyBackoffInitialMs: "50", KeyBackoffMaxMs: "400"})
	task := runTask(t, cfg, nil, testLogger(t))
	time.Sleep(2500 * time.Millisecond)
	refusals := sim.Refusals()
	// 50,100,200,400,400... ms (halved at worst by jitter): at most ~12 in 2.5 s; a hot loop makes hundreds.
	if len(refusals) < 3 || len(refusals) > 15 {
		t.Fatalf("%d refusals in 2.5s: want a few, backing off", len(refusals))
	}
	if g1, gN := refusals[1].Sub(refusals[0]), refusals[len(refusals)-1].Sub(refusals[len(refusals)-2]); gN <= g1 {
		t.Fatalf("retry gaps did not grow: first %s, last %s", g1, gN)
	}
	if st := task.Stats(); st.AuthFailures < 3 || st.Actions != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestMalformedPacketDeadLettered checks a broken packet becomes a dead
// letter and the positions after it continue without a reconnect loop.
func TestMalformedPacketDeadLettered(t *testing.T) {
	sim := startSim(t, SimFixtures("5001"), SimEvents(30), SimMalformed(12), SimEventInterval(time.Second, time.Millisecond))
	task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "5001"}), nil, testLogger(t))
	var c collector
	recs := c.pollUntil(t, task, 10*time.Second, countActions([]string{"5001"}, 29))
	checkExactly(t, "5001", actionPositions(recs)["5001"], append(seq(1, 11), seq(13, 30)...))
	var dead []*connector.SourceRecord
	for _, r := range recs {
		if r.DeadLetter != nil {
			dead = append(dead, r)
		}
	}
	if len(dead) != 1 || !errors.Is(dead[0].DeadLetter.Err, ErrMalformed) || dead[0].DeadLetter.Stage != connector.StageTaskPoll {
		t.Fatalf("dead letters %v", dead)
	}
	if st := task.Stats(); st.SeqErrors != 0 || st.Malformed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestDiscovery checks fixtures come from the REST API, and new ones are
// picked up on the next poll.
func TestDiscovery(t *testing.T) {
	sim := startSim(t, SimFixtures("4001", "4002"), SimEvents(10), SimEventInterval(time.Second, time.Millisecond))
	task := runTask(t, taskConfig(t, sim, map[string]string{KeyPollIntervalMs: "200"}), nil, testLogger(t))
	var c collector
	c.pollUntil(t, task, 10*time.Second, countActions([]string{"4001", "4002"}, 10))
	sim.SetLive("4001", "4002", "4003")
	recs := c.pollUntil(t, task, 10*time.Second, countActions([]string{"4001", "4002", "4003"}, 10))
	for _, f := range []string{"4001", "4002", "4003"} {
		checkExactly(t, f, actionPositions(recs)[f], seq(1, 10))
	}
}

// TestDiscoveryWrongToken checks a refused REST call is a clear error with backoff.
func TestDiscoveryWrongToken(t *testing.T) {
	sim := startSim(t)
	cfg := taskConfig(t, sim, map[string]string{KeyToken: "nope"})
	_, err := fetchFixtures(t.Context(), &http.Client{Timeout: 10 * time.Second}, ptr(mustParse(t, cfg)))
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err %v, want ErrUnauthorized with 401", err)
	}
}

func mustParse(t *testing.T, cfg connector.Config) config {
	t.Helper()
	p, err := parseConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func TestParseFixtures(t *testing.T) {
	cases := []struct {
		body string
		want string
		err  bool
	}{
		{`[{"id":1,"name":"a"},{"id":"x2"}]`, "1,x2", false},
		{`{"fixtures":[{"id":123456789012}]}`, "123456789012", false},
		{`{"data":[]}`, "", false},
		{`{"other":1}`, "", true},
		{`[{"name":"no id"}]`, "", true},
		{`[{"id":"a/b"}]`, "", true},
		{`nope`, "", true},
	}
	for _, tc := range cases {
		ids, err := parseFixtures([]byte(tc.body))
		if (err != nil) != tc.err || strings.Join(ids, ",") != tc.want {
			t.Errorf("%s: got %v, %v; want %q, err %v", tc.body, ids, err, tc.want, tc.err)
		}
	}
}

func TestReadErrorClassified(t *testing.T) {
	f := &fixtureStream{t: &Task{cfg: config{silence: time.Second}}}
	if err := f.readError(fmt.Errorf("x"), false); !strings.Contains(err.Error(), "before the server answered") {
		t.Fatal(err)
	}
}
