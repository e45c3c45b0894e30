// Package examplestest checks that the configs a newcomer starts from are
// valid as written: every example under deploy/examples (a worker.properties
// and, for a provider, its connector.json) and every config snippet of
// README.md (its ```properties blocks are worker configs, its ```json
// blocks connector configs) pass `sportsconnect validate`, run as the real
// binary. The environment variables the examples reference are set to
// dummy values, and the files they name (a CA certificate, a secrets
// file) are stood in for by test files of the right kind. It holds tests
// only.
package examplestest
