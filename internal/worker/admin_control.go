package worker

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// This file holds the pause gate: it holds a connector's tasks while the
// connector is paused.

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
	r.cr.gate.wait(ctx)
	if ctx.Err() == nil {
		r.setState(StateRunning, "")
		r.log.Info("task resumed")
	}
	return nil
}
