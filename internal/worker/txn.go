package worker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/twmb/franz-go/pkg/kgo"
)

// txn is the open transaction's bookkeeping.
type txn struct {
	open      bool
	started   time.Time
	dirty     map[string]dirtyOffset // latest offset per partition in this txn
	callbacks []func(error)
	records   int64
	bytes     int64
	dead      int64
	errMu     sync.Mutex
	err       error // first produce failure

	// inflight counts records produced in this transaction whose promise
	// has not run yet. kgo's Flush does not wait for the promises of
	// records that fail before they are buffered, so the commit waits on
	// this instead: no transaction commits before every record's outcome
	// is known.
	inflight sync.WaitGroup
}

// produce sends kr in the transaction, counted in t.inflight.
func (t *txn) produce(ctx context.Context, cl *kgo.Client, kr *kgo.Record) {
	t.inflight.Add(1)
	cl.Produce(ctx, kr, t.promise)
}

// promise records the first failure and marks the record's outcome known.
func (t *txn) promise(_ *kgo.Record, err error) {
	if err != nil {
		t.fail(err)
	}
	t.inflight.Done()
}

// settle waits until every record produced in t has its outcome.
func (t *txn) settle(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		t.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for produce results: %w", ctx.Err())
	}
}

type dirtyOffset struct {
	p connector.Partition
	o connector.Offset
}

func (t *txn) fail(err error) {
	t.errMu.Lock()
	if t.err == nil {
		t.err = err
	}
	t.errMu.Unlock()
}

func (t *txn) firstErr() error {
	t.errMu.Lock()
	defer t.errMu.Unlock()
	return t.err
}

func (t *txn) reset() {
	t.open = false
	clear(t.dirty)
	clear(t.callbacks)
	t.callbacks = t.callbacks[:0]
	t.records, t.bytes, t.dead = 0, 0, 0
	t.err = nil
}
