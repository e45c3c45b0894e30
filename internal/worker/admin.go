package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

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

// adminState is the worker's record of what operators asked for beyond the
// running connectors: the configs as given (with ${env:…} references
// unresolved, for display) and the connectors stopped with StopConnector.
type adminState struct {
	mu      sync.Mutex // serialises the operations that start or stop connectors
	dataMu  sync.Mutex // guards the maps
	raw     map[string]connector.Config
	stopped map[string]stoppedConnector
}

type stoppedConnector struct {
	raw   connector.Config
	class string
	tasks int // tasks the connector had when it was stopped
}

func (a *adminState) rawConfig(name string) (connector.Config, bool) {
	a.dataMu.Lock()
	defer a.dataMu.Unlock()
	c, ok := a.raw[name]
	return c, ok
}

func (a *adminState) setRaw(name string, c connector.Config) {
	a.dataMu.Lock()
	defer a.dataMu.Unlock()
	if a.raw == nil {
		a.raw = map[string]connector.Config{}
	}
	if c == nil {
		delete(a.raw, name)
		return
	}
	a.raw[name] = c.Clone()
}

func (a *adminState) stoppedOne(name string) (stoppedConnector, bool) {
	a.dataMu.Lock()
	defer a.dataMu.Unlock()
	s, ok := a.stopped[name]
	return s, ok
}

func (a *adminState) setStopped(name string, s *stoppedConnector) {
	a.dataMu.Lock()
	defer a.dataMu.Unlock()
	if a.stopped == nil {
		a.stopped = map[string]stoppedConnector{}
	}
	if s == nil {
		delete(a.stopped, name)
		return
	}
	a.stopped[name] = *s
}

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

func (w *Worker) running(name string) (*connectorRun, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cr, ok := w.connectors[name]
	return cr, ok
}

// Connectors returns every connector the worker knows, running,
// paused or stopped, sorted.
func (w *Worker) Connectors() []string {
	names := w.runningNames()
	w.admin.dataMu.Lock()
	for n := range w.admin.stopped {
		names = append(names, n)
	}
	w.admin.dataMu.Unlock()
	sort.Strings(names)
	return compactSorted(names)
}

func compactSorted(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Status returns a connector's state and its tasks', stopped connectors
// included (STOPPED, without tasks, as KIP-875 shows them).
func (w *Worker) Status(name string) (ConnectorStatus, error) {
	if st, err := w.runningStatus(name); err == nil {
		return st, nil
	}
	if s, ok := w.admin.stoppedOne(name); ok {
		return ConnectorStatus{Name: name, Class: s.class, State: StateStopped}, nil
	}
	return ConnectorStatus{}, fmt.Errorf("%w: %s", ErrUnknownConnector, name)
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
	if cr, ok := w.running(name); ok {
		spec := connector.CommonSpec().Merge(cr.plugin.Spec)
		raw, ok := w.admin.rawConfig(name)
		if !ok {
			raw = cr.config
		}
		info := ConnectorInfo{Name: name, Class: cr.settings.Class, Config: spec.Redact(raw)}
		for _, t := range cr.tasks {
			info.Tasks = append(info.Tasks, TaskInfo{ID: t.id, Config: spec.Redact(t.cfg)})
		}
		return info, nil
	}
	if s, ok := w.admin.stoppedOne(name); ok {
		spec := connector.CommonSpec()
		if p, err := w.plugins.Lookup(s.class); err == nil {
			spec = spec.Merge(p.Spec)
		}
		return ConnectorInfo{Name: name, Class: s.class, Config: spec.Redact(s.raw)}, nil
	}
	return ConnectorInfo{}, fmt.Errorf("%w: %s", ErrUnknownConnector, name)
}

// CheckConfig resolves a raw connector config's references and validates
// it against the common settings and its plugin, returning the resolved
// config with defaults applied.
func (w *Worker) CheckConfig(raw connector.Config) (connector.Config, connector.Plugin, error) {
	resolved, err := ResolveRefs(raw)
	if err != nil {
		return nil, connector.Plugin{}, err
	}
	return connector.ValidateConnector(w.plugins, resolved)
}

// CreateConnector starts a new connector from a raw config (as given:
// ${env:…} and ${file:…} references are resolved to run it, and kept as
// they are for display).
func (w *Worker) CreateConnector(ctx context.Context, raw connector.Config) error {
	w.admin.mu.Lock()
	defer w.admin.mu.Unlock()
	return w.createLocked(ctx, raw)
}

func (w *Worker) createLocked(ctx context.Context, raw connector.Config) error {
	name := raw[connector.KeyName]
	if _, ok := w.admin.stoppedOne(name); ok {
		return fmt.Errorf("%w: %s", ErrConnectorExists, name)
	}
	resolved, err := ResolveRefs(raw)
	if err != nil {
		return fmt.Errorf("connector %q: invalid config:\n%w", name, err)
	}
	if err := w.startConnector(ctx, resolved); err != nil {
		return err
	}
	w.admin.setRaw(name, raw)
	return nil
}

// PutConnectorConfig creates the connector, or replaces the config of an
// existing one: a running connector is restarted with it (staying paused
// if it was), a stopped one keeps the new config until resumed. The new
// config is validated before anything is stopped.
func (w *Worker) PutConnectorConfig(ctx context.Context, raw connector.Config) (created bool, err error) {
	name := raw[connector.KeyName]
	w.admin.mu.Lock()
	defer w.admin.mu.Unlock()
	_, isRunning := w.running(name)
	s, isStopped := w.admin.stoppedOne(name)
	if !isRunning && !isStopped {
		return true, w.createLocked(ctx, raw)
	}
	_, p, err := w.CheckConfig(raw)
	if err != nil {
		return false, fmt.Errorf("connector %q: invalid config:\n%w", name, err)
	}
	if isStopped {
		s.raw, s.class = raw.Clone(), p.Class
		w.admin.setStopped(name, &s)
		w.admin.setRaw(name, raw)
		return false, nil
	}
	return false, w.restartLocked(ctx, name, raw)
}

// restartLocked stops a running connector and starts it again with raw,
// keeping it paused if it was. If raw fails to start, the previous config
// is started again and the error returned.
func (w *Worker) restartLocked(ctx context.Context, name string, raw connector.Config) error {
	cr, ok := w.running(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	paused := cr.ctl.gate.isPaused()
	old, ok := w.admin.rawConfig(name)
	if !ok {
		old = cr.config
	}
	if err := w.shutdown(name); err != nil {
		w.log.Warn("stopping connector for a restart", zap.String("connector", name), zap.Error(err))
	}
	err := w.createLocked(ctx, raw)
	if err != nil && !sameConfig(raw, old) {
		if rerr := w.createLocked(ctx, old); rerr != nil {
			return errors.Join(err, fmt.Errorf("starting the previous config again: %w", rerr))
		}
	}
	if paused {
		if cr, ok := w.running(name); ok {
			cr.ctl.gate.set(true)
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
	w.admin.mu.Lock()
	defer w.admin.mu.Unlock()
	if _, ok := w.admin.stoppedOne(name); ok {
		w.admin.setStopped(name, nil)
	} else if err := w.shutdown(name); err != nil {
		return err
	}
	w.admin.setRaw(name, nil)
	if w.cfg.observer != nil {
		w.cfg.observer.Forget(name)
	}
	w.log.Info("connector deleted", zap.String("connector", name))
	return nil
}

// PauseConnector pauses a connector's tasks: each commits its open
// transaction and stops polling until resumed.
func (w *Worker) PauseConnector(name string) error {
	w.admin.mu.Lock()
	defer w.admin.mu.Unlock()
	cr, ok := w.running(name)
	if !ok {
		// A stopped connector is started with its tasks paused.
		s, stopped := w.admin.stoppedOne(name)
		if !stopped {
			return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
		}
		w.admin.setStopped(name, nil)
		if err := w.createLocked(context.Background(), s.raw); err != nil {
			w.admin.setStopped(name, &s)
			return err
		}
		if cr, ok = w.running(name); !ok {
			return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
		}
	}
	cr.ctl.gate.set(true)
	w.log.Info("connector paused", zap.String("connector", name))
	return nil
}

// ResumeConnector resumes a paused connector, or starts a stopped one again
// from its config (its tasks then read the committed offsets, as altered
// while it was stopped).
func (w *Worker) ResumeConnector(ctx context.Context, name string) error {
	w.admin.mu.Lock()
	defer w.admin.mu.Unlock()
	if cr, ok := w.running(name); ok {
		cr.ctl.gate.set(false)
		w.log.Info("connector resumed", zap.String("connector", name))
		return nil
	}
	s, ok := w.admin.stoppedOne(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	w.admin.setStopped(name, nil)
	if err := w.createLocked(ctx, s.raw); err != nil {
		w.admin.setStopped(name, &s)
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
	w.admin.mu.Lock()
	defer w.admin.mu.Unlock()
	if _, ok := w.admin.stoppedOne(name); ok {
		return nil
	}
	cr, ok := w.running(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	raw, ok := w.admin.rawConfig(name)
	if !ok {
		raw = cr.config
	}
	// Known as stopped before it leaves the running set, so it never
	// looks deleted.
	w.admin.setStopped(name, &stoppedConnector{raw: raw.Clone(), class: cr.settings.Class, tasks: len(cr.tasks)})
	if err := w.shutdown(name); err != nil {
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
	w.admin.mu.Lock()
	defer w.admin.mu.Unlock()
	if _, ok := w.admin.stoppedOne(name); ok {
		return nil // Connect leaves a stopped connector stopped
	}
	raw, ok := w.admin.rawConfig(name)
	if !ok {
		cr, running := w.running(name)
		if !running {
			return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
		}
		raw = cr.config
	}
	return w.restartLocked(ctx, name, raw)
}

// RestartTask restarts one task: a running task commits its open
// transaction and stops first; a failed one is started again. Either way
// it resumes from the offsets committed in Kafka.
func (w *Worker) RestartTask(name string, id int) error {
	w.admin.mu.Lock()
	defer w.admin.mu.Unlock()
	cr, ok := w.running(name)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	if id < 0 || id >= len(cr.tasks) {
		return fmt.Errorf("%w: %s task %d (it has %d)", ErrUnknownTask, name, id, len(cr.tasks))
	}
	cr.ctl.mu.Lock()
	h := cr.ctl.tasks[id]
	cr.ctl.mu.Unlock()
	if h.cancel != nil {
		h.cancel()
		<-h.done
	}
	// Start it under w.mu, only while the connector is still running:
	// StopConnector removes it from the map under w.mu before it waits for
	// the tasks, so the new goroutine is always waited for.
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.connectors[name] != cr || cr.ctl.runCtx.Err() != nil {
		return fmt.Errorf("%w: %s", ErrUnknownConnector, name)
	}
	t := cr.tasks[id]
	t.setState(StateRestarting, "")
	t.log.Info("task restarted by request")
	cr.startTask(t)
	return nil
}
