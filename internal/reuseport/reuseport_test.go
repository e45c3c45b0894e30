package reuseport

import (
	"context"
	"net"
	"testing"
)

// TestTwoListenersShareAnAddress: a second listener on the address of the
// first succeeds, and connections reach both.
func TestTwoListenersShareAnAddress(t *testing.T) {
	ctx := context.Background()
	a, err := Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Listen(ctx, a.Addr().String())
	if err != nil {
		t.Fatalf("second listener on %s: %v", a.Addr(), err)
	}
	defer b.Close()
	hits := make(chan string, 64)
	for name, ln := range map[string]net.Listener{"a": a, "b": b} {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				hits <- name
				c.Close()
			}
		}()
	}
	seen := map[string]int{}
	for i := 0; i < 64 && len(seen) < 2; i++ {
		c, err := net.Dial("tcp", a.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		seen[<-hits]++
	}
	if len(seen) != 2 {
		t.Fatalf("64 connections all reached one listener: %v", seen)
	}
	// A plain listener is still refused: only sockets that all ask to share do.
	if ln, err := net.Listen("tcp", a.Addr().String()); err == nil {
		ln.Close()
		t.Fatal("a plain listener bound a shared address")
	}
}
