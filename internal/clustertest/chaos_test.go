// TestClusterChaos: the run's size, its top-level flow, its seed and the kept worker logs.

package clustertest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenademo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabademo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
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
	// The normalized events and match states, whose tasks restored their
	// states from live.matches on each worker they moved to.
	imgLive, err := imgarenademo.VerifyLive(ctx, brokers(t), registry, c.prefix+".live.events", c.prefix+".live.matches", img, "soccer", imgEvents)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imgarena normalized: %s, exactly once", imgLive.Summary())
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
