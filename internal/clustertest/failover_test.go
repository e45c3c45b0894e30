package clustertest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// arrivals follows a synthetic topic read_committed and notes when each
// position of partition 0 became visible.
type arrivals struct {
	mu   sync.Mutex
	last int64     // highest position seen
	at   time.Time // when it was seen
	seen []time.Time
}

func (a *arrivals) follow(ctx context.Context, t *testing.T, topic string) {
	src, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	dec := avroreg.NewDecoder(src)
	cl := testenv.Client(t, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	go func() {
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			now := time.Now()
			fs.EachRecord(func(r *kgo.Record) {
				var ev synthetic.Event
				if dec.Decode(ctx, r.Value, &ev) != nil {
					return
				}
				a.mu.Lock()
				if ev.Position > a.last {
					a.last, a.at = ev.Position, now
				}
				a.mu.Unlock()
			})
		}
	}()
}

// after returns the first moment after since at which a position above
// base was visible, or zero if none yet.
func (a *arrivals) newest() (int64, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last, a.at
}

// TestFailoverAfterKill: two workers run a one-task connector (a live
// fixture, one event every 10 ms). Ten times, the worker running the task
// is SIGKILLed; the time from the kill to the fixture's next record being
// visible read_committed is measured, and the killed worker is started
// again. Every position is then in the topic exactly once, in order.
func TestFailoverAfterKill(t *testing.T) {
	const (
		kills   = 10
		session = 10 * time.Second // the default session.timeout.ms
	)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := newCluster(t)
	workers := []*proc{c.start(), c.start()}
	const n = 1_000_000 // more than the run reaches; finished by a faster config at the end
	workers[0].mustCall(t, "POST", "/connectors", syntheticConnector("live", c.prefix, 1, 1, n, 100), nil)
	var arr arrivals
	arr.follow(ctx, t, c.prefix+".synthetic.events")
	waitFor(t, 60*time.Second, "the fixture's first records", func() bool { last, _ := arr.newest(); return last > 50 })

	took := handOver(t, c, workers, &arr, kills, func(p *proc) { p.kill() }, session+30*time.Second)
	sorted := slices.Clone(took)
	slices.Sort(sorted)
	median := (sorted[kills/2-1] + sorted[kills/2]) / 2
	t.Logf("failover over %d SIGKILLs (session.timeout.ms=%d): median %.2f s, max %.2f s, min %.2f s",
		kills, session.Milliseconds(), median.Seconds(), sorted[kills-1].Seconds(), sorted[0].Seconds())
	if sorted[kills-1] > session+10*time.Second {
		t.Errorf("a failover took %s: the task must start elsewhere about a session timeout (%s) after the kill", sorted[kills-1], session)
	}

	// A graceful stop hands the task over at once: it commits, leaves the
	// group, and the survivor starts it without waiting for a session
	// timeout.
	const terms = 3
	handed := handOver(t, c, workers, &arr, terms, func(p *proc) { p.term(t) }, 30*time.Second)
	slices.Sort(handed)
	t.Logf("hand-over over %d SIGTERMs: median %.2f s, max %.2f s", terms, handed[terms/2].Seconds(), handed[terms-1].Seconds())
	if handed[terms-1] >= session {
		t.Errorf("a SIGTERM hand-over took %s, as long as a session timeout: the worker did not leave the group", handed[terms-1])
	}

	// Finish the run fast and check every position once, in order.
	last, _ := arr.newest()
	end := last + 2000
	body := syntheticConnector("live", c.prefix, 1, 1, end, 0)
	workers[0].mustCall(t, "PUT", "/connectors/live/config", body["config"], nil)
	waitFor(t, 90*time.Second, "the run to finish", func() bool { return c.committedMin(ctx, "live", 1) >= end })
	got, count, err := eoscheck.ReadTopic(ctx, brokers(t), testenv.Registry(t), c.prefix+".synthetic.events", 560)
	if err != nil {
		t.Fatal(err)
	}
	if err := eoscheck.Check(got, 1, end); err != nil {
		t.Fatalf("%v\n%s", err, logsOf(workers...))
	}
	t.Logf("%d records read_committed after %d kills: positions 1..%d exactly once, in order", count, kills, end)
	for _, p := range workers {
		p.term(t)
	}
}

// handOver stops the worker running the task rounds times with stop,
// starts a replacement each time, and returns, for each round, the time
// from the stop to the fixture's next record visible read_committed.
func handOver(t *testing.T, c *cluster, workers []*proc, arr *arrivals, rounds int, stop func(*proc), wait time.Duration) []time.Duration {
	t.Helper()
	var took []time.Duration
	for i := range rounds {
		var owner *proc
		waitFor(t, 60*time.Second, "a worker running the task", func() bool {
			id := workers[0].taskOwner(t, "live", 0)
			for _, p := range workers {
				if p.id == id && p.alive() {
					owner = p
				}
			}
			return owner != nil
		})
		// Let the owner run a little, so the stop lands mid-stream.
		time.Sleep(time.Duration(300+100*i) * time.Millisecond)
		stopped := time.Now()
		stop(owner)
		// Records the stopped worker committed just before may still be on
		// their way; anything above what is visible 1 s after the stop
		// begins was written by the new owner (it needs longer to start).
		time.Sleep(time.Until(stopped.Add(time.Second)))
		base, _ := arr.newest()
		var visible time.Time
		waitFor(t, wait, "the fixture's next record after the stop", func() bool {
			last, at := arr.newest()
			visible = at
			return last > base
		})
		d := visible.Sub(stopped)
		took = append(took, d)
		t.Logf("round %d, %s: next record visible %.2f s after the stop", i+1, owner.id, d.Seconds())
		for j, p := range workers {
			if p == owner {
				workers[j] = c.start()
			}
		}
	}
	return took
}
