// Package clustertest holds the proofs of distributed mode on the real
// broker: several worker processes of the real binary in one group, killed
// and restarted, with the topics read back read_committed. It has tests
// only; helpers_test.go runs the worker processes.
package clustertest
