// Package roanuz is the Roanuz Sports cricket provider, with two connector
// classes sharing one REST client (auth token with rs-token, subscribe and
// unsubscribe, the Match API):
//
//   - roanuz.webhook: an HTTP receiver for the ball-by-ball detail push. The
//     provider POSTs a gzipped match-detail-update; the receiver answers 2xx
//     only once the transaction holding the record committed (5xx if it is not
//     durable within a deadline, so the provider retries; 4xx, plus a
//     dead-letter record, for a body that can never be valid). Repeats are
//     dropped against a bounded set of recent push identities per match,
//     kept in the source offset {"match": key} and committed with the
//     records, so it survives restarts.
//   - roanuz.match: the match stream over Socket.IO (namespace /cricket, path
//     /v5/websocket): subscribe over REST, emit connect_to_match, write every
//     on_match_update whose content differs from the last written one, and
//     every new ball of play.related_balls. Roanuz sends no resume position: on
//     every (re)connect the task re-joins and fetches the match over REST.
//
// Simulator (simulator.go, sim_*.go) is a local Roanuz: REST auth with
// expiring tokens, subscriptions, the Match API, a Socket.IO server and a
// webhook pusher, deterministic from a seed, with fault injection.
package roanuz
