package cluster

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The config topic (config.storage.topic: compacted, one partition) holds
// Kafka Connect's records, with Connect's keys and JSON values:
//
//	connector-<name>      {"properties": {...}}      null deletes the connector
//	task-<name>-<n>       {"properties": {...}}      task n's config
//	commit-<name>         {"tasks": N}               the task configs above are complete
//	target-state-<name>   {"state": "STARTED"|"PAUSED"|"STOPPED"}
//
// Task configs become visible only with their commit record, so a reader
// never sees half of a new task set.

// Target states.
const (
	TargetStarted = "STARTED"
	TargetPaused  = "PAUSED"
	TargetStopped = "STOPPED"
)

// connectorKey and the other key functions name the config topic's records.
func connectorKey(name string) string   { return "connector-" + name }
func taskKey(name string, n int) string { return "task-" + name + "-" + strconv.Itoa(n) }
func commitKey(name string) string      { return "commit-" + name }
func targetKey(name string) string      { return "target-state-" + name }

// ConnectorRecord returns the config topic record of a connector's config;
// a nil config deletes the connector.
func ConnectorRecord(topic, name string, cfg map[string]string) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(connectorKey(name)), Value: propsValue(cfg)}
}

// TaskRecords returns the records of a connector's new task set: one per
// task, then the commit that makes them visible.
func TaskRecords(topic, name string, tasks []map[string]string) []*kgo.Record {
	out := make([]*kgo.Record, 0, len(tasks)+1)
	for i, t := range tasks {
		out = append(out, &kgo.Record{Topic: topic, Key: []byte(taskKey(name, i)), Value: propsValue(t)})
	}
	v, _ := json.Marshal(map[string]int{"tasks": len(tasks)})
	return append(out, &kgo.Record{Topic: topic, Key: []byte(commitKey(name)), Value: v})
}

// TargetStateRecord returns the record of a connector's target state.
func TargetStateRecord(topic, name, state string) *kgo.Record {
	v, _ := json.Marshal(map[string]string{"state": state})
	return &kgo.Record{Topic: topic, Key: []byte(targetKey(name)), Value: v}
}

func propsValue(cfg map[string]string) []byte {
	if cfg == nil {
		return nil
	}
	v, _ := json.Marshal(map[string]map[string]string{"properties": cfg})
	return v
}

// ConnectorState is one connector as the config topic has it.
type ConnectorState struct {
	Config map[string]string
	Target string              // TargetStarted unless set
	Tasks  []map[string]string // the last committed task set; nil before the first
	// TasksVersion is the offset of the commit record of Tasks (-1 before
	// the first): tasks of different versions never run at once.
	TasksVersion int64
	// MaxTasks is the largest task count the topic shows for the
	// connector: the ids a fencing of its previous task sets must cover.
	MaxTasks int
}

// Configs is the config topic applied: the cluster's connectors. It is
// safe for concurrent use.
type Configs struct {
	mu         sync.Mutex
	connectors map[string]map[string]string
	targets    map[string]string
	pending    map[string]map[int]map[string]string // task configs not committed yet
	tasks      map[string][]map[string]string
	tasksAt    map[string]int64 // offset of each task set's commit record
	maxTasks   map[string]int
	version    int64 // the offset after the last applied record
	onChange   func()
}

// NewConfigs returns an empty view; onChange (may be nil) is called after
// each applied record.
func NewConfigs(onChange func()) *Configs {
	return &Configs{connectors: map[string]map[string]string{}, targets: map[string]string{},
		pending: map[string]map[int]map[string]string{}, tasks: map[string][]map[string]string{},
		tasksAt: map[string]int64{}, maxTasks: map[string]int{}, onChange: onChange}
}

// Apply applies one config topic record; records it does not know are
// ignored (another version may share the topic).
func (c *Configs) Apply(r *kgo.Record) {
	key := string(r.Key)
	c.mu.Lock()
	c.version = max(c.version, r.Offset+1)
	switch {
	case strings.HasPrefix(key, "connector-"):
		name := strings.TrimPrefix(key, "connector-")
		if props, ok := parseProps(r.Value); ok {
			c.connectors[name] = props
		} else if r.Value == nil {
			delete(c.connectors, name)
			delete(c.targets, name)
			delete(c.tasks, name)
			delete(c.pending, name)
			delete(c.tasksAt, name)
		}
	case strings.HasPrefix(key, "target-state-"):
		var v struct{ State string }
		if json.Unmarshal(r.Value, &v) == nil && v.State != "" {
			c.targets[strings.TrimPrefix(key, "target-state-")] = v.State
		}
	case strings.HasPrefix(key, "task-"):
		rest := strings.TrimPrefix(key, "task-")
		i := strings.LastIndexByte(rest, '-')
		n, err := strconv.Atoi(rest[i+1:])
		props, ok := parseProps(r.Value)
		if i > 0 && err == nil && ok {
			name := rest[:i]
			if c.pending[name] == nil {
				c.pending[name] = map[int]map[string]string{}
			}
			c.pending[name][n] = props
			c.maxTasks[name] = max(c.maxTasks[name], n+1)
		}
	case strings.HasPrefix(key, "commit-"):
		name := strings.TrimPrefix(key, "commit-")
		var v struct{ Tasks int }
		if json.Unmarshal(r.Value, &v) == nil {
			set := make([]map[string]string, v.Tasks)
			complete := true
			for i := range set {
				if set[i] = c.pending[name][i]; set[i] == nil {
					complete = false
				}
			}
			if complete {
				c.tasks[name] = set
				c.tasksAt[name] = r.Offset
				delete(c.pending, name)
			}
		}
	}
	cb := c.onChange
	c.mu.Unlock()
	if cb != nil {
		cb()
	}
}

func parseProps(v []byte) (map[string]string, bool) {
	if v == nil {
		return nil, false
	}
	var w struct {
		Properties map[string]string `json:"properties"`
	}
	if err := json.Unmarshal(v, &w); err != nil || w.Properties == nil {
		return nil, false
	}
	return w.Properties, true
}

// Snapshot returns every connector, by name, and the offset after the last
// record applied (a version that only grows, the same on every worker).
func (c *Configs) Snapshot() (map[string]ConnectorState, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]ConnectorState, len(c.connectors))
	for name, cfg := range c.connectors {
		st := ConnectorState{Config: maps.Clone(cfg), Target: TargetStarted, TasksVersion: -1, MaxTasks: c.maxTasks[name]}
		if at, ok := c.tasksAt[name]; ok {
			st.TasksVersion = at
		}
		if t, ok := c.targets[name]; ok {
			st.Target = t
		}
		for _, tc := range c.tasks[name] {
			st.Tasks = append(st.Tasks, maps.Clone(tc))
		}
		out[name] = st
	}
	return out, c.version
}

// Names returns the connectors' names, sorted.
func (c *Configs) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.connectors))
}

// TaskID names task n of connector, as assignments carry it.
func TaskID(connector string, n int) string { return fmt.Sprintf("%s/%d", connector, n) }
