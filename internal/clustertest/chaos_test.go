package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	clusterstate "github.com/seed-474f70f7/sportsconnect/internal/cluster"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenademo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabademo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The size of the chaos run. Every fixture streams for imgEvents ×
// imgInterval of connected time (a fixture resumes where its committed
// offset is, so downtime adds to it) and the Saba simulator generates for
// sabaTotal/sabaRate seconds of wall-clock time: both outlast the chaos
// events, which the test checks.
const (
	chaosEvents    = 26
	imgFixtures    = 50
	imgEvents      = 2600
	imgInterval    = 50 * time.Millisecond // 2600 events: 130 s per fixture
	imgStatusEvery = 500
	sabaRate       = 50
	sabaTotal      = 7000 // 140 s
	sabaStreams    = "GetEvents $filter=sporttype eq 1; GetMarkets; GetEvents $filter=sporttype ne 1"
	imgName        = "img"
	sabaName       = "saba"
	chaosToken     = "chaos-img-token"
	chaosTokenEnv  = "SC_CHAOS_IMG_TOKEN"
	chaosSeedEnv   = "SC_CHAOS_SEED" // replays a run's choice of events
)

// Kinds of chaos event.
const (
	evKill    = "SIGKILL+restart"
	evTerm    = "SIGTERM+restart"
	evScaleIn = "SIGTERM, back to 3 workers"
	evAdd     = "fourth worker"
	evPause   = "pause"
	evResume  = "resume"
	evTasks   = "tasks.max change"
)

// TestClusterChaos: three worker processes of the real binary run an IMG
// Arena connector (50 live fixtures, the simulator dropping connections at
// random) and a Saba connector (three streams, the simulator cutting them,
// stalling and revoking tokens), both created over one worker's REST API.
// While both stream, 26 random events hit the cluster: a worker SIGKILLed
// or SIGTERMed (it must exit 0) and replaced, a fourth worker added (and
// later one SIGTERMed away), a connector paused and later resumed, a
// connector's tasks.max changed (1 to 4) over REST. Then every fixture and
// stream runs to its end, and the test proves on the real broker:
//   - read_committed, every fixture holds positions 1..N exactly once, in
//     order, each the simulator's event, and its status pairs exactly once;
//     every Saba stream holds each update of the simulator's timeline
//     exactly once, in order (malformed ones in the dead-letter topic);
//   - the committed offsets are the ends (position N and finished for each
//     fixture, the last relevant update of each stream), and no committed
//     offset ever went back;
//   - the status topic never has two workers reporting one task RUNNING in
//     one group generation, and no worker starts a task another live worker
//     still holds (has not written UNASSIGNED): tasks move by revoke, then
//     assign, or from a killed worker;
//   - after every worker stopped, the broker lists no transactional id of
//     the group outside <group>-leader and <group>-<connector>-<task>, and
//     none with a transaction open;
//   - the IMG token, passed as ${env:…}, is in no worker's output.
//
// The seed of the event choice is logged; SC_CHAOS_SEED=<seed> replays
// the same choices (not the same timing).
func TestClusterChaos(t *testing.T) {
	began := time.Now()
	seed := chaosSeed(t)
	t.Logf("chaos seed %d (%s=%d replays the choice of events)", seed, chaosSeedEnv, seed)
	testenv.Binary(t) // build before anything is timed
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()

	// Every worker process inherits the token: the connector config holds
	// only the reference, which each worker resolves itself.
	t.Setenv(chaosTokenEnv, chaosToken)
	img := imgarenasim.NewSimulator(imgarenasim.SimSeed(seed), imgarenasim.SimFixtureCount(imgFixtures), imgarenasim.SimEvents(imgEvents),
		imgarenasim.SimFinish(true), imgarenasim.SimEventInterval(time.Second, imgInterval), imgarenasim.SimRandomDrops(0.002),
		imgarenasim.SimStatusEvery(imgStatusEvery), imgarenasim.SimDropAfterStatus(true), imgarenasim.SimHeartbeat(time.Second),
		imgarenasim.SimToken(chaosToken))
	if err := img.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = img.Close() })
	specs, err := saba.ParseStreams(sabaStreams)
	if err != nil {
		t.Fatal(err)
	}
	ssim := sabasim.NewSimulator(sabasim.WithSeed(seed), sabasim.WithRecordTimeline(true), sabasim.WithTokenTTL(4*time.Second),
		sabasim.WithKeepAlive(300*time.Millisecond), sabasim.WithEvents(30, 4), sabasim.WithMalformedEvery(401), sabasim.WithDuplicateEvery(97),
		sabasim.WithInclusiveReplay(true), sabasim.WithRate(sabaRate), sabasim.WithMaxUpdates(sabaTotal))
	sabaURL, err := ssim.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ssim.Close)

	c := newCluster(t)
	keepLogsOnFailure(t, c)
	r := &chaosRun{t: t, c: c, rng: rand.New(rand.NewPCG(seed, 0x6368616f73)), resumeAt: map[string]int{}, counts: map[string]int{}, exited: map[string]time.Time{},
		configs: map[string]map[string]string{
			imgName: {
				"connector.class": imgarena.Class, "tasks.max": "2", "topic.prefix": c.prefix,
				"transaction.boundary": "poll", "topic.creation.default.partitions": "3",
				imgarena.KeyURL: img.URL(), imgarena.KeyToken: "${env:" + chaosTokenEnv + "}", imgarena.KeySpeed: "fast",
				imgarena.KeyFixtures: strings.Join(img.Fixtures(), ","), imgarena.KeyBackoffInitialMs: "50",
				imgarena.KeyBackoffMaxMs: "1000", imgarena.KeySilenceMs: "5000",
			},
			sabaName: {
				"connector.class": saba.Class, "tasks.max": "2", "topic.prefix": c.prefix, "transaction.boundary": "poll",
				"topic.creation.default.partitions": "3",
				connector.KeyErrorsTolerance:        connector.ToleranceAll, connector.KeyDLQTopic: c.prefix + ".dlq",
				saba.KeyBaseURL: sabaURL, saba.KeyVendorID: "vendor", saba.KeyVendorMemberID: "member", saba.KeyStreams: sabaStreams,
				saba.KeySilenceTimeout: "1500", saba.KeyBackoffInitial: "50", saba.KeyBackoffMax: "1000", saba.KeyRefreshMargin: "1000",
			},
		}}
	for range 3 {
		r.alive = append(r.alive, c.start())
	}
	view := followOffsets(ctx, t, c.offsets, func(conn string, o connector.Offset) (int64, bool) {
		switch conn {
		case imgName:
			return o.OffsetInt("position")
		case sabaName:
			id, ok := o.OffsetString(saba.OffsetKey)
			if !ok {
				return 0, false
			}
			return ssim.Lookup(id)
		}
		return 0, false
	})

	// The Saba timeline runs on the wall clock from here, its faults with it.
	ssim.Start()
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		sabaFaults(ctx, ssim, rand.New(rand.NewPCG(seed, 2)))
	}()
	for _, name := range []string{imgName, sabaName} {
		r.alive[0].mustCall(t, "POST", "/connectors", map[string]any{"name": name, "config": r.configs[name]}, nil)
	}
	created := time.Now()
	waitFor(t, 90*time.Second, "both connectors' tasks to run and commit", func() bool {
		lo, _, _ := view.img(img.Fixtures())
		_, sabaSum := view.saba(specs)
		return r.allRunning(imgName, 2) && r.allRunning(sabaName, 2) && lo > 0 && sabaSum > 0
	})
	t.Logf("both connectors run on %d workers, %.1f s after creation", len(r.alive), time.Since(created).Seconds())

	// The events: the first five are one of each kind in a random order,
	// the rest drawn at random; each followed by a pause of 1 to 4 s.
	first := []string{evKill, evTerm, evAdd, evPause, evTasks}
	r.rng.Shuffle(len(first), func(i, j int) { first[i], first[j] = first[j], first[i] })
	chaosFrom := time.Now()
	for i := range chaosEvents {
		r.resumeDue(i)
		kind := r.choose(i, first)
		at := time.Now()
		what := r.do(i, kind)
		lo, hi, finished := view.img(img.Fixtures())
		head, _ := ssim.Head()
		t.Logf("event %2d/%d at +%5.1fs: %-28s %s (%.1f s) | IMG committed %d..%d of %d | Saba update %d of %d",
			i+1, chaosEvents, at.Sub(created).Seconds(), r.lastKind, what, time.Since(at).Seconds(), lo, hi, imgEvents, head, sabaTotal)
		if i == chaosEvents-1 {
			// Every source must still be streaming when the last event
			// lands, or the events proved less than they claim.
			if hi >= imgEvents || finished > 0 {
				t.Fatalf("a fixture committed position %d of %d (%d finished) before the last chaos event: make the fixtures longer (imgEvents)", hi, imgEvents, finished)
			}
			if head >= sabaTotal {
				t.Fatalf("the Saba simulator ended (update %d of %d) before the last chaos event: make its timeline longer (sabaTotal)", head, sabaTotal)
			}
			break
		}
		time.Sleep(time.Until(at.Add(time.Duration(1000+r.rng.IntN(3001)) * time.Millisecond)))
	}
	r.resumeDue(chaosEvents + 10) // resume every connector still paused
	chaosTook := time.Since(chaosFrom)

	// Let every fixture and stream run to its end.
	drainFrom := time.Now()
	deadline := time.Now().Add(5 * time.Minute)
	var sabaWant map[string]string
	for n := 0; ; n++ {
		if n%5 == 0 {
			for _, name := range []string{imgName, sabaName} {
				if why := r.failedTask(name); why != "" {
					t.Fatalf("connector %s: %s", name, why)
				}
			}
		}
		lo, _, finished := view.img(img.Fixtures())
		sabaDone := false
		if head, _ := ssim.Head(); head >= sabaTotal {
			sabaWant = sabaEnds(t, ssim, specs)
			ids, _ := view.saba(specs)
			sabaDone = maps.Equal(ids, sabaWant)
		}
		if lo == imgEvents && finished == imgFixtures && sabaDone {
			break
		}
		if time.Now().After(deadline) {
			ids, _ := view.saba(specs)
			t.Fatalf("not finished within 5 minutes of the last event: IMG lowest committed position %d of %d, %d of %d fixtures finished; Saba committed %v, want %v",
				lo, imgEvents, finished, imgFixtures, ids, sabaWant)
		}
		time.Sleep(time.Second)
	}
	drainTook := time.Since(drainFrom)
	<-faultsDone
	for _, p := range r.alive {
		p.term(t)
	}
	t.Logf("every fixture and stream at its end %.1f s after the last event; %d workers SIGTERMed, each exited 0", drainTook.Seconds(), len(r.alive))

	// The committed offsets are the ends.
	offs, err := worker.ReadOffsets(ctx, brokers(t), c.offsets, imgName)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range img.Fixtures() {
		o := offs.Offsets[imgarena.PartitionOf("soccer", f).String()]
		pos, _ := o.OffsetInt("position")
		if done, _ := o["finished"].(bool); pos != imgEvents || !done {
			t.Fatalf("fixture %s: committed offset %v, want position %d and finished", f, o, imgEvents)
		}
	}
	if offs, err = worker.ReadOffsets(ctx, brokers(t), c.offsets, sabaName); err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		if id, _ := offs.Offsets[saba.PartitionOf(sp).String()].OffsetString(saba.OffsetKey); id != sabaWant[sp.Name()] {
			t.Fatalf("stream %s: committed %s=%q, want its last update %q", sp.Name(), saba.OffsetKey, id, sabaWant[sp.Name()])
		}
	}
	if back := view.wentBack(); len(back) > 0 {
		t.Fatalf("committed offsets went back:\n%s", strings.Join(back, "\n"))
	}

	// Exactly once, read_committed.
	registry := testenv.Registry(t)
	actions, err := imgarenademo.ReadActions(ctx, brokers(t), registry, c.prefix+".imgarena.soccer.actions")
	if err != nil {
		t.Fatal(err)
	}
	nActions, err := checkFixtures(img, actions, imgEvents)
	if err != nil {
		t.Fatal(err)
	}
	statuses, err := imgarenademo.ReadFixtureRecords(ctx, brokers(t), registry, c.prefix+".imgarena.soccer.status",
		func(s *imgarena.Status) string { return s.Fixture })
	if err != nil {
		t.Fatal(err)
	}
	nStatuses, err := checkStatusPairs(statuses, img.Fixtures(), imgStatusEvery, imgEvents)
	if err != nil {
		t.Fatal(err)
	}
	got, nSaba, err := sabademo.ReadBack(ctx, ssim, brokers(t), registry, c.prefix, c.prefix+".dlq")
	if err != nil {
		t.Fatal(err)
	}
	var sabaUpdates, sabaSnapshots int
	for _, sp := range specs {
		u, s, err := sabademo.CheckTimeline(ssim, sp, "", got[sp.Name()], sabaWant[sp.Name()])
		if err != nil {
			t.Fatalf("stream %s: %v", sp.Name(), err)
		}
		sabaUpdates, sabaSnapshots = sabaUpdates+u, sabaSnapshots+s
	}

	// One runner per task and generation; no stray or open transaction.
	rc, err := checkRunners(ctx, brokers(t), c.statuses, r.exited)
	if err != nil {
		t.Fatal(err)
	}
	if len(rc.overlaps) > 0 {
		t.Fatalf("a worker started a task another live worker held:\n%s", strings.Join(rc.overlaps, "\n"))
	}
	allowed := map[string]bool{c.group + "-leader": true}
	for _, name := range []string{imgName, sabaName} {
		for i := range 4 {
			allowed[worker.TransactionalID(c.group, name, i)] = true
		}
	}
	txns, err := checkTransactions(ctx, t, c.group, allowed)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	started := len(c.workers)
	for _, p := range c.workers {
		if strings.Contains(p.output(), chaosToken) {
			t.Errorf("worker %s: the IMG token appears in its output", p.id)
		}
	}
	c.mu.Unlock()

	is, ss := img.Stats(), ssim.Stats()
	if is.Drops == 0 || ss.Cuts == 0 {
		t.Fatalf("the simulators injected %d connection drops and %d stream cuts: the faults did not happen", is.Drops, ss.Cuts)
	}
	var kinds []string
	for _, k := range []string{evKill, evTerm, evScaleIn, evAdd, evPause, evResume, evTasks} {
		kinds = append(kinds, fmt.Sprintf("%d %s", r.counts[k], k))
	}
	t.Logf("summary: seed %d; %d events in %.1f s (%s); %d worker processes started, %d ran tasks; total %.1f s (drain %.1f s after the last event)",
		seed, chaosEvents, chaosTook.Seconds(), strings.Join(kinds, ", "), started, rc.runners, time.Since(began).Seconds(), drainTook.Seconds())
	t.Logf("summary: read_committed %d IMG actions (%d fixtures × positions 1..%d exactly once, in timeline order) and %d status packets; "+
		"%d Saba records (%d updates exactly once in %d streams, %d snapshots); offsets at their ends and never back",
		nActions, imgFixtures, imgEvents, nStatuses, nSaba, sabaUpdates, len(specs), sabaSnapshots)
	t.Logf("summary: status topic %d records, %d RUNNING, never two workers for one task in one generation; %d task moves, "+
		"%d of them from a killed worker, none from a live one; %d transactional ids of the group, none open; "+
		"IMG simulator %d connections, %d drops; Saba simulator %d connects, %d cuts, %d replays, %d logins",
		rc.records, rc.running, rc.moves, rc.afterExit, txns, is.Connections, is.Drops, ss.Connects, ss.Cuts, ss.Replays, ss.Logins)
}

// chaosSeed returns SC_CHAOS_SEED if set, else a fresh seed.
func chaosSeed(t *testing.T) uint64 {
	if v := os.Getenv(chaosSeedEnv); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", chaosSeedEnv, v, err)
		}
		return s
	}
	return uint64(time.Now().UnixNano())
}

// chaosRun is the cluster under chaos: the live workers and what was done.
type chaosRun struct {
	t        *testing.T
	c        *cluster
	rng      *rand.Rand
	alive    []*proc
	configs  map[string]map[string]string // each connector's config as last written
	resumeAt map[string]int               // paused connectors: the event before which each resumes
	exited   map[string]time.Time         // workers SIGKILLed or SIGTERMed: when they were gone
	counts   map[string]int               // events done, by kind
	lastKind string
}

// pick returns a live worker at random.
func (r *chaosRun) pick() *proc { return r.alive[r.rng.IntN(len(r.alive))] }

func (r *chaosRun) drop(p *proc) {
	r.alive = slices.DeleteFunc(r.alive, func(q *proc) bool { return q == p })
}

// choose returns event i's kind: first[i] for the first ones, else a
// weighted draw among the kinds possible now.
func (r *chaosRun) choose(i int, first []string) string {
	if i < len(first) && r.possible(first[i]) {
		return first[i]
	}
	weighted := []string{evKill, evKill, evKill, evTerm, evTerm, evTerm, evAdd, evAdd, evPause, evPause, evTasks, evTasks, evTasks}
	for {
		if k := weighted[r.rng.IntN(len(weighted))]; r.possible(k) {
			return k
		}
	}
}

func (r *chaosRun) possible(kind string) bool {
	switch kind {
	case evAdd:
		return len(r.alive) == 3
	case evPause:
		return len(r.resumeAt) < len(r.configs)
	}
	return true
}

// do carries out event i and returns what it did.
func (r *chaosRun) do(i int, kind string) string {
	t := r.t
	r.lastKind = kind
	switch kind {
	case evKill:
		p := r.pick()
		p.kill()
		r.exited[p.id] = time.Now()
		r.drop(p)
		n := r.c.start()
		r.alive = append(r.alive, n)
		r.counts[kind]++
		return fmt.Sprintf("killed %s, started %s", p.id, n.id)
	case evTerm:
		p := r.pick()
		p.term(t)
		r.exited[p.id] = time.Now()
		r.drop(p)
		if len(r.alive) == 3 && r.rng.IntN(2) == 0 {
			r.lastKind = evScaleIn
			r.counts[evScaleIn]++
			return fmt.Sprintf("%s exited 0", p.id)
		}
		n := r.c.start()
		r.alive = append(r.alive, n)
		r.counts[kind]++
		return fmt.Sprintf("%s exited 0, started %s", p.id, n.id)
	case evAdd:
		n := r.c.start()
		r.alive = append(r.alive, n)
		r.counts[kind]++
		return "started " + n.id
	case evPause:
		var names []string
		for _, name := range slices.Sorted(maps.Keys(r.configs)) {
			if _, paused := r.resumeAt[name]; !paused {
				names = append(names, name)
			}
		}
		name := names[r.rng.IntN(len(names))]
		p := r.pick()
		p.mustCall(t, "PUT", "/connectors/"+name+"/pause", nil, nil)
		r.resumeAt[name] = i + 1 + r.rng.IntN(3)
		r.counts[kind]++
		return fmt.Sprintf("%s paused through %s until event %d", name, p.id, r.resumeAt[name]+1)
	case evTasks:
		names := slices.Sorted(maps.Keys(r.configs))
		name := names[r.rng.IntN(len(names))]
		cfg := r.configs[name]
		old, _ := strconv.Atoi(cfg["tasks.max"])
		n := 1 + r.rng.IntN(3)
		if n >= old {
			n++
		}
		cfg["tasks.max"] = strconv.Itoa(n)
		p := r.pick()
		p.mustCall(t, "PUT", "/connectors/"+name+"/config", cfg, nil)
		r.counts[kind]++
		return fmt.Sprintf("%s tasks.max %d → %d through %s", name, old, n, p.id)
	}
	t.Fatalf("unknown event kind %q", kind)
	return ""
}

// resumeDue resumes the paused connectors due before event i.
func (r *chaosRun) resumeDue(i int) {
	for _, name := range slices.Sorted(maps.Keys(r.resumeAt)) {
		if r.resumeAt[name] > i {
			continue
		}
		p := r.pick()
		p.mustCall(r.t, "PUT", "/connectors/"+name+"/resume", nil, nil)
		delete(r.resumeAt, name)
		r.counts[evResume]++
		r.t.Logf("            resumed %s through %s", name, p.id)
	}
}

// allRunning reports whether connector name has n tasks, all RUNNING.
func (r *chaosRun) allRunning(name string, n int) bool {
	var st status
	if r.alive[0].call(r.t, "GET", "/connectors/"+name+"/status", nil, &st) != 200 || len(st.Tasks) != n {
		return false
	}
	for _, ts := range st.Tasks {
		if ts.State != string(worker.StateRunning) {
			return false
		}
	}
	return true
}

// failedTask returns a FAILED task of connector name and its trace, or "".
func (r *chaosRun) failedTask(name string) string {
	var st status
	if r.pick().call(r.t, "GET", "/connectors/"+name+"/status", nil, &st) != 200 {
		return ""
	}
	for _, ts := range st.Tasks {
		if ts.State == string(worker.StateFailed) {
			return fmt.Sprintf("task %d FAILED on %s: %s", ts.ID, ts.WorkerID, ts.Trace)
		}
	}
	return ""
}

// sabaFaults cuts the Saba streams every 0.7 to 2.2 s, and now and then
// stalls them or revokes every token instead, until the timeline ends.
func sabaFaults(ctx context.Context, sim *sabasim.Simulator, rng *rand.Rand) {
	for i := 0; ctx.Err() == nil; i++ {
		if head, _ := sim.Head(); head >= sabaTotal {
			return
		}
		time.Sleep(time.Duration(700+rng.IntN(1500)) * time.Millisecond)
		switch i % 5 {
		case 1:
			sim.Stall(2 * time.Second)
		case 3:
			sim.ExpireTokens()
		default:
			sim.CutStreams()
		}
	}
}

// sabaEnds returns, per stream, the id of the last update its view holds:
// where its committed offset must end.
func sabaEnds(t *testing.T, sim *sabasim.Simulator, specs []saba.StreamSpec) map[string]string {
	out := map[string]string{}
	for _, sp := range specs {
		_, id, err := sim.LastRelevant(sp.Endpoint, sp.Query)
		if err != nil {
			t.Fatal(err)
		}
		out[sp.Name()] = id
	}
	return out
}

// offsetsView follows the offsets topic read_committed and keeps each
// connector partition's latest committed offset, noting any whose rank
// (position, update index) went back.
type offsetsView struct {
	mu   sync.Mutex
	last map[string]connector.Offset // connector + "/" + partition
	rank map[string]int64
	back []string
}

func followOffsets(ctx context.Context, t *testing.T, topic string, rank func(conn string, o connector.Offset) (int64, bool)) *offsetsView {
	v := &offsetsView{last: map[string]connector.Offset{}, rank: map[string]int64{}}
	cl := testenv.Client(t, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	go func() {
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				conn, p, o, err := worker.ParseOffsetRecord(r.Key, r.Value)
				if err != nil || o == nil {
					return
				}
				k := conn + "/" + p.String()
				v.mu.Lock()
				defer v.mu.Unlock()
				v.last[k] = o
				if n, ok := rank(conn, o); ok {
					if prev, seen := v.rank[k]; seen && n < prev {
						v.back = append(v.back, fmt.Sprintf("%s: %d after %d (offsets topic partition %d offset %d)", k, n, prev, r.Partition, r.Offset))
					}
					v.rank[k] = max(v.rank[k], n)
				}
			})
		}
	}()
	return v
}

// img returns the lowest and highest committed position over fixtures and
// how many are marked finished.
func (v *offsetsView) img(fixtures []string) (lo, hi int64, finished int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	lo = -1
	for _, f := range fixtures {
		o := v.last[imgName+"/"+imgarena.PartitionOf("soccer", f).String()]
		pos, _ := o.OffsetInt("position")
		if lo < 0 || pos < lo {
			lo = pos
		}
		hi = max(hi, pos)
		if done, _ := o["finished"].(bool); done {
			finished++
		}
	}
	return lo, hi, finished
}

// saba returns each stream's committed last event id and the sum of their
// update indexes.
func (v *offsetsView) saba(specs []saba.StreamSpec) (map[string]string, int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string]string{}
	var sum int64
	for _, sp := range specs {
		k := sabaName + "/" + saba.PartitionOf(sp).String()
		if id, ok := v.last[k].OffsetString(saba.OffsetKey); ok {
			out[sp.Name()] = id
			sum += v.rank[k]
		}
	}
	return out, sum
}

func (v *offsetsView) wentBack() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.back)
}

// checkFixtures checks that every fixture of sim holds positions 1..n
// exactly once, in order, each the simulator's event at that position, the
// last one finished; it returns the number of records.
func checkFixtures(sim *imgarenasim.Simulator, got map[string][]imgarena.Action, n int64) (int, error) {
	if len(got) != len(sim.Fixtures()) {
		return 0, fmt.Errorf("%d fixtures in the actions topic, want %d", len(got), len(sim.Fixtures()))
	}
	total := 0
	for _, f := range sim.Fixtures() {
		tl, acts := sim.Timeline(f), got[f]
		for i, a := range acts {
			want := int64(i + 1)
			if a.Position != want {
				what := "missing"
				if a.Position < want {
					what = "a duplicate"
				}
				return 0, fmt.Errorf("fixture %s: record %d is position %d, want %d (%s)", f, i, a.Position, want, what)
			}
			if want > int64(len(tl)) || a.ActionID == nil || *a.ActionID != tl[i].ActionID {
				return 0, fmt.Errorf("fixture %s position %d: action %v, not the simulator's", f, want, a.ActionID)
			}
		}
		if int64(len(acts)) != n || !acts[n-1].Finished {
			return 0, fmt.Errorf("fixture %s: %d positions, want 1..%d ending finished", f, len(acts), n)
		}
		total += len(acts)
	}
	return total, nil
}

// checkStatusPairs checks that every fixture holds one Disconnected,
// Connected pair of status packets before each every-th event up to n, no
// packet twice; it returns the number of packets.
func checkStatusPairs(got map[string][]imgarena.Status, fixtures []string, every, n int64) (int, error) {
	var at []int64 // the position each pair follows
	for p := every; p <= n; p += every {
		at = append(at, p-1)
	}
	total := 0
	for _, f := range fixtures {
		ss := got[f]
		if len(ss) != 2*len(at) {
			return 0, fmt.Errorf("fixture %s: %d status packets, want pairs after positions %v", f, len(ss), at)
		}
		seen := map[string]bool{}
		for i, s := range ss {
			want := [2]string{"Disconnected", "Connected"}[i%2]
			if s.Position != at[i/2] || s.State == nil || *s.State != want || seen[s.Raw] {
				return 0, fmt.Errorf("fixture %s status %d: %v after position %d (seen before: %v), want %s after %d",
					f, i, s.State, s.Position, seen[s.Raw], want, at[i/2])
			}
			seen[s.Raw] = true
		}
		total += len(ss)
	}
	return total, nil
}

// runnerCheck is what checkRunners found in the status topic.
type runnerCheck struct {
	records, running int
	runners          int      // workers that ran a task
	moves            int      // tasks started on a worker other than the last to hold them
	takeovers        int      // of which while that worker held them
	afterExit        int      // of which that worker had exited (SIGKILL) without releasing them
	overlaps         []string // of which that worker was still alive
}

// checkRunners reads the status topic from its start. For every task it
// fails if two workers wrote it RUNNING in one generation; and it notes
// each time a worker started a task (RUNNING or PAUSED) that another held
// (its last record of the task RUNNING or PAUSED, not UNASSIGNED since):
// after that worker's exit (exited: the moment each SIGKILLed or SIGTERMed
// worker was gone), or while it was alive (an overlap).
func checkRunners(ctx context.Context, kafka []kgo.Opt, topic string, exited map[string]time.Time) (runnerCheck, error) {
	type slot struct {
		key string
		gen int32
	}
	var rc runnerCheck
	owner := map[slot]string{}
	holder := map[string]clusterstate.Status{} // task -> the worker holding it
	last := map[string]string{}                // task -> the last worker that held it
	workers := map[string]bool{}
	err := readback.Committed(ctx, kafka, []string{topic}, func(r *kgo.Record) error {
		rc.records++
		key := string(r.Key)
		if !strings.HasPrefix(key, "status-task-") || r.Value == nil {
			return nil
		}
		var st clusterstate.Status
		if err := json.Unmarshal(r.Value, &st); err != nil {
			return fmt.Errorf("status topic offset %d: %s: %w", r.Offset, key, err)
		}
		holds := st.State == string(worker.StateRunning) || st.State == string(worker.StatePaused)
		h, held := holder[key]
		if holds && last[key] != "" && last[key] != st.WorkerID {
			rc.moves++
		}
		if holds {
			last[key] = st.WorkerID
		}
		switch {
		case holds && held && h.WorkerID != st.WorkerID:
			rc.takeovers++
			if at, gone := exited[h.WorkerID]; gone && at.Before(r.Timestamp) {
				rc.afterExit++
			} else {
				rc.overlaps = append(rc.overlaps, fmt.Sprintf("%s: %s on %s in generation %d at %s while %s held it (%s in generation %d)",
					key, st.State, st.WorkerID, st.Generation, r.Timestamp.Format("15:04:05.000"), h.WorkerID, h.State, h.Generation))
			}
			holder[key] = st
		case holds:
			holder[key] = st
		case held && h.WorkerID == st.WorkerID:
			delete(holder, key)
		}
		if st.State != string(worker.StateRunning) {
			return nil
		}
		rc.running++
		workers[st.WorkerID] = true
		s := slot{key, st.Generation}
		if w, ok := owner[s]; ok && w != st.WorkerID {
			return fmt.Errorf("status topic partition %d offset %d: %s RUNNING on %s and on %s in generation %d",
				r.Partition, r.Offset, key, w, st.WorkerID, st.Generation)
		}
		owner[s] = st.WorkerID
		return nil
	})
	rc.runners = len(workers)
	return rc, err
}

// checkTransactions lists the broker's transactional ids of group: each
// must be one of allowed and none may have a transaction open. It returns
// how many there are.
func checkTransactions(ctx context.Context, t *testing.T, group string, allowed map[string]bool) (int, error) {
	txns, err := testenv.Admin(t).ListTransactions(ctx, nil, nil)
	if err != nil && len(txns) == 0 {
		return 0, fmt.Errorf("listing transactions: %w", err)
	}
	n := 0
	for _, tx := range txns.Sorted() {
		if !strings.HasPrefix(tx.TxnID, group+"-") {
			continue
		}
		n++
		if !allowed[tx.TxnID] {
			return n, fmt.Errorf("transactional id %s (%s) is none of the group's tasks or its leader", tx.TxnID, tx.State)
		}
		if tx.State == "Ongoing" {
			return n, fmt.Errorf("transactional id %s still has a transaction open after every worker stopped", tx.TxnID)
		}
	}
	return n, nil
}

// keepLogsOnFailure writes every worker's output to a directory that
// outlives a failed test, and logs where.
func keepLogsOnFailure(t *testing.T, c *cluster) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		dir, err := os.MkdirTemp("", "clusterchaos-logs-")
		if err != nil {
			t.Logf("keeping the worker logs: %v", err)
			return
		}
		c.mu.Lock()
		ps := slices.Clone(c.workers)
		c.mu.Unlock()
		for i, p := range ps {
			name := fmt.Sprintf("worker-%02d-%s.log", i, strings.ReplaceAll(p.id, ":", "_"))
			if err := os.WriteFile(filepath.Join(dir, name), []byte(p.output()), 0o600); err != nil {
				t.Logf("keeping the worker logs: %v", err)
			}
		}
		t.Logf("the logs of the %d worker processes are in %s", len(ps), dir)
	})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
