package imgarena

import (
	"context"
	"sync"
)

// byteBudget bounds the bytes of records queued between a task's fixture
// streams and Poll, as imgarena.queue.bytes says (the channel bounds their
// count). One record is always let through, however large, so the bound
// is max(limit, largest record). A stream waiting for room holds its one
// frame and record; nothing more is read from its socket meanwhile.
type byteBudget struct {
	mu    sync.Mutex
	used  int
	limit int
	freed chan struct{} // closed and replaced on every release
}

func newByteBudget(limit int) *byteBudget {
	return &byteBudget{limit: limit, freed: make(chan struct{})}
}

// acquire waits until n bytes fit (or nothing is queued), or ctx ends.
func (b *byteBudget) acquire(ctx context.Context, n int) error {
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

// release gives n bytes back.
func (b *byteBudget) release(n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}
