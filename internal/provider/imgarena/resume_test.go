package imgarena

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// lastPosition returns a done func: fixture's last action is at position n.
func lastPosition(fixture string, n int64) func([]*connector.SourceRecord) bool {
	return func(recs []*connector.SourceRecord) bool {
		p := actionPositions(recs)[fixture]
		return len(p) > 0 && p[len(p)-1] >= n
	}
}

// checkTimeline checks fixture's action records are at positions want, in
// order, each the simulator's event at that position, with an offset
// saying that position.
func checkTimeline(t *testing.T, sim *imgarenasim.Simulator, fixture string, recs []*connector.SourceRecord, want []int64) {
	t.Helper()
	checkExactly(t, fixture, actionPositions(recs)[fixture], want)
	tl := sim.Timeline(fixture)
	for _, r := range recs {
		a, ok := r.Value.(*Action)
		if !ok || r.DeadLetter != nil {
			continue
		}
		if te := tl[a.Position-1]; a.ActionID == nil || *a.ActionID != te.ActionID || *a.ActionType != te.ActionType {
			t.Fatalf("position %d: action %s/%s, timeline says %s/%s", a.Position, deref(a.ActionID), deref(a.ActionType), te.ActionID, te.ActionType)
		}
		if got, _ := r.Offset.OffsetInt("position"); got != a.Position {
			t.Fatalf("offset position %d for the record at position %d", got, a.Position)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// deadLetters returns the dead-letter records.
func deadLetters(recs []*connector.SourceRecord) []*connector.SourceRecord {
	var out []*connector.SourceRecord
	for _, r := range recs {
		if r.DeadLetter != nil {
			out = append(out, r)
		}
	}
	return out
}

// viaJSON returns o as the worker reads it back from the offsets topic.
func viaJSON(t *testing.T, o connector.Offset) connector.Offset {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out connector.Offset
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGapAfterNonEventFrameRepaired: whatever stands where a lost event
// should be (a broken action without a readable fixtureSeqNum, a non-JSON
// heartbeat, an empty frame), the gap after it is repaired by
// reconnecting, never accepted: every position 1..N arrives once, as the
// timeline says. Heartbeats are liveness, never dead letters.
func TestGapAfterNonEventFrameRepaired(t *testing.T) {
	const n = 40
	cases := []struct {
		name   string
		frames []string
		dead   int
	}{
		{"broken action fragment", []string{`{"traceId":"junk","fixtureAction":{"actionId":"junk`}, 1},
		{"action object without seq", []string{`{"fixtureAction":{"actionId":"junk-2"}}`}, 1},
		{"two broken fragments, one event lost", []string{`{"fixtureAction":{"a`, `{"fixtureAction":{"b`}, 2},
		{"non-JSON heartbeat", []string{"ping"}, 0},
		{"empty frame", []string{""}, 0},
		{"heartbeats and a broken fragment", []string{"ping", "", `{"fixtureAction":{"c`}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, imgarenasim.SimFixtures("7101"), imgarenasim.SimEvents(n), imgarenasim.SimEventInterval(time.Second, time.Millisecond), imgarenasim.SimHeartbeat(0),
				imgarenasim.SimExtraFrames(20, tc.frames...), imgarenasim.SimSeqGap(20))
			task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "7101"}), nil, testLogger(t))
			var c collector
			recs := c.pollUntil(t, task, 10*time.Second, lastPosition("7101", n))
			checkTimeline(t, sim, "7101", recs, seq(1, n))
			if dead := deadLetters(recs); len(dead) != tc.dead {
				t.Fatalf("%d dead letters, want %d", len(dead), tc.dead)
			}
			if st := task.Stats(); st.SeqErrors < 1 || st.Malformed != int64(tc.dead) || sim.Connections("7101") < 2 {
				t.Fatalf("stats %+v, %d connections: want the gap repaired by a reconnect, %d malformed", st, sim.Connections("7101"), tc.dead)
			}
		})
	}
}

// TestMalformedEventWithoutSeq: an event the server always sends broken,
// its fixtureSeqNum unreadable, is dead-lettered once. The gap it leaves is
// not accepted on the connection that saw it: the connector reconnects
// just before it, and only when the new connection puts the same frame in
// the same place does the frame take that position. The events after it
// continue exactly, also for a task resumed from the dead letter's
// committed offset.
func TestMalformedEventWithoutSeq(t *testing.T) {
	const n = 30
	sim := startSim(t, imgarenasim.SimFixtures("7301"), imgarenasim.SimEvents(n), imgarenasim.SimEventInterval(time.Second, time.Millisecond), imgarenasim.SimHeartbeat(0), imgarenasim.SimMalformedNoSeq(12))
	task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "7301"}), nil, testLogger(t))
	var c collector
	recs := c.pollUntil(t, task, 10*time.Second, lastPosition("7301", n))
	checkTimeline(t, sim, "7301", recs, append(seq(1, 11), seq(13, n)...))
	dead := deadLetters(recs)
	if len(dead) != 1 || !strings.HasSuffix(string(dead[0].Raw), `"fixtureSeqNum":`) {
		t.Fatalf("%d dead letters: want the broken event once", len(dead))
	}
	if p, _ := dead[0].Offset.OffsetInt("position"); p != 11 || len(offsetKeys(dead[0].Offset["since"])) != 1 {
		t.Fatalf("dead letter offset %v: want position 11 and its key", dead[0].Offset)
	}
	if st := task.Stats(); st.SeqErrors != 1 || st.BrokenFilled != 1 || sim.Connections("7301") != 2 {
		t.Fatalf("stats %+v, %d connections: want one reconnect to see the broken frame again", st, sim.Connections("7301"))
	}
	_ = task.Stop()

	// A restart from the dead letter's committed offset: the frame comes
	// again, is skipped (already handed on), and takes its position after
	// a second connection confirms it.
	before := sim.Connections("7301")
	task2 := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "7301"}), map[string]connector.Offset{"7301": viaJSON(t, dead[0].Offset)}, testLogger(t))
	var c2 collector
	recs2 := c2.pollUntil(t, task2, 10*time.Second, lastPosition("7301", n))
	checkTimeline(t, sim, "7301", recs2, seq(13, n))
	if d := deadLetters(recs2); len(d) != 0 || task2.Stats().Replayed != 2 || sim.Connections("7301")-before != 2 {
		t.Fatalf("after the restart: %d dead letters, stats %+v, %d connections: want none, the frame skipped twice over two connections",
			len(d), task2.Stats(), sim.Connections("7301")-before)
	}
}

// readingLogs returns the log lines that say how the server reads startPosition.
func readingLogs(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.All() {
		if strings.Contains(e.Message, "startPosition") && strings.Contains(e.Message, "reads") {
			out = append(out, e.Message)
		}
	}
	return out
}

// TestStartPositionReadings runs a fixture through drops (one between a
// status pair and its event, and others just after an event with statuses
// before it) against a server of each reading of startPosition: skip that
// many events, or start at that 1-based event (sending the last event
// written again). Every event and status arrives exactly once, and the
// connector logs which reading the server follows.
func TestStartPositionReadings(t *testing.T) {
	const n = 40
	cases := []struct {
		name     string
		oneBased bool
		says     string
	}{
		{"skip", false, "number of events to skip"},
		{"one-based", true, "1-based"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, imgarenasim.SimFixtures("7201"), imgarenasim.SimEvents(n), imgarenasim.SimEventInterval(time.Second, time.Millisecond), imgarenasim.SimHeartbeat(0),
				imgarenasim.SimStatusEvery(10), imgarenasim.SimDropAfterStatus(true), imgarenasim.SimDropAfter(10), imgarenasim.SimStartPositionOneBased(tc.oneBased))
			core, logs := observer.New(zap.InfoLevel)
			task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "7201"}), nil, zap.New(core))
			var c collector
			recs := c.pollUntil(t, task, 10*time.Second, lastPosition("7201", n))
			checkTimeline(t, sim, "7201", recs, seq(1, n))
			checkStatuses(t, statusRecords(recs), 9, 19, 29, 39)
			said := readingLogs(logs)
			if len(said) != 1 || !strings.Contains(said[0], tc.says) {
				t.Fatalf("reading logged as %q: want one line saying %q", said, tc.says)
			}
			if st := task.Stats(); (st.Repeats > 0) != tc.oneBased || st.Reconnects < 4 || st.SeqErrors != 0 {
				t.Fatalf("stats %+v: want repeated first events dropped only by the 1-based server, over several reconnects", st)
			}
		})
	}
}

// TestStartPositionOneBasedResume restarts a task from committed offsets
// (read back as JSON) against a server that starts at the 1-based event:
// from an action, from the first status of a pair, and from the action
// after a status pair (whose statuses the server sends again before it).
// The repeated event is dropped, the statuses already handed on are
// skipped, and the fixture continues exactly.
func TestStartPositionOneBasedResume(t *testing.T) {
	const n = 40
	sim := startSim(t, imgarenasim.SimFixtures("7401"), imgarenasim.SimEvents(n), imgarenasim.SimEventInterval(time.Second, time.Millisecond), imgarenasim.SimHeartbeat(0),
		imgarenasim.SimStatusEvery(10), imgarenasim.SimStartPositionOneBased(true))
	task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "7401"}), nil, testLogger(t))
	var c collector
	first := c.pollUntil(t, task, 10*time.Second, lastPosition("7401", n))
	_ = task.Stop()
	checkTimeline(t, sim, "7401", first, seq(1, n))
	find := func(match func(*connector.SourceRecord) bool) *connector.SourceRecord {
		for _, r := range first {
			if match(r) {
				return r
			}
		}
		t.Fatal("no such record")
		return nil
	}
	cases := []struct {
		name      string
		from      *connector.SourceRecord
		next      int64   // first action after the restart
		connected bool    // the Connected status before 20 comes after the restart
		pairs     []int64 // status pairs after the restart
	}{
		{"from action 17", find(func(r *connector.SourceRecord) bool { a, ok := r.Value.(*Action); return ok && a.Position == 17 }), 18, false, []int64{19, 29, 39}},
		{"from the first status before 20", find(func(r *connector.SourceRecord) bool { s, ok := r.Value.(*Status); return ok && s.Position == 19 }), 20, true, []int64{29, 39}},
		{"from action 20", find(func(r *connector.SourceRecord) bool { a, ok := r.Value.(*Action); return ok && a.Position == 20 }), 21, false, []int64{29, 39}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "7401"}), map[string]connector.Offset{"7401": viaJSON(t, tc.from.Offset)}, zap.New(core))
			var c collector
			recs := c.pollUntil(t, task, 10*time.Second, lastPosition("7401", n))
			checkTimeline(t, sim, "7401", recs, seq(tc.next, n))
			st := statusRecords(recs)
			if tc.connected {
				if len(st) == 0 || *st[0].State != "Connected" || st[0].Position != 19 {
					t.Fatalf("statuses after the restart %v: want the Connected before 20 first", st)
				}
				st = st[1:]
			}
			checkStatuses(t, st, tc.pairs...)
			if said := readingLogs(logs); len(said) != 1 || !strings.Contains(said[0], "1-based") {
				t.Fatalf("reading logged as %q", said)
			}
			if st := task.Stats(); st.Repeats != 1 || st.SeqErrors != 0 {
				t.Fatalf("stats %+v: want the repeated event dropped once", st)
			}
		})
	}
}

// TestRepeatNeedsTheSameAction: the first event of a resumed connection
// is dropped only when it is the last event written again, not when it
// merely shares its actionId (an update: Pending, then Confirmed).
func TestRepeatNeedsTheSameAction(t *testing.T) {
	const (
		pending   = `{"traceId":"t1","fixtureAction":{"actionId":"X","sendType":"Pending","sendTypeId":1,"timestamp":"1767225600000","fixtureSeqNum":%d}}`
		confirmed = `{"traceId":"t2","fixtureAction":{"actionId":"X","sendType":"Confirmed","sendTypeId":2,"timestamp":"1767225600500","fixtureSeqNum":%d}}`
	)
	cases := []struct {
		name    string
		resumed []string // what the server sends the resumed connection
		repeats int64
	}{
		{"skip reading: the update comes first", []string{fmt.Sprintf(confirmed, 1)}, 0},
		{"1-based reading: the same event again, then the update", []string{fmt.Sprintf(pending, 1), fmt.Sprintf(confirmed, 2)}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, starts := scriptServer(t,
				[]string{`{"type":"authorised"}`, fmt.Sprintf(pending, 1)},
				append([]string{`{"type":"authorised"}`}, tc.resumed...),
			)
			task := runTask(t, taskConfig(t, nil, map[string]string{KeyURL: url, KeyFixtures: "2201"}), nil, testLogger(t))
			var c collector
			recs := c.pollUntil(t, task, 10*time.Second, countActions([]string{"2201"}, 2))
			checkExactly(t, "2201", actionPositions(recs)["2201"], seq(1, 2))
			var sendTypes []string
			for _, r := range recs {
				if a, ok := r.Value.(*Action); ok {
					sendTypes = append(sendTypes, deref(a.SendType))
				}
			}
			if strings.Join(sendTypes, ",") != "Pending,Confirmed" || strings.Join(starts(), ",") != "0,1" || task.Stats().Repeats != tc.repeats {
				t.Fatalf("send types %v, startPositions %v, stats %+v: want Pending then Confirmed, 0,1, %d repeats dropped",
					sendTypes, starts(), task.Stats(), tc.repeats)
			}
		})
	}
}
