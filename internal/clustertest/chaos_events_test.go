// The chaos events of TestClusterChaos: kills, SIGTERMs, added workers, pauses, tasks.max, Saba faults.

package clustertest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
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
