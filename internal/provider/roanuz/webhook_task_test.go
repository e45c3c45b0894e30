package roanuz

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
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

func startWebhook(t testing.TB, cfg connector.Config, offsets []connector.PartitionOffset) (*fakeRunner, string) {
	t.Helper()
	c := &WebhookConnector{log: testLogger(t)}
	if err := c.Start(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	task := c.NewTask().(*WebhookTask)
	r := startRunner(t, task, connector.NewTaskContextForTest("wh", 0, cfg, testLogger(t), offsets...))
	return r, "http://" + task.Addr() + "/roanuz/push"
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
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches("m1", "m2", "m3"), roanuzsim.WithOvers(3), roanuzsim.WithSeed(7))
	cfg := webhookConfigFor(t, nil)
	r, url := startWebhook(t, cfg, nil)
	p := sim.NewPusher(roanuzsim.PushOptions{URL: url, SecretHeader: "X-Roanuz-Secret", Secret: "s3cret-value", Senders: 8,
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
			if st := p.Post(ctx, pushes[len(pushes)-1].Body, i%2 == 0, "s3cret-value"); st != 200 {
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
	t.Logf("%d pushes, %d duplicates, %d attempts, p99 %s", len(pushes), st.Duplicates, st.Attempts, roanuzsim.P99(pushes))

	// Restart from the committed offsets: every push again is a duplicate.
	r2, url2 := startWebhook(t, cfg, r.committed())
	p2 := sim.NewPusher(roanuzsim.PushOptions{URL: url2, SecretHeader: "X-Roanuz-Secret", Secret: "s3cret-value", Senders: 4, Seed: 4})
	if _, err := p2.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(r2.records()); n != 0 {
		t.Fatalf("after a restart %d repeated pushes were written again", n)
	}
}

func TestWebhookAbortAnswers503ThenRetryIsWritten(t *testing.T) {
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches("m1"), roanuzsim.WithOvers(1))
	r, url := startWebhook(t, webhookConfigFor(t, nil), nil)
	r.mu.Lock()
	r.abortN = 1
	r.mu.Unlock()
	body := sim.PushBody("m1", 0)
	p := sim.NewPusher(roanuzsim.PushOptions{URL: url, SecretHeader: "X-Roanuz-Secret", Secret: "s3cret-value"})
	ctx := context.Background()
	if st := p.Post(ctx, body, false, "s3cret-value"); st != 503 {
		t.Fatalf("aborted push: status %d, want 503", st)
	}
	if st := p.Post(ctx, body, false, "s3cret-value"); st != 200 {
		t.Fatalf("retried push: status %d, want 200", st)
	}
	if ids, _ := written(r.records()); len(ids) != 1 {
		t.Fatalf("%d pushes written after abort+retry, want 1", len(ids))
	}
}

func TestWebhookRecordTimestampsAndMetrics(t *testing.T) {
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches("m1", "m2"), roanuzsim.WithOvers(1))
	r, url := startWebhook(t, webhookConfigFor(t, nil), nil)
	p := sim.NewPusher(roanuzsim.PushOptions{URL: url, SecretHeader: "X-Roanuz-Secret", Secret: "s3cret-value", Senders: 2})
	start := time.Now()
	pushes, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	recs := r.records()
	if len(recs) != len(pushes) {
		t.Fatalf("%d records for %d pushes", len(recs), len(pushes))
	}
	for _, rec := range recs {
		// The provider's ts (December 2024 in the simulator) stays in the
		// value; the Kafka timestamp is the receive time, or the broker's
		// time-based retention would delete the records.
		if rec.Timestamp.Before(start) || rec.Timestamp.After(end) {
			t.Fatalf("record timestamp %v outside the run [%v, %v]", rec.Timestamp, start, end)
		}
	}
	_, lags, _ := r.metrics.snapshot()
	for _, m := range []string{"m1", "m2"} {
		if want := sim.Steps(m); lags[m] != want {
			t.Fatalf("match %s: %d commit lags observed, want one per push (%d)", m, lags[m], want)
		}
	}
}
