// Package budget bounds the bytes queued between a task's network
// goroutines and its Poll: the channel between them bounds the count, a
// Bytes budget bounds the size. One item is always let through, however
// large (a snapshot is one message), so the bound is max(limit, largest
// item). A producer waiting for room holds its one item; nothing more is
// read from its connection meanwhile, so a slow broker slows the provider
// connection instead of growing memory.
package budget

import (
	"context"
	"sync"
)

// Bytes is a byte budget. It is safe for concurrent use.
type Bytes struct {
	mu    sync.Mutex
	used  int
	limit int
	freed chan struct{} // closed and replaced on every release
}

// New returns a budget of limit bytes.
func New(limit int) *Bytes {
	return &Bytes{limit: limit, freed: make(chan struct{})}
}

// Acquire waits until n bytes fit (or nothing is held), or ctx ends.
func (b *Bytes) Acquire(ctx context.Context, n int) error {
	for {
		b.mu.Lock()
		if b.used == 0 || b.used+n <= b.limit {
			b.used += n
			b.mu.Unlock()
			return nil
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-freed:
		}
	}
}

// Release gives n bytes back.
func (b *Bytes) Release(n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// Used returns the bytes held now.
func (b *Bytes) Used() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
