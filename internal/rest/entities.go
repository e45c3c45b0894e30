package rest

import (
	"github.com/seed-474f70f7/sportsconnect/connector"
)

// The JSON shapes of Kafka Connect's REST API.

// serverInfo is GET /.
type serverInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit"`
	KafkaClusterID string `json:"kafka_cluster_id"`
}

// errorBody is every error response.
type errorBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// messageBody is the answer of the offsets PATCH and DELETE.
type messageBody struct {
	Message string `json:"message"`
}

// taskID names a task.
type taskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

// connectorInfo is GET /connectors/{c} and the answer of create and update.
type connectorInfo struct {
	Name   string           `json:"name"`
	Config connector.Config `json:"config"`
	Tasks  []taskID         `json:"tasks"`
	Type   string           `json:"type"`
}

// taskInfo is one element of GET /connectors/{c}/tasks.
type taskInfo struct {
	ID     taskID           `json:"id"`
	Config connector.Config `json:"config"`
}

// stateInfo is a connector's or task's state.
type stateInfo struct {
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// taskState is a task's state.
type taskState struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// connectorStatus is GET /connectors/{c}/status.
type connectorStatus struct {
	Name      string      `json:"name"`
	Connector stateInfo   `json:"connector"`
	Tasks     []taskState `json:"tasks"`
	Type      string      `json:"type"`
}

// pluginInfo is one element of GET /connector-plugins.
type pluginInfo struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version"`
}

// configKeyInfo is a setting's definition (ConfigKeyInfo).
type configKeyInfo struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         string   `json:"group"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
	Order         int      `json:"order"`
}

// configValueInfo is a setting's value and its problems (ConfigValueInfo).
type configValueInfo struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// configInfo pairs a definition and a value.
type configInfo struct {
	Definition configKeyInfo   `json:"definition"`
	Value      configValueInfo `json:"value"`
}

// configInfos is PUT /connector-plugins/{class}/config/validate.
type configInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []configInfo `json:"configs"`
}

// healthBody is Connect's GET /health (KIP-1017) and our probes.
type healthBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}
