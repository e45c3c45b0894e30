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

// Match is the demo source of roanuz.match: two configured matches and
// one found in the featured list, played by a simulator that speaks only
// Engine.IO v3 (the client falls back), drops connections (the task
// rejoins and fetches the match over REST), rotates the payload variants
// and sends a malformed update now and then (dead-lettered). Verify finds
// every ball, each match state once, each match completed and unsubscribed.
type Match struct {
	sim  *roanuzsim.Simulator
	cfg  connector.Config
	docs map[string]int64 // distinct documents of each match's timeline
}

// matchKeys returns the matches of Match; the last one is found in
// the featured list.
func matchKeys() []string { return []string{"demo_m1", "demo_m2", "demo_m3"} }

// Name implements demo.Source.
func (d *Match) Name() string { return "demo-roanuz-match" }

// Start implements demo.Source.
func (d *Match) Start(context.Context) (connector.Config, error) {
	keys := matchKeys()
	d.sim = roanuzsim.NewSimulator(roanuzsim.WithMatches(keys...), roanuzsim.WithListed(keys[2]), roanuzsim.WithOvers(2),
		roanuzsim.WithSeed(5), roanuzsim.WithStepInterval(100*time.Millisecond), roanuzsim.WithClockOnSubscribe(),
		roanuzsim.WithEngineIO(roanuzsim.EngineIOv3), roanuzsim.WithPingInterval(500*time.Millisecond),
		roanuzsim.WithSockDropEvery(30), roanuzsim.WithSockMalformedEvery(11))
	if err := d.sim.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	d.docs = map[string]int64{}
	for _, m := range keys {
		d.docs[m] = int64(d.sim.Documents(m))
	}
	d.cfg = connector.Config{
		connector.KeyName: d.Name(), connector.KeyClass: roanuz.ClassMatch, connector.KeyTasksMax: "2",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": d.Name() + ".dlq",
		roanuz.KeyAPIURL: d.sim.URL(), roanuz.KeyProject: "sim_project", roanuz.KeyAPIKey: "sim-api-key",
		roanuz.KeyMatches: strings.Join(keys[:2], ","), roanuz.KeyDiscover: roanuz.DiscoverFeatured, roanuz.KeyDiscoverInterval: "300",
		roanuz.KeyBackoffInitialMs: "50", roanuz.KeyBackoffMaxMs: "500",
	}
	return d.cfg, nil
}

// Progress implements demo.Source: per match, the documents committed (all
// of them once its completed document is), against the timeline's distinct
// documents.
func (d *Match) Progress(st worker.ConnectorStatus) (done, want int64) {
	for _, m := range matchKeys() {
		docs := d.docs[m]
		want += docs
		key := roanuz.MatchPartition(m).String()
		var n int64
		completed := false
		for _, t := range st.Tasks {
			if o, ok := t.Stats.Committed[key]; ok {
				u, _ := o.OffsetInt(roanuz.OffsetUpdates)
				n = max(n, u)
				c, _ := o[roanuz.OffsetCompleted].(bool)
				completed = completed || c
			}
		}
		if completed {
			n = docs
		}
		done += min(n, docs)
	}
	return done, want
}

// Verify implements demo.Source.
func (d *Match) Verify(ctx context.Context, kafka []kgo.Opt, registry string, out io.Writer) error {
	set, err := demoSettings(d.cfg, roanuz.MatchSpec())
	if err != nil {
		return err
	}
	matches, err := readBack(ctx, kafka, registry, set.Topic(roanuz.TopicMatches), true)
	if err != nil {
		return err
	}
	states := map[string]bool{}
	completed := map[string]bool{}
	for _, r := range matches {
		h := r.key + "/" + fmt.Sprint(r.value["content_hash"])
		if states[h] {
			return fmt.Errorf("match %s: one state written twice", r.key)
		}
		states[h] = true
		if r.value["status"] == "completed" {
			completed[r.key] = true
		}
	}
	balls, err := readBack(ctx, kafka, registry, set.Topic(roanuz.TopicBalls), true)
	if err != nil {
		return err
	}
	seen := map[string]int{}
	for _, r := range balls {
		id := r.key + "/" + fmt.Sprint(r.value["ball_key"]) + "/" + fmt.Sprint(r.value["raw"])
		if seen[id]++; seen[id] > 1 {
			return fmt.Errorf("match %s: ball %v written twice", r.key, r.value["ball_key"])
		}
		seen[r.key+"/"+fmt.Sprint(r.value["ball_key"])]++
	}
	total := 0
	keys := matchKeys()
	for _, m := range keys {
		if !completed[m] {
			return fmt.Errorf("match %s: no completed document", m)
		}
		if d.sim.Subscribed(m, roanuzsim.MethodWebSocket) {
			return fmt.Errorf("match %s: still subscribed after it completed", m)
		}
		for _, b := range d.sim.Balls(m) {
			if seen[m+"/"+b] == 0 {
				return fmt.Errorf("match %s: ball %s is not in Kafka", m, b)
			}
			total++
		}
	}
	subs, err := readBack(ctx, kafka, registry, set.Topic(roanuz.TopicSubscriptions), true)
	if err != nil {
		return err
	}
	actions := map[string]int{}
	for _, r := range subs {
		actions[fmt.Sprintf("%s %v %v", r.key, r.value["action"], r.value["reason"])]++
	}
	for i, m := range keys {
		reason := roanuz.ReasonConfigured
		if i == len(keys)-1 {
			reason = roanuz.ReasonListed
		}
		for _, want := range []string{m + " " + roanuz.ActionFollow + " " + reason, m + " " + roanuz.ActionRelease + " " + roanuz.ReasonCompleted} {
			if actions[want] != 1 {
				return fmt.Errorf("subscriptions: %q written %d times, want once", want, actions[want])
			}
		}
	}
	lv, err := liveConfig(d.cfg, roanuz.MatchSpec())
	if err != nil {
		return err
	}
	norm, err := checkMatchLive(ctx, kafka, registry, lv, d.sim, keys,
		streamRead{matchTopic: set.Topic(roanuz.TopicMatches), ballTopic: set.Topic(roanuz.TopicBalls), docs: matches, balls: balls})
	if err != nil {
		return err
	}
	dead, err := readBack(ctx, kafka, registry, d.Name()+".dlq", false)
	if err != nil {
		return err
	}
	conns, joins, updates, _, drops := d.sim.SockStats()
	v3, pings := d.sim.SockEngineStats()
	fmt.Fprintf(out, "  %s: %d match documents, each state of the %d matches once, all completed\n", set.Topic(roanuz.TopicMatches), len(matches), len(keys))
	fmt.Fprintf(out, "  %s: %d ball records, every one of the %d balls of the timelines (corrections as records of their own)\n", set.Topic(roanuz.TopicBalls), len(balls), total)
	fmt.Fprintf(out, "  %s: %d records: each match followed once (2 configured, 1 from the featured list) and released once, after its result\n",
		set.Topic(roanuz.TopicSubscriptions), len(subs))
	fmt.Fprintf(out, "  %s and %s: %s: one per ball, one per document that tells more than its balls, kinds and scores as the timelines say\n",
		lv.EventsTopic, lv.MatchesTopic, norm.Summary())
	fmt.Fprintf(out, "  %s.dlq: %d malformed updates dead-lettered\n", d.Name(), len(dead))
	fmt.Fprintf(out, "  simulator (Engine.IO v3 only): %d connections (%d spoke v3, %d client pings), %d dropped, %d joins, %d updates sent\n",
		conns, v3, pings, drops, joins, updates)
	for _, topic := range []string{set.Topic(roanuz.TopicMatches), set.Topic(roanuz.TopicBalls)} {
		if err := demo.PrintSamples(ctx, out, kafka, registry, topic, 2); err != nil {
			return err
		}
	}
	return nil
}

// Close implements demo.Source.
func (d *Match) Close() error {
	if d.sim != nil {
		return d.sim.Close()
	}
	return nil
}
