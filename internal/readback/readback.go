// Package readback reads topics back the way a read_committed consumer
// sees them, from the start to the end they had when the read began. The
// offsets store, the exactly-once checks, the demo and the tests all read
// this way.
//
// The end of a partition is its high watermark when the read begins, not
// its last stable offset: a transaction still open then (another task's,
// or a zombie's left by a crash) may hold records this reader must see
// once it ends, and everything committed after it began sits above the
// last stable offset. The read ends when the consumer's position passes
// the high watermark, which it does only after every transaction open at
// the start has ended. The position is observed through the record at
// high watermark − 1, which a read_committed fetch always returns when
// control records are kept: it is a data record, a commit or abort marker,
// or a record of a transaction open at the start — and when that
// transaction aborts, its abort marker, above the mark, is returned
// instead. Seeing a record (never one particular record, which an abort
// can hide) at or above the mark ends the partition.
//
// Waiting for open transactions has no end of its own: the caller's
// context bounds it, and OnStall lets the caller end the transactions that
// hold it (fence a zombie) instead of waiting for the broker's timeout.
package readback

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Option changes how Committed reads.
type Option func(*options)

type options struct {
	stallAfter time.Duration
	onStall    func(ctx context.Context, waiting []Waiting)
}

// Waiting is a partition whose read has not reached its end yet.
type Waiting struct {
	Topic     string
	Partition int32
	End       int64 // the high watermark when the read began
}

// OnStall calls fn once, with the partitions not finished yet, when the
// read has gone on for after: typically transactions opened before the
// read began are still open. fn runs on the reading goroutine; the read
// goes on when it returns.
func OnStall(after time.Duration, fn func(ctx context.Context, waiting []Waiting)) Option {
	return func(o *options) { o.stallAfter, o.onStall = after, fn }
}

// Committed calls fn for every committed record of topics (control records
// and aborted transactions left out), in offset order within each
// partition, up to the high watermark each partition had when the call
// began, after waiting for every transaction open then to end. A topic that
// does not exist is an error (kerr.UnknownTopicOrPartition is wrapped). An
// error from fn ends the read and is returned; so does the end of ctx,
// naming the partitions still waited for.
func Committed(ctx context.Context, opts []kgo.Opt, topics []string, fn func(*kgo.Record) error, with ...Option) error {
	var o options
	for _, opt := range with {
		opt(&o)
	}
	last, err := marks(ctx, opts, topics)
	if err != nil {
		return err
	}
	if len(last) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(opts),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		// Short waits: a partition already read to its mark must not hold
		// the next poll for the default 5 s fetch wait.
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.MetadataMinAge(50*time.Millisecond),
	)...)
	if err != nil {
		return fmt.Errorf("reading %v back: creating consumer: %w", topics, err)
	}
	defer cl.Close()
	var stallAt time.Time
	if o.onStall != nil {
		stallAt = time.Now().Add(o.stallAfter)
	}
	for len(last) > 0 {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if !stallAt.IsZero() {
			pollCtx, cancel = context.WithDeadline(ctx, stallAt)
		}
		fs := cl.PollFetches(pollCtx)
		cancel()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading %v back: still waiting for %s (a transaction open when the read began has not ended): %w",
				topics, describe(last), err)
		}
		if !stallAt.IsZero() && !time.Now().Before(stallAt) {
			stallAt = time.Time{}
			o.onStall(ctx, waiting(last))
		}
		for _, fe := range fs.Errors() {
			if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) {
				continue // the stall deadline of pollCtx
			}
			return fmt.Errorf("reading %s partition %d back: %w", fe.Topic, fe.Partition, fe.Err)
		}
		for _, r := range fs.Records() {
			k := tp{r.Topic, r.Partition}
			end, want := last[k]
			if !want {
				continue
			}
			if r.Offset >= end {
				delete(last, k)
				if r.Offset > end {
					continue // written after the read began
				}
			}
			if r.Attrs.IsControl() {
				continue
			}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

type tp struct {
	topic string
	part  int32
}

// marks returns, per non-empty partition of topics, high watermark − 1.
func marks(ctx context.Context, opts []kgo.Opt, topics []string) (map[tp]int64, error) {
	adm, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %v back: creating client: %w", topics, err)
	}
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("reading %v back: listing end offsets: %w", topics, err)
	}
	last := map[tp]int64{}
	var listErr error
	ends.Each(func(o kadm.ListedOffset) {
		switch {
		case o.Err != nil:
			if listErr == nil {
				listErr = fmt.Errorf("topic %s: %w", o.Topic, o.Err)
			}
		case o.Offset > 0:
			last[tp{o.Topic, o.Partition}] = o.Offset - 1
		}
	})
	if listErr != nil {
		return nil, fmt.Errorf("reading %v back: %w", topics, listErr)
	}
	return last, nil
}

func waiting(last map[tp]int64) []Waiting {
	out := make([]Waiting, 0, len(last))
	for k, end := range last {
		out = append(out, Waiting{Topic: k.topic, Partition: k.part, End: end + 1})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

func describe(last map[tp]int64) string {
	var parts []string
	for _, w := range waiting(last) {
		parts = append(parts, fmt.Sprintf("%s/%d to offset %d", w.Topic, w.Partition, w.End))
	}
	return strings.Join(parts, ", ")
}

// StartsAtZero returns an error naming every partition of topics whose log
// no longer starts at offset 0: reading "from the start" proves nothing if
// the broker already deleted records (retention of old timestamps, say).
func StartsAtZero(ctx context.Context, opts []kgo.Opt, topics ...string) error {
	adm, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer adm.Close()
	starts, err := kadm.NewClient(adm).ListStartOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("listing start offsets of %v: %w", topics, err)
	}
	var bad []string
	starts.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			bad = append(bad, fmt.Sprintf("%s partition %d starts at offset %d", o.Topic, o.Partition, o.Offset))
		}
	})
	if len(bad) > 0 {
		return fmt.Errorf("records were deleted before they were read back: %v", bad)
	}
	return nil
}
