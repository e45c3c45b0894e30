// Package sabasim is a local Saba OddsDirect server: POST /login, POST
// /refreshToken and the Server-Sent Events streams GET
// /sports/stream/{version}/GetEvents and GetMarkets (GetSports, GetLeagues
// and GetOutrights answer with keep-alives only), over a deterministic
// event and odds timeline, with fault injection: streams cut mid-frame,
// stalls, revoked tokens, error statuses 97-100, malformed messages, frames
// sent twice, inclusive Last-Event-Id replays and a broken /refreshToken.
// It backs the connector's tests, 'sportsconnect simulate saba', the demo
// and the benchmark.
//
// It stands in for a real server, so it shares no code with the client it
// serves: it must not import package saba (the connector), internal/sse or
// anything else of the connector's side; its wire types, status codes and
// messages are its own, written from the provider's documents. A parser
// bug in the connector can then never pass against its own simulator. Nor
// does it import a Kafka client, a fake broker or the demo: it is an
// http.Handler and nothing more.
package sabasim
