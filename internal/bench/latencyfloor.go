package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ReaderFetchMaxWait is the fetch.max.wait.ms of every latency reader in
// the benchmarks, the floors below and the provider runs alike: what a
// reader that cares about latency sets (the README's consumer guide). A
// parked read_committed fetch is not always answered when a commit marker
// makes records readable, so this also bounds what that adds.
const ReaderFetchMaxWait = 10 * time.Millisecond

// LatencyFloor is what the broker and the machine allow at a given rate,
// with nothing of sportsconnect in the way: a raw franz-go producer paced
// at Rate, read by a consumer like the benchmarks' readers.
type LatencyFloor struct {
	Name     string
	Rate     int
	Records  int
	Commits  int // transactions committed (0 for the at-least-once producer)
	P50, P99 time.Duration
}

func (f LatencyFloor) String() string {
	s := fmt.Sprintf("%-62s %6d/s  %7d records  p50 %7s  p99 %7s", f.Name, f.Rate, f.Records,
		f.P50.Round(100*time.Microsecond), f.P99.Round(100*time.Microsecond))
	if f.Commits > 0 {
		s += fmt.Sprintf("  (%d transactions)", f.Commits)
	}
	return s
}

// LatencyFloors measures, at rate events/s for d, send to visibility of a
// raw producer: at-least-once (no transactions, no linger, read
// read_uncommitted), and transactional with the adaptive boundary's loop
// (commit as soon as the previous commit ended and records wait, the next
// transaction's first records settle after it, read read_committed). They
// are the baselines of the provider latency runs.
func LatencyFloors(ctx context.Context, kafka []kgo.Opt, prefix string, rate int, d, settle time.Duration) ([]LatencyFloor, error) {
	if rate <= 0 || d <= 0 {
		return nil, errors.New("latency floor: rate and duration must be positive")
	}
	var out []LatencyFloor
	for i, txn := range []bool{false, true} {
		topic := prefix + ".latency-floor-" + strconv.Itoa(i)
		if err := createTopic(ctx, kafka, topic, 6); err != nil {
			return nil, fmt.Errorf("creating %s: %w", topic, err)
		}
		f, err := latencyFloor(ctx, kafka, topic, txn, rate, d, settle)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// latencyFloor runs one paced producer on topic and reads it back. Each
// value carries its send time in its first 8 bytes.
func latencyFloor(ctx context.Context, kafka []kgo.Opt, topic string, txn bool, rate int, d, settle time.Duration) (LatencyFloor, error) {
	total := int(d.Seconds() * float64(rate))
	f := LatencyFloor{Name: "raw franz-go producer, at-least-once, linger 0", Rate: rate, Records: total}
	// A short metadata age, as the worker's producers have: kgo's 5 s
	// default holds a fresh topic's first records while it waits out a
	// first metadata answer without leaders.
	opts := append(append([]kgo.Opt{}, kafka...), kgo.MetadataMinAge(100*time.Millisecond))
	iso := kgo.ReadUncommitted()
	if txn {
		f.Name = fmt.Sprintf("raw franz-go producer, exactly-once, adaptive loop (settle %s)", settle)
		opts = append(opts, kgo.TransactionalID(topic), kgo.ProducerLinger(settle))
		iso = kgo.ReadCommitted()
	} else {
		opts = append(opts, kgo.ProducerLinger(0))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return f, err
	}
	defer cl.Close()
	if txn {
		if _, _, err := cl.ProducerID(ctx); err != nil {
			return f, fmt.Errorf("initialising %s: %w", topic, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	// The first second is left out of the percentiles, as the provider
	// runs leave out their first two: connections and metadata warm up.
	warm := time.Now().Add(time.Second)
	read := make(chan readResult, 1)
	go func() { read <- readSendTimes(ctx, kafka, topic, iso, total, warm) }()

	in := make(chan int64, 1024)
	go pace(ctx, in, rate, total)
	value := make([]byte, 900) // an IMG action's size
	lastEnd, open := time.Now(), false
	for closed := false; !closed; {
		// Wait for records until the boundary, as the task loop polls.
		wait := time.NewTimer(time.Until(lastEnd.Add(settle)))
		var batch []int64
		select {
		case t, ok := <-in:
			closed = !ok
			if ok {
				batch = append(batch, t)
			}
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return f, ctx.Err()
		}
		wait.Stop()
		for more := !closed; more; {
			select {
			case t, ok := <-in:
				closed, more = !ok, ok
				if ok {
					batch = append(batch, t)
				}
			default:
				more = false
			}
		}
		for _, t := range batch {
			if txn && !open {
				if err := cl.BeginTransaction(); err != nil {
					return f, err
				}
				open = true
			}
			v := append([]byte(nil), value...)
			binary.BigEndian.PutUint64(v, uint64(t))
			cl.Produce(ctx, &kgo.Record{Topic: topic, Key: strconv.AppendInt(nil, t%50, 10), Value: v}, nil)
		}
		if open && (closed || time.Since(lastEnd) >= settle) {
			if err := cl.Flush(ctx); err != nil {
				return f, err
			}
			if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
				return f, err
			}
			lastEnd, open = time.Now(), false
			f.Commits++
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return f, err
	}
	r := <-read
	if r.err != nil {
		return f, fmt.Errorf("reading %s back: %w", topic, r.err)
	}
	f.P50, f.P99 = pct(r.lat)
	return f, nil
}

// pace sends total send times to in at rate, then closes it.
func pace(ctx context.Context, in chan<- int64, rate, total int) {
	defer close(in)
	start := time.Now()
	for i := 0; i < total; i++ {
		if w := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); w > 0 {
			time.Sleep(w)
		}
		select {
		case in <- time.Now().UnixNano():
		case <-ctx.Done():
			return
		}
	}
}

type readResult struct {
	lat []time.Duration
	err error
}

// readSendTimes reads total records of topic and returns the send (first 8
// bytes of its value) to visibility latency of each one sent from warm on.
func readSendTimes(ctx context.Context, kafka []kgo.Opt, topic string, iso kgo.IsolationLevel, total int, warm time.Time) readResult {
	c, err := kgo.NewClient(append(append([]kgo.Opt{}, kafka...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(iso),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(ReaderFetchMaxWait), kgo.MetadataMinAge(100*time.Millisecond))...)
	if err != nil {
		return readResult{err: err}
	}
	defer c.Close()
	lat := make([]time.Duration, 0, total)
	for seen := 0; seen < total; {
		fs := c.PollFetches(ctx)
		if ctx.Err() != nil {
			return readResult{err: fmt.Errorf("saw %d of %d records: %w", seen, total, ctx.Err())}
		}
		now := time.Now()
		fs.EachRecord(func(r *kgo.Record) {
			seen++
			if len(r.Value) < 8 {
				return
			}
			if sent := time.Unix(0, int64(binary.BigEndian.Uint64(r.Value))); !sent.Before(warm) {
				lat = append(lat, now.Sub(sent))
			}
		})
	}
	return readResult{lat: lat}
}
