// Package roanuzdemo is everything around the Roanuz connectors that is
// not the connectors: the roanuz sources of 'sportsconnect demo' (Webhook,
// the ball-by-ball push with every fault the pusher injects, and Match,
// the match stream over a simulator speaking only Engine.IO v3), the
// webhook benchmark of 'sportsconnect bench' (BenchWebhook), and the
// read-back verification both use, which reads the topics back
// read_committed and checks them against the simulator's timelines. Its
// tests are the ones that run the connectors in a worker: on the embedded
// broker, in the demo, and the crash tests that SIGKILL the real binary
// against the real broker.
//
// It imports the connectors (package roanuz), their simulator (package
// roanuzsim), internal/demo and the Kafka and registry clients. Nothing
// but cmd/sportsconnect may import it, and package roanuz must never
// import it: the connector's import graph holds no simulator, no demo, no
// fake broker.
package roanuzdemo
