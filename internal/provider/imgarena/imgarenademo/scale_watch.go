package imgarenademo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/twmb/franz-go/pkg/kgo"
)

// scaleWatcher consumes a scale step's actions topic read_committed for
// the whole step, checks every fixture's positions, and times the records
// that become visible inside the measured window.
type scaleWatcher struct {
	clock    *sendClock
	from, to atomic.Int64 // the window, unix ns; 0 until opened, closed
	visible  atomic.Int64 // records read so far
	done     chan struct{}
	res      scaleWatch
	err      error
}

// scaleWatch is what a scaleWatcher saw.
type scaleWatch struct {
	window           []sighting      // the records that became visible in the window
	fromReceive      []time.Duration // receive → visible, in the window
	last             []int64         // last position per fixture row
	visible          int64
	duplicates, gaps int64
}

// sighting is when a fixture's position became visible: the send times
// come from another process and may arrive later, so latencies are worked
// out once the step is over.
type sighting struct {
	row, position int32
	at            int64 // unix ns
}

// latencies returns send → visible of every record seen in the window.
func (r scaleWatch) latencies(clock *sendClock) ([]time.Duration, error) {
	out := make([]time.Duration, 0, len(r.window))
	for _, s := range r.window {
		sent, ok := clock.sent(int(s.row), int64(s.position))
		if !ok {
			return nil, fmt.Errorf("fixture row %d position %d visible but never sent", s.row, s.position)
		}
		out = append(out, time.Unix(0, s.at).Sub(sent))
	}
	return out, nil
}

// watchScale starts watching topic until ctx is cancelled with errStepDone;
// a record that is no simulated action cancels the step with its error.
func watchScale(ctx context.Context, cancel context.CancelCauseFunc, kafka []kgo.Opt, topic string, clock *sendClock) *scaleWatcher {
	w := &scaleWatcher{clock: clock, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		if w.err = w.run(ctx, kafka, topic); w.err != nil {
			cancel(w.err)
		}
	}()
	return w
}

// open starts the measured window now and returns when.
func (w *scaleWatcher) open() time.Time {
	now := time.Now()
	w.from.Store(now.UnixNano())
	return now
}

// close ends the measured window now and returns when.
func (w *scaleWatcher) close() time.Time {
	now := time.Now()
	w.to.Store(now.UnixNano())
	return now
}

// inWindow reports whether a record seen at ns counts in the window.
func (w *scaleWatcher) inWindow(ns int64) bool {
	from, to := w.from.Load(), w.to.Load()
	return from != 0 && ns >= from && (to == 0 || ns < to)
}

func (w *scaleWatcher) run(ctx context.Context, kafka []kgo.Opt, topic string) error {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, kafka...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.MetadataMinAge(250*time.Millisecond),
		kgo.FetchMaxWait(100*time.Millisecond))...) // see watchActions
	if err != nil {
		return fmt.Errorf("watching %s: %w", topic, err)
	}
	defer cl.Close()
	r := &w.res
	r.last = make([]int64, len(w.clock.index))
	var bad error
	for bad == nil {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			if c := context.Cause(ctx); !errors.Is(c, errStepDone) {
				return fmt.Errorf("watching %s: read %d records: %w", topic, r.visible, c)
			}
			return nil
		}
		now := time.Now()
		counted := w.inWindow(now.UnixNano())
		fs.EachRecord(func(rec *kgo.Record) {
			if bad != nil {
				return
			}
			row, ok := w.clock.index[string(rec.Key)]
			pos, perr := strconv.ParseInt(header(rec, connector.HeaderPosition), 10, 64)
			if !ok || perr != nil || pos < 1 || pos > int64(w.clock.events) {
				bad = fmt.Errorf("record with key %q position %q is no simulated action", rec.Key, header(rec, connector.HeaderPosition))
				return
			}
			r.visible++
			switch last := r.last[row]; {
			case pos <= last:
				r.duplicates++
				return
			case pos > last+1:
				r.gaps += pos - last - 1
			}
			r.last[row] = pos
			if counted {
				r.window = append(r.window, sighting{row: int32(row), position: int32(pos), at: now.UnixNano()})
				if rcv, err := time.Parse(time.RFC3339Nano, header(rec, connector.HeaderReceivedAt)); err == nil {
					r.fromReceive = append(r.fromReceive, now.Sub(rcv))
				}
			}
		})
		w.visible.Store(r.visible)
	}
	return bad
}

// wait returns what the watcher saw once it has stopped.
func (w *scaleWatcher) wait() (scaleWatch, error) {
	<-w.done
	return w.res, w.err
}
