// Package readback reads topics back the way a read_committed consumer
// sees them, from the start to the end they had when the read began. The
// offsets store, the exactly-once checks, the demo and the tests all read
// this way.
//
// The end of a partition for read_committed is its last stable offset; the
// record just below it is always returned when control records are kept (a
// data record, or the commit/abort marker that ends a transaction), so
// reaching it means everything committed below the end was read.
package readback

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Committed calls fn for every committed record of topics (control records
// and aborted transactions left out), in offset order within each
// partition, up to the read_committed end each partition had when the call
// began. A topic that does not exist is an error (kerr.UnknownTopicOrPartition
// is wrapped). An error from fn ends the read and is returned.
func Committed(ctx context.Context, opts []kgo.Opt, topics []string, fn func(*kgo.Record) error) error {
	adm, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("reading %v back: creating client: %w", topics, err)
	}
	ends, err := kadm.NewClient(adm).ListCommittedOffsets(ctx, topics...)
	adm.Close()
	if err != nil {
		return fmt.Errorf("reading %v back: listing end offsets: %w", topics, err)
	}
	type tp struct {
		topic string
		part  int32
	}
	last := map[tp]int64{} // offset of the last committed record or marker
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
		return fmt.Errorf("reading %v back: %w", topics, listErr)
	}
	if len(last) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(opts),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return fmt.Errorf("reading %v back: creating consumer: %w", topics, err)
	}
	defer cl.Close()
	for len(last) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading %v back (%d partitions unfinished): %w", topics, len(last), err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return fmt.Errorf("reading %s partition %d back: %w", errs[0].Topic, errs[0].Partition, errs[0].Err)
		}
		for _, r := range fs.Records() {
			k := tp{r.Topic, r.Partition}
			end, want := last[k]
			if !want || r.Offset > end {
				continue
			}
			if r.Offset == end {
				delete(last, k)
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
