package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
)

// connectorType is the type of every connector this worker runs.
const connectorType = "source"

func (s *Server) listConnectors(w http.ResponseWriter, r *http.Request) error {
	names := s.opts.Worker.Connectors()
	expand := r.URL.Query()["expand"]
	if len(expand) == 0 {
		return writeJSON(w, http.StatusOK, names)
	}
	out := make(map[string]map[string]any, len(names))
	for _, n := range names {
		m := map[string]any{}
		for _, e := range expand {
			switch e {
			case "status":
				if st, err := s.status(n); err == nil {
					m["status"] = st
				}
			case "info":
				if info, err := s.info(n); err == nil {
					m["info"] = info
				}
			}
		}
		out[n] = m
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) info(name string) (connectorInfo, error) {
	ci, err := s.opts.Worker.Info(name)
	if err != nil {
		return connectorInfo{}, err
	}
	out := connectorInfo{Name: ci.Name, Config: ci.Config, Tasks: []taskID{}, Type: connectorType}
	for _, t := range ci.Tasks {
		out.Tasks = append(out.Tasks, taskID{Connector: name, Task: t.ID})
	}
	return out, nil
}

func (s *Server) status(name string) (connectorStatus, error) {
	st, err := s.opts.Worker.Status(name)
	if err != nil {
		return connectorStatus{}, err
	}
	wid := func(id string) string {
		if id == "" {
			return s.worker()
		}
		return id
	}
	out := connectorStatus{Name: name, Connector: stateInfo{State: string(st.State), WorkerID: wid(st.WorkerID)}, Tasks: []taskState{}, Type: connectorType}
	for _, t := range st.Tasks {
		out.Tasks = append(out.Tasks, taskState{ID: t.ID, State: string(t.State), WorkerID: wid(t.WorkerID), Trace: trace(t)})
	}
	return out, nil
}

// trace is a task's error, shown for FAILED (and RESTARTING) tasks, as
// Connect shows a failed task's stack trace.
func trace(t worker.TaskStatus) string {
	if t.State == worker.StateFailed || t.State == worker.StateRestarting {
		return t.Trace
	}
	return ""
}

// parseConfigBody reads a connector config: Connect's POST body
// {"name":..,"config":{..}} or, for PUT .../config, a bare config object.
func (s *Server) parseConfigBody(w http.ResponseWriter, r *http.Request, wrapped bool) (connector.Config, error) {
	b, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if wrapped {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(b, &probe); err != nil {
			return nil, badRequest("request body is not a JSON object: %v", err)
		}
		if _, ok := probe["config"]; !ok {
			return nil, badRequest(`request body must be {"name": "...", "config": {...}}`)
		}
	}
	cfg, err := worker.ParseConnectorJSON(b)
	if err != nil {
		return nil, err
	}
	for k, v := range s.opts.Defaults {
		if _, ok := cfg[k]; !ok {
			cfg[k] = v
		}
	}
	return cfg, nil
}

func (s *Server) createConnector(w http.ResponseWriter, r *http.Request) error {
	cfg, err := s.parseConfigBody(w, r, true)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(cfg[connector.KeyName])
	if name == "" {
		return badRequest("connector name is required: set \"name\"")
	}
	cfg[connector.KeyName] = name
	if err := checkName(name); err != nil {
		return err
	}
	if err := s.opts.Worker.CreateConnector(r.Context(), cfg); err != nil {
		return err
	}
	info, err := s.info(name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/connectors/"+url.PathEscape(name))
	return writeJSON(w, http.StatusCreated, info)
}

// checkName refuses names that cannot be part of a transactional id or a
// URL path segment (connector.CheckConnectorName, as validate checks them).
func checkName(name string) error {
	if err := connector.CheckConnectorName(name); err != nil {
		return badRequest("connector name %q: %v", name, err)
	}
	return nil
}

func (s *Server) getConnector(w http.ResponseWriter, r *http.Request) error {
	info, err := s.info(r.PathValue("c"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) error {
	info, err := s.opts.Worker.Info(r.PathValue("c"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info.Config)
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("c")
	cfg, err := s.parseConfigBody(w, r, false)
	if err != nil {
		return err
	}
	if n, ok := cfg[connector.KeyName]; ok && n != name {
		return badRequest("Connector name configuration (%s) doesn't match connector name in the URL (%s)", n, name)
	}
	cfg[connector.KeyName] = name
	if err := checkName(name); err != nil {
		return err
	}
	created, err := s.opts.Worker.PutConnectorConfig(r.Context(), cfg)
	if err != nil {
		return err
	}
	info, err := s.info(name)
	if err != nil {
		return err
	}
	if created {
		w.Header().Set("Location", "/connectors/"+url.PathEscape(name))
		return writeJSON(w, http.StatusCreated, info)
	}
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) deleteConnector(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Worker.DeleteConnector(r.PathValue("c")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusNoContent, nil)
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := s.status(r.PathValue("c"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) getTasks(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("c")
	ci, err := s.opts.Worker.Info(name)
	if err != nil {
		return err
	}
	out := []taskInfo{}
	for _, t := range ci.Tasks {
		out = append(out, taskInfo{ID: taskID{Connector: name, Task: t.ID}, Config: t.Config})
	}
	return writeJSON(w, http.StatusOK, out)
}

// taskParam reads {t}; a task the connector does not have is a 404.
func (s *Server) taskParam(r *http.Request) (connectorStatus, int, error) {
	name := r.PathValue("c")
	st, err := s.status(name)
	if err != nil {
		return connectorStatus{}, 0, err
	}
	id, err := strconv.Atoi(r.PathValue("t"))
	if err != nil || id < 0 || id >= len(st.Tasks) {
		return connectorStatus{}, 0, &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("Task %s-%s not found", name, r.PathValue("t"))}
	}
	return st, id, nil
}

func (s *Server) getTaskStatus(w http.ResponseWriter, r *http.Request) error {
	st, id, err := s.taskParam(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st.Tasks[id])
}

func (s *Server) restartConnector(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("c")
	q := r.URL.Query()
	includeTasks, err := boolParam(q, "includeTasks")
	if err != nil {
		return err
	}
	onlyFailed, err := boolParam(q, "onlyFailed")
	if err != nil {
		return err
	}
	if err := s.opts.Worker.RestartConnector(r.Context(), name, includeTasks, onlyFailed); err != nil {
		return err
	}
	if !includeTasks && !onlyFailed {
		return writeJSON(w, http.StatusNoContent, nil)
	}
	st, err := s.status(name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, st)
}

func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("query parameter %s=%q: expected true or false", name, v)
	}
	return b, nil
}

func (s *Server) restartTask(w http.ResponseWriter, r *http.Request) error {
	_, id, err := s.taskParam(r)
	if err != nil {
		return err
	}
	if err := s.opts.Worker.RestartTask(r.PathValue("c"), id); err != nil {
		return err
	}
	return writeJSON(w, http.StatusNoContent, nil)
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Worker.PauseConnector(r.PathValue("c")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, nil)
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Worker.ResumeConnector(r.Context(), r.PathValue("c")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, nil)
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Worker.StopConnector(r.PathValue("c")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusNoContent, nil)
}

func (s *Server) getOffsets(w http.ResponseWriter, r *http.Request) error {
	offs, err := s.opts.Worker.Offsets(r.Context(), r.PathValue("c"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, offs)
}

func (s *Server) alterOffsets(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	offs, err := worker.ParseConnectorOffsets(b)
	if err != nil {
		return err
	}
	if len(offs.Offsets) == 0 {
		return badRequest("Partitions / offsets need to be provided for an alter offsets request")
	}
	if err := s.opts.Worker.AlterOffsets(r.Context(), r.PathValue("c"), offs); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, messageBody{Message: "The offsets for this connector have been altered successfully"})
}

func (s *Server) resetOffsets(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Worker.ResetOffsets(r.Context(), r.PathValue("c")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, messageBody{Message: "The offsets for this connector have been reset successfully"})
}
