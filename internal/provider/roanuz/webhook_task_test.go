package roanuz

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// webhookConfigFor returns a validated roanuz.webhook config listening on a random port.
func webhookConfigFor(t testing.TB, extra map[string]string) connector.Config {
	t.Helper()
	raw := connector.Config{"name": "wh", "connector.class": ClassWebhook, KeyListen: "127.0.0.1:0",
		KeySecret: "s3cret-value", KeyAckTimeoutMs: "3000", KeySubscribe: "false"}
	for k, v := range extra {
		raw[k] = v
	}
	cfg, err := connector.CommonSpec().Merge(WebhookSpec()).Validate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakeRunner drives a WebhookTask like the worker: Poll, then "commit" (or
// abort) each batch, keeping the latest offset of each partition.
type fakeRunner struct {
	task *WebhookTask
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	recs    []*connector.SourceRecord
	offsets map[string]connector.PartitionOffset
	abortN  int // abort the next n batches
}

func startWebhook(t testing.TB, cfg connector.Config, offsets []connector.PartitionOffset) (*fakeRunner, string) {
	t.Helper()
	c := &WebhookConnector{log: testLogger(t)}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	task := c.NewTask().(*WebhookTask)
	if err := task.Start(context.Background(), connector.NewTaskContextForTest("wh", 0, cfg, testLogger(t), offsets...)); err != nil {
		t.Fatal(err)
	}
	r := &fakeRunner{task: task, stop: make(chan struct{}), done: make(chan struct{}), offsets: map[string]connector.PartitionOffset{}}
	go r.loop()
	t.Cleanup(r.close)
	return r, "http://" + task.Addr() + "/roanuz/push"
}

func (r *fakeRunner) loop() {
	defer close(r.done)
	for {
		select {
		case <-r.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		recs, _ := r.task.Poll(ctx)
		cancel()
		if len(recs) == 0 {
			continue
		}
		r.mu.Lock()
		abort := r.abortN > 0
		if abort {
			r.abortN--
		} else {
			r.recs = append(r.recs, recs...)
			for _, rec := range recs {
				r.offsets[rec.Partition.String()] = connector.PartitionOffset{Partition: rec.Partition, Offset: rec.Offset}
			}
		}
		r.mu.Unlock()
		for _, rec := range recs {
			if rec.OnCommit != nil {
				if abort {
					rec.OnCommit(context.Canceled)
				} else {
					rec.OnCommit(nil)
				}
			}
		}
	}
}

func (r *fakeRunner) close() {
	select {
	case <-r.stop:
		return
	default:
	}
	close(r.stop)
	<-r.done
	_ = r.task.Stop()
}

func (r *fakeRunner) records() []*connector.SourceRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*connector.SourceRecord(nil), r.recs...)
}

func (r *fakeRunner) committed() []connector.PartitionOffset {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []connector.PartitionOffset
	for _, po := range r.offsets {
		out = append(out, po)
	}
	return out
}

// written returns the pushes written per identity, and the dead letters.
func written(recs []*connector.SourceRecord) (map[uint64]int, int) {
	ids, dead := map[uint64]int{}, 0
	for _, r := range recs {
		if r.DeadLetter != nil {
			dead++
			continue
		}
		p, err := ParsePush(r.Raw)
		if err != nil {
			panic(err)
		}
		ids[p.Identity()]++
	}
	return ids, dead
}

func TestWebhookExactlyOnceWithDuplicatesAndRestart(t *testing.T) {
	sim := NewSimulator(SimMatches("m1", "m2", "m3"), SimOvers(3), SimSeed(7))
	cfg := webhookConfigFor(t, nil)
	r, url := startWebhook(t, cfg, nil)
	p := sim.NewPusher(PushOptions{URL: url, SecretHeader: "X-Roanuz-Secret", Secret: "s3cret-value", Senders: 8,
		Seed: 3, Duplicates: 0.3, Reorder: 0.2, PlainJSON: 0.2})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pushes, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent identical pushes: all answered 2xx, written once.
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st := p.post(ctx, pushes[len(pushes)-1].Body, i%2 == 0, "s3cret-value"); st != 200 {
				t.Errorf("concurrent repeat: status %d", st)
			}
		}()
	}
	wg.Wait()
	r.close()
	ids, dead := written(r.records())
	if dead != 0 {
		t.Fatalf("%d dead letters from valid pushes", dead)
	}
	for _, pr := range pushes {
		pp, _ := ParsePush(pr.Body)
		if n := ids[pp.Identity()]; n != 1 {
			t.Fatalf("push %s step %d written %d times, want 1", pr.Match, pr.Step, n)
		}
	}
	if len(ids) != len(pushes) {
		t.Fatalf("%d distinct pushes written, %d sent", len(ids), len(pushes))
	}
	st := p.Stats()
	if st.Duplicates == 0 {
		t.Fatal("the pusher sent no duplicate: the test did not exercise dedup")
	}
	t.Logf("%d pushes, %d duplicates, %d attempts, p99 %s", len(pushes), st.Duplicates, st.Attempts, P99(pushes))

	// Restart from the committed offsets: every push again is a duplicate.
	r2, url2 := startWebhook(t, cfg, r.committed())
	p2 := sim.NewPusher(PushOptions{URL: url2, SecretHeader: "X-Roanuz-Secret", Secret: "s3cret-value", Senders: 4, Seed: 4})
	if _, err := p2.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(r2.records()); n != 0 {
		t.Fatalf("after a restart %d repeated pushes were written again", n)
	}
}

func TestWebhookAbortAnswers503ThenRetryIsWritten(t *testing.T) {
	sim := NewSimulator(SimMatches("m1"), SimOvers(1))
	r, url := startWebhook(t, webhookConfigFor(t, nil), nil)
	r.mu.Lock()
	r.abortN = 1
	r.mu.Unlock()
	body := sim.tls["m1"].pushBody(0)
	p := sim.NewPusher(PushOptions{URL: url, SecretHeader: "X-Roanuz-Secret", Secret: "s3cret-value"})
	ctx := context.Background()
	if st := p.post(ctx, body, false, "s3cret-value"); st != 503 {
		t.Fatalf("aborted push: status %d, want 503", st)
	}
	if st := p.post(ctx, body, false, "s3cret-value"); st != 200 {
		t.Fatalf("retried push: status %d, want 200", st)
	}
	if ids, _ := written(r.records()); len(ids) != 1 {
		t.Fatalf("%d pushes written after abort+retry, want 1", len(ids))
	}
}
