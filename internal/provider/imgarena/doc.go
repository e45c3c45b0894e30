// Package imgarena is the IMG Arena provider (connector.class: imgarena): it
// holds one FastPath / live-actions WebSocket per fixture
// (/{sport}/fixtures/{id}/actions, or /media/... for the media feed),
// authenticates with the first frame {"authToken": ...}, and turns every
// action packet into an Avro record keyed by fixture id.
//
// Resume: the source partition is {"sport","fixture"} and the offset
// {"position": events written, "seq": last fixtureSeqNum}. Every connection
// asks for startPosition = position, so the server skips exactly the events
// already handed on; within one connection event number position is
// startPosition + fixtureSeqNum. A gap, duplicate or reordering of
// fixtureSeqNum inside a connection is counted, logged and repaired by
// reconnecting from the last position handed on. ConnectionStateChanged
// status packets carry no sequence number, do not count toward the
// position, and go to a separate status topic. Any packet that is neither an
// action, a status nor an error (authorised replies, heartbeats of any
// shape) only proves the connection is alive; silence longer than
// imgarena.silence.timeout.ms means dead, and the fixture reconnects with
// exponential backoff and jitter.
//
// Simulator (simulator.go, sim_*.go) is a local server of the same
// protocol, deterministic from a seed, with fault injection; tests, the
// demo and the benchmarks run against it.
package imgarena
