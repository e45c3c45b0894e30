package worker

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// This file holds how a running connector is controlled: each task runs
// under its own context (so it can be restarted alone), and a pause gate
// holds the tasks while the connector is paused.

// controls is a running connector's handles: the context its tasks run
// under, each task's cancel, and the pause gate the tasks wait on.
type controls struct {
	runCtx context.Context
	gate   pauseGate
	mu     sync.Mutex
	tasks  map[int]taskHandle
}

type taskHandle struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func newControls(runCtx context.Context) *controls {
	return &controls{runCtx: runCtx, tasks: map[int]taskHandle{}}
}

// paused reports whether the connector's tasks are held.
func (c *controls) paused() bool { return c != nil && c.gate.isPaused() }

// state is the connector's own state: PAUSED while its gate is shut.
func (c *controls) state() State {
	if c.paused() {
		return StatePaused
	}
	return StateRunning
}

// startTask runs t in its own goroutine under a context of its own, so it
// can be restarted alone.
func (cr *connectorRun) startTask(t *taskRunner) {
	ctx, cancel := context.WithCancel(cr.ctl.runCtx)
	done := make(chan struct{})
	cr.ctl.mu.Lock()
	cr.ctl.tasks[t.id] = taskHandle{cancel: cancel, done: done}
	cr.ctl.mu.Unlock()
	cr.wg.Add(1)
	go func() {
		defer cr.wg.Done()
		defer close(done)
		defer cancel()
		t.run(ctx)
	}()
}

// pauseGate holds tasks while their connector is paused.
type pauseGate struct {
	mu      sync.Mutex
	paused  bool
	resumed chan struct{} // closed on resume; replaced on pause
}

func (g *pauseGate) set(paused bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if paused == g.paused {
		return
	}
	g.paused = paused
	if paused {
		g.resumed = make(chan struct{})
	} else {
		close(g.resumed)
	}
}

func (g *pauseGate) isPaused() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.paused
}

// wait returns once the gate is open or ctx is done.
func (g *pauseGate) wait(ctx context.Context) {
	g.mu.Lock()
	if !g.paused {
		g.mu.Unlock()
		return
	}
	ch := g.resumed
	g.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// pause commits the open transaction and holds the task until its
// connector is resumed or ctx ends. The task keeps its producer and its
// provider connections, as a paused Connect task does.
func (r *taskRunner) pause(ctx, hard context.Context, cl *kgo.Client, t *txn) error {
	if err := r.commit(hard, cl, t); err != nil {
		return err
	}
	r.setState(StatePaused, "")
	r.log.Info("task paused")
	r.cr.ctl.gate.wait(ctx)
	if ctx.Err() == nil {
		r.setState(StateRunning, "")
		r.log.Info("task resumed")
	}
	return nil
}
