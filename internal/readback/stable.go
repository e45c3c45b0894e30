package readback

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Stable calls fn for every record of topics that is committed now: below
// each partition's last stable offset when the call began, left out when
// its transaction aborted. Unlike Committed it never waits for an open
// transaction (a zombie's, say), so it suits monitoring and tools: what
// Kafka Connect's offsets read returns. It is not for a task about to
// resume: offsets committed after a still-open transaction began are
// above the last stable offset and not returned.
//
// The read is read_uncommitted to the high watermark, which always ends
// (the record just below it is in the log's active segment), with the
// transaction markers applied here: a record below the last stable offset
// belongs to a transaction that has ended, whose marker lies somewhere
// below the high watermark. Records are held in memory until the read
// ends, so it is meant for small topics (the offsets topic).
func Stable(ctx context.Context, opts []kgo.Opt, topics []string, fn func(*kgo.Record) error) error {
	adm, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("reading %v back: creating client: %w", topics, err)
	}
	kadmCl := kadm.NewClient(adm)
	ends, err := kadmCl.ListEndOffsets(ctx, topics...)
	var stable kadm.ListedOffsets
	if err == nil {
		stable, err = kadmCl.ListCommittedOffsets(ctx, topics...)
	}
	adm.Close()
	if err == nil {
		err = errors.Join(ends.Error(), stable.Error())
	}
	if err != nil {
		return fmt.Errorf("reading %v back: listing offsets: %w", topics, err)
	}
	parts := map[tp]*stablePart{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset <= 0 {
			return
		}
		lso, _ := stable.Lookup(o.Topic, o.Partition)
		if lso.Offset <= 0 {
			return
		}
		parts[tp{o.Topic, o.Partition}] = &stablePart{last: o.Offset - 1, lso: lso.Offset, pending: map[int64][]int{}}
	})
	if len(parts) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(opts),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()),
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
	left := len(parts)
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading %v back (%d partitions unfinished): %w", topics, left, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return fmt.Errorf("reading %s partition %d back: %w", errs[0].Topic, errs[0].Partition, errs[0].Err)
		}
		for _, r := range fs.Records() {
			p := parts[tp{r.Topic, r.Partition}]
			if p == nil || p.done {
				continue
			}
			p.add(r)
			if r.Offset >= p.last {
				p.done = true
				left--
			}
		}
	}
	for _, t := range topics {
		for k, p := range parts {
			if k.topic != t {
				continue
			}
			for i, r := range p.recs {
				if p.ok[i] {
					if err := fn(r); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// stablePart is one partition of a Stable read.
type stablePart struct {
	last, lso int64
	done      bool
	recs      []*kgo.Record   // data records below the LSO, in offset order
	ok        []bool          // committed (decided by its marker, or not transactional)
	pending   map[int64][]int // producer id -> indexes in recs waiting for a marker
}

func (p *stablePart) add(r *kgo.Record) {
	if r.Attrs.IsControl() {
		idx := p.pending[r.ProducerID]
		delete(p.pending, r.ProducerID)
		// The key is version int16, type int16: 0 abort, 1 commit.
		if len(r.Key) >= 4 && r.Key[3] == 1 && r.Key[2] == 0 {
			for _, i := range idx {
				p.ok[i] = true
			}
		}
		return
	}
	if r.Offset >= p.lso {
		return // not stable when the read began
	}
	p.recs = append(p.recs, r)
	p.ok = append(p.ok, !r.Attrs.IsTransactional())
	if r.Attrs.IsTransactional() {
		p.pending[r.ProducerID] = append(p.pending[r.ProducerID], len(p.recs)-1)
	}
}
