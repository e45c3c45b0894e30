package roanuz

import (
	"context"
	"sync"
)

// matchQueue carries match documents from the connections to Poll, bounded
// by count (roanuz.queue.size) and by bytes (roanuz.queue.bytes). One
// document is always let through however large, so the bytes held are at
// most max(limit, largest document) plus that document. A connection that
// finds no room waits (backpressure on its socket, as with a full channel).
//
// It also numbers the socket updates in the order they are queued (their
// receipt numbers, see match_order.go): numbering and queueing happen
// together, so every update numbered after a REST request was sent is
// queued after the numbers it is compared with.
type matchQueue struct {
	ch              chan streamMsg // capacity maxCount: a send with room reserved never blocks
	maxCount, limit int

	mu       sync.Mutex
	count    int
	bytes    int
	receipts uint64        // receipt number of the last socket update queued
	freed    chan struct{} // closed and replaced on every take
}

func newMatchQueue(maxCount, maxBytes int) *matchQueue {
	maxCount = max(maxCount, 1)
	return &matchQueue{ch: make(chan streamMsg, maxCount), maxCount: maxCount, limit: maxBytes, freed: make(chan struct{})}
}

// sizeOf returns the bytes msg holds (its document and, when it is another
// buffer, its raw form).
func (msg *streamMsg) sizeOf() int {
	n := len(msg.doc)
	if len(msg.raw) > 0 && (len(msg.doc) == 0 || &msg.raw[0] != &msg.doc[0]) {
		n += len(msg.raw)
	}
	return n
}

// put queues msg once it fits, numbering it first when it is a socket
// update; false if ctx ended before.
func (q *matchQueue) put(ctx context.Context, msg streamMsg) bool {
	msg.size = msg.sizeOf()
	for {
		q.mu.Lock()
		if q.count == 0 || (q.count < q.maxCount && q.bytes+msg.size <= q.limit) {
			q.count++
			q.bytes += msg.size
			if msg.source == sourceSocket {
				q.receipts++
				msg.seq = q.receipts
			}
			q.ch <- msg
			q.mu.Unlock()
			return true
		}
		freed := q.freed
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
		case <-freed:
		}
	}
}

// received returns the receipt number of the last socket update queued: a
// REST request sent now is older than any update numbered above it.
func (q *matchQueue) received() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.receipts
}

// taken gives back the room of msg, which Poll took from ch.
func (q *matchQueue) taken(msg streamMsg) {
	q.mu.Lock()
	q.count--
	q.bytes -= msg.size
	close(q.freed)
	q.freed = make(chan struct{})
	q.mu.Unlock()
}

// held returns the documents and bytes queued.
func (q *matchQueue) held() (count, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count, q.bytes
}
