// Package securekafka is a test harness for the connector's secured
// connections: a real Apache Kafka 4.1 broker with mutual-TLS, SASL/SCRAM
// and SASL/OAUTHBEARER listeners, an OAuth 2 client-credentials token
// endpoint, and a TLS reverse proxy that puts Basic or Bearer auth in front
// of a schema registry.
//
// Why a second broker: the shared broker that `make test` starts
// (deploy/local/kafka.sh, handed out by testenv.Kafka) listens in PLAINTEXT
// only, and every other test depends on it staying that way. Proving that
// our client really completes a TLS handshake with a client certificate, a
// SCRAM exchange or an OAUTHBEARER exchange needs a broker that refuses
// everything else, so Start runs a private one per call:
//
//	PLAINTEXT  test setup (topics, admin) and inter-broker traffic
//	MTLS       SSL, ssl.client.auth=required, trusting only ca.pem
//	SCRAM      SASL_SSL, SCRAM-SHA-256 and SCRAM-SHA-512 (user created at format)
//	OAUTH      SASL_SSL, OAUTHBEARER checked by Kafka's unsecured validator
//
// The certificates are generated fresh in Go (GenerateCerts) and handed to
// Kafka as PEM files, so no keytool and no keystore passwords are involved.
//
// The cost: one more JVM (heap -Xms128m -Xmx384m, about 370 MB resident
// once serving) and its start, measured at 7-8.5 s on a 2-core machine
// (about 2.2 s of it the storage format, itself a JVM), against well under
// a second for each test that then uses it. Start it once per test binary (one top-level test with subtests, as
// this package's own tests do), not once per test.
//
// Start needs KAFKA_TOOLS_CLASSPATH (Kafka's libs/*, fetched by
// `bash deploy/local/kafka.sh fetch`); without it the test fails, or is
// skipped under -short, like every testenv service.
package securekafka
