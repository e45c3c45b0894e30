package imgarena

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestStreamFaultsRepaired runs one fixture through each fault and checks
// the connector hands on positions 1..N exactly once, in order, matching
// the simulator's timeline.
func TestStreamFaultsRepaired(t *testing.T) {
	const n = 60
	cases := []struct {
		name          string
		opts          []imgarenasim.SimOption
		wantSeqErrors int64
		wantSilences  int64
		minReconnects int64
	}{
		{name: "clean"},
		{name: "duplicate seq", opts: []imgarenasim.SimOption{imgarenasim.SimDuplicateSeq(20)}, wantSeqErrors: 1, minReconnects: 1},
		{name: "reorder seq", opts: []imgarenasim.SimOption{imgarenasim.SimReorderSeq(30)}, wantSeqErrors: 1, minReconnects: 1},
		{name: "seq gap", opts: []imgarenasim.SimOption{imgarenasim.SimSeqGap(25)}, wantSeqErrors: 1, minReconnects: 1},
		{name: "drop after 7", opts: []imgarenasim.SimOption{imgarenasim.SimDropAfter(7)}, minReconnects: n/7 - 1},
		{name: "random drops", opts: []imgarenasim.SimOption{imgarenasim.SimRandomDrops(0.1)}, minReconnects: 1},
		{name: "stall", opts: []imgarenasim.SimOption{imgarenasim.SimStallAfter(10), imgarenasim.SimHeartbeat(50 * time.Millisecond)}, wantSilences: 1, minReconnects: 1},
		{name: "status packets", opts: []imgarenasim.SimOption{imgarenasim.SimStatusEvery(10)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, append([]imgarenasim.SimOption{imgarenasim.SimFixtures("7001"), imgarenasim.SimEvents(n), imgarenasim.SimEventInterval(time.Second, time.Millisecond), imgarenasim.SimHeartbeat(100 * time.Millisecond)}, tc.opts...)...)
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
	sim := startSim(t, imgarenasim.SimFixtures("8001", "8002"), imgarenasim.SimEvents(40), imgarenasim.SimEventInterval(time.Second, time.Millisecond))
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
	sim := startSim(t, imgarenasim.SimFixtures("9001"), imgarenasim.SimEvents(15), imgarenasim.SimFinish(true), imgarenasim.SimEventInterval(time.Second, time.Millisecond))
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
// ErrUnauthorized, logged once per attempt as an error that names the
// fixture and never the token, and retried with growing delays, not in a
// hot loop.
func TestWrongTokenBacksOff(t *testing.T) {
	const token = "not-the-token-x9"
	sim := startSim(t, imgarenasim.SimFixtures("6001"), imgarenasim.SimEvents(10))
	cfg := taskConfig(t, sim, map[string]string{KeyFixtures: "6001", KeyToken: token, KeyBackoffInitialMs: "50", KeyBackoffMaxMs: "400"})
	core, logs := observer.New(zap.DebugLevel)
	task := runTask(t, cfg, nil, zap.New(core))
	time.Sleep(2500 * time.Millisecond)
	_ = task.Stop()
	refusedLines := 0
	for _, e := range logs.All() {
		line := e.Message + " " + fmt.Sprint(e.ContextMap())
		if strings.Contains(line, token) {
			t.Fatalf("the token is in a log line: %s", line)
		}
		if strings.Contains(e.Message, "refused the auth token") {
			refusedLines++
			if e.Level != zap.ErrorLevel || e.ContextMap()["fixture"] != "6001" || !strings.Contains(e.Message, KeyToken) ||
				!strings.Contains(fmt.Sprint(e.ContextMap()["error"]), "Invalid token") {
				t.Fatalf("refusal logged as %s %q %v: want an error naming fixture 6001, the setting to fix and the server's reason", e.Level, e.Message, e.ContextMap())
			}
		}
	}
	refusals := sim.Refusals()
	// 50,100,200,400,400... ms (halved at worst by jitter): at most ~12 in 2.5 s; a hot loop makes hundreds.
	if len(refusals) < 3 || len(refusals) > 15 {
		t.Fatalf("%d refusals in 2.5s: want a few, backing off", len(refusals))
	}
	if g1, gN := refusals[1].Sub(refusals[0]), refusals[len(refusals)-1].Sub(refusals[len(refusals)-2]); gN <= g1 {
		t.Fatalf("retry gaps did not grow: first %s, last %s", g1, gN)
	}
	if st := task.Stats(); st.AuthFailures < 3 || st.Actions != 0 || int64(refusedLines) != st.AuthFailures {
		t.Fatalf("stats %+v, %d refusal log lines: want one line per refusal", st, refusedLines)
	}
}

// TestStatusesExactlyOnce breaks each connection between a status pair and
// the event after it, and checks every status is handed on exactly once
// whether the server sends the pair again to the resumed connection (then
// the offset's since keys skip it) or not.
func TestStatusesExactlyOnce(t *testing.T) {
	const n = 40
	cases := []struct {
		name         string
		once         bool
		wantReplayed int64
	}{
		{"server replays statuses", false, 2},
		{"server sends statuses once", true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, imgarenasim.SimFixtures("3001"), imgarenasim.SimEvents(n), imgarenasim.SimStatusEvery(10), imgarenasim.SimStatusOnce(tc.once), imgarenasim.SimDropAfterStatus(true),
				imgarenasim.SimEventInterval(time.Second, time.Millisecond), imgarenasim.SimHeartbeat(100*time.Millisecond))
			task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "3001"}), nil, testLogger(t))
			var c collector
			recs := c.pollUntil(t, task, 10*time.Second, countActions([]string{"3001"}, n))
			checkExactly(t, "3001", actionPositions(recs)["3001"], seq(1, n))
			checkStatuses(t, statusRecords(recs), 9, 19, 29, 39)
			if st := task.Stats(); st.Replayed != tc.wantReplayed || sim.Connections("3001") != 2 {
				t.Fatalf("stats %+v, %d connections: want %d replays skipped over 2 connections", st, sim.Connections("3001"), tc.wantReplayed)
			}
			for _, r := range recs {
				if v, ok := r.Value.(*Status); ok && len(offsetKeys(r.Offset["since"])) == 0 {
					t.Fatalf("status at position %d committed without its key: offset %v", v.Position, r.Offset)
				}
				if _, ok := r.Value.(*Action); ok && r.Offset["since"] != nil {
					t.Fatalf("action offset %v still holds since keys", r.Offset)
				}
			}
		})
	}
}

// TestStatusesResumeFromCommitted restarts a task from the committed
// offset of the first of a status pair (read back as JSON, as from Kafka):
// the server sends both again, the connector skips the one already handed
// on and hands on the other, then continues exactly.
func TestStatusesResumeFromCommitted(t *testing.T) {
	const n = 30
	sim := startSim(t, imgarenasim.SimFixtures("3101"), imgarenasim.SimEvents(n), imgarenasim.SimStatusEvery(10), imgarenasim.SimEventInterval(time.Second, time.Millisecond))
	task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "3101"}), nil, testLogger(t))
	var c collector
	recs := c.pollUntil(t, task, 10*time.Second, countActions([]string{"3101"}, n))
	_ = task.Stop()
	var firstOf20 *connector.SourceRecord
	for _, r := range recs {
		if v, ok := r.Value.(*Status); ok && v.Position == 19 {
			firstOf20 = r
			break
		}
	}
	if firstOf20 == nil {
		t.Fatal("no status before event 20")
	}
	b, err := json.Marshal(firstOf20.Offset)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var committed connector.Offset
	if err := dec.Decode(&committed); err != nil {
		t.Fatal(err)
	}
	task2 := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "3101"}), map[string]connector.Offset{"3101": committed}, testLogger(t))
	var c2 collector
	recs2 := c2.pollUntil(t, task2, 10*time.Second, countActions([]string{"3101"}, n-19))
	checkExactly(t, "3101", actionPositions(recs2)["3101"], seq(20, n))
	st := statusRecords(recs2)
	if len(st) != 3 || *st[0].State != "Connected" || st[0].Position != 19 || st[0].Raw == firstOf20.Value.(*Status).Raw {
		t.Fatalf("after the restart: %d statuses, first %+v: want the Connected of the pair before 20, then the pair before 30", len(st), st[0])
	}
	checkStatuses(t, st[1:], 29)
	if s := task2.Stats(); s.Replayed != 1 {
		t.Fatalf("stats %+v: want the committed status skipped once", s)
	}
}

// checkStatuses checks statuses are a Disconnected/Connected pair at each
// of positions, in order, no packet twice.
func checkStatuses(t *testing.T, statuses []*Status, positions ...int64) {
	t.Helper()
	if len(statuses) != 2*len(positions) {
		t.Fatalf("%d status records, want %d (pairs at %v)", len(statuses), 2*len(positions), positions)
	}
	seen := map[string]bool{}
	for i, s := range statuses {
		want := [2]string{"Disconnected", "Connected"}[i%2]
		if s.Position != positions[i/2] || s.State == nil || *s.State != want || seen[s.Raw] {
			t.Fatalf("status %d: position %d state %v (seen before: %v), want %s at %d", i, s.Position, s.State, seen[s.Raw], want, positions[i/2])
		}
		seen[s.Raw] = true
	}
}

// TestDeadLetterReplaySkipped: a malformed packet without a readable
// fixtureSeqNum is dead-lettered once even when a resumed connection gets
// it again before the next event.
func TestDeadLetterReplaySkipped(t *testing.T) {
	const broken = `{"fixtureAction": {{{`
	url, starts := scriptServer(t,
		[]string{`{"type":"authorised"}`, actionFrame("2001", 1, 1), broken},
		[]string{`{"type":"authorised"}`, broken, actionFrame("2001", 2, 1)},
	)
	task := runTask(t, taskConfig(t, nil, map[string]string{KeyURL: url, KeyFixtures: "2001"}), nil, testLogger(t))
	var c collector
	recs := c.pollUntil(t, task, 10*time.Second, countActions([]string{"2001"}, 2))
	checkExactly(t, "2001", actionPositions(recs)["2001"], seq(1, 2))
	var dead []*connector.SourceRecord
	for _, r := range recs {
		if r.DeadLetter != nil {
			dead = append(dead, r)
		}
	}
	if len(dead) != 1 || string(dead[0].DeadLetter.Raw) != broken || len(offsetKeys(dead[0].Offset["since"])) != 1 {
		t.Fatalf("%d dead letters (%v): want one, its key in the offset", len(dead), dead)
	}
	if got := strings.Join(starts(), ","); got != "0,1" || task.Stats().Replayed != 1 {
		t.Fatalf("startPositions %s, stats %+v: want 0,1 and one replay skipped", got, task.Stats())
	}
}

// TestRefusalReasonRedacted: a server that echoes the refused token in its
// reason does not get it into the logs.
func TestRefusalReasonRedacted(t *testing.T) {
	const token = "echoed-secret-77"
	url, _ := scriptServer(t, []string{`{"statusCode":401,"message":"Invalid token ` + token + `"}`})
	core, logs := observer.New(zap.DebugLevel)
	task := runTask(t, taskConfig(t, nil, map[string]string{KeyURL: url, KeyFixtures: "2101", KeyToken: token}), nil, zap.New(core))
	deadline := time.Now().Add(5 * time.Second)
	for task.Stats().AuthFailures < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: want refusals", task.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = task.Stop()
	redacted := 0
	for _, e := range logs.All() {
		line := e.Message + " " + fmt.Sprint(e.ContextMap())
		if strings.Contains(line, token) {
			t.Fatalf("the token is in a log line: %s", line)
		}
		if strings.Contains(line, "Invalid token [redacted]") {
			redacted++
		}
	}
	if redacted == 0 {
		t.Fatal("no log line gives the server's (redacted) reason")
	}
}

func TestRedact(t *testing.T) {
	cases := []struct{ in, secret, want string }{
		{"Invalid token abc123", "abc123", "Invalid token [redacted]"},
		{"abc abc", "abc", "[redacted] [redacted]"},
		{"nothing here", "abc123", "nothing here"},
		{"no secret configured", "", "no secret configured"},
	}
	for _, tc := range cases {
		if got := redact(tc.in, tc.secret); got != tc.want {
			t.Errorf("redact(%q, %q) = %q, want %q", tc.in, tc.secret, got, tc.want)
		}
	}
}

func TestOffsetKeys(t *testing.T) {
	long := make([]any, maxSince+5)
	for i := range long {
		long[i] = fmtInt(int64(i))
	}
	cases := []struct {
		name string
		in   any
		want []string
	}{
		{"absent", nil, nil},
		{"strings", []string{"a", "b"}, []string{"a", "b"}},
		{"from JSON", []any{"a", json.Number("1"), "b"}, []string{"a", "b"}},
		{"not a list", "a", nil},
		{"too long keeps the last", long, []string{fmtInt(5), fmtInt(maxSince + 4)}},
	}
	for _, tc := range cases {
		got := offsetKeys(tc.in)
		if tc.name == "too long keeps the last" {
			if len(got) != maxSince || got[0] != tc.want[0] || got[len(got)-1] != tc.want[1] {
				t.Errorf("%s: %d keys %v...%v", tc.name, len(got), got[0], got[len(got)-1])
			}
			continue
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestMalformedPacketDeadLettered checks a broken packet becomes a dead
// letter and the positions after it continue without a reconnect loop.
func TestMalformedPacketDeadLettered(t *testing.T) {
	sim := startSim(t, imgarenasim.SimFixtures("5001"), imgarenasim.SimEvents(30), imgarenasim.SimMalformed(12), imgarenasim.SimEventInterval(time.Second, time.Millisecond))
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
	sim := startSim(t, imgarenasim.SimFixtures("4001", "4002"), imgarenasim.SimEvents(10), imgarenasim.SimEventInterval(time.Second, time.Millisecond))
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
