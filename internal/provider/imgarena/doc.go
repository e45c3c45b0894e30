// Package imgarena is the IMG Arena provider (connector.class: imgarena): it
// holds one FastPath / live-actions WebSocket per fixture
// (/{sport}/fixtures/{id}/actions, or /media/... for the media feed),
// authenticates with the first frame {"authToken": ...}, and turns every
// action packet into an Avro record keyed by fixture id.
//
// # Resume
//
// The source partition is {"sport","fixture"}. The offset holds
// "position" (events written), "seq" (that event's fixtureSeqNum), "event"
// and "actionId" (what identifies that last event), and "since" and
// "before" (below). Every connection asks for startPosition = position.
//
// The documents read startPosition two ways: "how many events to skip",
// then "5 would start sending events from the 5th event". The connector
// takes the first (skip = position, so within one connection event number
// position is startPosition + fixtureSeqNum) and guards against the
// second: a resumed connection whose first event repeats the last event
// written drops it and numbers its events startPosition - 1 +
// fixtureSeqNum. The first resume of each kind in a task logs which
// reading the server follows (TaskStats.Repeats counts the drops). An
// event repeats the last one when its actionId and its "event" key match:
// FNV-64a of fixtureAction's fields other than fixtureSeqNum, and of
// finished (for a broken event with a readable fixtureSeqNum: of its
// bytes without that number). The actionId alone would not do: an update
// of an action (Pending, then Confirmed) keeps its actionId and is often
// the very next event. Limit: a server that sends the repeated event with
// other action fields defeats the key; that event is then written twice
// and the positions after it run one ahead of the server's count (nothing
// is lost, and later resumes, asking for that count, repeat nothing).
//
// A gap, duplicate or reordering of fixtureSeqNum inside a connection is
// counted, logged and repaired by reconnecting from the last position
// handed on: a gap is never accepted on the connection that shows it.
// Silence longer than imgarena.silence.timeout.ms means dead, and the
// fixture reconnects with exponential backoff and jitter.
//
// # Heartbeats and broken packets
//
// Any packet that is neither an action, a status nor an error only proves
// the connection is alive: authorised replies and heartbeats of any shape,
// JSON of another shape, an empty frame, text or bytes that are not JSON,
// a broken object naming no action or status key. It is never a dead
// letter and never touches the sequence.
//
// A message that does not decode and names fixtureAction or fixtureSeqNum
// is a broken action; one that names eventElementType a broken status.
// Both go to the dead-letter path with their raw bytes. A broken action
// whose fixtureSeqNum can still be read is an event: it is checked like
// any other and takes its position. A broken packet without a readable
// fixtureSeqNum is not an event: it does not advance the position, and on
// the connection where it arrives it never excuses a gap. Frames that may
// have been events would otherwise hide a real missing event: a corrupt
// frame followed by a lost one is repaired by the reconnect, where the
// lost event comes. Yet if such a frame was the event (the server's list
// holds it broken), every connection shows the same gap. So when a
// connection that resumed before the gap gets the same frames (by bytes)
// in the same place, and the gap is exactly as long as they are, those
// frames take the gap's positions: the server has said twice that they
// are those events, and they were dead-lettered already. A broken event
// costs one reconnect (two after a restart: the first sighting is held in
// memory). Limit: a broken event cut off before it names fixtureAction or
// fixtureSeqNum cannot be told from a heartbeat; the gap it leaves is
// repaired by reconnecting, and a server that always sends that event so
// stops the fixture there, logged as a sequence gap on every reconnect,
// never skipped.
//
// # Statuses and dead letters, exactly once
//
// ConnectionStateChanged status packets carry no sequence number and do
// not count toward the position; they go to a separate status topic. They
// and seq-less dead letters cannot advance the position, yet sit in the
// stream between two events, so a connection resumed at the earlier event
// may receive them again. The offset therefore also holds "since": a key
// (FNV-64a of the packet's bytes) of each status and seq-less dead-letter
// packet handed on after the position, committed in the same transaction
// as the packet's record; and "before": since as it was when the last
// event was handed on, which a server reading startPosition as 1-based
// sends again ahead of the event it repeats. A resumed connection skips
// packets whose key is in since or before until it hands on a new event.
// Limits, all on the server's side of the wire, which the documents leave
// open:
//   - a server that sends a replayed status with different bytes (a new
//     timestamp, other field order) defeats the key: that status is
//     written twice (at least once, never lost);
//   - a server that never sends a status again to a resumed connection
//     loses, after a crash, a status that was received but not yet
//     committed: nothing on the wire can bring it back (a reconnect within
//     a running task loses nothing, the record is already queued);
//   - since keeps the last 64 such packets after one event; older ones
//     replayed after more than 64 would be written again;
//   - a packet byte-identical to one in since or before, arriving before
//     the first new event of a resumed connection, counts as that one.
//
// The simulator (imgarenasim) exercises each answer the documents leave
// open: statuses sent once or replayed (SimStatusOnce), connections broken
// between a status and its event (SimDropAfterStatus), heartbeat shapes
// that are not JSON or empty (SimHeartbeatStyle), broken events with and
// without a readable fixtureSeqNum (SimMalformed, SimMalformedNoSeq),
// frames that are not events in a gap (SimExtraFrames with SimSeqGap), and
// a server reading startPosition as 1-based (SimStartPositionOneBased).
//
// # Memory
//
// Records wait between the connections and Poll in one queue per task,
// bounded by count (imgarena.queue.size) and by the bytes of their raw
// frames (imgarena.queue.bytes; one record always passes, however large).
// A fixture waiting for room holds its one frame and stops reading its
// socket, so a task holds at most imgarena.queue.bytes plus one frame
// (at most imgarena.frame.max.bytes) per fixture.
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
// # Normalized events (live.go)
//
// Every action record is also written as a normalized event on
// <prefix>.live.events (package internal/live), in the same transaction,
// keyed imgarena:<sport>:<fixtureId>; status records (the connection's
// state, not the match's) are not. The match id's state (score from
// fixtureSummary, period, clock, status) goes to <prefix>.live.matches.
//
//	fixtureActionType (sendType)              kind
//	KickOff, PeriodStart                      PERIOD_START
//	HalfTime, PeriodEnd                       PERIOD_END
//	FixtureEnd                                MATCH_STATUS (and finished)
//	Goal (any sub type, Penalty included)     GOAL
//	Card, YellowCard, RedCard                 CARD
//	Penalty, PenaltyAwarded                   PENALTY
//	Substitution                              SUBSTITUTION
//	ScoreAdjustment                           SCORE_CHANGE
//	any type with sendType Pending            OTHER (not yet a fact; its Confirmed follows with the same actionId)
//	any type with another sendType (amended)  CORRECTION
//	Shot, Corner, Foul, DangerousAttack,
//	FreeKick and anything else                OTHER
//
// provider_type keeps "<type>/<sub type>" and a sendType other than
// Confirmed, e.g. "Goal/Penalty", "Card/Yellow (Pending)".
//
// # What this package holds, and what it must not import
//
// This package is the connector a user runs and nothing else: config,
// client, packet parsing, sequence checks, queue, task, schema, errors.
// The simulator, a local server of the same protocol, is
// internal/provider/imgarena/imgarenasim; it shares no code with this
// package, so a parser bug cannot pass its own simulator. The demo source,
// the benchmark, the idle-memory measurement and the read-back checks are
// internal/provider/imgarena/imgarenademo. Neither may be imported here,
// nor may a fake broker, a fake registry or any demo or benchmark code:
// internal/archtest fails when go list -deps of this package holds one.
package imgarena
