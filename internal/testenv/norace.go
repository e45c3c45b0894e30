//go:build !race

package testenv

// RaceEnabled is true when the tests run with -race: the race detector
// slows the test process (simulators, senders, checkers) several times, so
// tests that time a whole run give it longer.
const RaceEnabled = false
