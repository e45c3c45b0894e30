// Package backoff is the one jittered exponential backoff every reconnect
// loop and the task runner use: each wait is drawn from [d/2, d], and d
// doubles after each failure up to a maximum.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is a jittered exponential backoff. The zero value is not usable;
// make one with New. Not safe for concurrent use: each loop has its own.
type Backoff struct {
	initial, max, cur time.Duration
}

// New returns a backoff whose first wait is drawn from [initial/2, initial]
// and whose waits grow to at most max.
func New(initial, max time.Duration) *Backoff {
	if initial <= 0 {
		initial = time.Millisecond
	}
	if max < initial {
		max = initial
	}
	return &Backoff{initial: initial, max: max, cur: initial}
}

// Next returns the next wait and doubles the one after it.
func (b *Backoff) Next() time.Duration {
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	return d/2 + rand.N(d/2+1)
}

// Reset starts over from the initial wait (after a success).
func (b *Backoff) Reset() { b.cur = b.initial }

// Wait sleeps for Next(), or until ctx ends (returning its error).
func (b *Backoff) Wait(ctx context.Context) error {
	t := time.NewTimer(b.Next())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
