// Package imgarenademo runs the imgarena connector against its simulator
// for everything that is not the connector itself: the demo's IMG Arena
// source (DemoSource, a demo.Source), the benchmark simulator → connector
// → broker (Bench), the scale curve of one worker following 1,000 to
// 10,000 live fixtures with the simulator in another process (Scale, its
// report with charts written by ScaleResult.WriteReport), the memory per
// idle connected fixture with the simulator in another process
// (IdleMemory), and the read-back checks
// that decode what a run committed (ReadActions, ReadFixtureRecords), and
// the connector's Driver of the connectortest acceptance suite
// (Acceptance, run by TestAcceptance).
// Its tests hold the connector's end-to-end proofs on a broker: workers on
// kfake and on the real broker, the server variants over a worker
// restart, and the crash test that SIGKILLs the real binary.
//
// It may import the connector (internal/provider/imgarena), its simulator
// (imgarenasim) and the demo, benchmark and test support (internal/demo,
// internal/bench, internal/readback, ...). Nothing but cmd/sportsconnect
// may import it: it is demo and benchmark code, never part of a
// production import graph (internal/archtest).
package imgarenademo
