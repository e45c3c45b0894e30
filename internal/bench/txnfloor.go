package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// FloorResult is what one transactional producer costs on the broker, with
// nothing of sportsconnect in the way: transactions of Records records
// (plus as many offset-like records on a second topic), back to back
// after a Gap since the previous EndTxn.
type FloorResult struct {
	Gap          time.Duration
	Transactions int
	// Flush is produce to acknowledged (one request) per transaction;
	// End is the EndTxn round trip.
	FlushP50, FlushP99 time.Duration
	EndP50, EndP99     time.Duration
}

func (r FloorResult) String() string {
	return fmt.Sprintf("raw transactional producer, next txn %5s after EndTxn: %4d txns  produce p50 %7s p99 %7s  EndTxn p50 %7s p99 %7s",
		r.Gap, r.Transactions, r.FlushP50.Round(100*time.Microsecond), r.FlushP99.Round(100*time.Microsecond),
		r.EndP50.Round(100*time.Microsecond), r.EndP99.Round(100*time.Microsecond))
}

// TransactionFloor measures the broker's own transaction round trips for
// each gap: the bound under sportsconnect's commit latency. A produce sent
// right after EndTxn is held while the broker completes the previous
// commit; transaction.boundary.settle.ms is the gap the adaptive boundary
// leaves.
func TransactionFloor(ctx context.Context, kafka []kgo.Opt, prefix string, gaps []time.Duration, txns int, out io.Writer) ([]FloorResult, error) {
	data, offs := prefix+".floor", prefix+".floor-offsets"
	if err := createTopic(ctx, kafka, data, 6); err != nil {
		return nil, fmt.Errorf("creating %s: %w", data, err)
	}
	if err := createTopic(ctx, kafka, offs, 5); err != nil {
		return nil, fmt.Errorf("creating %s: %w", offs, err)
	}
	var res []FloorResult
	for i, gap := range gaps {
		cl, err := kgo.NewClient(append(append([]kgo.Opt{}, kafka...), kgo.TransactionalID(prefix+"-floor-"+strconv.Itoa(i)),
			kgo.MetadataMinAge(100*time.Millisecond))...)
		if err != nil {
			return nil, err
		}
		r, err := floorRun(ctx, cl, data, offs, gap, txns)
		cl.Close()
		if err != nil {
			return nil, fmt.Errorf("transactions %s apart: %w", gap, err)
		}
		fmt.Fprintln(out, r)
		res = append(res, r)
	}
	return res, nil
}

// floorRun makes txns transactions of 50 records of ~900 bytes over the
// data topic and 50 small records over the offsets topic, the shape of an
// IMG task's transaction at 5,000 events/s, after a warm-up of 5.
func floorRun(ctx context.Context, cl *kgo.Client, data, offs string, gap time.Duration, txns int) (FloorResult, error) {
	const perTxn = 50
	value := make([]byte, 900)
	var flush, end []time.Duration
	for i := -5; i < txns; i++ {
		if err := cl.BeginTransaction(); err != nil {
			return FloorResult{}, err
		}
		t0 := time.Now()
		for j := 0; j < perTxn; j++ {
			key := []byte("k" + strconv.Itoa(j))
			cl.Produce(ctx, &kgo.Record{Topic: data, Key: key, Value: value}, nil)
			cl.Produce(ctx, &kgo.Record{Topic: offs, Key: key, Value: []byte(`{"position":1}`)}, nil)
		}
		if err := cl.Flush(ctx); err != nil {
			return FloorResult{}, err
		}
		t1 := time.Now()
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			return FloorResult{}, err
		}
		if i >= 0 {
			flush, end = append(flush, t1.Sub(t0)), append(end, time.Since(t1))
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	r := FloorResult{Gap: gap, Transactions: txns}
	r.FlushP50, r.FlushP99 = pct(flush)
	r.EndP50, r.EndP99 = pct(end)
	return r, nil
}

// pct returns the 50th and 99th percentiles of d (sorting it).
func pct(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100]
}
