// Package sabademo is everything around the Saba connector that is not the
// connector: the saba source of 'sportsconnect demo' (Demo), the
// end-to-end benchmark of 'sportsconnect bench' (Bench), and the read-back
// verification both use, which reads the topics back read_committed and
// checks every stream against the simulator's timeline (CheckTimeline,
// shared with the connector's tests) and the normalized live.events and
// live.matches against the records and the timeline (VerifyLive,
// CheckLive), and the saba Driver of the
// connectortest acceptance suite (Acceptance). Its tests are the ones that
// run the connector in a worker: on the embedded broker, on the real
// broker, the crash test that SIGKILLs the real binary, and the acceptance
// suite.
//
// It imports the connector (package saba), its simulator (package
// sabasim), internal/demo, internal/connectortest (for Acceptance) and the
// Kafka and registry clients. Nothing but cmd/sportsconnect may import it,
// and package saba must never import it: the connector's import graph
// holds no simulator, no demo, no fake broker.
package sabademo
