// Package licensetest holds the tests that keep the project's licensing
// shippable: LICENSE at the repository root is the Apache License 2.0, word
// for word, and deploy/THIRD_PARTY_NOTICES.md lists every module linked
// into cmd/sportsconnect (as go list -deps shows it) with its licence, and
// reproduces the licence and NOTICE texts of every linked package that
// must travel with the binary. A dependency added, removed or upgraded
// without the notices following fails here.
//
// The package has no code of its own: only this file and its tests.
package licensetest
