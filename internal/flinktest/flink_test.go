package flinktest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// inputPartitions is the partition count of the test's live.events.
const inputPartitions = 3

// TestLiveEventsJobRestartExactlyOnce runs live_events.sql on a Flink
// mini-cluster while a feed writes live.events in transactions (some
// aborted), stops it midway with a savepoint and drain, restarts it from
// the consumer group's committed offsets (without Flink's state, as
// 'scan.startup.mode' = 'group-offsets' does), and checks:
//
//   - the group's committed offsets after each stop are exactly the
//     processed position: run 1's rows are exactly those of the events
//     below its committed offsets, run 2's exactly those from there to the
//     end;
//   - summed over both runs, the events per (match, minute) are those
//     counted directly from the input, each scored event has exactly one
//     score row, and each match's latest score is its last scored event's;
//   - a restart from 'earliest-offset' instead counts run 1's events twice,
//     and the same checks say so (the check can fail).
func TestLiveEventsJobRestartExactlyOnce(t *testing.T) {
	t.Run("connector", func(t *testing.T) {
		// The real input: the connector following an IMG Arena simulator
		// for 6 fixtures × 400 actions at one per 30 ms (about 12 s),
		// SIGKILLed once midway.
		testJobRestart(t, func(t *testing.T) Feed { return newConnectorFeed(t, 6, 400, 30*time.Millisecond) })
	})
	t.Run("synthetic", func(t *testing.T) {
		// A made-up input spanning tens of simulated minutes, with aborted
		// transactions every few: many (match, minute) windows to split.
		testJobRestart(t, func(t *testing.T) Feed { return newSyntheticFeed(t, 2400) })
	})
}

func testJobRestart(t *testing.T, newFeed func(*testing.T) Feed) {
	if testing.Short() {
		t.Skip("needs Java, Maven (a Flink build) and a real broker and registry: skipped with -short")
	}
	testStart := time.Now()
	brokers := testenv.Brokers(t)
	registry := testenv.Registry(t)
	buildJob(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	prefix := testenv.UniqueName(t, "flink-")
	sqlPath, err := filepath.Abs(filepath.Join(exampleDir, "live_events.sql"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := jobConfig{
		sql:                sqlPath,
		bootstrap:          strings.Join(brokers, ","),
		registry:           registry,
		events:             prefix + ".live.events",
		group:              prefix + "-job",
		scores:             prefix + ".live.scores",
		perMinute:          prefix + ".live.events-per-minute",
		checkpointInterval: "1s",
	}
	testenv.CreateTopic(t, cfg.events, inputPartitions, nil)
	testenv.CreateTopic(t, cfg.scores, 3, nil)
	testenv.CreateTopic(t, cfg.perMinute, 3, nil)
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...)}
	adm := testenv.Admin(t)

	feed := newFeed(t)

	// Run 1: from the start (the group has no offsets yet), stopped midway
	// while the feed still writes.
	run1 := startJob(ctx, t, "run1", cfg)
	run1.waitRunning(2 * time.Minute)
	feedStart := time.Now()
	if err := feed.Start(ctx, cfg.events); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 90*time.Second, "run 1 to commit offsets past 300", func() bool {
		run1.alive()
		_, done := feed.Progress()
		return sum(groupOffsets(ctx, t, adm, cfg.group, cfg.events)) >= 300 || done
	})
	fedAtStop, doneAtStop := feed.Progress()
	stop1 := run1.stop(2 * time.Minute)
	c1 := groupOffsets(ctx, t, adm, cfg.group, cfg.events)
	res1, pos1, err := readResults(ctx, opts, cfg.scores, cfg.perMinute, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run 1: stopped after %v (startup %v, stop with savepoint and drain %v) with the feed at %d committed records (finished: %v); "+
		"group offsets %v; %d checkpoints; wrote %d score rows, %d per-minute rows",
		time.Since(run1.start).Round(time.Millisecond), ms(firstStartup(run1)), ms(stop1.StopMS), fedAtStop, doneAtStop,
		c1, run1.checkpoints(), len(res1.scores), len(res1.minutes))

	// Run 2: a new job, without run 1's state, from the group's offsets.
	// Beside it, a job that restarts the wrong way: from 'earliest-offset'
	// (the same SQL with that one change), into sinks of its own, to show
	// that the checks below catch double counting.
	run2 := startJob(ctx, t, "run2", cfg)
	cfg3 := earliestConfig(t, cfg, prefix)
	run3 := startJob(ctx, t, "earliest", cfg3)
	run2.waitRunning(2 * time.Minute)
	run3.waitRunning(2 * time.Minute)
	if err := feed.Wait(); err != nil {
		t.Fatalf("feed: %v", err)
	}
	fed, _ := feed.Progress()
	aborted := "?"
	if sf, ok := feed.(*syntheticFeed); ok {
		aborted = fmt.Sprint(sf.aborted.Load())
	}
	if cf, ok := feed.(*connectorFeed); ok {
		if cf.kills.Load() == 0 {
			t.Fatal("the connector feed was never SIGKILLed: the input has no crash in it")
		}
		aborted = fmt.Sprintf("whatever the connector's open transaction held at its %d SIGKILL(s)", cf.kills.Load())
	}
	t.Logf("feed: %d committed records (and %s in aborted transactions) in %v", fed, aborted, time.Since(feedStart).Round(time.Millisecond))
	input, err := readInput(ctx, opts, registry, cfg.events)
	if err != nil {
		t.Fatal(err)
	}
	checkInput(t, input, feed.Committed())
	end := inputEnd(input)
	waitUntil(t, 90*time.Second, fmt.Sprintf("run 2 to commit offsets up to %v", end), func() bool {
		run2.alive()
		return reached(groupOffsets(ctx, t, adm, cfg.group, cfg.events), end)
	})
	stop2 := run2.stop(2 * time.Minute)
	c2 := groupOffsets(ctx, t, adm, cfg.group, cfg.events)
	res2, _, err := readResults(ctx, opts, cfg.scores, cfg.perMinute, pos1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run 2: stopped after %v (startup %v, stop with savepoint and drain %v); group offsets %v; %d checkpoints; wrote %d score rows, %d per-minute rows",
		time.Since(run2.start).Round(time.Millisecond), ms(firstStartup(run2)), ms(stop2.StopMS),
		c2, run2.checkpoints(), len(res2.scores), len(res2.minutes))
	waitUntil(t, 90*time.Second, "the earliest-offset run to reach the input's end", func() bool {
		run3.alive()
		return reached(groupOffsets(ctx, t, adm, cfg3.group, cfg.events), end)
	})
	stop3 := run3.stop(2 * time.Minute)
	res3, _, err := readResults(ctx, opts, cfg3.scores, cfg3.perMinute, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("earliest-offset run: stopped after %v (startup %v, stop %v); wrote %d score rows, %d per-minute rows",
		time.Since(run3.start).Round(time.Millisecond), ms(firstStartup(run3)), ms(stop3.StopMS), len(res3.scores), len(res3.minutes))

	below := func(c map[int32]int64) func(int32, int64) bool {
		return func(p int32, o int64) bool { return o < c[p] }
	}
	between := func(lo, hi map[int32]int64) func(int32, int64) bool {
		return func(p int32, o int64) bool { return o >= lo[p] && o < hi[p] }
	}
	// Run 1 stopped midway: it processed some records and left some.
	if sum(c1) == 0 || reached(c1, end) {
		t.Fatalf("run 1 was not stopped midway: its group offsets %v, the input's end %v", c1, end)
	}
	// What the group would hold had the runner not committed the
	// savepoint's positions itself.
	for i, stop := range []jobEvent{stop1, stop2} {
		sp, err1 := parseOffsets(stop.SavepointOffsets)
		fl, err2 := parseOffsets(stop.FlinkCommitted)
		if err1 != nil || err2 != nil {
			t.Fatalf("run %d: %v %v", i+1, err1, err2)
		}
		if fmt.Sprint(sp) != fmt.Sprint([]map[int32]int64{c1, c2}[i]) {
			t.Errorf("run %d: the savepoint holds positions %v, the group %v", i+1, sp, []map[int32]int64{c1, c2}[i])
		}
		lag := expect(input, between(fl, sp)).events
		t.Logf("run %d: Flink's own offset commits left the group at %v, the savepoint at %v: %d events behind, "+
			"which a restart from the group's offsets would count twice without the runner's commit", i+1, fl, sp, lag)
	}
	// The committed offsets are the processed position, after each stop.
	hw, err := adm.ListEndOffsets(ctx, cfg.events)
	if err != nil {
		t.Fatal(err)
	}
	for run, c := range []map[int32]int64{c1, c2} {
		res := []results{res1, res2}[run]
		logPosition(t, fmt.Sprintf("run %d", run+1), cfg.events, c, res, input, end, hw)
	}
	if errs := checkRun(expect(input, below(c1)), res1); len(errs) > 0 {
		t.Errorf("run 1's rows are not those of the events below its committed offsets %v (%d differences):\n%s", c1, len(errs), brief(errs, 20))
	}
	if errs := checkRun(expect(input, between(c1, c2)), res2); len(errs) > 0 {
		t.Errorf("run 2's rows are not those of the events from %v to %v (%d differences):\n%s", c1, c2, len(errs), brief(errs, 20))
	}
	if !reached(c2, end) {
		t.Errorf("after run 2 the group's offsets are %v, short of the input's end %v", c2, end)
	}

	// What a reader of the sinks computes equals what the input says.
	full := expect(input, nil)
	if errs := checkCombined(full, combine(res1, res2)); len(errs) > 0 {
		t.Errorf("results over both runs differ from the input (%d differences):\n%s", len(errs), brief(errs, 20))
	}
	split := 0
	c := combine(res1)
	for _, r := range res2.minutes {
		ts, _ := parseTS(r.MinuteStart)
		if c.minutes[minuteKey{r.MatchID, ts}] > 0 {
			split++
		}
	}
	t.Logf("input: %d committed events (%d scored) in %d (match, minute) windows of %d matches; run 1 processed %d, run 2 %d; "+
		"%d minutes were split across the restart and summed",
		len(input), len(full.scored), len(full.minutes), len(full.latest), expect(input, below(c1)).events,
		expect(input, between(c1, c2)).events, split)
	for _, m := range sortedKeys(full.latest) {
		t.Logf("  %-26s latest score %s (offset %d)", m, fmtScore(full.latest[m].Score), full.latest[m].Offset)
	}

	t.Run("earliest-offset restart counts twice", func(t *testing.T) {
		errs := checkCombined(full, combine(res1, res3))
		if len(errs) == 0 {
			t.Fatal("run 1 + a restart from earliest-offset counts run 1's events twice, but the check found no difference: it cannot fail")
		}
		// Precisely run 1's events are counted twice, nothing is missed.
		once := expect(input, below(c1))
		twice := combine(res1, res3)
		for k, want := range full.minutes {
			if got := twice.minutes[k]; got != want.events+once.minutes[k].events {
				t.Errorf("%v: %d events after the earliest-offset restart, want %d + run 1's %d", k, got, want.events, once.minutes[k].events)
			}
		}
		if twice.scores != len(full.scored)+len(once.scored) {
			t.Errorf("%d score rows after the earliest-offset restart, want %d + run 1's %d", twice.scores, len(full.scored), len(once.scored))
		}
		t.Logf("as it must, the check fails for run 1 + an earliest-offset restart: %d differences, %d events counted twice, e.g.\n%s",
			len(errs), once.events, brief(errs, 3))
	})
	t.Logf("test took %v", time.Since(testStart).Round(time.Millisecond))
}

// earliestConfig returns cfg for a job that restarts from 'earliest-offset'
// instead of the group's offsets: live_events.sql with that one change, a
// group and sinks of its own.
func earliestConfig(t *testing.T, cfg jobConfig, prefix string) jobConfig {
	t.Helper()
	src, err := os.ReadFile(cfg.sql)
	if err != nil {
		t.Fatal(err)
	}
	const from, to = "'scan.startup.mode' = 'group-offsets'", "'scan.startup.mode' = 'earliest-offset'"
	if n := strings.Count(string(src), from); n != 1 {
		t.Fatalf("%s has %s %d times, want once", cfg.sql, from, n)
	}
	c := cfg
	c.sql = filepath.Join(t.TempDir(), "earliest.sql")
	if err := os.WriteFile(c.sql, []byte(strings.Replace(string(src), from, to, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	c.group = prefix + "-earliest"
	c.scores, c.perMinute = prefix+".earliest.scores", prefix+".earliest.events-per-minute"
	testenv.CreateTopic(t, c.scores, 3, nil)
	testenv.CreateTopic(t, c.perMinute, 3, nil)
	return c
}

// groupOffsets returns group's committed offsets on topic, by partition
// (partitions without one are left out).
func groupOffsets(ctx context.Context, t *testing.T, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	resp, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetching offsets of group %s: %v", group, err)
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out
}

// inputEnd is, per partition, the offset after its last committed record
// (0 for an empty partition): where a reader that has processed
// everything stands.
func inputEnd(input []inputEvent) map[int32]int64 {
	end := map[int32]int64{}
	for p := int32(0); p < inputPartitions; p++ {
		end[p] = 0
	}
	for _, e := range input {
		end[e.Partition] = max(end[e.Partition], e.Offset+1)
	}
	return end
}

// reached reports whether offsets are at or past end on every partition.
func reached(offsets, end map[int32]int64) bool {
	for p, e := range end {
		if o, ok := offsets[p]; (!ok && e > 0) || o < e {
			return false
		}
	}
	return true
}

func sum(m map[int32]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// logPosition logs, per partition, the group's committed offset beside the
// processed position (after the last event the run's rows count) and
// fails the test if a committed record lies between them (processed but
// not committed, or committed but not processed, is the same thing seen
// from the two sides: checkRun reports which events).
func logPosition(t *testing.T, run, topic string, committed map[int32]int64, res results, input []inputEvent, end map[int32]int64, hw kadm.ListedOffsets) {
	t.Helper()
	processed := map[int32]int64{}
	for _, r := range res.minutes {
		processed[r.SrcPartition] = max(processed[r.SrcPartition], r.LastOffset+1)
	}
	var parts []string
	for p := int32(0); p < inputPartitions; p++ {
		c, ok := committed[p]
		if !ok {
			c = -1
		}
		h, _ := hw.Lookup(topic, p)
		parts = append(parts, fmt.Sprintf("p%d committed %d processed-to %d last-record+1 %d high-watermark %d", p, c, processed[p], end[p], h.Offset))
		if _, ok := processed[p]; !ok {
			continue // nothing of p in this run: checkRun tells if it should have
		}
		lo, hi := min(c, processed[p]), max(c, processed[p])
		for _, e := range input {
			if e.Partition == p && e.Offset >= lo && e.Offset < hi {
				t.Errorf("%s: partition %d: committed offset %d but processed to %d: the committed record at %d lies between", run, p, c, processed[p], e.Offset)
				break
			}
		}
	}
	t.Logf("%s: %s", run, strings.Join(parts, "; "))
}

// checkInput checks that the records read back from live.events are the
// ones the feed committed: the read-back is what the expectations are
// computed from.
func checkInput(t *testing.T, input []inputEvent, fed []Event) {
	t.Helper()
	if fed == nil {
		return
	}
	perMatch := func(evs []Event) map[string][]string {
		m := map[string][]string{}
		for _, e := range evs {
			m[e.MatchID] = append(m[e.MatchID], e.SourceID)
		}
		return m
	}
	read := make([]Event, len(input))
	for i, e := range input {
		read[i] = e.Event
		if strings.HasPrefix(e.SourceID, "aborted-") {
			t.Fatalf("read_committed read back %s/%d@%d of an aborted transaction", e.MatchID, e.Partition, e.Offset)
		}
	}
	got, want := perMatch(read), perMatch(fed)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("live.events read back (%d records) is not what the feed committed (%d records)", len(input), len(fed))
	}
}

// waitUntil polls cond every 200 ms, failing the test after d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func firstStartup(j *job) int64 {
	ev, _ := j.last("running")
	return ev.StartupMS
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
