// Package reuseport listens on a TCP address that other sockets of this
// host may share (SO_REUSEPORT): the kernel spreads new connections over
// them, as a load balancer spreads them over hosts. Distributed workers on
// one host use it for a push address every worker answers (the task's
// owner with the receiver, the others with a 503 asking for a retry).
package reuseport

import (
	"context"
	"net"
	"syscall"
)

// Listen listens on addr with SO_REUSEPORT set where the platform has it.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = setReusePort(fd) }); err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(ctx, "tcp", addr)
}
