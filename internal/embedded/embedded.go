// Package embedded starts the in-process stand-ins the demo and quick tests
// run on: franz-go's kfake Kafka cluster and srfake schema registry. They
// need nothing installed. They are not the proof of Kafka behaviour: the
// tests that claim transactions, fencing, compaction or read_committed run
// against a real broker (see internal/testenv).
package embedded

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// Env is a running in-process Kafka cluster and schema registry.
type Env struct {
	cluster  *kfake.Cluster
	registry *srfake.Registry
}

// Start starts a one-broker kfake cluster and an srfake registry.
func Start() (*Env, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return nil, fmt.Errorf("starting in-process Kafka (kfake): %w", err)
	}
	return &Env{cluster: c, registry: srfake.New()}, nil
}

// Brokers returns the cluster's listen addresses (bootstrap.servers).
func (e *Env) Brokers() []string { return e.cluster.ListenAddrs() }

// RegistryURL returns the registry's base URL (schema.registry.url).
func (e *Env) RegistryURL() string { return e.registry.URL() }

// Cluster returns the in-process Kafka, for tests that inject faults
// through its control functions.
func (e *Env) Cluster() *kfake.Cluster { return e.cluster }

// Close stops both.
func (e *Env) Close() {
	e.registry.Close()
	e.cluster.Close()
}
