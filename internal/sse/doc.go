// Package sse is a Server-Sent Events (text/event-stream) client.
//
// It has three layers that can be used independently:
//
//   - [Reader] parses an event stream exactly as described by the WHATWG
//     HTML Living Standard, section "Event stream interpretation"
//     (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
//   - [Decompress] undoes an HTTP Content-Encoding (br, gzip, deflate) while
//     bytes arrive, so events are delivered as soon as the server flushes them.
//   - [Connect] issues the HTTP request with the right headers (Accept,
//     Cache-Control, Accept-Encoding, Last-Event-ID), validates the response
//     and returns a [Stream] combining the two layers above.
//
// The package does not reconnect by itself and has no timers: reconnection
// policy and stall detection belong to the caller. To detect a silent stream,
// register [WithActivityFunc] (called whenever bytes arrive, including
// keep-alive comments) or [WithCommentFunc], reset a timer from it, and call
// [Stream.Close] when the timer fires; Close unblocks a pending [Stream.Next].
// On reconnection pass [Stream.LastEventID] to the next [Connect] call and
// wait [Stream.Retry] if the server set one.
//
// Deliberate interpretations of the specification are documented on the
// identifiers they affect: bytes are not UTF-8 validated ([Event.Data] is
// the raw bytes), the reconnection time is not defaulted ([Reader.Retry]),
// and the last event ID buffer may be seeded ([WithLastEventID]).
package sse
