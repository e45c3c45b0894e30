// Package roanuz is the Roanuz Sports cricket provider, with two connector
// classes sharing one REST client (auth token with rs-token, subscribe and
// unsubscribe, the Match API, the featured-matches list):
//
//   - roanuz.webhook: an HTTP receiver for the ball-by-ball detail push. The
//     provider POSTs a gzipped match-detail-update; the receiver answers 2xx
//     only once the transaction holding the record committed (5xx if it is not
//     durable within a deadline, so the provider retries; 4xx, plus a
//     dead-letter record, for a body that can never be valid). Repeats are
//     dropped against a bounded set of recent push identities per match,
//     kept in the source offset {"match": key} and committed with the
//     records, so it survives restarts. A body over
//     roanuz.webhook.body.max.bytes cannot be kept whole: reading stops one
//     byte past the limit, it is answered 413, and its dead letter holds its
//     first roanuz.webhook.deadletter.max.bytes bytes with the headers
//     roanuz.body.truncated=true, roanuz.body.declared.bytes (the
//     Content-Length, or "unknown"), roanuz.body.seen.bytes (bytes read
//     before reading stopped) and roanuz.body.kept.bytes. Records carry
//     the receive time as their Kafka timestamp (the provider's ts stays in
//     the value): the broker rolls segments and deletes by record
//     timestamps, and a provider clock, or a replayed timeline, days behind
//     would have them deleted at the next retention check.
//   - roanuz.match: the match stream over Socket.IO (namespace /cricket, path
//     /v5/websocket; Engine.IO v4, falling back to v3 and remembering what
//     worked): subscribe over REST, emit connect_to_match, write every
//     on_match_update whose content differs from the last written one, and
//     every new ball of play.related_balls. Roanuz sends no resume position:
//     on every (re)connect the task re-joins and fetches the match over REST.
//     What the match stream can recover is bounded by the provider: after
//     an outage the REST document gives the latest state (intermediate
//     states are gone) and related_balls the last 12 balls, so balls are
//     complete only if fewer than 12 were bowled while the connector was
//     away. For every ball, use roanuz.webhook (the ball-by-ball push,
//     retried by the provider until acknowledged).
//     A match's written states never go back (match_order.go): the REST
//     answer of a catch-up is written only if no socket update of the
//     match was received after its request was sent (the socket state is
//     then at least as new), and a document of either source is refused
//     when it is behind the last written one in anything that only moves
//     forward (status, toss, squads, innings started and completed, legal
//     balls, latest ball key and latest ball updated_time, each compared
//     only when both documents carry it) or repeats an earlier written
//     state. That progress is kept in the match's committed offset
//     ("progress"), so the rule holds across restarts; the receipt order
//     is only compared within a process, which is enough, as an update
//     received before a crash was either committed (and is then the
//     progress compared with) or lost with the process. Each dropped
//     document is counted and logged ("roanuz stale match document
//     dropped", with its reason: superseded, behind, written before); its
//     balls whose keys were never written, in any version, are still
//     written (the newer document's 12 balls may have left them behind).
//     A correction that takes a ball back (a deleted delivery) is written
//     with the next state that is not behind.
//     The token reaches the Socket.IO server only in connect_to_match, so
//     it is renewed on the open connection: at 80% of its life the task
//     gets a fresh token and emits connect_to_match again for each match
//     (joining a room twice is harmless in Socket.IO); the connection, and
//     every update on it, goes on without a REST catch-up. A server that
//     refuses the re-join, or an expired token, answers on_error, which
//     ends the session and reconnects with the catch-up, as any drop does.
//     Documents wait for Poll in a queue bounded by roanuz.queue.size
//     documents and roanuz.queue.bytes bytes (one document always passes,
//     however large); a connection that finds it full waits.
//     Matches come from roanuz.matches and, with
//     roanuz.matches.discover=featured, from the featured-matches list read
//     every roanuz.matches.discover.interval.ms: a listed match whose status
//     is wanted is followed, one that disappears from the list is released
//     (unsubscribed), as is every match once its completed document is
//     written. Matches are hashed into 20 buckets dealt to the tasks; each
//     bucket's subscribed matches are kept in a roster partition
//     {"roster": b}, written before a subscribe and after an unsubscribe
//     (with a record on <prefix>.roanuz.cricket.subscriptions), so a start
//     unsubscribes what an earlier run subscribed and is no longer
//     configured or listed (see match_roster.go).
//
// Both report through TaskContext.Metrics: the commit lag per match
// (from the provider's event time when plausible, else the receive time),
// and for the stream the reconnects after a drop and FixtureDone when a
// match is released. The stream's stale documents dropped are counted on
// the task and logged: connector.TaskMetrics has no series for them.
//
// # Normalized events (live.go)
//
// Both classes also write <prefix>.live.events and <prefix>.live.matches
// (package internal/live) in the same transaction as their records. The
// provider part of the match id is the class, so the two classes, often
// run side by side for one match, never share a live.matches state:
// roanuz.webhook:cricket:<match key> and roanuz.match:cricket:<match key>.
// Home is team a, away team b; the score is runs per team over its
// innings, with the text "TA 145/6 (20.0), TB 98/3 (12.2)"; the period is
// the innings key (a_1), the clock the ball's "over.ball" (0.1 is the
// innings' first ball); position is the record's sc.source.position
// header. A ball, whichever class writes it, is
//
//	ball                                              kind
//	is_delete, or updated_time after entry_time       CORRECTION (a revised ball)
//	a wicket (wicket, or team_score.is_wicket)        WICKET
//	a four or a six (batsman.is_four, .is_six)        BOUNDARY
//	other runs, extras included (a single, a wide)    POINT
//	a dot ball                                        OTHER
//
// with provider_type "Ball/<repr>" and source_id its ball key.
//
// roanuz.webhook: every push is one event (dead letters none), positioned
// by its identity. The other pushes: Play → MATCH_STATUS (the play status
// changed; the push does not say to what), Result → MATCH_STATUS, status
// completed and finished; Info, Toss, Squad, Review, Reward, Other →
// OTHER; provider_type is match_push_kind, with push_reason when neither
// NewOrLast nor Other ("Ball/1 (Update)"). A push tells what a ball
// added, not the total, nor the teams: its events carry no score and no
// competitors (the match stream's do).
//
// roanuz.match: every ball record is one event; a new ball written with
// its document carries the score right after it (the document's totals
// less its later related balls), a revised one the document's score, one
// of a dropped stale document none (the state keeps its score). A
// match document is a snapshot, an event only when it tells what its
// balls do not, against the last written document (kept in the match's
// offset): the first one of the match, a new status or play_status →
// MATCH_STATUS (finished once completed); an innings completed →
// PERIOD_END; an innings started → PERIOD_START (after its first ball's
// event); the toss, the squads, or a new score no ball event brought
// (a catch-up whose balls were written) → OTHER. provider_type is
// "<status>/<play_status>", source_id the etag. Subscription records
// (following and releasing matches, not the match) are not events.
//
// This package is the connector alone. Its simulator, a local Roanuz
// (REST, Socket.IO server, push sender) sharing no code with it, is
// package roanuzsim; the demo sources, the benchmark and the read-back
// checks, and the tests that run the connector in a worker or SIGKILL the
// real binary, are package roanuzdemo. It must import neither, nor any
// other simulator, fake broker or fake registry, demo or benchmark code:
// its import graph is what ships (internal/archtest checks it).
package roanuz
