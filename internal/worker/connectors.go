package worker

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"go.uber.org/zap"
)

// This file holds the worker's one record per connector and the lifecycle
// of a running connector: open it (a local instance, its topics and
// schemas), start and stop its tasks, close it.
//
// Locking: Worker.mu guards Worker.connectors, every connectorRecord in it
// and every run's task maps; it is held only briefly and never across a
// Kafka call or a wait. Worker.opMu serialises the operations that start
// or stop connectors and tasks (they create topics and wait for commits),
// so two operations never interleave on one connector. Order: opMu, then mu.

// connectorRecord is everything the worker knows of one connector.
type connectorRecord struct {
	raw   connector.Config // as given: ${env:…}/${file:…} unresolved, for display and restarts
	class string
	// stoppedTasks is the task count the connector had when it was
	// stopped, for the offsets writer (it fences that many ids).
	stoppedTasks int
	// run is the running connector; nil while the connector is STOPPED.
	run *connectorRun
}

// connectorRun is a running connector: its local instance and the tasks of
// it that this worker runs (all of them in standalone mode, the assigned
// ones in distributed mode).
type connectorRun struct {
	name     string
	config   connector.Config // resolved, defaults applied
	settings connector.Settings
	plugin   connector.Plugin
	conn     connector.Connector
	maxBytes map[string]int // max.message.bytes of each topic; read-only once running

	runCtx context.Context // every task's context derives from it
	cancel context.CancelFunc
	wg     sync.WaitGroup // the task goroutines
	gate   pauseGate      // holds the tasks while the connector is paused

	// Guarded by Worker.mu.
	taskCount int                 // tasks in the connector's task set, here or elsewhere
	tasks     map[int]*taskRunner // the tasks run here, by id
	handles   map[int]taskHandle  // how to stop each running task goroutine
}

type taskHandle struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// openConnector validates a resolved config, starts a local connector
// instance, creates its topics and registers its schemas. The run has no
// tasks yet.
func (w *Worker) openConnector(ctx context.Context, cfg connector.Config) (*connectorRun, error) {
	full, plugin, err := connector.ValidateConnector(w.plugins, cfg)
	if err != nil {
		return nil, fmt.Errorf("connector %q: invalid config:\n%w", cfg[connector.KeyName], err)
	}
	set := connector.ParseSettings(full)
	if err := w.checkBoundary(set); err != nil {
		return nil, fmt.Errorf("connector %q: invalid config:\n%w", set.Name, err)
	}
	if err := w.checkPushAddress(set.Name, plugin, full); err != nil {
		return nil, err
	}
	conn := plugin.New(w.log.With(zap.String("connector", set.Name)))
	if err := conn.Start(ctx, full); err != nil {
		return nil, fmt.Errorf("starting connector %s: %w", set.Name, err)
	}
	maxBytes, err := w.prepareTopics(ctx, set, conn.Topics())
	if err != nil {
		_ = conn.Stop()
		return nil, fmt.Errorf("connector %s: %w", set.Name, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &connectorRun{name: set.Name, config: full, settings: set, plugin: plugin, conn: conn, maxBytes: maxBytes,
		runCtx: runCtx, cancel: cancel, tasks: map[int]*taskRunner{}, handles: map[int]taskHandle{}}, nil
}

// checkPushAddress refuses a connector whose push address another running
// connector here already uses: push listeners share their address
// (SO_REUSEPORT), so the kernel would split one provider's pushes between
// two connectors instead of refusing the second bind.
func (w *Worker) checkPushAddress(name string, plugin connector.Plugin, cfg connector.Config) error {
	addr := PushAddress(plugin, cfg)
	if addr == "" {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for other, rec := range w.connectors {
		if other == name || rec.run == nil {
			continue
		}
		if PushAddress(rec.run.plugin, rec.run.config) == addr {
			return fmt.Errorf("connector %s: its push address %s is already used by connector %s", name, addr, other)
		}
	}
	return nil
}

// PushAddress returns the address a connector's task receives pushes on,
// "" if it receives none or listens on a port picked at random (port 0).
func PushAddress(plugin connector.Plugin, cfg connector.Config) string {
	if plugin.PushAddress == nil {
		return ""
	}
	addr := plugin.PushAddress(cfg)
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
		return ""
	}
	return addr
}

// addTask makes task id (config tc, one of count) part of cr. Call with
// w.mu held.
func (w *Worker) addTask(cr *connectorRun, id, count int, tc connector.Config) *taskRunner {
	tc = tc.Clone()
	tc[connector.KeyTaskIndex] = fmt.Sprint(id)
	tc[connector.KeyTaskCount] = fmt.Sprint(count)
	t := newTaskRunner(w, cr, id, tc)
	cr.tasks[id] = t
	cr.taskCount = count
	return t
}

// startTask runs t in its own goroutine under a context of its own, so it
// can be stopped or restarted alone. Call with w.mu held.
func (cr *connectorRun) startTask(t *taskRunner) {
	ctx, cancel := context.WithCancel(cr.runCtx)
	done := make(chan struct{})
	cr.handles[t.id] = taskHandle{cancel: cancel, done: done}
	cr.wg.Add(1)
	go func() {
		defer cr.wg.Done()
		defer close(done)
		defer cancel()
		t.run(ctx)
	}()
}

// stopTaskGoroutine cancels task id's goroutine and waits until it has
// committed and returned (within the shutdown timeout). It returns false if
// the task has no goroutine.
func (w *Worker) stopTaskGoroutine(cr *connectorRun, id int) bool {
	w.mu.Lock()
	h, ok := cr.handles[id]
	delete(cr.handles, id)
	w.mu.Unlock()
	if !ok {
		return false
	}
	h.cancel()
	<-h.done
	return true
}

// closeRun stops a run's tasks, each committing its open transaction
// within the shutdown timeout, then its connector instance. The run must
// already be out of w.connectors' reach (its record's run cleared).
func (w *Worker) closeRun(cr *connectorRun) error {
	cr.cancel()
	cr.wg.Wait()
	if err := cr.conn.Stop(); err != nil {
		return fmt.Errorf("stopping connector %s: %w", cr.name, err)
	}
	w.log.Info("connector stopped", zap.String("connector", cr.name))
	return nil
}

// record returns name's record (nil if unknown) and its run (nil if
// stopped).
func (w *Worker) record(name string) (*connectorRecord, *connectorRun) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rec := w.connectors[name]
	if rec == nil {
		return nil, nil
	}
	return rec, rec.run
}

// known is record for a connector that must exist: ErrUnknownConnector
// otherwise.
func (w *Worker) known(name string) (*connectorRecord, *connectorRun, error) {
	rec, cr := w.record(name)
	if rec == nil {
		return nil, nil, fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	return rec, cr, nil
}

// running returns name's run, if it is running.
func (w *Worker) running(name string) (*connectorRun, bool) {
	_, cr := w.record(name)
	return cr, cr != nil
}

// detach clears name's run from its record (the connector then shows as
// STOPPED, or is forgotten with forget) and returns it.
func (w *Worker) detach(name string, forget bool) (*connectorRun, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rec := w.connectors[name]
	if rec == nil {
		return nil, false
	}
	cr := rec.run
	rec.run = nil
	if cr != nil {
		rec.stoppedTasks = cr.taskCount
	}
	if forget {
		delete(w.connectors, name)
	}
	return cr, true
}

// names returns the connectors' names, sorted; with runningOnly, those
// that are not stopped.
func (w *Worker) names(runningOnly bool) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := []string{}
	for n, rec := range w.connectors {
		if !runningOnly || rec.run != nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// sortedTasks returns cr's tasks run here, by id. Call with w.mu held.
func (cr *connectorRun) sortedTasks() []*taskRunner {
	ids := slices.Sorted(maps.Keys(cr.tasks))
	out := make([]*taskRunner, len(ids))
	for i, id := range ids {
		out[i] = cr.tasks[id]
	}
	return out
}

// runningStatus returns a running connector's state and each of its tasks
// run here.
func (w *Worker) runningStatus(cr *connectorRun) ConnectorStatus {
	st := ConnectorStatus{Name: cr.name, Class: cr.settings.Class, State: StateRunning}
	if cr.gate.isPaused() {
		st.State = StatePaused
	}
	w.mu.Lock()
	tasks := cr.sortedTasks()
	w.mu.Unlock()
	for _, t := range tasks {
		st.Tasks = append(st.Tasks, t.status())
	}
	return st
}
