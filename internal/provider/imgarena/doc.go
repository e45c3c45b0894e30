// Package imgarena is the IMG Arena provider (connector.class: imgarena): it
// holds one FastPath / live-actions WebSocket per fixture
// (/{sport}/fixtures/{id}/actions, or /media/... for the media feed),
// authenticates with the first frame {"authToken": ...}, and turns every
// action packet into an Avro record keyed by fixture id.
//
// # Resume
//
// The source partition is {"sport","fixture"} and the offset
// {"position": events written, "seq": last fixtureSeqNum}. Every connection
// asks for startPosition = position, so the server skips exactly the events
// already handed on; within one connection event number position is
// startPosition + fixtureSeqNum. A gap, duplicate or reordering of
// fixtureSeqNum inside a connection is counted, logged and repaired by
// reconnecting from the last position handed on. Any packet that is
// neither an action, a status nor an error (authorised replies, heartbeats
// of any shape) only proves the connection is alive; silence longer than
// imgarena.silence.timeout.ms means dead, and the fixture reconnects with
// exponential backoff and jitter.
//
// # Statuses and dead letters, exactly once
//
// ConnectionStateChanged status packets carry no sequence number and do not
// count toward the position; they go to a separate status topic. A
// malformed packet whose fixtureSeqNum can still be read is an event (it
// advances the position); one without is not. Neither kind can advance the
// position, yet both sit in the stream between two events, so a connection
// resumed at the earlier event may receive them again. The offset therefore
// also holds "since": a key (FNV-64a of the packet's bytes) of each status
// and seq-less dead-letter packet handed on after the position, committed
// in the same transaction as the packet's record. A resumed connection
// skips packets whose key is in since until the first event arrives; the
// first event clears since. Limits, all on the server's side of the wire,
// which the documents leave open:
//   - a server that sends a replayed status with different bytes (a new
//     timestamp, other field order) defeats the key: that status is
//     written twice (at least once, never lost);
//   - a server that never sends a status again to a resumed connection
//     loses, after a crash, a status that was received but not yet
//     committed: nothing on the wire can bring it back (a reconnect within
//     a running task loses nothing, the record is already queued);
//   - since keeps the last 64 such packets after one event; older ones
//     replayed after more than 64 would be written again;
//   - two byte-identical packets before the first event of a resumed
//     connection count as one.
//
// The simulator exercises both server answers (SimStatusOnce) and breaks
// connections between a status and its event (SimDropAfterStatus).
//
// # Fixtures
//
// Fixtures come from imgarena.fixtures, or from the Fixtures REST API
// (live=true&subscribed=true) every imgarena.fixtures.poll.interval.ms,
// split over tasks by hash. A fixture is followed until a packet says
// finished: true; then its connection is closed, its state released, and
// the offset records finished so a restart does not reopen it. A fixture
// that drops off the live list is still followed until finished: the list
// says what may be subscribed, not that the feed is complete (after a
// suspension the scorer's locally collected actions still arrive). Limit:
// after a restart in discovery mode only listed fixtures are followed
// again, so an unfinished fixture that left the list before the restart is
// not resumed.
//
// # Wrong token
//
// A refused token (a refusal packet, a 401/403, a policy-violation close)
// is ErrUnauthorized: each attempt logs one error line naming the fixture
// and imgarena.auth.token as the setting to fix, with the server's reason,
// and retries with backoff. The token is never logged; server text that
// echoes it is redacted.
//
// # Simulator and benchmarks
//
// Simulator (simulator.go, sim_*.go) is a local server of the same
// protocol, deterministic from a seed, with fault injection; tests, the
// demo and the benchmarks run against it. Bench measures simulator →
// connector (connector.Worker, exactly-once, interval transactions) →
// broker: events/s and send-to-visibility latency for a read_committed
// consumer, timed from the instant the simulator writes each packet.
// IdleMemory measures the connector's memory per idle connected fixture
// with the simulator in another process.
package imgarena
