package roanuz

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
)

// putWithin reports whether q took msg within d.
func putWithin(q *matchQueue, msg streamMsg, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return q.put(ctx, msg)
}

func sized(source string, n int) streamMsg {
	return streamMsg{source: source, doc: make([]byte, n)}
}

func TestMatchQueueBounds(t *testing.T) {
	for _, tc := range []struct {
		name         string
		count, bytes int
		queued       []int // sizes queued first (each must fit)
		next         int   // size of the next put
		fits         bool  // whether it fits before anything is taken
	}{
		{"under both bounds", 4, 100, []int{30, 30}, 30, true},
		{"count bound", 2, 1000, []int{10, 10}, 10, false},
		{"byte bound", 100, 100, []int{60}, 60, false},
		{"byte bound exactly reached", 100, 100, []int{60}, 40, true},
		{"a document over the bound passes an empty queue", 100, 10, nil, 50, true},
		{"nothing after a document over the bound", 100, 10, []int{50}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newMatchQueue(tc.count, tc.bytes)
			for _, n := range tc.queued {
				if !putWithin(q, sized(sourceSocket, n), time.Second) {
					t.Fatalf("a %d-byte document did not fit", n)
				}
			}
			if got := putWithin(q, sized(sourceSocket, tc.next), 30*time.Millisecond); got != tc.fits {
				t.Fatalf("put of %d bytes after %v: fitted %v, want %v", tc.next, tc.queued, got, tc.fits)
			}
			if tc.fits {
				return
			}
			// Taking one document makes room (after the oversized one, the
			// queue is empty).
			done := make(chan bool)
			go func() { done <- putWithin(q, sized(sourceSocket, tc.next), 5*time.Second) }()
			q.taken(<-q.ch)
			if !<-done {
				t.Fatal("no room after a document was taken")
			}
		})
	}
}

func TestMatchQueueNumbersSocketUpdatesInOrder(t *testing.T) {
	q := newMatchQueue(10, 1<<20)
	sent := q.received()
	for _, src := range []string{sourceSocket, sourceREST, sourceSocket} {
		msg := sized(src, 10)
		if src == sourceREST {
			msg.seq = sent
		}
		q.put(context.Background(), msg)
	}
	var seqs []uint64
	for range 3 {
		msg := <-q.ch
		q.taken(msg)
		seqs = append(seqs, msg.seq)
	}
	if seqs[0] != 1 || seqs[1] != 0 || seqs[2] != 2 {
		t.Fatalf("receipt numbers %v, want [1 0 2]: socket updates numbered in queue order, the REST answer keeps its request's number", seqs)
	}
	if n, b := q.held(); n != 0 || b != 0 {
		t.Fatalf("%d documents, %d bytes held after all were taken", n, b)
	}
}

// TestMatchQueueBoundedByBytes follows a match played fast while nothing
// polls: the connection must stop at roanuz.queue.bytes (not the 1024
// documents of roanuz.queue.size), and once Poll runs, the match is
// written to its end.
func TestMatchQueueBoundedByBytes(t *testing.T) {
	const limit = 16 << 10
	sim := startSim(t, roanuzsim.WithMatches("m1"), roanuzsim.WithOvers(2), roanuzsim.WithStepInterval(5*time.Millisecond), roanuzsim.WithClockOnSubscribe(), roanuzsim.WithVariant(roanuzsim.VariantText))
	cfg := matchConfigFor(t, sim, map[string]string{KeyMatches: "m1", KeyQueueBytes: strconv.Itoa(limit)})
	c := &MatchConnector{log: testLogger(t)}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	task := c.NewTask().(*MatchTask)
	// m1 already in its bucket's roster: followed at once, no roster record to poll.
	roster := connector.PartitionOffset{Partition: rosterPartition(bucketOf("m1")), Offset: connector.Offset{offsetRoster: []string{"m1"}}}
	if err := task.Start(context.Background(), connector.NewTaskContextForTest("rzm", 0, cfg, testLogger(t), roster)); err != nil {
		t.Fatal(err)
	}
	defer task.Stop()
	last := sim.Steps("m1") - 1
	waitFor(t, 20*time.Second, "the match played to its end", func() bool { return sim.Step("m1") == last })
	time.Sleep(100 * time.Millisecond) // let the connection queue what it can
	count, bytes := task.q.held()
	largest := len(sim.Document("m1", last))
	t.Logf("held while nothing polls: %d documents, %d bytes (limit %d, largest document %d bytes)", count, bytes, limit, largest)
	if count == 0 || (bytes > limit && count > 1) {
		t.Fatalf("%d documents of %d bytes queued, want some and at most %d bytes (or one document)", count, bytes, limit)
	}
	var recs []*connector.SourceRecord
	waitFor(t, 30*time.Second, "the match written to its end", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		got, _ := task.Poll(ctx)
		cancel()
		for _, r := range got {
			if r.OnCommit != nil {
				r.OnCommit(nil)
			}
		}
		recs = append(recs, got...)
		return completedAll("m1")(recs)
	})
}
