package distributed

import (
	"context"

	"github.com/seed-474f70f7/sportsconnect/internal/cluster"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// This file writes the status topic: each worker the state of the tasks it
// runs, the leader the state of each connector, every record with the
// generation it was written in, so a reader prefers the newest owner's.

// writeStatuses writes the state of every task run here that changed since
// it was last written, and, on the leader, each connector's.
func (h *Herder) writeStatuses(ctx context.Context) {
	h.mu.Lock()
	keys := make([]taskKey, 0, len(h.running))
	for k := range h.running {
		keys = append(keys, k)
	}
	h.mu.Unlock()
	// States are read outside h.mu: the worker takes its own lock.
	type seen struct {
		state worker.State
		trace string
	}
	local := make(map[taskKey]seen, len(keys))
	for _, k := range keys {
		if st, trace, ok := h.w.TaskState(k.connector, k.task); ok {
			local[k] = seen{st, trace}
		}
	}
	var recs []*kgo.Record
	marked := map[taskKey]worker.State{}
	h.mu.Lock()
	g := h.gen.ID
	for k := range h.running {
		state, trace := worker.StateUnassigned, ""
		if why, failed := h.failedStart[k]; failed {
			state, trace = worker.StateFailed, why
		} else if l, ok := local[k]; ok {
			state, trace = l.state, l.trace
		}
		if h.written[k] == state {
			continue
		}
		h.written[k] = state
		marked[k] = state
		recs = append(recs, cluster.TaskStatusRecord(h.opts.StatusTopic, k.connector, k.task,
			cluster.Status{State: string(state), Trace: trace, WorkerID: h.opts.WorkerID, URL: h.opts.URL, Generation: g}))
	}
	leading := h.leaderCl != nil
	h.mu.Unlock()
	var conns map[string]string
	if leading {
		var crecs []*kgo.Record
		crecs, conns = h.connectorStatuses(g)
		recs = append(recs, crecs...)
	}
	if !h.produceStatuses(ctx, recs) {
		h.unmark(marked, conns)
	}
}

// unmark forgets states marked written whose records were not written
// (unless a newer state replaced the mark meanwhile), so the next round
// writes them again.
func (h *Herder) unmark(tasks map[taskKey]worker.State, conns map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, st := range tasks {
		if h.written[k] == st {
			delete(h.written, k)
		}
	}
	for name, st := range conns {
		if h.writtenConn[name] == st {
			delete(h.writtenConn, name)
		}
	}
}

// connectorStatuses returns the leader's records of connectors whose state
// changed since it last wrote them, and the states it marked written.
func (h *Herder) connectorStatuses(g int32) ([]*kgo.Record, map[string]string) {
	snap, _ := h.configs.Snapshot()
	var recs []*kgo.Record
	marked := map[string]string{}
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, c := range snap {
		state := connectorState(c.Target)
		if h.writtenConn[name] == string(state) || h.writtenConn[name] == string(worker.StateFailed) && state == worker.StateRunning {
			continue
		}
		h.writtenConn[name] = string(state)
		marked[name] = string(state)
		recs = append(recs, cluster.ConnectorStatusRecord(h.opts.StatusTopic, name,
			cluster.Status{State: string(state), WorkerID: h.opts.WorkerID, URL: h.opts.URL, Generation: g}))
	}
	return recs, marked
}

// setConnectorStatus writes a connector's state now (the leader, when its
// config cannot be split into tasks).
func (h *Herder) setConnectorStatus(ctx context.Context, name string, state worker.State, trace string) {
	h.mu.Lock()
	if h.writtenConn[name] == string(state) {
		h.mu.Unlock()
		return
	}
	h.writtenConn[name] = string(state)
	g := h.gen.ID
	h.mu.Unlock()
	if !h.produceStatuses(ctx, []*kgo.Record{cluster.ConnectorStatusRecord(h.opts.StatusTopic, name,
		cluster.Status{State: string(state), Trace: trace, WorkerID: h.opts.WorkerID, URL: h.opts.URL, Generation: g})}) {
		h.unmark(nil, map[string]string{name: string(state)})
	}
}

func connectorState(target string) worker.State {
	switch target {
	case cluster.TargetPaused:
		return worker.StatePaused
	case cluster.TargetStopped:
		return worker.StateStopped
	}
	return worker.StateRunning
}

// produceStatuses writes recs and reports whether all were written; a
// failure is logged, and the caller unmarks what it marked written.
func (h *Herder) produceStatuses(ctx context.Context, recs []*kgo.Record) bool {
	if len(recs) == 0 {
		return true
	}
	if err := h.statusCl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		h.log.Warn("writing the status topic; retrying with the next round", zap.Int("records", len(recs)), zap.Error(err))
		return false
	}
	return true
}
