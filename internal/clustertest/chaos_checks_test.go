// The checks after the chaos run: records, status pairs, committed offsets, runners, transactions.

package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	clusterstate "github.com/seed-474f70f7/sportsconnect/internal/cluster"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

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
