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
// are stored and sent back, never parsed.
package saba
