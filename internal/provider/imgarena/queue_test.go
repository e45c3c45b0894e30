package imgarena

import (
	"context"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
)

// TestQueueBoundedByBytes: with nobody polling, the records a task buffers
// between its connections and Poll stay within imgarena.queue.bytes (one
// record always passes), though imgarena.queue.size would allow thousands;
// the connections wait, and every event still arrives exactly once.
func TestQueueBoundedByBytes(t *testing.T) {
	const (
		n     = 300
		limit = 16 << 10
	)
	fixtures := []string{"7501", "7502", "7503"}
	sim := startSim(t, imgarenasim.SimFixtures(fixtures...), imgarenasim.SimEvents(n), imgarenasim.SimEventInterval(time.Second, 100*time.Microsecond), imgarenasim.SimHeartbeat(0))
	cfg := taskConfig(t, sim, map[string]string{KeyFixtures: "7501,7502,7503", KeyQueue: "100000", KeyBatch: "100000", KeyQueueBytes: fmtInt(limit)})
	task := runTask(t, cfg, nil, testLogger(t))
	// Let the connections fill the queue until they block.
	deadline := time.Now().Add(10 * time.Second)
	for last := int64(-1); ; {
		time.Sleep(200 * time.Millisecond)
		a := task.Stats().Actions
		if a == last || time.Now().After(deadline) {
			break
		}
		last = a
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	queued, err := task.Poll(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	size, largest := 0, 0
	for _, r := range queued {
		size += len(r.Raw)
		largest = max(largest, len(r.Raw))
	}
	t.Logf("queued while nobody polled: %d records, %d bytes (limit %d, largest record %d bytes)", len(queued), size, limit, largest)
	if size > limit+largest || len(queued) == 0 {
		t.Fatalf("%d records of %d bytes queued: want at most %d bytes plus one record", len(queued), size, limit)
	}
	c := collector{recs: queued}
	recs := c.pollUntil(t, task, 20*time.Second, countActions(fixtures, n))
	for _, f := range fixtures {
		checkExactly(t, f, actionPositions(recs)[f], seq(1, n))
	}
}
