package worker

import (
	"context"
	"fmt"
	"sync"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"go.uber.org/zap"
)

// This file is the runtime's face to a distributed herder: it runs single
// tasks whose configs the cluster's leader computed, instead of whole
// connectors. The herder decides which tasks run here; the worker only
// runs them, each fencing its previous owner when its producer starts.

// RunTask starts task id (one of count) of the connector whose config is
// raw, with taskCfg; both as the config topic holds them (${env:…} and
// ${file:…} references unresolved, resolved here). The connector is opened
// here first (its topics and schemas checked) unless another of its tasks
// runs here already with the same config.
func (w *Worker) RunTask(ctx context.Context, raw connector.Config, id, count int, taskCfg connector.Config, paused bool) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	name := raw[connector.KeyName]
	rec, cr := w.record(name)
	if cr != nil && !sameConfig(rec.raw, raw) {
		w.mu.Lock()
		n := len(cr.tasks)
		w.mu.Unlock()
		if n > 0 {
			return fmt.Errorf("connector %s: %d tasks of its previous config still run here", name, n)
		}
		w.detach(name, true)
		if err := w.closeRun(cr); err != nil {
			w.log.Warn("closing a connector's previous config", zap.String("connector", name), zap.Error(err))
		}
		cr = nil
	}
	if cr == nil {
		resolved, err := ResolveRefs(raw)
		if err != nil {
			return fmt.Errorf("connector %q: invalid config:\n%w", name, err)
		}
		if cr, err = w.openConnector(ctx, resolved); err != nil {
			return err
		}
		w.mu.Lock()
		w.connectors[name] = &connectorRecord{raw: raw.Clone(), class: cr.settings.Class, run: cr}
		w.mu.Unlock()
	}
	tc, err := ResolveRefs(taskCfg)
	if err != nil {
		return fmt.Errorf("connector %s task %d: invalid config:\n%w", name, id, err)
	}
	cr.gate.set(paused)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := cr.tasks[id]; ok {
		return fmt.Errorf("connector %s task %d already runs here", name, id)
	}
	cr.startTask(w.addTask(cr, id, count, tc))
	return nil
}

// TaskID names one task of one connector.
type TaskID struct {
	Connector string
	Task      int
}

// StopTasks stops tasks run here, all at once, each committing its open
// transaction within the shutdown timeout; a connector left without tasks
// here is closed and forgotten. Tasks not running here are ignored.
func (w *Worker) StopTasks(ids []TaskID) {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	var wg sync.WaitGroup
	touched := map[string]*connectorRun{}
	for _, id := range ids {
		cr, ok := w.running(id.Connector)
		if !ok {
			continue
		}
		touched[id.Connector] = cr
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.stopTaskGoroutine(cr, id.Task)
		}()
	}
	wg.Wait()
	for name, cr := range touched {
		w.mu.Lock()
		for _, id := range ids {
			if id.Connector == name {
				delete(cr.tasks, id.Task)
			}
		}
		empty := len(cr.tasks) == 0
		w.mu.Unlock()
		if !empty {
			continue
		}
		w.detach(name, true)
		if err := w.closeRun(cr); err != nil {
			w.log.Warn("closing a connector without tasks here", zap.String("connector", name), zap.Error(err))
		}
	}
}

// SetPaused pauses or resumes the tasks of name run here.
func (w *Worker) SetPaused(name string, paused bool) {
	if cr, ok := w.running(name); ok {
		cr.gate.set(paused)
	}
}

// LocalTasks returns the tasks run here.
func (w *Worker) LocalTasks() []TaskID {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []TaskID
	for name, rec := range w.connectors {
		if rec.run == nil {
			continue
		}
		for id := range rec.run.tasks {
			out = append(out, TaskID{Connector: name, Task: id})
		}
	}
	return out
}

// TaskState returns the state of task id of name run here, and why it
// failed; ok is false if it does not run here. Unlike Status it copies no
// counters or offsets: the distributed herder asks it every half second.
func (w *Worker) TaskState(name string, id int) (state State, trace string, ok bool) {
	cr, running := w.running(name)
	if !running {
		return "", "", false
	}
	w.mu.Lock()
	t, ok := cr.tasks[id]
	w.mu.Unlock()
	if !ok {
		return "", "", false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state, t.trace, true
}
