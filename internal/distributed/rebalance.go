package distributed

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/cluster"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// This file is the member's side of a rebalance: what the leader assigns
// (assign), what each member does with its assignment (assigned), what it
// does when it loses the membership (lost), and how a config topic change
// asks for a new rebalance.

// restartReq is a restart-connector record read from the config topic.
type restartReq struct {
	Connector    string
	IncludeTasks bool `json:"include-tasks"`
	OnlyFailed   bool `json:"only-failed"`
}

const restartPrefix = "restart-connector-"

// restartRecord returns Connect's record asking every worker to restart
// its tasks of a connector.
func restartRecord(topic, name string, includeTasks, onlyFailed bool) *kgo.Record {
	v, _ := json.Marshal(map[string]bool{"include-tasks": includeTasks, "only-failed": onlyFailed})
	return &kgo.Record{Topic: topic, Key: []byte(restartPrefix + name), Value: v}
}

// applyConfig applies one config topic record. Restart requests written
// after this worker started are queued for Run's loop; older ones were
// done by the workers of their time.
func (h *Herder) applyConfig(r *kgo.Record) {
	if name, ok := strings.CutPrefix(string(r.Key), restartPrefix); ok {
		h.mu.Lock()
		fresh := h.startOffset >= 0 && r.Offset >= h.startOffset
		h.mu.Unlock()
		var rq restartReq
		if fresh && json.Unmarshal(r.Value, &rq) == nil {
			rq.Connector = name
			select {
			case h.restarts <- rq:
			default:
				h.log.Warn("too many restart requests queued; dropping one", zap.String("connector", name))
			}
		}
		return
	}
	h.configs.Apply(r)
}

// shape is what the assignment depends on: which connectors want tasks,
// and which task set version of each.
func shape(snap map[string]cluster.ConnectorState) string {
	var b strings.Builder
	for _, name := range sortedNames(snap) {
		c := snap[name]
		fmt.Fprintf(&b, "%s:%t:%d:%d;", name, c.Target == cluster.TargetStopped, c.TasksVersion, len(c.Tasks))
	}
	return b.String()
}

func sortedNames(snap map[string]cluster.ConnectorState) []string {
	names := make([]string, 0, len(snap))
	for n := range snap {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// onConfigChange applies target states to the tasks run here, asks for a
// rebalance when the task sets changed, and on the leader computes task
// configs for changed connectors.
func (h *Herder) onConfigChange(ctx context.Context) {
	snap, _ := h.configs.Snapshot()
	h.mu.Lock()
	local := make(map[string]bool)
	for k := range h.running {
		local[k.connector] = true
	}
	sh := shape(snap)
	rejoin := sh != h.lastShape
	h.lastShape = sh
	leading := h.leaderCl != nil
	h.mu.Unlock()
	for name := range local {
		if c, ok := snap[name]; ok {
			h.w.SetPaused(name, c.Target == cluster.TargetPaused)
		}
	}
	h.syncStandbys(snap, nil)
	if rejoin && h.member != nil {
		h.member.Rejoin()
	}
	if leading {
		h.reconcile(ctx, snap)
	}
}

// assign is the leader's Assign: it reads the config topic to its end,
// computes the plan, fences the connectors that start fresh, and encodes
// each member's assignment.
func (h *Herder) assign(ctx context.Context, leaderID string, joined []cluster.Joined) (map[string][]byte, error) {
	// Lead first: initialising the leader's transactional id fences the
	// previous leader and aborts a config write it left open (it was
	// killed mid-transaction), which the read below would otherwise wait
	// for until the broker's transaction timeout.
	if err := h.lead(ctx); err != nil {
		return nil, err
	}
	readCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.configLog.ReadToEnd(readCtx); err != nil {
		return nil, err
	}
	snap, at := h.configs.Snapshot()
	members := make([]MemberTasks, 0, len(joined))
	leaderURL := ""
	for _, j := range joined {
		var m memberMeta
		if err := json.Unmarshal(j.Metadata, &m); err != nil {
			h.log.Warn("a member's metadata is unreadable; taking it for an empty worker", zap.String("member", j.MemberID), zap.Error(err))
		}
		if j.MemberID == leaderID {
			leaderURL = m.URL
		}
		members = append(members, MemberTasks{ID: j.MemberID, Running: m.Running})
	}
	var wanted []Wanted
	for _, name := range sortedNames(snap) {
		c := snap[name]
		if c.Target != cluster.TargetStopped && c.TasksVersion >= 0 && len(c.Tasks) > 0 {
			wanted = append(wanted, Wanted{Connector: name, Version: c.TasksVersion, Tasks: len(c.Tasks)})
		}
	}
	plan := assign(members, wanted)
	for _, name := range plan.Fence {
		c := snap[name]
		n := max(c.MaxTasks, len(c.Tasks))
		if err := worker.FenceConnector(ctx, h.opts.Kafka, h.opts.Group, name, n); err != nil {
			return nil, fmt.Errorf("fencing the earlier task sets of %s before its tasks start: %w", name, err)
		}
		h.log.Info("fenced every earlier task id of a connector before its tasks start", zap.String("connector", name), zap.Int("ids", n))
	}
	out := make(map[string][]byte, len(plan.Assign))
	for id, tasks := range plan.Assign {
		b, _ := json.Marshal(assignment{LeaderURL: leaderURL, ConfigOffset: at, Tasks: tasks, Rejoin: plan.Rejoin[id]})
		out[id] = b
	}
	h.log.Info("assignment computed", zap.Int("members", len(members)), zap.Int("tasks_wanted", taskCount(wanted)),
		zap.Int("withheld_until_revoked", plan.Withheld), zap.Int("members_revoking", len(plan.Rejoin)))
	return out, nil
}

func taskCount(ws []Wanted) int {
	n := 0
	for _, w := range ws {
		n += w.Tasks
	}
	return n
}

// assigned applies this member's assignment: stop what it no longer
// holds (each task committing), start what is new, rejoin if told to.
func (h *Herder) assigned(ctx context.Context, g cluster.Generation, raw []byte) {
	var a assignment
	if err := json.Unmarshal(raw, &a); err != nil {
		h.log.Error("unreadable assignment; rejoining", zap.Error(err))
		h.member.Rejoin()
		return
	}
	h.mu.Lock()
	h.gen, h.leaderURL = g, a.LeaderURL
	joinedAt := h.joinedAt
	h.mu.Unlock()
	h.setLeader(ctx, g.IsLeader)

	if _, at := h.configs.Snapshot(); at < a.ConfigOffset {
		readCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := h.configLog.ReadToEnd(readCtx)
		cancel()
		if err != nil {
			h.log.Warn("reading the config topic up to the assignment's offset", zap.Error(err))
		}
	}
	want := map[taskKey]TaskRef{}
	for _, t := range a.Tasks {
		want[t.key()] = t
	}
	h.mu.Lock()
	var revoke []worker.TaskID
	for k, t := range h.running {
		if w, ok := want[k]; !ok || w.Version != t.Version {
			revoke = append(revoke, worker.TaskID{Connector: k.connector, Task: k.task})
		}
	}
	h.mu.Unlock()
	if len(revoke) > 0 {
		h.w.StopTasks(revoke)
		h.forget(ctx, revoke, g)
		h.log.Info("tasks revoked", zap.Int32("generation", g.ID), zap.Int("tasks", len(revoke)))
	}
	snap, _ := h.configs.Snapshot()
	h.mu.Lock()
	h.lastShape = shape(snap) // this assignment answers every change read so far
	h.mu.Unlock()
	var starting []TaskRef
	startingConn := map[string]bool{}
	h.mu.Lock()
	leaving := h.stopping
	h.mu.Unlock()
	for _, t := range a.Tasks {
		h.mu.Lock()
		_, runs := h.running[t.key()]
		h.mu.Unlock()
		// A worker that is leaving starts nothing: the group gives the
		// task to a worker that stays, and two would otherwise hold it.
		if !runs && !leaving {
			starting = append(starting, t)
			startingConn[t.Connector] = true
		}
	}
	// A push connector's standby here gives its address up to the task.
	for name := range startingConn {
		h.closeStandby(name)
	}
	for _, t := range starting {
		h.startTask(ctx, t, snap)
	}
	started := len(starting)
	h.syncStandbys(snap, nil)
	if a.Rejoin {
		h.member.Rejoin()
	}
	if h.opts.Metrics != nil && !joinedAt.IsZero() {
		h.opts.Metrics.Rebalanced(time.Since(joinedAt), g.IsLeader)
	}
	h.log.Info("assignment applied", zap.Int32("generation", g.ID), zap.Bool("leader", g.IsLeader),
		zap.Int("tasks", len(a.Tasks)), zap.Int("started", started), zap.Int("revoked", len(revoke)), zap.Bool("rejoin", a.Rejoin))
	h.writeStatuses(ctx)
	if g.IsLeader {
		h.signalChange() // compute task configs of connectors that lack them
	}
}

// startTask starts one assigned task from the config topic's view. A task
// that cannot start stays assigned here, FAILED, as Connect keeps it.
func (h *Herder) startTask(ctx context.Context, t TaskRef, snap map[string]cluster.ConnectorState) {
	c, ok := snap[t.Connector]
	if !ok || c.TasksVersion != t.Version || t.Task >= len(c.Tasks) {
		h.log.Warn("assigned a task the config topic no longer has; the next rebalance corrects it",
			zap.String("connector", t.Connector), zap.Int("task", t.Task), zap.Int64("version", t.Version))
		return
	}
	err := h.w.RunTask(ctx, c.Config, t.Task, len(c.Tasks), c.Tasks[t.Task], c.Target == cluster.TargetPaused)
	h.mu.Lock()
	h.running[t.key()] = t
	if err != nil {
		h.failedStart[t.key()] = err.Error()
	} else {
		delete(h.failedStart, t.key())
	}
	h.mu.Unlock()
	if err != nil {
		h.log.Error("assigned task could not start", zap.String("connector", t.Connector), zap.Int("task", t.Task), zap.Error(err))
		return
	}
	// A pause or resume that came while the task started (onConfigChange
	// acts only on tasks in h.running) is applied now: the task is in
	// h.running from here on, so a later change reaches it there, and one
	// already in the config topic is read here. Seen in TestClusterChaos:
	// a task assigned while its connector was paused started 3 s later,
	// after the resume, and stayed paused.
	if cur, _ := h.configs.Snapshot(); cur[t.Connector].Target != c.Target {
		h.w.SetPaused(t.Connector, cur[t.Connector].Target == cluster.TargetPaused)
	}
}

// forget drops stopped tasks from what runs here and writes them
// UNASSIGNED in generation g (a newer owner's record outranks it).
func (h *Herder) forget(ctx context.Context, ids []worker.TaskID, g cluster.Generation) {
	var recs []*kgo.Record
	h.mu.Lock()
	for _, id := range ids {
		k := taskKey{id.Connector, id.Task}
		delete(h.running, k)
		delete(h.failedStart, k)
		delete(h.written, k)
		recs = append(recs, cluster.TaskStatusRecord(h.opts.StatusTopic, id.Connector, id.Task,
			cluster.Status{State: string(worker.StateUnassigned), WorkerID: h.opts.WorkerID, Generation: g.ID}))
	}
	h.mu.Unlock()
	h.produceStatuses(ctx, recs)
}

// lost stops every task at once: the group may already have given them to
// other workers, whose producers fence these anyway.
func (h *Herder) lost(_ context.Context, why error) {
	h.log.Warn("worker group membership lost; stopping every task here", zap.Error(why))
	h.stopAll("membership lost")
	h.setLeader(context.Background(), false)
	h.mu.Lock()
	h.gen = cluster.Generation{ID: -1}
	h.mu.Unlock()
}

// stopAll stops every task run here.
func (h *Herder) stopAll(reason string) {
	h.mu.Lock()
	ids := make([]worker.TaskID, 0, len(h.running))
	for k := range h.running {
		ids = append(ids, worker.TaskID{Connector: k.connector, Task: k.task})
	}
	g := h.gen
	h.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	h.log.Info("stopping every task here", zap.String("reason", reason), zap.Int("tasks", len(ids)))
	h.w.StopTasks(ids)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.forget(ctx, ids, g)
	snap, _ := h.configs.Snapshot()
	h.syncStandbys(snap, nil)
}

// restartLocal does a restart-connector request for the tasks run here.
func (h *Herder) restartLocal(ctx context.Context, rq restartReq) {
	if !rq.IncludeTasks && rq.OnlyFailed {
		return
	}
	h.mu.Lock()
	var ids []int
	var failed []TaskRef
	for k, t := range h.running {
		if k.connector != rq.Connector {
			continue
		}
		if _, ok := h.failedStart[k]; ok {
			failed = append(failed, t)
			continue
		}
		ids = append(ids, k.task)
	}
	h.mu.Unlock()
	for _, id := range ids {
		if state, _, _ := h.w.TaskState(rq.Connector, id); rq.OnlyFailed && state != worker.StateFailed {
			continue
		}
		if err := h.w.RestartTask(rq.Connector, id); err != nil {
			h.log.Warn("restarting a task", zap.String("connector", rq.Connector), zap.Int("task", id), zap.Error(err))
		}
	}
	snap, _ := h.configs.Snapshot()
	for _, t := range failed {
		h.mu.Lock()
		delete(h.running, t.key())
		h.mu.Unlock()
		h.startTask(ctx, t, snap)
	}
}
