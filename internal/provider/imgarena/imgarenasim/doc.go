// Package imgarenasim is a local IMG Arena server: the FastPath / live
// actions WebSockets (/{sport}/fixtures/{id}/actions and /media/...) and
// the Fixtures REST API (GET /{sport}/fixtures), deterministic from a
// seed, with fault injection (dropped, stalled and refused connections,
// duplicated, reordered and lost fixtureSeqNums, broken events, status
// packets, both readings of startPosition). Tests, the demo and the
// benchmarks run the imgarena connector against it; 'sportsconnect
// simulate imgarena' runs it in the foreground (RunSimulator).
//
// It must not import the connector it simulates
// (internal/provider/imgarena) or any of its code: a real server shares
// nothing with our client, so a parser bug can never pass its own
// simulator. It writes its frames with its own code, from the documents.
// Nor may the connector import it: no simulator ships in a production
// import graph (internal/archtest).
package imgarenasim
