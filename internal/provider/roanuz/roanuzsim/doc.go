// Package roanuzsim is a local Roanuz Sports v5 for cricket: the REST API
// (POST /v5/core/{project}/auth/ with expiring tokens, match subscribe and
// unsubscribe for web_socket, detail-updates-subscribe and -unsubscribe for
// web_hook, the Match API and featured-matches-2), a Socket.IO server for
// the match stream (namespace /cricket, path /v5/websocket) speaking
// Engine.IO v4, v3 like socket.io 2.x, or both, and a Pusher that posts the
// ball-by-ball push to a webhook as Roanuz does (gzipped, retried until a
// 2xx). Every match follows a deterministic timeline from a seed, and the
// faults are injected on purpose: dropped connections, malformed updates,
// each payload variant of on_match_update (text, gzipped binary
// attachment, gzipped base64), late or stale REST answers, joins without
// state, Socket.IO connections refused beyond a per-project limit (the
// most ever open at once is counted), duplicate, reordered, corrupt,
// oversized and gzip-bomb pushes, wrong secrets and lost
// acknowledgements. It backs the connector's tests, 'sportsconnect
// simulate roanuz', the demo and the benchmark.
//
// It stands in for a real server, so it shares no code with the client it
// serves: it must not import package roanuz (the connector),
// internal/socketio (the connector's Socket.IO client) or anything else of
// the connector's side. Its Socket.IO/Engine.IO server, its wire types and
// its constants are its own, written from the provider's documents, so a
// parser bug in the connector can never pass against its own simulator.
// Nor does it import a Kafka client, a fake broker or the demo: it is an
// HTTP server and a push sender, nothing more.
package roanuzsim
