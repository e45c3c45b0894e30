// Package securetest proves that a worker reaches secured clusters: a real
// Kafka broker (internal/securekafka) with mutual TLS, SASL/SCRAM over SSL
// and SASL/OAUTHBEARER (client-credentials tokens from a token endpoint the
// test runs) listeners, and the real schema registry behind a TLS proxy
// that demands Basic or Bearer credentials. Each case runs the synthetic
// connector exactly-once through a restart, configured from a worker
// properties file as a user writes it, and checks what a read_committed
// reader sees over the same secured listener. The package holds tests only.
package securetest
