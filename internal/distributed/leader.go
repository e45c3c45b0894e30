package distributed

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/cluster"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// This file is what only the leader does: write the config topic (REST
// writes forwarded to it, and the task configs it computes), through a
// transactional producer whose id, <group>-leader, every leader shares.
// Becoming leader initialises that id, which fences the previous leader:
// a deposed leader that has not noticed yet can write nothing more.

// leaderTxnID is the transactional id of the group's leader.
func (h *Herder) leaderTxnID() string { return h.opts.Group + "-leader" }

// setLeader opens the leader's producer (fencing the previous leader) or
// closes it.
func (h *Herder) setLeader(ctx context.Context, leading bool) {
	if leading {
		if err := h.lead(ctx); err != nil {
			h.log.Error("leading the group needs the leader's transactional producer; rejoining", zap.Error(err))
			h.member.Rejoin()
		}
		return
	}
	h.mu.Lock()
	cl := h.leaderCl
	h.leaderCl = nil
	h.mu.Unlock()
	if cl != nil {
		cl.Close()
		h.log.Info("no longer the leader")
	}
}

// lead opens the leader's producer unless it is open: initialising the
// leader's transactional id fences the previous leader.
func (h *Herder) lead(ctx context.Context) error {
	h.mu.Lock()
	open := h.leaderCl != nil
	h.mu.Unlock()
	if open {
		return nil
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), h.opts.Kafka...),
		kgo.TransactionalID(h.leaderTxnID()), kgo.DefaultProduceTopic(h.opts.ConfigTopic))...)
	if err != nil {
		return fmt.Errorf("the leader's producer: %w", err)
	}
	initCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, _, err = cl.ProducerID(initCtx)
	cancel()
	if err != nil {
		cl.Close()
		return fmt.Errorf("initialising the leader's transactional id %s: %w", h.leaderTxnID(), err)
	}
	h.mu.Lock()
	h.leaderCl = cl
	h.mu.Unlock()
	h.log.Info("leading the worker group", zap.String("transactional.id", h.leaderTxnID()))
	return nil
}

// leaderOnly returns nil on the leader, else where to forward the request.
func (h *Herder) leaderOnly(what string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.leaderCl != nil {
		return nil
	}
	return &worker.ForwardError{URL: h.leaderURL, Reason: what + " is done by the leader"}
}

// writeConfig writes records to the config topic in one transaction and
// waits until this worker has read them back.
func (h *Herder) writeConfig(ctx context.Context, recs ...*kgo.Record) error {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	h.mu.Lock()
	cl := h.leaderCl
	h.mu.Unlock()
	if cl == nil {
		return &worker.ForwardError{URL: h.leaderURLNow(), Reason: "writing the config topic is done by the leader"}
	}
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("writing the config topic: %w", err)
	}
	err := cl.ProduceSync(ctx, recs...).FirstErr()
	commit := kgo.TransactionEndTry(err == nil)
	if eerr := cl.EndTransaction(context.WithoutCancel(ctx), commit); err == nil {
		err = eerr
	}
	if err != nil {
		if errors.Is(err, kgo.ErrClientClosed) || worker.IsFenced(err) {
			h.log.Warn("the leader's producer was fenced: another worker leads now", zap.Error(err))
			h.setLeader(ctx, false)
			return &worker.ForwardError{Reason: "the leader changed while writing the config topic"}
		}
		return fmt.Errorf("writing the config topic: %w", err)
	}
	return h.configLog.ReadToEnd(ctx)
}

func (h *Herder) leaderURLNow() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.leaderURL
}

// reconcile computes the task configs of every connector that wants tasks
// and writes those that differ from the committed set.
func (h *Herder) reconcile(ctx context.Context, snap map[string]cluster.ConnectorState) {
	for _, name := range sortedNames(snap) {
		c := snap[name]
		if c.Target == cluster.TargetStopped {
			continue
		}
		tasks, err := h.computeTasks(ctx, c.Config)
		if err != nil {
			h.log.Error("computing a connector's task configs", zap.String("connector", name), zap.Error(err))
			h.setConnectorStatus(ctx, name, worker.StateFailed, err.Error())
			continue
		}
		if sameTasks(tasks, c.Tasks) {
			continue
		}
		if err := h.writeConfig(ctx, cluster.TaskRecords(h.opts.ConfigTopic, name, tasks)...); err != nil {
			h.log.Warn("writing a connector's task configs", zap.String("connector", name), zap.Error(err))
			continue
		}
		h.log.Info("new task configs written", zap.String("connector", name), zap.Int("tasks", len(tasks)))
	}
}

// computeTasks splits a connector's work into task configs with a
// throwaway instance. Values the connector took from a ${env:…} or
// ${file:…} reference are written back as the reference, so no secret
// reaches the config topic; each worker resolves them itself.
func (h *Herder) computeTasks(ctx context.Context, raw map[string]string) ([]map[string]string, error) {
	resolved, err := worker.ResolveRefs(raw)
	if err != nil {
		return nil, err
	}
	full, plugin, err := connector.ValidateConnector(h.w.Plugins(), resolved)
	if err != nil {
		return nil, err
	}
	set := connector.ParseSettings(full)
	conn := plugin.New(h.log.With(zap.String("connector", set.Name)))
	if err := conn.Start(ctx, full); err != nil {
		return nil, fmt.Errorf("starting the connector: %w", err)
	}
	defer func() { _ = conn.Stop() }()
	cfgs, err := conn.TaskConfigs(set.TasksMax)
	if err != nil {
		return nil, fmt.Errorf("splitting work into tasks: %w", err)
	}
	out := make([]map[string]string, len(cfgs))
	for i, tc := range cfgs {
		m := maps.Clone(map[string]string(tc))
		for k, v := range m {
			if rv, ok := raw[k]; ok && rv != resolved[k] && v == resolved[k] {
				m[k] = rv
			}
		}
		out[i] = m
	}
	return out, nil
}

func sameTasks(a, b []map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !maps.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
