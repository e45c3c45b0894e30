package clustertest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// TestWebhookBehindOneAddress: three workers on one host share the
// webhook's address (SO_REUSEPORT spreads connections over them as a
// Service spreads them over pods). The worker running the roanuz.webhook
// task receives; the others answer 503, and the simulator's pusher retries
// until a push reaches the owner. The owner is SIGKILLed three times while
// the storm goes on. Every push must then be in Kafka exactly once, and
// some pushes must have been answered 503 by a standby.
func TestWebhookBehindOneAddress(t *testing.T) {
	const kills = 3
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	c := newCluster(t)
	var matches []string
	for i := 1; i <= 12; i++ {
		matches = append(matches, fmt.Sprintf("dist_m%02d", i))
	}
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches(matches...), roanuzsim.WithOvers(6), roanuzsim.WithSeed(3))
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	workers := []*proc{c.start(), c.start(), c.start()}
	workers[1].mustCall(t, "POST", "/connectors", map[string]any{"name": "rzhook", "config": map[string]string{
		"connector.class": "roanuz.webhook", "topic.prefix": c.prefix, "transaction.boundary": "poll",
		"topic.creation.default.partitions": "3",
		"roanuz.webhook.listen":             addr, "roanuz.webhook.secret": "dist-secret", "roanuz.webhook.ack.timeout.ms": "5000",
		"roanuz.api.url": sim.URL(), "roanuz.project.key": "sim_project", "roanuz.api.key": "sim-api-key",
		"roanuz.matches": strings.Join(matches, ","),
	}}, nil)
	p := sim.NewPusher(roanuzsim.PushOptions{URL: "http://" + addr + "/roanuz/push", SecretHeader: "X-Roanuz-Secret", Secret: "dist-secret",
		Senders: 4, Seed: 9, Duplicates: 0.05, RetryMin: 20 * time.Millisecond, RetryMax: 500 * time.Millisecond})
	total := int64(len(p.Timeline()))
	type result struct {
		rs  []*roanuzsim.PushResult
		err error
	}
	pushed := make(chan result, 1)
	go func() { rs, err := p.Run(ctx); pushed <- result{rs, err} }()

	for i := range kills {
		var owner *proc
		waitFor(t, 90*time.Second, "a worker running the webhook task", func() bool {
			id := workers[0].taskOwner(t, "rzhook", 0)
			for _, w := range workers {
				if w.id == id && w.alive() {
					owner = w
				}
			}
			return owner != nil
		})
		before := p.Stats().Acked
		waitFor(t, 60*time.Second, "pushes acknowledged by the owner", func() bool { return p.Stats().Acked >= before+int64(total)/10 })
		if p.Stats().Acked >= total {
			t.Fatalf("the storm ended before kill %d; make it longer", i+1)
		}
		owner.kill()
		t.Logf("kill %d: SIGKILLed the owner %s at %d of %d pushes acknowledged", i+1, owner.id, p.Stats().Acked, total)
		for j, w := range workers {
			if w == owner {
				workers[j] = c.start()
			}
		}
	}
	var res result
	select {
	case res = <-pushed:
	case <-time.After(4 * time.Minute):
		t.Fatalf("the pusher did not finish: %+v\n%s", p.Stats(), logsOf(workers...))
	}
	if res.err != nil {
		t.Fatal(res.err)
	}

	src, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	dec := avroreg.NewDecoder(src)
	got := map[string]int{}
	records := 0
	for _, topic := range []string{c.prefix + "." + roanuz.TopicBallUpdates, c.prefix + "." + roanuz.TopicMatchEvents} {
		err := readback.Committed(ctx, brokers(t), []string{topic}, func(r *kgo.Record) error {
			var v map[string]any
			if err := dec.Decode(ctx, r.Value, &v); err != nil {
				return err
			}
			raw, _ := v["raw"].(string)
			pp, err := roanuz.ParsePush([]byte(raw))
			if err != nil {
				return fmt.Errorf("%s: raw does not parse: %w", topic, err)
			}
			got[fmt.Sprintf("%x", pp.Identity())]++
			records++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, pr := range res.rs {
		pp, _ := roanuz.ParsePush(pr.Body)
		if n := got[fmt.Sprintf("%x", pp.Identity())]; n != 1 {
			t.Fatalf("push %s step %d (%d attempts) is in Kafka %d times, want 1\n%s", pr.Match, pr.Step, pr.Attempts, n, logsOf(workers...))
		}
	}
	if records != len(res.rs) {
		t.Fatalf("%d records for %d pushes", records, len(res.rs))
	}
	st := p.Stats()
	if st.ByStatus[503] == 0 {
		t.Fatalf("no push was answered 503 by a standby: %v", st.ByStatus)
	}
	t.Logf("%d pushes exactly once after %d owner kills; attempts by status %v (503: a standby or the moving task)", len(res.rs), kills, st.ByStatus)
	for _, w := range workers {
		w.term(t)
	}
}
