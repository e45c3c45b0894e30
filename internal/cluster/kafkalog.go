package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// KafkaLog tails a compacted topic from its start, read_committed, and
// hands every record to an apply function, in offset order per partition,
// as Kafka Connect's KafkaBasedLog does for its config and status topics.
// ReadToEnd waits until everything written before it was called has been
// applied (every transaction open then has ended), which is how a worker
// knows its view is at least as new as a write it or another worker made.
//
// Concurrency: apply runs on the log's goroutine only; ReadToEnd and Close
// may be called from any goroutine.
type KafkaLog struct {
	topic string
	apply func(*kgo.Record)
	log   *zap.Logger

	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	seen    map[int32]int64 // partition -> highest offset seen, control records included
	waiters []*waiter
}

type waiter struct {
	want map[int32]int64 // partition -> offset that must be seen
	ch   chan struct{}
}

// NewKafkaLog starts tailing topic. apply sees every committed data record.
func NewKafkaLog(opts []kgo.Opt, topic string, apply func(*kgo.Record), log *zap.Logger) (*KafkaLog, error) {
	cl, err := kgo.NewClient(append(slices.Clone(opts),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return nil, fmt.Errorf("tailing %s: %w", topic, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &KafkaLog{topic: topic, apply: apply, log: log, cl: cl, cancel: cancel, done: make(chan struct{}), seen: map[int32]int64{}}
	go l.run(ctx)
	return l, nil
}

func (l *KafkaLog) run(ctx context.Context) {
	defer close(l.done)
	for {
		fs := l.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			l.log.Warn("reading the log", zap.String("topic", t), zap.Int32("partition", p), zap.Error(err))
		})
		fs.EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				l.apply(r)
			}
			l.mu.Lock()
			l.seen[r.Partition] = max(l.seen[r.Partition], r.Offset)
			l.mu.Unlock()
		})
		l.wake()
	}
}

// wake releases the waiters whose offsets have all been seen.
func (l *KafkaLog) wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := l.waiters[:0]
	for _, w := range l.waiters {
		done := true
		for p, o := range w.want {
			if l.seen[p] < o {
				done = false
				break
			}
		}
		if done {
			close(w.ch)
		} else {
			keep = append(keep, w)
		}
	}
	l.waiters = keep
}

// ReadToEnd returns once every record written to the topic before the call
// (and every transaction open then) has been applied, or when ctx ends.
func (l *KafkaLog) ReadToEnd(ctx context.Context) error {
	adm := kadm.NewClient(l.cl)
	ends, err := adm.ListEndOffsets(ctx, l.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("reading %s to its end: %w", l.topic, err)
	}
	w := &waiter{want: map[int32]int64{}, ch: make(chan struct{})}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			w.want[o.Partition] = o.Offset - 1
		}
	})
	l.mu.Lock()
	l.waiters = append(l.waiters, w)
	l.mu.Unlock()
	l.wake()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("reading %s to its end: %w", l.topic, ctx.Err())
	case <-l.done:
		return fmt.Errorf("reading %s to its end: the log is closed", l.topic)
	}
}

// Close stops tailing.
func (l *KafkaLog) Close() {
	l.cancel()
	<-l.done
	l.cl.Close()
}
