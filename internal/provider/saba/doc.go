// Package saba is the Saba OddsDirect source (connector.class: saba): it
// holds one Server-Sent Events stream per configured endpoint and query
// (GET /sports/stream/{version}/GetEvents or GetMarkets), turns every
// add, change and remove of the stream's payload into one Avro record, and
// resumes by the SSE id (sent back as Last-Event-Id).
//
// # Records
//
// Events go to <topic.prefix>.saba.events, markets to
// <topic.prefix>.saba.markets, both keyed by eventId so all of a match's
// records share one Kafka partition and stay in order. Each record carries
// op (add, change, remove, reset), the SSE status (1 InitialData, 0 update,
// 3 Reset), the SSE id of the message it came from, typed fields where the
// provider documents them, and raw: the item exactly as it appeared in the
// provider's message (the JSON object of an add or change, the id token of a
// remove), byte for byte.
//
// Every snapshot (status 1 InitialData, status 3 Reset) is preceded, on
// both topics, by one record with op=reset, key "" and the snapshot's SSE
// id: a downstream table rebuilds by dropping every key whose latest record
// predates that marker and is not in the snapshot that follows it.
//
// Removes: a remove is written as a record with op=remove (never only as a
// tombstone, so changelog readers see it). With saba.tombstones=true an
// event remove is followed by a null-value tombstone keyed by eventId on the
// events topic, so a compacted events topic forgets the event. Markets never
// get tombstones: their key (eventId) is shared by all of the event's
// markets, so a tombstone would erase its siblings. A market remove names
// only the marketId; its eventId (the key) is taken from what this task has
// seen of the market (snapshot, add, change). After a restart a remove for a
// market not seen since then is keyed "market:<marketId>" with a null
// eventId.
//
// A message that is not the documented JSON, or an item without a usable
// id, becomes a dead letter (errors.tolerance=all routes it to
// errors.deadletterqueue.topic.name) carrying the raw bytes, the standard
// headers and sc.saba.stream naming its stream; its position still advances.
//
// # Connections
//
// Each stream logs in with POST /login (vendor_id, vendor_member_id), keeps
// the JWT fresh with /refreshToken ahead of its expiry (expires_in or the
// JWT exp claim) and after a 401, and logs in again when refreshing fails
// (the refresh request body is not documented; the token is sent as
// Bearer). A stream silent for stream.silence.timeout.ms (keep-alives count
// as traffic) is dropped and reopened with Last-Event-Id; so is one that
// ends or breaks. Reconnects back off exponentially with jitter, one log
// line each. Status 97 and 98 (and a login refused with 400/401/403) fail
// the task at once as connector.Permanent with the server's message;
// 99 and 100 are retried.
//
// Memory: the network goroutines hand whole messages to Poll through a
// queue bounded by saba.queue.messages per stream and saba.queue.bytes per
// task (one message always passes, so a snapshot larger than the budget
// still flows); saba.max.event.bytes caps one message, which also caps
// what a compressed body can inflate to.
//
// # Exactly once
//
// All records made from one SSE message carry the offset
// {"last_event_id": <id>} and are returned by one Poll, never split, so a
// transaction holds all of a message or none of it. SSE ids are opaque: they
// are stored and sent back, never parsed, and only compared for equality: a
// message repeating the id of the one before it (a server replaying the
// Last-Event-Id message it was sent, or writing a frame twice) is skipped,
// unless it is a snapshot.
//
// # Metrics
//
// Each connection a stream opens after its first counts one reconnect
// (sportsconnect_provider_reconnects_total). Every committed message adds
// one observation to sportsconnect_provider_commit_lag_seconds with the
// stream (endpoint and query) as its fixture label: Saba messages carry no
// event time, so the lag runs from the instant the whole message was read
// to its commit.
//
// # Normalized events (live.go)
//
// The records of GetEvents streams are also written as normalized events
// on <prefix>.live.events (package internal/live), in the same transaction,
// keyed saba:sport-<sportType>:<eventId> (the documents number sports;
// their names depend on the language); each match's state (eventStatus,
// live score, teams, finished) goes to the compacted <prefix>.live.matches.
// provider_type is the payload's own name, with the item's status and a
// snapshot's message status: "events.change/closed", "markets.add/running
// (InitialData)"; position is the SSE id, source_id the eventId or the
// marketId; event_time is empty (Saba messages carry none).
//
//	| record of a GetEvents stream                        | kind                                     |
//	|-----------------------------------------------------|------------------------------------------|
//	| events.add (status 0 update, 1 InitialData)         | MATCH_STATUS                             |
//	| events.add in a status 3 Reset                      | CORRECTION                               |
//	| events.change naming eventStatus                    | MATCH_STATUS (closed, deleted: finished) |
//	| events.change naming a live score, no eventStatus   | SCORE_CHANGE                             |
//	| events.change naming neither                        | OTHER                                    |
//	| events.remove                                       | MATCH_STATUS (finished)                  |
//	| markets.add, running or no marketStatus             | ODDS_CHANGE                              |
//	| markets.add, suspend / closePrice / closed          | MARKET_SUSPENDED                         |
//	| markets.add in a status 3 Reset                     | CORRECTION                               |
//	| markets.change naming suspend / closePrice / closed | MARKET_SUSPENDED                         |
//	| markets.change naming running                       | MARKET_REOPENED                          |
//	| markets.change with selections, no marketStatus     | ODDS_CHANGE                              |
//	| markets.change naming neither, or another status    | OTHER                                    |
//	| markets.remove, reset markers                       | not mapped                               |
//	| any record of a GetMarkets stream                   | not mapped                               |
//
// Why so:
//   - Changes name only what changed (EventChange, MarketChange), so a
//     marketStatus in a change is a transition, and the kind of a record
//     is a function of the record alone: the normalized stream is the
//     same whatever restarts happened.
//   - A status 3 Reset is the whole state again after updates were lost:
//     its adds are CORRECTION (the state restated: take it as the truth,
//     it may differ from what was known), never a new ODDS_CHANGE or
//     MATCH_STATUS for an unchanged market or event. A status 1
//     InitialData is the stream's first view: its adds are what they say.
//   - Only GetEvents streams: an event's sportType, status and score come
//     only with its events; a GetMarkets stream repeats the markets a
//     GetEvents stream includes (saba.include.markets), and two tasks
//     writing one match's state would interleave their counts. A market
//     remove names only the marketId (its eventId is known only from what
//     the task saw since it started), so it is not mapped either.
//   - An EventChange, an event remove and a market carry no sportType: the
//     task knows an event's sport from its add or, after a restart, from
//     the key of its restored live.matches state. A record of an event
//     whose sport the task does not know (live.events.enabled turned on
//     for a stream already running) is not mapped until a snapshot adds
//     the event again.
//
// Known limits: the GetEvents streams of one connector should not overlap
// (a match in two streams gets each change twice, and with the streams in
// two tasks, two writers of its live.matches state). An event removed
// while its stream was away (absent from the status 3 snapshot the stream
// comes back to) gets no event saying so: its live.matches state stays as
// last seen, not finished.
//
// # Packages
//
// This package is the connector alone, what a production binary runs. Its
// simulator, a local OddsDirect server sharing no code with this client, is
// package sabasim; the demo source, the benchmark and the read-back checks
// against the simulator's timeline are package sabademo. This package must
// import neither, nor internal/demo, internal/bench or a fake broker.
//
// # Configuration
//
// The connector's own settings (Spec is the source of truth; the common
// ones such as topic.prefix, tasks.max and errors.tolerance are the
// worker's):
//
//	saba.base.url                      required; base URL of the OddsDirect API
//	saba.vendor.id                     required, a secret (password type; use ${env:NAME}); vendor_id of POST /login
//	saba.vendor.member.id              required; vendor_member_id of POST /login
//	saba.streams                       required; streams separated by ';' or newlines, each
//	                                   'ENDPOINT [OData query]', e.g. 'GetEvents $filter=sporttype eq 1; GetMarkets'
//	saba.api.version                   v1; the {version} path segment
//	saba.include.markets               "" (server default); includeMarkets of GetEvents: none or an OData filter
//	saba.language                      en; language query parameter
//	saba.tombstones                    false; a tombstone after each event remove (see Records)
//	saba.accept.encoding               "br, gzip, deflate"; Accept-Encoding of stream requests
//	stream.silence.timeout.ms          20000; reconnect after this long without a byte (keep-alives count)
//	saba.token.refresh.margin.ms       60000; refresh the token this long before it expires
//	saba.request.timeout.ms            15000; timeout of /login and /refreshToken
//	saba.reconnect.backoff.initial.ms  250; first reconnect delay, doubled per failure, with jitter
//	saba.reconnect.backoff.max.ms      30000; longest reconnect delay
//	saba.max.event.bytes               67108864; largest SSE message (a snapshot is one message)
//	saba.queue.messages                4; messages buffered per stream between the network and Poll
//	saba.queue.bytes                   33554432; bytes buffered per task (one message always passes)
//	saba.poll.max.records              5000; Poll takes no further message past this many records
//	live.events.enabled                true; also write normalized events and match states (Normalized events)
//	live.events.topic                  live.events; the normalized events topic, after topic.prefix
//	live.matches.topic                 live.matches; the compacted match states topic, after topic.prefix
//
// Operating it:
//   - A record with op=reset (key "", on each topic the stream feeds) opens
//     every snapshot: status 1 on a first connection, status 3 when the
//     server no longer holds the Last-Event-Id it was sent (after a long
//     stop, or when an offset was reset). Rebuild a table from it, as
//     described under Records.
//   - Tombstones are off by default; turn saba.tombstones on only when the
//     events topic is compacted and consumers treat a null value as a
//     delete.
//   - To start the streams afresh, reset the connector's offsets
//     (sportsconnect offsets reset CONNECTOR) while it is stopped: the next
//     connections send no Last-Event-Id and get status 1.
//   - Status 97 (Accept-Encoding) and 98 (OData query) fail the task with
//     the server's message: fix saba.accept.encoding or saba.streams and
//     restart the task.
package saba
