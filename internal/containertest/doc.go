// Package containertest proves the container image that
// deploy/container/build.sh (make image) builds: it makes sure podman is
// installed (deploy/container/ensure-podman.sh, which installs Debian's
// podman and runc when missing), builds the image from this checkout, checks
// what is in it (the static binary, CA bundle, passwd/group, licence files,
// nothing else: no shell), runs `sportsconnect demo` in it, and runs a
// standalone worker from it against the real Kafka broker and registry
// (internal/testenv) whose output must read back exactly once and which must
// exit 0 on SIGTERM. It logs the image's size.
//
// Like every test on the real broker it fails, never skips, when podman
// cannot be installed or the broker is missing; only under -short with no
// broker configured is it skipped, as internal/testenv skips the other
// broker tests. The package has no code of its own: only this file and its
// tests.
package containertest
