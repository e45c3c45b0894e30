// Package e2e holds the proofs of the connector's promises against a real
// Apache Kafka broker and a real schema registry (started by make test, see
// internal/testenv): exactly-once across SIGKILLs of the real binary,
// fencing of a zombie worker, the Connect format of the offsets topic as
// Kafka's own tools show it, and values any Confluent-format reader decodes.
// These tests fail, never skip, when the broker is missing (except under
// -short).
package e2e
