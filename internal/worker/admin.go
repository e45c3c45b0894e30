package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// This file holds what an operator does to a running worker, as Kafka
// Connect's REST API names it: create, reconfigure, pause, resume, stop
// (KIP-875), restart, delete, and read or change a connector's offsets.

// Errors of the admin operations. They match with errors.Is.
var (
	// ErrNotStopped means an operation needs the connector in the STOPPED
	// state (PUT /connectors/{name}/stop), as Connect's offsets endpoints do.
	ErrNotStopped = errors.New("connector is not stopped")
	// ErrUnknownTask means a task id the connector does not have.
	ErrUnknownTask = errors.New("unknown task")
	// ErrBadOffsets means an offsets request that is not of the shape
	// {"offsets":[{"partition":{...},"offset":{...}|null}]}.
	ErrBadOffsets = errors.New("invalid offsets")
)

// TransactionalID returns the transactional.id of a connector's task:
// <group>-<connector>-<task>.
func TransactionalID(group, conn string, task int) string {
	return fmt.Sprintf("%s-%s-%d", group, conn, task)
}

// Plugins returns the connector classes the worker runs.
func (w *Worker) Plugins() *connector.Plugins { return w.plugins }

// GroupID returns the worker group id.
func (w *Worker) GroupID() string { return w.cfg.groupID }

// ClusterID returns the Kafka cluster id.
func (w *Worker) ClusterID(ctx context.Context) (string, error) {
	cl, err := kgo.NewClient(w.cfg.kafka...)
	if err != nil {
		return "", fmt.Errorf("creating admin client: %w", err)
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		return "", fmt.Errorf("reading cluster metadata: %w", err)
	}
	return md.Cluster, nil
}

// Connectors returns every connector the worker knows, running,
// paused or stopped, sorted.
func (w *Worker) Connectors() []string { return w.names(false) }

// Status returns a connector's state and its tasks', stopped connectors
// included (STOPPED, without tasks, as KIP-875 shows them).
func (w *Worker) Status(name string) (ConnectorStatus, error) {
	rec, cr, err := w.known(name)
	switch {
	case err != nil:
		return ConnectorStatus{}, err
	case cr == nil:
		return ConnectorStatus{Name: name, Class: rec.class, State: StateStopped}, nil
	}
	return w.runningStatus(cr), nil
}

// Statuses returns the status of every connector, sorted by name.
func (w *Worker) Statuses() []ConnectorStatus {
	var out []ConnectorStatus
	for _, n := range w.Connectors() {
		if st, err := w.Status(n); err == nil {
			out = append(out, st)
		}
	}
	return out
}

// ConnectorInfo is a connector's config and its tasks' configs, with every
// secret redacted.
type ConnectorInfo struct {
	Name   string
	Class  string
	Config connector.Config // as given (references unresolved), secrets redacted
	Tasks  []TaskInfo       // empty while stopped
}

// TaskInfo is one task's config, secrets redacted.
type TaskInfo struct {
	ID     int
	Config connector.Config
}

// Info returns a connector's config and its tasks' configs, redacted with
// the plugin's spec (TypePassword keys, and keys that look like secrets).
func (w *Worker) Info(name string) (ConnectorInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rec := w.connectors[name]
	if rec == nil {
		return ConnectorInfo{}, fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	spec := connector.CommonSpec()
	if p, err := w.plugins.Lookup(rec.class); err == nil {
		spec = spec.Merge(p.Spec)
	}
	info := ConnectorInfo{Name: name, Class: rec.class, Config: spec.Redact(rec.raw)}
	if rec.run != nil {
		for _, t := range rec.run.sortedTasks() {
			info.Tasks = append(info.Tasks, TaskInfo{ID: t.id, Config: spec.Redact(t.cfg)})
		}
	}
	return info, nil
}

// CheckConfig is CheckConnectorConfig with the worker's plugins.
func (w *Worker) CheckConfig(raw connector.Config) (connector.Config, connector.Plugin, error) {
	return CheckConnectorConfig(w.plugins, raw)
}

// CreateConnector starts a new connector from a raw config (as given:
// ${env:…} and ${file:…} references are resolved to run it, and kept as
// they are for display).
func (w *Worker) CreateConnector(ctx context.Context, raw connector.Config) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	name := raw[connector.KeyName]
	if rec, _ := w.record(name); rec != nil {
		return fmt.Errorf("%w: %s", ErrConnectorExists, name)
	}
	return w.launch(ctx, raw, false)
}

// launch starts a connector from raw and records it, running (paused if
// asked). Call with opMu held; the connector must not be running.
func (w *Worker) launch(ctx context.Context, raw connector.Config, paused bool) error {
	name := raw[connector.KeyName]
	resolved, err := ResolveRefs(raw)
	if err != nil {
		return fmt.Errorf("connector %q: invalid config:\n%w", name, err)
	}
	cr, err := w.startConnector(ctx, resolved)
	if err != nil {
		return err
	}
	cr.gate.set(paused)
	w.mu.Lock()
	w.connectors[name] = &connectorRecord{raw: raw.Clone(), class: cr.settings.Class, run: cr}
	w.mu.Unlock()
	return nil
}

// PutConnectorConfig creates the connector, or replaces the config of an
// existing one: a running connector is restarted with it (staying paused
// if it was), a stopped one keeps the new config until resumed. The new
// config is validated before anything is stopped.
func (w *Worker) PutConnectorConfig(ctx context.Context, raw connector.Config) (created bool, err error) {
	name := raw[connector.KeyName]
	w.opMu.Lock()
	defer w.opMu.Unlock()
	rec, cr := w.record(name)
	if rec == nil {
		return true, w.launch(ctx, raw, false)
	}
	_, p, err := w.CheckConfig(raw)
	if err != nil {
		return false, fmt.Errorf("connector %q: invalid config:\n%w", name, err)
	}
	if cr == nil {
		w.mu.Lock()
		rec.raw, rec.class = raw.Clone(), p.Class
		w.mu.Unlock()
		return false, nil
	}
	return false, w.restartLocked(ctx, name, raw)
}

// restartLocked stops a running connector and starts it again with raw,
// keeping it paused if it was. If raw fails to start, the previous config
// is started again and the error returned. Call with opMu held.
func (w *Worker) restartLocked(ctx context.Context, name string, raw connector.Config) error {
	rec, cr := w.record(name)
	if cr == nil {
		return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	paused := cr.gate.isPaused()
	w.mu.Lock()
	old := rec.raw
	w.mu.Unlock()
	w.detach(name, true)
	if err := w.closeRun(cr); err != nil {
		w.log.Warn("stopping connector for a restart", zap.String("connector", name), zap.Error(err))
	}
	err := w.launch(ctx, raw, paused)
	if err != nil && !sameConfig(raw, old) {
		if rerr := w.launch(ctx, old, paused); rerr != nil {
			return errors.Join(err, fmt.Errorf("starting the previous config again: %w", rerr))
		}
	}
	return err
}

func sameConfig(a, b connector.Config) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// DeleteConnector stops a connector (each task committing its open
// transaction) and forgets it. Its committed offsets stay in Kafka.
func (w *Worker) DeleteConnector(name string) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	cr, ok := w.detach(name, true)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	if cr != nil {
		if err := w.closeRun(cr); err != nil {
			return err
		}
	}
	if w.cfg.observer != nil {
		w.cfg.observer.Forget(name)
	}
	w.log.Info("connector deleted", zap.String("connector", name))
	return nil
}

// PauseConnector pauses a connector's tasks: each commits its open
// transaction and stops polling until resumed. A stopped connector is
// started with its tasks paused.
func (w *Worker) PauseConnector(name string) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	rec, cr, err := w.known(name)
	switch {
	case err != nil:
		return err
	case cr == nil:
		if err := w.launch(context.Background(), rec.raw, true); err != nil {
			return err
		}
	default:
		cr.gate.set(true)
	}
	w.log.Info("connector paused", zap.String("connector", name))
	return nil
}

// ResumeConnector resumes a paused connector, or starts a stopped one again
// from its config (its tasks then read the committed offsets, as altered
// while it was stopped).
func (w *Worker) ResumeConnector(ctx context.Context, name string) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	rec, cr, err := w.known(name)
	switch {
	case err != nil:
		return err
	case cr != nil:
		cr.gate.set(false)
		w.log.Info("connector resumed", zap.String("connector", name))
		return nil
	}
	if err := w.launch(ctx, rec.raw, false); err != nil {
		return err
	}
	w.log.Info("stopped connector started again", zap.String("connector", name))
	return nil
}

// StopConnector is Connect's PUT /connectors/{name}/stop (KIP-875): the
// connector's tasks commit their open transaction and shut down, and the
// connector stays known, in the STOPPED state, until resumed or deleted.
// Only a stopped connector's offsets can be altered.
func (w *Worker) StopConnector(name string) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	// Detached but kept: it shows as STOPPED at once, never as deleted.
	cr, ok := w.detach(name, false)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	if cr == nil {
		return nil
	}
	if err := w.closeRun(cr); err != nil {
		return err
	}
	w.log.Info("connector stopped; its offsets can now be altered", zap.String("connector", name))
	return nil
}

// RestartConnector restarts a connector. Our tasks are made by their
// connector instance, so restarting the instance restarts every task with
// it (Connect restarts the instance alone); with onlyFailed only the
// FAILED tasks are restarted (the instance itself never fails once
// started). includeTasks is accepted for Connect's API.
func (w *Worker) RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) error {
	if onlyFailed {
		st, err := w.Status(name)
		if err != nil {
			return err
		}
		if !includeTasks {
			return nil
		}
		for _, t := range st.Tasks {
			if t.State == StateFailed {
				if err := w.RestartTask(name, t.ID); err != nil {
					return err
				}
			}
		}
		return nil
	}
	w.opMu.Lock()
	defer w.opMu.Unlock()
	rec, cr, err := w.known(name)
	switch {
	case err != nil:
		return err
	case cr == nil:
		return nil // Connect leaves a stopped connector stopped
	}
	w.mu.Lock()
	raw := rec.raw
	w.mu.Unlock()
	return w.restartLocked(ctx, name, raw)
}

// RestartTask restarts one task run here: a running task commits its open
// transaction and stops first; a failed one is started again. Either way
// it resumes from the offsets committed in Kafka.
func (w *Worker) RestartTask(name string, id int) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	cr, ok := w.running(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	w.mu.Lock()
	t, ok := cr.tasks[id]
	n := cr.taskCount
	w.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s task %d (it has %d)", ErrUnknownTask, name, id, n)
	}
	w.stopTaskGoroutine(cr, id)
	// opMu keeps the connector running meanwhile: every stop takes it.
	w.mu.Lock()
	defer w.mu.Unlock()
	t.setState(StateRestarting, "")
	t.log.Info("task restarted by request")
	cr.startTask(t)
	return nil
}
