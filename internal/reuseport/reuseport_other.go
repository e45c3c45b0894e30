//go:build !linux

package reuseport

// setReusePort does nothing where SO_REUSEPORT is not known: the address is
// then not shared (the second listener fails, as without this package).
func setReusePort(uintptr) error { return nil }
