// Package connectortest is the acceptance suite every provider runs: a
// provider writes a Driver (its simulator, the connector config that reads
// it, and what the topic must hold once the run is complete) and gets,
// against the real broker and registry:
//
//   - ExactlyOnceAcrossRestarts: a graceful stop and an abrupt one (the
//     open transaction left to be fenced) in the middle of the run, and
//     every record of the run exactly once afterwards;
//   - Fencing: a second worker takes the connector over; the first one's
//     tasks fail as fenced and write nothing more; exactly once;
//   - DeadLetters (a Source that implements BadInput): undecodable messages
//     reach the dead-letter topic with Kafka Connect's error headers, and
//     nothing else is lost;
//   - StopWithinShutdownTimeout: a worker under load stops within its
//     shutdown timeout.
//
// It is modelled on Conduit's sdk.AcceptanceTest: the suite owns the
// checks, the driver only knows its provider. Optional capabilities are
// optional interfaces, as franz-go's hooks are.
package connectortest

import (
	"context"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Driver is what a provider writes to run the suite. Keep it in a _test.go
// file of the provider's demo package: the production binary must not link
// the testing package.
type Driver interface {
	// Plugin is the connector class under test.
	Plugin() connector.Plugin
	// Start starts a fresh simulator for one test (stopped by t.Cleanup)
	// and returns the source it feeds.
	Start(t *testing.T) Source
}

// Source is one simulator run and the connector config that reads it.
type Source interface {
	// Config is the provider's part of the connector config (addresses,
	// credentials, what to follow, tasks.max if more than one). The suite
	// sets name, connector.class, topic.prefix, errors.tolerance=all with
	// a dead-letter topic, and the transaction boundary.
	Config() connector.Config
	// Topic is the data topic whose records the suite checks.
	Topic(prefix string) string
	// Want is the identity of every record the topic must hold, exactly
	// once, when the run is complete.
	Want() []string
	// Identity names one record of the topic (unique per source event).
	Identity(r *kgo.Record) (string, error)
}

// BadInput is a Source whose simulator sends messages the connector cannot
// decode.
type BadInput interface {
	// BadMessages is how many undecodable messages the run sends, once
	// each (each must become exactly one dead letter).
	BadMessages() int
}

// PositionIdentity is the usual Identity: the record key and the source
// position header (connector.HeaderPosition) the runtime's providers set.
func PositionIdentity(r *kgo.Record) (string, error) {
	for _, h := range r.Headers {
		if h.Key == connector.HeaderPosition {
			return string(r.Key) + "@" + string(h.Value), nil
		}
	}
	return "", errNoPosition(r)
}

// Run runs the whole suite against d.
func Run(t *testing.T, d Driver) {
	t.Run("ExactlyOnceAcrossRestarts", func(t *testing.T) { ExactlyOnceAcrossRestarts(t, d) })
	t.Run("Fencing", func(t *testing.T) { Fencing(t, d) })
	t.Run("DeadLetters", func(t *testing.T) { DeadLetters(t, d) })
	t.Run("StopWithinShutdownTimeout", func(t *testing.T) { StopWithinShutdownTimeout(t, d) })
}

// ctxFor returns a context for one test, ended with it.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
