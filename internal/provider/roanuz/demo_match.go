package roanuz

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DemoMatch is the demo source of roanuz.match: two configured matches and
// one found in the featured list, played by a simulator that speaks only
// Engine.IO v3 (the client falls back), drops connections (the task
// rejoins and fetches the match over REST), rotates the payload variants
// and sends a malformed update now and then (dead-lettered). Verify finds
// every ball, each match state once, each match completed and unsubscribed.
type DemoMatch struct {
	sim  *Simulator
	cfg  connector.Config
	docs map[string]int64 // distinct documents of each match's timeline
}

// demoMatchKeys returns the matches of DemoMatch; the last one is found in
// the featured list.
func demoMatchKeys() []string { return []string{"demo_m1", "demo_m2", "demo_m3"} }

// Name implements demo.Source.
func (d *DemoMatch) Name() string { return "demo-roanuz-match" }

// Start implements demo.Source.
func (d *DemoMatch) Start(context.Context) (connector.Config, error) {
	keys := demoMatchKeys()
	d.sim = NewSimulator(SimMatches(keys...), SimListed(keys[2]), SimOvers(2), SimSeed(5),
		SimStepInterval(100*time.Millisecond), SimClockOnSubscribe(), SimEngineIO(EngineIOv3), SimPingInterval(500*time.Millisecond),
		SimSockDropEvery(30), SimSockMalformedEvery(11))
	if err := d.sim.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	d.docs = map[string]int64{}
	for _, m := range keys {
		d.docs[m] = int64(d.sim.Documents(m))
	}
	d.cfg = connector.Config{
		connector.KeyName: d.Name(), connector.KeyClass: ClassMatch, connector.KeyTasksMax: "2",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": d.Name() + ".dlq",
		KeyAPIURL: d.sim.URL(), KeyProject: "sim_project", KeyAPIKey: "sim-api-key",
		KeyMatches: strings.Join(keys[:2], ","), KeyDiscover: DiscoverFeatured, KeyDiscoverInterval: "300",
		KeyBackoffInitialMs: "50", KeyBackoffMaxMs: "500",
	}
	return d.cfg, nil
}

// Progress implements demo.Source: per match, the documents committed (all
// of them once its completed document is), against the timeline's distinct
// documents.
func (d *DemoMatch) Progress(st connector.ConnectorStatus) (done, want int64) {
	for _, m := range demoMatchKeys() {
		docs := d.docs[m]
		want += docs
		key := matchPartition(m).String()
		var n int64
		completed := false
		for _, t := range st.Tasks {
			if o, ok := t.Stats.Committed[key]; ok {
				u, _ := o.OffsetInt(offsetUpdates)
				n = max(n, u)
				c, _ := o[offsetCompleted].(bool)
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
func (d *DemoMatch) Verify(ctx context.Context, kafka []kgo.Opt, registry string, out io.Writer) error {
	set, err := demoSettings(d.cfg, MatchSpec())
	if err != nil {
		return err
	}
	matches, err := readBack(ctx, kafka, registry, set.Topic(TopicMatches), true)
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
	balls, err := readBack(ctx, kafka, registry, set.Topic(TopicBalls), true)
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
	keys := demoMatchKeys()
	for _, m := range keys {
		if !completed[m] {
			return fmt.Errorf("match %s: no completed document", m)
		}
		if d.sim.Subscribed(m, MethodWebSocket) {
			return fmt.Errorf("match %s: still subscribed after it completed", m)
		}
		for _, b := range d.sim.Balls(m) {
			if seen[m+"/"+b] == 0 {
				return fmt.Errorf("match %s: ball %s is not in Kafka", m, b)
			}
			total++
		}
	}
	subs, err := readBack(ctx, kafka, registry, set.Topic(TopicSubscriptions), true)
	if err != nil {
		return err
	}
	actions := map[string]int{}
	for _, r := range subs {
		actions[fmt.Sprintf("%s %v %v", r.key, r.value["action"], r.value["reason"])]++
	}
	for i, m := range keys {
		reason := ReasonConfigured
		if i == len(keys)-1 {
			reason = ReasonListed
		}
		for _, want := range []string{m + " " + ActionFollow + " " + reason, m + " " + ActionRelease + " " + ReasonCompleted} {
			if actions[want] != 1 {
				return fmt.Errorf("subscriptions: %q written %d times, want once", want, actions[want])
			}
		}
	}
	dead, err := readBack(ctx, kafka, registry, d.Name()+".dlq", false)
	if err != nil {
		return err
	}
	conns, joins, updates, _, drops := d.sim.SockStats()
	v3, pings := d.sim.SockEngineStats()
	fmt.Fprintf(out, "  %s: %d match documents, each state of the %d matches once, all completed\n", set.Topic(TopicMatches), len(matches), len(keys))
	fmt.Fprintf(out, "  %s: %d ball records, every one of the %d balls of the timelines (corrections as records of their own)\n", set.Topic(TopicBalls), len(balls), total)
	fmt.Fprintf(out, "  %s: %d records: each match followed once (2 configured, 1 from the featured list) and released once, after its result\n",
		set.Topic(TopicSubscriptions), len(subs))
	fmt.Fprintf(out, "  %s.dlq: %d malformed updates dead-lettered\n", d.Name(), len(dead))
	fmt.Fprintf(out, "  simulator (Engine.IO v3 only): %d connections (%d spoke v3, %d client pings), %d dropped, %d joins, %d updates sent\n",
		conns, v3, pings, drops, joins, updates)
	for _, topic := range []string{set.Topic(TopicMatches), set.Topic(TopicBalls)} {
		if err := demo.PrintSamples(ctx, out, kafka, registry, topic, 2); err != nil {
			return err
		}
	}
	return nil
}

// Close implements demo.Source.
func (d *DemoMatch) Close() error {
	if d.sim != nil {
		return d.sim.Close()
	}
	return nil
}
