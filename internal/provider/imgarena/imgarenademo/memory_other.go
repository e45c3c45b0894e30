//go:build !linux

package imgarenademo

import "os/exec"

// raiseFileLimit leaves the descriptor limit alone where it cannot be read
// the Linux way, and reports it unknown.
func raiseFileLimit(uint64) (uint64, bool, error) { return 0, false, nil }

// residentBytes is unknown without /proc/self/status.
func residentBytes() int64 { return 0 }

// residentBytesOf is unknown without /proc.
func residentBytesOf(string) int64 { return 0 }

// peakBytesOf is unknown without /proc.
func peakBytesOf(string) int64 { return 0 }

// childAttrs has nothing to set.
func childAttrs(*exec.Cmd) {}
