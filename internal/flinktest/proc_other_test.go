//go:build !linux

package flinktest

import "os/exec"

// dieWithTest: only Linux has a parent-death signal; elsewhere the test's
// cleanup kills the runner.
func dieWithTest(*exec.Cmd) {}
