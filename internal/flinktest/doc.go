// Package flinktest runs the Flink SQL example (deploy/examples/flink:
// live_events.sql on a local Flink mini-cluster, built with Maven by
// flink.sh) against the real Kafka broker and schema registry, and checks
// that its per-match results — the running score and events per minute —
// are exactly those computed directly from the live.events records it
// read: the job is stopped midway (stop-with-savepoint and drain) and
// restarted from its consumer group's committed offsets, and nothing may be
// counted twice or missed. It holds tests only.
package flinktest
