package distributed

import (
	"context"
	"fmt"
	"maps"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/cluster"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// This file is the herder's REST face (rest.Herder). Reads are answered by
// any worker from its view of the config and status topics; writes are
// done by the leader (others return a *worker.ForwardError naming it, and
// the REST layer forwards the request), and a task's restart by the worker
// that runs it.

// Connectors returns the cluster's connectors, sorted.
func (h *Herder) Connectors() []string { return h.configs.Names() }

func (h *Herder) connector(name string) (cluster.ConnectorState, error) {
	snap, _ := h.configs.Snapshot()
	c, ok := snap[name]
	if !ok {
		return c, fmt.Errorf("%w: %s", worker.ErrUnknownConnector, name)
	}
	return c, nil
}

// Info returns a connector's config and its task configs, secrets redacted.
func (h *Herder) Info(name string) (worker.ConnectorInfo, error) {
	c, err := h.connector(name)
	if err != nil {
		return worker.ConnectorInfo{}, err
	}
	class := c.Config[connector.KeyClass]
	spec := connector.CommonSpec()
	if p, err := h.w.Plugins().Lookup(class); err == nil {
		spec = spec.Merge(p.Spec)
		class = p.Class
	}
	info := worker.ConnectorInfo{Name: name, Class: class, Config: spec.Redact(c.Config)}
	if c.Target != cluster.TargetStopped {
		for i, tc := range c.Tasks {
			info.Tasks = append(info.Tasks, worker.TaskInfo{ID: i, Config: spec.Redact(tc)})
		}
	}
	return info, nil
}

// Status returns a connector's state and each task's: those run here as
// this worker sees them, the others as the status topic has them.
func (h *Herder) Status(name string) (worker.ConnectorStatus, error) {
	c, err := h.connector(name)
	if err != nil {
		return worker.ConnectorStatus{}, err
	}
	cst, tasks, known := h.statuses.Connector(name)
	out := worker.ConnectorStatus{Name: name, Class: c.Config[connector.KeyClass], State: connectorState(c.Target)}
	if known {
		out.WorkerID = cst.WorkerID
		if cst.State == string(worker.StateFailed) {
			out.State = worker.StateFailed
		}
	}
	if c.Target == cluster.TargetStopped {
		return out, nil
	}
	local, _ := h.w.Status(name)
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range c.Tasks {
		k := taskKey{name, i}
		ts := worker.TaskStatus{ID: i, State: worker.StateUnassigned}
		if t, runs := h.running[k]; runs && t.Version == c.TasksVersion {
			if why, failed := h.failedStart[k]; failed {
				ts.State, ts.Trace = worker.StateFailed, why
			}
			for _, lt := range local.Tasks {
				if lt.ID == i {
					ts = lt
				}
			}
		} else if st, ok := tasks[i]; ok {
			ts.State, ts.Trace, ts.WorkerID = worker.State(st.State), st.Trace, st.WorkerID
		}
		out.Tasks = append(out.Tasks, ts)
	}
	return out, nil
}

// Statuses returns every connector's status, sorted by name.
func (h *Herder) Statuses() []worker.ConnectorStatus {
	var out []worker.ConnectorStatus
	for _, n := range h.Connectors() {
		if st, err := h.Status(n); err == nil {
			out = append(out, st)
		}
	}
	return out
}

// CreateConnector adds a connector to the config topic (on the leader).
func (h *Herder) CreateConnector(ctx context.Context, raw connector.Config) error {
	if err := h.leaderOnly("creating a connector"); err != nil {
		return err
	}
	name := raw[connector.KeyName]
	if _, err := h.connector(name); err == nil {
		return fmt.Errorf("%w: %s", worker.ErrConnectorExists, name)
	}
	if err := h.checkConfig(name, raw); err != nil {
		return err
	}
	return h.writeConfig(ctx, cluster.ConnectorRecord(h.opts.ConfigTopic, name, raw),
		cluster.TargetStateRecord(h.opts.ConfigTopic, name, cluster.TargetStarted))
}

// PutConnectorConfig creates a connector or replaces its config (on the
// leader); its tasks are then restarted with new task configs.
func (h *Herder) PutConnectorConfig(ctx context.Context, raw connector.Config) (bool, error) {
	if err := h.leaderOnly("changing a connector's config"); err != nil {
		return false, err
	}
	name := raw[connector.KeyName]
	c, err := h.connector(name)
	created := err != nil
	if !created && maps.Equal(c.Config, map[string]string(raw)) {
		return false, nil // unchanged: nothing restarts (apply at every upgrade)
	}
	if err := h.checkConfig(name, raw); err != nil {
		return false, err
	}
	recs := []*kgo.Record{cluster.ConnectorRecord(h.opts.ConfigTopic, name, raw)}
	if created {
		recs = append(recs, cluster.TargetStateRecord(h.opts.ConfigTopic, name, cluster.TargetStarted))
	}
	return created, h.writeConfig(ctx, recs...)
}

// checkConfig validates a connector's config as this worker would run it,
// and refuses a push address another connector of the cluster uses.
func (h *Herder) checkConfig(name string, raw connector.Config) error {
	if _, _, err := h.w.CheckConfig(raw); err != nil {
		return fmt.Errorf("connector %q: invalid config:\n%w", name, err)
	}
	addr := h.pushAddress(raw)
	if addr == "" {
		return nil
	}
	snap, _ := h.configs.Snapshot()
	for other, c := range snap {
		if other != name && h.pushAddress(c.Config) == addr {
			return fmt.Errorf("connector %q: its push address %s is already used by connector %s", name, addr, other)
		}
	}
	return nil
}

// DeleteConnector removes a connector from the config topic (on the
// leader); its tasks stop wherever they run. Its offsets stay.
func (h *Herder) DeleteConnector(name string) error {
	return h.targetWrite(context.Background(), name, "deleting a connector", cluster.ConnectorRecord(h.opts.ConfigTopic, name, nil))
}

// PauseConnector sets the connector's target state to PAUSED.
func (h *Herder) PauseConnector(name string) error {
	return h.targetWrite(context.Background(), name, "pausing a connector", cluster.TargetStateRecord(h.opts.ConfigTopic, name, cluster.TargetPaused))
}

// ResumeConnector sets the connector's target state to STARTED.
func (h *Herder) ResumeConnector(ctx context.Context, name string) error {
	return h.targetWrite(ctx, name, "resuming a connector", cluster.TargetStateRecord(h.opts.ConfigTopic, name, cluster.TargetStarted))
}

// StopConnector sets the connector's target state to STOPPED: its tasks
// commit and stop wherever they run, and its offsets may be altered.
func (h *Herder) StopConnector(name string) error {
	return h.targetWrite(context.Background(), name, "stopping a connector", cluster.TargetStateRecord(h.opts.ConfigTopic, name, cluster.TargetStopped))
}

// RestartConnector asks every worker to restart its tasks of the
// connector (a restart-connector record).
func (h *Herder) RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) error {
	return h.targetWrite(ctx, name, "restarting a connector", restartRecord(h.opts.ConfigTopic, name, includeTasks, onlyFailed))
}

func (h *Herder) targetWrite(ctx context.Context, name, what string, rec *kgo.Record) error {
	if err := h.leaderOnly(what); err != nil {
		return err
	}
	if _, err := h.connector(name); err != nil {
		return err
	}
	return h.writeConfig(ctx, rec)
}

// RestartTask restarts a task on the worker that runs it.
func (h *Herder) RestartTask(name string, id int) error {
	c, err := h.connector(name)
	if err != nil {
		return err
	}
	if id < 0 || id >= len(c.Tasks) {
		return fmt.Errorf("%w: %s task %d (it has %d)", worker.ErrUnknownTask, name, id, len(c.Tasks))
	}
	k := taskKey{name, id}
	h.mu.Lock()
	t, runs := h.running[k]
	_, failed := h.failedStart[k]
	h.mu.Unlock()
	if runs && failed {
		h.mu.Lock()
		delete(h.running, k)
		h.mu.Unlock()
		snap, _ := h.configs.Snapshot()
		h.startTask(context.Background(), t, snap)
		return nil
	}
	if runs {
		return h.w.RestartTask(name, id)
	}
	_, tasks, _ := h.statuses.Connector(name)
	return &worker.ForwardError{URL: tasks[id].URL, Reason: fmt.Sprintf("restarting task %d of %s is done by the worker that runs it", id, name)}
}

// Offsets returns a connector's committed offsets.
func (h *Herder) Offsets(ctx context.Context, name string) (worker.ConnectorOffsets, error) {
	if _, err := h.connector(name); err != nil {
		return worker.ConnectorOffsets{}, err
	}
	return worker.ReadConnectorOffsets(ctx, h.opts.Kafka, h.w.OffsetsTopic(), name)
}

// AlterOffsets writes a STOPPED connector's offsets (on the leader),
// fencing every task id it ever had first.
func (h *Herder) AlterOffsets(ctx context.Context, name string, offs worker.ConnectorOffsets) error {
	ow, err := h.offsetWriter(name)
	if err != nil {
		return err
	}
	return ow.Alter(ctx, offs)
}

// ResetOffsets deletes a STOPPED connector's offsets (on the leader).
func (h *Herder) ResetOffsets(ctx context.Context, name string) error {
	ow, err := h.offsetWriter(name)
	if err != nil {
		return err
	}
	return ow.Reset(ctx)
}

func (h *Herder) offsetWriter(name string) (worker.OffsetWriter, error) {
	if err := h.leaderOnly("changing a connector's offsets"); err != nil {
		return worker.OffsetWriter{}, err
	}
	c, err := h.connector(name)
	if err != nil {
		return worker.OffsetWriter{}, err
	}
	if c.Target != cluster.TargetStopped {
		return worker.OffsetWriter{}, fmt.Errorf("%w: connectors must be in the STOPPED state before their offsets can be modified; "+
			"stop %s first with PUT /connectors/%s/stop", worker.ErrNotStopped, name, name)
	}
	n := max(c.MaxTasks, len(c.Tasks))
	if full, _, err := h.w.CheckConfig(c.Config); err == nil {
		n = max(n, connector.ParseSettings(full).TasksMax)
	}
	return worker.OffsetWriter{Kafka: h.opts.Kafka, Topic: h.w.OffsetsTopic(), Group: h.opts.Group, Connector: name, Tasks: n}, nil
}

// Plugins returns the connector classes this worker runs.
func (h *Herder) Plugins() *connector.Plugins { return h.w.Plugins() }

// ClusterID returns the Kafka cluster id.
func (h *Herder) ClusterID(ctx context.Context) (string, error) { return h.w.ClusterID(ctx) }
