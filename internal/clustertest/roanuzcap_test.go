package clustertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// TestRoanuzConnectionCapClusterWide proves that roanuz.connections.max is
// a cap over the whole cluster, not per process. The in-process Roanuz
// simulator refuses (HTTP 429) a Socket.IO connection beyond N open at once
// and records the most ever open. Three worker processes run a roanuz.match
// connector with roanuz.connections.max=N and tasks.max=3, with enough
// matches that every task holds its full share and all N connections are
// open. While the matches play, the group is disrupted six times (the
// worker running the most tasks SIGKILLed and replaced, three times; one
// SIGTERMed and replaced, twice; a fourth worker added), each time waiting
// until the tasks run again and all N connections are back. At the end the
// simulator must never have seen more than N open nor refused any, and
// read back read_committed every match's states must each be in Kafka
// once, in timeline order, ending completed, with every ball of every
// match, and each match followed and released once.
//
// A SIGKILLed worker's connections end with it (the kernel closes its
// sockets), and a SIGTERMed one closes them before its tasks move. Not
// covered: a worker frozen (SIGSTOP) or cut off from Kafka but not from
// Roanuz keeps its connections open after its tasks moved, until they time
// out, and the cluster then holds more than N.
func TestRoanuzConnectionCapClusterWide(t *testing.T) {
	const (
		limit   = 6 // roanuz.connections.max, and the simulator's limit
		tasks   = 3 // tasks.max: 2 connections each
		perConn = 3 // roanuz.matches.per.connection
		nMatch  = 15
		// A match document carries its last 12 balls, so a ball played
		// while no task follows its match is recovered only if fewer than
		// 12 were played meanwhile: at 1.25 s a step (about 0.75 balls),
		// about 20 s, above a SIGKILL's failover (the 10 s session timeout
		// and a task start: 5-10 s measured, once 14.3 s on a busy machine,
		// which at 1 s a step lost a ball). 5 overs an innings is about 90
		// steps, so the matches outlast the disruptions (about 50 s) with
		// room on a loaded machine.
		step  = 1250 * time.Millisecond
		overs = 5
		pause = 1500 * time.Millisecond
	)
	began := time.Now()
	testenv.Binary(t) // built before the simulator's clocks start
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	var keys []string
	for i := 1; i <= nMatch; i++ {
		keys = append(keys, fmt.Sprintf("cap_m%02d", i))
	}
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches(keys...), roanuzsim.WithOvers(overs), roanuzsim.WithSeed(11),
		roanuzsim.WithStepInterval(step), roanuzsim.WithClockOnSubscribe(), roanuzsim.WithPingInterval(time.Second),
		roanuzsim.WithConnectionLimit(limit))
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	over := capWatch(ctx, sim, limit)

	c := newCluster(t)
	r := &capRun{t: t, c: c, sim: sim, name: "rzcap", tasks: tasks, limit: limit, keys: keys}
	r.alive = []*proc{c.start(), c.start(), c.start()}
	r.all = append(r.all, r.alive...)
	r.alive[0].mustCall(t, "POST", "/connectors", map[string]any{"name": r.name, "config": map[string]string{
		"connector.class": "roanuz.match", "topic.prefix": c.prefix, "transaction.boundary": "poll",
		"topic.creation.default.partitions": "3", "tasks.max": fmt.Sprint(tasks),
		"roanuz.api.url": sim.URL(), "roanuz.project.key": "sim_project", "roanuz.api.key": "sim-api-key",
		"roanuz.matches": strings.Join(keys, ","), "roanuz.connections.max": fmt.Sprint(limit),
		"roanuz.matches.per.connection":       fmt.Sprint(perConn),
		"roanuz.reconnect.backoff.initial.ms": "50", "roanuz.reconnect.backoff.max.ms": "500",
	}}, nil)
	r.settle("the connector's first start")
	t.Logf("%d tasks running and all %d connections open %.1f s after the start", tasks, limit, time.Since(began).Seconds())

	for i, kind := range []string{"kill", "term", "add", "kill", "term", "kill"} {
		playing := r.stillPlaying(i + 1)
		r.disrupt(i+1, kind, playing)
		r.settle(fmt.Sprintf("disruption %d (%s)", i+1, kind))
		time.Sleep(pause)
	}
	lastDisruption := time.Since(began)

	// Let every match finish: completed in the committed offsets and
	// unsubscribed at the provider.
	waitFor(t, 4*time.Minute, "every match to finish, be committed completed and unsubscribed", func() bool {
		for _, k := range keys {
			if sim.Step(k) < sim.Steps(k)-1 || sim.Subscribed(k, roanuzsim.MethodWebSocket) || sim.SubscribeCalls(k, "unsubscribe") == 0 {
				return false
			}
		}
		offs, err := worker.ReadOffsets(ctx, brokers(t), c.offsets, r.name)
		if err != nil {
			return false
		}
		for _, k := range keys {
			if done, _ := offs.Offsets[roanuz.MatchPartition(k).String()][roanuz.OffsetCompleted].(bool); !done {
				return false
			}
		}
		return true
	})

	peak, refused := sim.PeakConnections(), sim.RefusedConnections()
	conns, joins, updates, _, _ := sim.SockStats()
	t.Logf("disruptions: %s", strings.Join(r.events, "; "))
	t.Logf("Socket.IO connections: peak %d open at once (cap %d), %d refused, %d accepted over the run, %d joins, %d updates",
		peak, limit, refused, conns, joins, updates)
	if at := over.first(); at != "" {
		t.Errorf("more than %d connections open: first seen %s", limit, at)
	}
	if peak > limit {
		t.Errorf("the simulator saw %d Socket.IO connections open at once, over roanuz.connections.max=%d", peak, limit)
	}
	if refused != 0 {
		t.Errorf("the simulator refused %d Socket.IO connections for the cap of %d", refused, limit)
	}
	if t.Failed() {
		t.Fatalf("the cap was not kept; worker logs (socket lines):\n%s", capSocketLines(r.all))
	}

	states, balls := r.verify(ctx)
	for _, p := range r.alive {
		p.term(t)
	}
	t.Logf("%d match states of %d matches once each, in order, all completed; %d balls; last disruption at %s, run %s",
		states, len(keys), balls, lastDisruption.Round(time.Second), time.Since(began).Round(time.Second))
}

// capRun is the state of TestRoanuzConnectionCapClusterWide.
type capRun struct {
	t           *testing.T
	c           *cluster
	sim         *roanuzsim.Simulator
	name        string
	tasks       int
	limit       int64
	keys        []string
	alive, all  []*proc
	events      []string
	disruptedAt time.Time
}

// running returns the running tasks per worker id, read from a live
// worker, and whether every task runs on a live worker.
func (r *capRun) running() (map[string]int, bool) {
	var st status
	if len(r.alive) == 0 || r.alive[0].call(r.t, "GET", "/connectors/"+r.name+"/status", nil, &st) != 200 {
		return nil, false
	}
	out := map[string]int{}
	for _, ts := range st.Tasks {
		if ts.State == "RUNNING" && r.isAlive(ts.WorkerID) {
			out[ts.WorkerID]++
		}
	}
	n := 0
	for _, v := range out {
		n += v
	}
	return out, len(st.Tasks) == r.tasks && n == r.tasks
}

func (r *capRun) isAlive(id string) bool {
	for _, p := range r.alive {
		if p.id == id {
			return true
		}
	}
	return false
}

// settle waits until every task runs on a live worker and all the
// connections the cap allows are open again.
func (r *capRun) settle(what string) {
	r.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, ok := r.running()
		open := r.sim.OpenConnections()
		if ok && open == r.limit {
			break
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("after %s: tasks running on live workers %v, %d of %d connections open after 90 s (fewer: the connector does not use the whole cap, and the test would not press it)\n%s",
				what, ok, open, r.limit, logsOf(r.alive...))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !r.disruptedAt.IsZero() {
		owners, _ := r.running()
		r.events[len(r.events)-1] += fmt.Sprintf(", tasks %v and %d connections back after %.1f s", owners, r.limit, time.Since(r.disruptedAt).Seconds())
	}
}

// stillPlaying fails the test if a match has finished before disruption i:
// the disruptions must land while every match is played. It describes
// how far the matches are.
func (r *capRun) stillPlaying(i int) string {
	r.t.Helper()
	lo, hi, shortest := -1, 0, 0
	for _, k := range r.keys {
		s, n := r.sim.Step(k), r.sim.Steps(k)
		if shortest == 0 || n < shortest {
			shortest = n
		}
		if s >= n-1 {
			r.t.Fatalf("match %s finished (step %d of %d) before disruption %d: the disruptions must land while the matches play; make the matches longer (overs) or the step interval longer",
				k, s, n, i)
		}
		if lo < 0 || s < lo {
			lo = s
		}
		hi = max(hi, s)
	}
	return fmt.Sprintf("matches at steps %d-%d, the shortest has %d", lo, hi, shortest)
}

// disrupt SIGKILLs (kill) or SIGTERMs (term) the live worker running the
// most tasks and starts a replacement, or starts one more worker (add).
func (r *capRun) disrupt(i int, kind, playing string) {
	r.t.Helper()
	owners, _ := r.running()
	var busiest *proc
	for _, p := range r.alive {
		if busiest == nil || owners[p.id] > owners[busiest.id] {
			busiest = p
		}
	}
	r.disruptedAt = time.Now()
	ev := fmt.Sprintf("%d (%s) %s", i, playing, kind)
	switch kind {
	case "kill":
		busiest.kill()
	case "term":
		busiest.term(r.t)
	}
	if kind != "add" {
		ev += fmt.Sprintf(" %s (%d tasks)", busiest.id, owners[busiest.id])
		for j, p := range r.alive {
			if p == busiest {
				r.alive = append(r.alive[:j:j], r.alive[j+1:]...)
				break
			}
		}
	}
	p := r.c.start()
	r.alive, r.all = append(r.alive, p), append(r.all, p)
	r.events = append(r.events, ev+fmt.Sprintf(" (open %d), started %s", r.sim.OpenConnections(), p.id))
	r.t.Logf("disruption %s", r.events[len(r.events)-1])
}

// verify reads the topics back read_committed: every match's states once
// each and in timeline order, ending completed; every ball of every match
// (no ball content twice); each match followed once and released once. It
// returns the states and the balls checked.
func (r *capRun) verify(ctx context.Context) (int, int) {
	t := r.t
	t.Helper()
	prefix := r.c.prefix + "."
	written := map[string][]string{}
	seen := map[string]int{}
	completed := map[string]bool{}
	for _, v := range capReadTopic(ctx, t, prefix+roanuz.TopicMatches) {
		h := fmt.Sprint(v.value["content_hash"])
		written[v.key] = append(written[v.key], h)
		if seen[v.key+"/"+h]++; seen[v.key+"/"+h] > 1 {
			t.Fatalf("match %s: state %s in Kafka %d times\n%s", v.key, h, seen[v.key+"/"+h], capSocketLines(r.all))
		}
		if v.value["status"] == "completed" {
			completed[v.key] = true
		}
	}
	states := 0
	for _, k := range r.keys {
		order := capContentSteps(t, r.sim, k)
		prev := -1
		for i, h := range written[k] {
			s, ok := order[h]
			if !ok {
				t.Fatalf("match %s: written state %s is no state of its timeline", k, h)
			}
			if s <= prev {
				t.Fatalf("match %s went back: its state #%d (step %d) was written after step %d", k, i, s, prev)
			}
			prev = s
			states++
		}
		if !completed[k] {
			t.Fatalf("match %s: no completed document in Kafka", k)
		}
	}
	ballSeen := map[string]int{}
	for _, v := range capReadTopic(ctx, t, prefix+roanuz.TopicBalls) {
		id := v.key + "/" + fmt.Sprint(v.value["ball_key"])
		if ballSeen[id+"/"+fmt.Sprint(v.value["raw"])]++; ballSeen[id+"/"+fmt.Sprint(v.value["raw"])] > 1 {
			t.Fatalf("match %s: ball %v written twice", v.key, v.value["ball_key"])
		}
		ballSeen[id]++
	}
	balls := 0
	for _, k := range r.keys {
		for _, b := range r.sim.Balls(k) {
			if ballSeen[k+"/"+b] == 0 {
				t.Fatalf("match %s: ball %s not in Kafka (a failover longer than 12 balls of play?)", k, b)
			}
			balls++
		}
	}
	subs := map[string]int{}
	for _, v := range capReadTopic(ctx, t, prefix+roanuz.TopicSubscriptions) {
		subs[fmt.Sprintf("%s %v %v", v.key, v.value["action"], v.value["reason"])]++
	}
	for _, k := range r.keys {
		for _, want := range []string{k + " " + roanuz.ActionFollow + " " + roanuz.ReasonConfigured, k + " " + roanuz.ActionRelease + " " + roanuz.ReasonCompleted} {
			if subs[want] != 1 {
				t.Fatalf("subscriptions: %q committed %d times, want once (all: %v)", want, subs[want], subs)
			}
		}
	}
	return states, balls
}

// capRecord is one record read back: its key and decoded value.
type capRecord struct {
	key   string
	value map[string]any
}

// capReadTopic reads topic from offset 0 to its last stable offset
// (read_committed), decoding the values through the registry.
func capReadTopic(ctx context.Context, t *testing.T, topic string) []capRecord {
	t.Helper()
	if err := readback.StartsAtZero(ctx, brokers(t), topic); err != nil {
		t.Fatal(err)
	}
	src, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	dec := avroreg.NewDecoder(src)
	var out []capRecord
	err = readback.Committed(ctx, brokers(t), []string{topic}, func(rec *kgo.Record) error {
		v := capRecord{key: string(rec.Key)}
		if err := dec.Decode(ctx, rec.Value, &v.value); err != nil {
			return fmt.Errorf("%s partition %d offset %d: %w", topic, rec.Partition, rec.Offset, err)
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// capContentSteps maps each distinct document of match k's timeline (by
// content hash, as the connector computes it) to the first step showing it.
func capContentSteps(t *testing.T, sim *roanuzsim.Simulator, k string) map[string]int {
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

// capOver notes the first moment more than the limit were open.
type capOver struct {
	mu sync.Mutex
	at string
}

func (o *capOver) first() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.at
}

// capWatch samples the open connections every 5 ms (PeakConnections is
// exact; this dates a breach for the report).
func capWatch(ctx context.Context, sim *roanuzsim.Simulator, limit int64) *capOver {
	o := &capOver{}
	go func() {
		for ctx.Err() == nil {
			if n := sim.OpenConnections(); n > limit {
				o.mu.Lock()
				if o.at == "" {
					o.at = fmt.Sprintf("%s: %d open", time.Now().Format("15:04:05.000"), n)
				}
				o.mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return o
}

// capSocketLines returns the workers' log lines about Socket.IO
// connections and task starts and stops, for a report.
func capSocketLines(ps []*proc) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "=== worker %s\n", p.id)
		for _, l := range strings.Split(p.output(), "\n") {
			if strings.Contains(l, "socket") || strings.Contains(l, "task started") || strings.Contains(l, "task stopped") ||
				strings.Contains(l, "roanuz match task") || strings.Contains(l, "rebalance") || strings.Contains(l, "assign") {
				b.WriteString(l + "\n")
			}
		}
	}
	return b.String()
}
