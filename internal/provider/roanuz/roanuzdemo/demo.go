package roanuzdemo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Webhook is the demo source of roanuz.webhook: the simulator pushes
// the ball-by-ball timeline of a few matches to the receiver, with
// duplicates, reordering, lost acknowledgements (the push is sent again
// after its 2xx), corrupt gzip, a gzip bomb, an oversized body and a wrong
// secret. Verify finds every push exactly once and the bad bodies in the
// dead-letter topic.
type Webhook struct {
	Matches int // matches pushed (default 6)
	Overs   int // overs per innings (default 3)

	sim    *roanuzsim.Simulator
	pusher *roanuzsim.Pusher
	cfg    connector.Config
	cancel context.CancelFunc
	done   chan struct{}
	total  int64 // pushes of the timeline
	pushes []*roanuzsim.PushResult
	err    error
}

// Name implements demo.Source.
func (d *Webhook) Name() string { return "demo-roanuz-webhook" }

// Start implements demo.Source: it starts the simulator (for the
// detail-updates-subscribe calls) and the pusher, which retries until the
// receiver listens.
func (d *Webhook) Start(ctx context.Context) (connector.Config, error) {
	matches, overs := d.Matches, d.Overs
	if matches <= 0 {
		matches = 6
	}
	if overs <= 0 {
		overs = 3
	}
	var keys []string
	for i := 1; i <= matches; i++ {
		keys = append(keys, fmt.Sprintf("demo_hook_m%d", i))
	}
	d.sim = roanuzsim.NewSimulator(roanuzsim.WithMatches(keys...), roanuzsim.WithOvers(overs), roanuzsim.WithSeed(7))
	if err := d.sim.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	d.cfg = connector.Config{
		connector.KeyName: d.Name(), connector.KeyClass: roanuz.ClassWebhook,
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": d.Name() + ".dlq",
		roanuz.KeyListen: addr, roanuz.KeySecret: "demo-secret", roanuz.KeyAPIURL: d.sim.URL(), roanuz.KeyProject: "sim_project", roanuz.KeyAPIKey: "sim-api-key",
		roanuz.KeyMatches: strings.Join(keys, ","),
	}
	d.pusher = d.sim.NewPusher(roanuzsim.PushOptions{URL: "http://" + addr + "/roanuz/push", SecretHeader: "X-Roanuz-Secret", Secret: "demo-secret",
		Senders: 4, Seed: 3, Duplicates: 0.05, Reorder: 0.1, PlainJSON: 0.1, LostAckEvery: 40,
		CorruptEvery: 90, WrongSecret: 110, OversizedEvery: 150, BombEvery: 170, BombBytes: 8 << 20,
		RetryMin: 20 * time.Millisecond, RetryMax: 250 * time.Millisecond})
	d.total = int64(len(d.pusher.Timeline()))
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel, d.done = cancel, make(chan struct{})
	go func() {
		defer close(d.done)
		d.pushes, d.err = d.pusher.Run(pctx)
	}()
	return d.cfg, nil
}

// Progress implements demo.Source: pushes committed (the per-match push
// counts of the committed offsets) against the timeline's pushes.
func (d *Webhook) Progress(st worker.ConnectorStatus) (done, want int64) {
	return demo.SumPositions(st, roanuz.OffsetPushes), d.total
}

// Verify implements demo.Source.
func (d *Webhook) Verify(ctx context.Context, kafka []kgo.Opt, registry string, out io.Writer) error {
	select {
	case <-d.done:
	case <-ctx.Done():
		return fmt.Errorf("waiting for the pusher: %w", ctx.Err())
	}
	if d.err != nil {
		return d.err
	}
	want := map[uint64]*roanuzsim.PushResult{}
	for _, pr := range d.pushes {
		p, err := roanuz.ParsePush(pr.Body)
		if err != nil {
			return err
		}
		want[p.Identity()] = pr
	}
	set, err := demoSettings(d.cfg, roanuz.WebhookSpec())
	if err != nil {
		return err
	}
	got := map[uint64]int{}
	var topics []string
	provider := map[string][]backRecord{}
	for _, topic := range []string{set.Topic(roanuz.TopicBallUpdates), set.Topic(roanuz.TopicMatchEvents)} {
		recs, err := readBack(ctx, kafka, registry, topic, true)
		if err != nil {
			return err
		}
		kinds := map[string]int{}
		for _, r := range recs {
			p, err := roanuz.ParsePush([]byte(fmt.Sprint(r.value["raw"])))
			if err != nil {
				return fmt.Errorf("%s: a record's raw push does not parse: %w", topic, err)
			}
			if r.key != p.MatchKey {
				return fmt.Errorf("%s: key %q for match %q", topic, r.key, p.MatchKey)
			}
			got[p.Identity()]++
			kinds[p.PushReason]++
		}
		fmt.Fprintf(out, "  %s: %d records (push_reason %s)\n", topic, len(recs), countsText(kinds))
		topics = append(topics, topic)
		provider[topic] = recs
	}
	for id, pr := range want {
		if got[id] != 1 {
			return fmt.Errorf("push %s step %d is in Kafka %d times, want once", pr.Match, pr.Step, got[id])
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d distinct pushes in Kafka, %d pushed", len(got), len(want))
	}
	lv, err := liveConfig(d.cfg, roanuz.WebhookSpec())
	if err != nil {
		return err
	}
	norm, err := checkWebhookLive(ctx, kafka, registry, lv, d.sim, d.pushes, provider)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  %s and %s: %s, one per push, kinds as the timelines say\n", lv.EventsTopic, lv.MatchesTopic, norm.Summary())
	dead, err := readBack(ctx, kafka, registry, d.Name()+".dlq", false)
	if err != nil {
		return err
	}
	st := d.pusher.Stats()
	answered, sent := 0, 0
	for kind, status := range map[string]int{"corrupt": 400, "oversized": 413, "bomb": 413} {
		for _, s := range st.Injected[kind] {
			sent++
			if s == status {
				answered++
			}
		}
	}
	truncated := 0
	for _, r := range dead {
		if r.headers[roanuz.HeaderTruncated] == "true" {
			truncated++
		}
	}
	if len(dead) < answered || len(dead) > sent || answered == 0 {
		return fmt.Errorf("%d dead letters for %d bad bodies answered 4xx (%d sent)", len(dead), answered, sent)
	}
	fmt.Fprintf(out, "  %s.dlq: %d dead letters (corrupt gzip, gzip bomb, oversized: %d kept truncated to their first 64 KiB)\n",
		d.Name(), len(dead), truncated)
	fmt.Fprintf(out, "  simulator: %d pushes in %d attempts: %d retried, %d acknowledgements lost and sent again, %d duplicates, wrong secret answered %v\n",
		len(d.pushes), st.Attempts, st.Retries, st.LostAcks, st.Duplicates, st.Injected["wrong-secret"])
	for _, topic := range topics {
		if err := demo.PrintSamples(ctx, out, kafka, registry, topic, 2); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "  every one of the %d pushes is in Kafka exactly once; every push was answered 2xx only after its commit\n", len(want))
	return nil
}

// Close implements demo.Source.
func (d *Webhook) Close() error {
	if d.cancel != nil {
		d.cancel()
		<-d.done
	}
	if d.sim != nil {
		return d.sim.Close()
	}
	return nil
}
