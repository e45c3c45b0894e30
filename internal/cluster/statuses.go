package cluster

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The status topic (status.storage.topic, compacted) holds Kafka Connect's
// status records:
//
//	status-connector-<name>   {"state": ..., "trace": ..., "worker_id": "host:port", "generation": N}
//	status-task-<name>-<n>    the same for task n
//
// A worker writes the status of what it runs; the generation is the group
// generation in which it ran it, so a reader can tell a stale owner's
// record from the current one, and a test can check from the topic alone
// that no two workers ran a task in the same generation.

// Status is one status record's value.
type Status struct {
	State      string `json:"state"`
	Trace      string `json:"trace,omitempty"`
	WorkerID   string `json:"worker_id"`
	Generation int32  `json:"generation"`
	// URL is the worker's REST API (not in Connect's records): where a
	// request about the task is forwarded.
	URL string `json:"worker_url,omitempty"`
}

// ConnectorStatusRecord returns the status record of a connector.
func ConnectorStatusRecord(topic, name string, st Status) *kgo.Record {
	v, _ := json.Marshal(st)
	return &kgo.Record{Topic: topic, Key: []byte("status-connector-" + name), Value: v}
}

// TaskStatusRecord returns the status record of task n of connector.
func TaskStatusRecord(topic, connector string, n int, st Status) *kgo.Record {
	v, _ := json.Marshal(st)
	return &kgo.Record{Topic: topic, Key: []byte("status-task-" + connector + "-" + strconv.Itoa(n)), Value: v}
}

// Statuses is the status topic applied: the latest status of each
// connector and task. It is safe for concurrent use.
type Statuses struct {
	mu         sync.Mutex
	connectors map[string]Status
	tasks      map[string]map[int]Status
}

// NewStatuses returns an empty view.
func NewStatuses() *Statuses {
	return &Statuses{connectors: map[string]Status{}, tasks: map[string]map[int]Status{}}
}

// Apply applies one status record (a null value deletes it).
func (s *Statuses) Apply(r *kgo.Record) {
	key := string(r.Key)
	var st Status
	ok := r.Value != nil && json.Unmarshal(r.Value, &st) == nil
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.HasPrefix(key, "status-connector-"):
		name := strings.TrimPrefix(key, "status-connector-")
		if ok {
			s.connectors[name] = st
		} else {
			delete(s.connectors, name)
		}
	case strings.HasPrefix(key, "status-task-"):
		rest := strings.TrimPrefix(key, "status-task-")
		i := strings.LastIndexByte(rest, '-')
		n, err := strconv.Atoi(rest[i+1:])
		if i <= 0 || err != nil {
			return
		}
		name := rest[:i]
		if !ok {
			delete(s.tasks[name], n)
			return
		}
		if s.tasks[name] == nil {
			s.tasks[name] = map[int]Status{}
		}
		// A task's previous owner may write after its new one: the
		// record of an older generation never replaces a newer one.
		if old, seen := s.tasks[name][n]; seen && old.Generation > st.Generation {
			return
		}
		s.tasks[name][n] = st
	}
}

// Connector returns a connector's status and its tasks' statuses by task number.
func (s *Statuses) Connector(name string) (Status, map[int]Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.connectors[name]
	return st, maps.Clone(s.tasks[name]), ok
}
