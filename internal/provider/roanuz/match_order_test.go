package roanuz

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
)

// staleLogLine is the message of the log line of a dropped stale document.
const staleLogLine = "roanuz stale match document dropped"

// contentSteps maps each distinct document of match k's timeline (by
// content hash) to the first step that renders it: the order of the
// match's states.
func contentSteps(t testing.TB, sim *roanuzsim.Simulator, k string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for i := range sim.Steps(k) {
		d, err := ParseMatch(sim.Document(k, i), "test", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out[d.match.ContentHash]; !ok {
			out[d.match.ContentHash] = i
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

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// staleByReason counts the stale-document log lines of JSON logs by reason.
func staleByReason(logs string) map[string]int {
	out := map[string]int{}
	for _, l := range strings.Split(logs, "\n") {
		if !strings.Contains(l, staleLogLine) {
			continue
		}
		for _, r := range []string{staleSuperseded, staleBehind, staleRevisit} {
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

// TestMatchCatchUpNeverGoesBack plays matches whose Match API answers
// late or a step behind the stream, with connections dropped every few
// updates, so every reconnect's REST catch-up races the socket: the states
// written for each match must only ever move forward in its timeline, each
// once, up to the completed one; and the stale documents must have been
// seen and dropped (the faults bit).
func TestMatchCatchUpNeverGoesBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		step time.Duration // the match's pace
		opts []roanuzsim.SimOption
	}{
		{"REST answers late, joins send no state", 15 * time.Millisecond, []roanuzsim.SimOption{roanuzsim.WithRESTDelay(60 * time.Millisecond), roanuzsim.WithSockQuietJoin()}},
		// The stale answer is one step behind the joined state only while
		// the match has not moved on during the REST round trip: a pace
		// slower than that round trip, also under -race on a loaded machine
		// (at 15 ms every answer matched the state already written).
		{"REST answers a step behind", 100 * time.Millisecond, []roanuzsim.SimOption{roanuzsim.WithRESTBehind(1)}},
		{"REST late and behind, joins send no state", 15 * time.Millisecond, []roanuzsim.SimOption{roanuzsim.WithRESTDelay(60 * time.Millisecond), roanuzsim.WithRESTBehind(1), roanuzsim.WithSockQuietJoin()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]roanuzsim.SimOption{roanuzsim.WithMatches("m1", "m2"), roanuzsim.WithOvers(2), roanuzsim.WithStepInterval(tc.step), roanuzsim.WithSockDropEvery(9)}, tc.opts...)
			sim := startSim(t, opts...)
			var logs syncBuffer
			log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
				return zapcore.NewTee(c, bufferLogger(&logs).Core())
			}))
			cfg := matchConfigFor(t, sim, nil)
			c := &MatchConnector{log: log}
			if err := c.Start(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			r := startRunner(t, c.NewTask(), connector.NewTaskContextForTest("rzm", 0, cfg, log))
			recs := pollMatches(t, r, 60*time.Second, completedAll("m1", "m2"))
			written := map[string][]string{}
			for _, rec := range recs {
				if m, ok := rec.Value.(*Match); ok {
					written[m.Key] = append(written[m.Key], m.ContentHash)
				}
			}
			n := checkForward(t, sim, written)
			_, _, _, _, drops := sim.SockStats()
			stale := countLines(logs.String(), staleLogLine)
			t.Logf("%d states written in order; %d stale documents dropped %v; %d connection drops", n, stale, staleByReason(logs.String()), drops)
			if stale == 0 {
				t.Fatal("no stale document dropped: the test did not exercise the catch-up race")
			}
		})
	}
}

// distinctDocs returns the distinct documents of the timeline of match
// "m1" of tl, parsed, in the order of their first step.
func distinctDocs(t testing.TB, tl *roanuzsim.Simulator) []*matchDocument {
	t.Helper()
	var out []*matchDocument
	seen := map[string]bool{}
	for i := range tl.Steps("m1") {
		d, err := ParseMatch(tl.Document("m1", i), sourceSocket, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !seen[d.match.ContentHash] {
			seen[d.match.ContentHash] = true
			out = append(out, d)
		}
	}
	return out
}

// TestProgressOrdersTheTimeline checks the progress of every state of
// simulated matches: a later state is never behind an earlier one (nothing
// forward is refused), and here every earlier state is behind every later
// one (the simulator's states differ in something monotonic, so the rule
// alone orders them across restarts).
func TestProgressOrdersTheTimeline(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		docs := distinctDocs(t, timeline(seed, 3))
		for i := range docs {
			for j := i + 1; j < len(docs); j++ {
				a, b := docs[i].progress, docs[j].progress
				if b.behind(a) {
					t.Fatalf("seed %d: state %d (%s) is behind the earlier state %d (%s)", seed, j, b, i, a)
				}
				if !a.behind(b) {
					t.Fatalf("seed %d: state %d (%s) is not behind the later state %d (%s)", seed, i, a, j, b)
				}
			}
		}
	}
}

func TestProgressEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want progress
	}{
		{"round trip", progress{2, 1, 2, 2, 1, 230, 524600, 1733150000.125}.String(), progress{2, 1, 2, 2, 1, 230, 524600, 1733150000.125}},
		{"unknown fields", unknownProgress.String(), unknownProgress},
		{"empty (an offset written before progress was kept)", "", unknownProgress},
		{"another version", "p2:1,2,3", unknownProgress},
		{"garbage", "p1:a,b,c,d,e,f,g,h", unknownProgress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseProgress(tc.in); got != tc.want {
				t.Fatalf("parseProgress(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	// A field one side lacks is not compared.
	a, b := unknownProgress, unknownProgress
	a.balls, b.status = 3, 2
	if a.behind(b) || b.behind(a) {
		t.Fatal("progress compared on a field only one side carries")
	}
}

func TestStaleReason(t *testing.T) {
	docs := distinctDocs(t, timeline(1, 2))
	last := docs[len(docs)-1]
	id := func(d *matchDocument) uint64 {
		h := fnv.New64a()
		h.Write([]byte(d.match.ContentHash))
		return h.Sum64()
	}
	written := func(d *matchDocument, sockSeq uint64, earlier ...*matchDocument) *matchState {
		st := &matchState{docs: newIdentities(64), progress: d.progress, sockSeq: sockSeq, completed: d.match.Status == "completed"}
		for _, e := range earlier {
			st.docs.add(id(e))
		}
		st.docs.add(id(d))
		return st
	}
	for _, tc := range []struct {
		name string
		st   *matchState
		msg  streamMsg
		doc  *matchDocument
		want string
	}{
		{"next state over the socket", written(docs[10], 7), streamMsg{source: sourceSocket, seq: 8}, docs[11], ""},
		{"REST, no socket update since its request", written(docs[10], 7), streamMsg{source: sourceREST, seq: 7}, docs[11], ""},
		{"REST, a socket update since its request", written(docs[10], 8), streamMsg{source: sourceREST, seq: 7}, docs[11], staleSuperseded},
		{"REST behind the last written state", written(docs[10], 7), streamMsg{source: sourceREST, seq: 7}, docs[9], staleBehind},
		{"socket behind the last written state", written(docs[10], 7), streamMsg{source: sourceSocket, seq: 8}, docs[9], staleBehind},
		{"in play after the result", written(last, 7), streamMsg{source: sourceSocket, seq: 8}, docs[len(docs)-2], staleBehind},
		{"an earlier state, progress unknown", &matchState{docs: newIdentities(64), progress: unknownProgress},
			streamMsg{source: sourceSocket}, docs[3], ""},
		{"written before, progress unknown", func() *matchState {
			st := written(docs[4], 0, docs[3])
			st.progress = unknownProgress
			return st
		}(), streamMsg{source: sourceSocket}, docs[3], staleRevisit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := staleReason(tc.st, tc.msg, tc.doc, id(tc.doc)); got != tc.want {
				t.Fatalf("stale reason %q, want %q (document %s, written %s)", got, tc.want, tc.doc.progress, tc.st.progress)
			}
		})
	}
}

// TestMatchCatchUpAfterRestartRefusesOlderState restarts a task from the
// offsets its first run committed, against a Match API one step behind and
// joins that send no state: the restarted task's REST catch-up is older
// than what the first run wrote, and only the progress kept in the
// committed offset can tell; it must be dropped as behind, and the next
// update written.
func TestMatchCatchUpAfterRestartRefusesOlderState(t *testing.T) {
	sim := startSim(t, roanuzsim.WithMatches("m1"), roanuzsim.WithRESTBehind(1), roanuzsim.WithSockQuietJoin())
	for range 10 {
		sim.Advance("m1")
	}
	cfg := matchConfigFor(t, sim, map[string]string{KeyMatches: "m1"})
	hashes := func(r *fakeRunner) []string {
		var out []string
		for _, rec := range r.records() {
			if m, ok := rec.Value.(*Match); ok {
				out = append(out, m.ContentHash)
			}
		}
		return out
	}
	hashAt := func(step int) string {
		d, err := ParseMatch(sim.Document("m1", step), "test", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return d.match.ContentHash
	}
	// advance plays steps until r wrote n states, the last of them the
	// current step's, which differs from the step before (a review changes
	// nothing).
	advance := func(r *fakeRunner, n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got, step := hashes(r), sim.Step("m1")
			if len(got) >= n && got[len(got)-1] == hashAt(step) && hashAt(step) != hashAt(step-1) {
				return
			}
			if time.Now().After(deadline) || sim.Step("m1") >= sim.Steps("m1")-2 {
				t.Fatalf("%d states written by step %d, want %d", len(hashes(r)), sim.Step("m1"), n)
			}
			sim.Advance("m1")
			before := len(hashes(r))
			for end := time.Now().Add(300 * time.Millisecond); len(hashes(r)) == before && time.Now().Before(end); {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	// First run: the catch-up (a step behind, but nothing newer is known),
	// then updates.
	r1, _ := startMatch(t, cfg)
	waitFor(t, 10*time.Second, "the first run's catch-up", func() bool { return len(hashes(r1)) == 1 })
	advance(r1, 2)
	first := hashes(r1)
	committed := r1.committed()
	r1.close()
	// Second run, from the committed offsets: its catch-up is the state
	// before the last written one.
	r2, task := startMatch(t, cfg, committed...)
	waitFor(t, 10*time.Second, "the second run's catch-up dropped", func() bool { return task.stale.behind.Load() == 1 })
	advance(r2, 1)
	second := hashes(r2)
	checkForward(t, sim, map[string][]string{"m1": append(first, second...)})
	if task.stale.total() != 1 {
		t.Fatalf("second run dropped %d stale documents (%d behind), want the catch-up only, as behind", task.stale.total(), task.stale.behind.Load())
	}
	t.Logf("first run wrote %d states, the second %d after dropping its catch-up", len(first), len(second))
}

// TestStaleDocumentKeepsUnseenBalls hands Poll a newer state over the
// socket, then an older one over REST whose request was sent before: the
// older match document is dropped, but its balls whose keys the newer one
// no longer carries (and nothing wrote) are written; the others are not,
// in any version.
func TestStaleDocumentKeepsUnseenBalls(t *testing.T) {
	tl := timeline(1, 3)
	for _, tc := range []struct{ older, newer int }{{30, 34}, {30, 60}, {33, 34}} {
		t.Run(fmt.Sprintf("step %d after %d", tc.older, tc.newer), func(t *testing.T) {
			log := testLogger(t)
			task := &MatchTask{matchTopic: "matches", ballTopic: "balls", log: log, states: map[string]*matchState{},
				tc: connector.NewTaskContextForTest("rzm", 0, connector.Config{}, log), followed: map[string]*slot{"m1": {}}}
			newer, older := tl.Document("m1", tc.newer), tl.Document("m1", tc.older)
			written := task.handle(streamMsg{doc: newer, raw: newer, source: sourceSocket, seq: 2, received: time.Now()}, nil)
			recs := task.handle(streamMsg{doc: older, raw: older, source: sourceREST, seq: 1, received: time.Now()}, nil)
			nd, _ := ParseMatch(newer, "", time.Time{})
			od, _ := ParseMatch(older, "", time.Time{})
			inNewer := map[string]bool{}
			for _, b := range nd.balls {
				inNewer[b.key] = true
			}
			var want, got []string
			for _, b := range od.balls {
				if !inNewer[b.key] {
					want = append(want, b.key)
				}
			}
			for _, r := range recs {
				b, ok := r.Value.(*Ball)
				if !ok {
					t.Fatalf("the stale document wrote a %T record", r.Value)
				}
				if r.Offset[offsetHash] != nd.match.ContentHash {
					t.Fatalf("a ball of the stale document carries offset hash %v, want the written state's", r.Offset[offsetHash])
				}
				got = append(got, b.BallKey)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || task.stale.superseded.Load() != 1 {
				t.Fatalf("balls of the stale document written %v, want %v (%d written for the newer state); %d superseded",
					got, want, len(written)-1, task.stale.superseded.Load())
			}
		})
	}
}
