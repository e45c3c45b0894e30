package sabademo

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// demoStreams are the streams the demo connector follows.
const demoStreams = "GetEvents $filter=sporttype eq 1; GetMarkets"

// Demo is the saba source of 'sportsconnect demo' (a demo.Source): a
// Simulator on 127.0.0.1 plays a short deterministic timeline with faults
// (two cut streams resumed by Last-Event-Id, revoked tokens, frames sent
// twice, the Last-Event-Id message replayed, malformed messages), and
// Verify checks every update reached Kafka exactly once.
type Demo struct {
	Updates int64   // updates the simulator generates
	Rate    float64 // updates per second

	sim      *sabasim.Simulator
	specs    []saba.StreamSpec
	want     int64 // the sum over streams of the last update each one holds
	settings connector.Settings
	live     live.Config
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// NewDemo returns the demo source: 2500 updates at 500 per second (5 s).
func NewDemo() *Demo { return &Demo{Updates: 2500, Rate: 500} }

// Name implements demo.Source.
func (d *Demo) Name() string { return "demo-saba" }

// simOptions returns the options of the demo's timeline.
func (d *Demo) simOptions() []sabasim.SimOption {
	return []sabasim.SimOption{sabasim.WithSeed(2026), sabasim.WithRecordTimeline(true), sabasim.WithEvents(40, 4), sabasim.WithKeepAlive(time.Second),
		sabasim.WithMalformedEvery(1201), sabasim.WithDuplicateEvery(211), sabasim.WithInclusiveReplay(true)}
}

// Start implements demo.Source: it starts the simulator and its faults and
// returns the connector config pointing at it.
func (d *Demo) Start(context.Context) (connector.Config, error) {
	specs, err := saba.ParseStreams(demoStreams)
	if err != nil {
		return nil, err
	}
	d.specs = specs
	// The timeline is a function of the seed: a twin that is only stepped
	// says where each stream ends.
	twin := sabasim.NewSimulator(append(d.simOptions(), sabasim.WithEpoch("twin"))...)
	twin.Step(int(d.Updates))
	d.want = 0
	for _, sp := range specs {
		idx, _, err := twin.LastRelevant(sp.Endpoint, sp.Query)
		if err != nil {
			return nil, err
		}
		d.want += idx
	}
	d.sim = sabasim.NewSimulator(append(d.simOptions(), sabasim.WithEpoch("demo"), sabasim.WithRate(d.Rate), sabasim.WithMaxUpdates(d.Updates))...)
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	url, err := d.sim.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		cancel()
		return nil, err
	}
	d.sim.Start()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.injectFaults(ctx)
	}()
	cfg := connector.Config{
		connector.KeyName: d.Name(), connector.KeyClass: saba.Class, connector.KeyTasksMax: "2",
		connector.KeyTxnBoundary: connector.BoundaryInterval, connector.KeyTxnBoundaryIntervalMs: "100",
		connector.KeyTopicPartitions: "3", connector.KeyTopicPrefix: "sportsconnect",
		connector.KeyErrorsTolerance: connector.ToleranceAll,
		saba.KeyBaseURL:              url, saba.KeyVendorID: "demo-vendor", saba.KeyVendorMemberID: "demo-member", saba.KeyStreams: demoStreams,
		saba.KeyBackoffInitial: "50", saba.KeyBackoffMax: "1000", saba.KeySilenceTimeout: "5000",
	}
	d.settings = connector.ParseSettings(cfg)
	d.live = live.ParseConfig(live.Spec().WithDefaults(cfg))
	cfg[connector.KeyDLQTopic] = d.settings.Topic("saba.dlq")
	return cfg, nil
}

// injectFaults cuts every stream at a quarter and three quarters of the
// timeline and revokes every token at half of it.
func (d *Demo) injectFaults(ctx context.Context) {
	faults := []func(){d.sim.CutStreams, d.sim.ExpireTokens, d.sim.CutStreams}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for len(faults) > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if head, _ := d.sim.Head(); head*4 >= int64(4-len(faults))*d.Updates {
			faults[0]()
			faults = faults[1:]
		}
	}
}

// Progress implements demo.Source: the committed update positions, summed
// over the streams, against where the timeline ends for each.
func (d *Demo) Progress(st worker.ConnectorStatus) (done, want int64) {
	best := map[string]int64{}
	for _, t := range st.Tasks {
		for p, o := range t.Stats.Committed {
			id, _ := o.OffsetString(saba.OffsetKey)
			if idx, ok := d.sim.Lookup(id); ok {
				best[p] = max(best[p], idx)
			}
		}
	}
	for _, n := range best {
		done += n
	}
	return done, d.want
}

// Verify implements demo.Source: it reads the events, markets and
// dead-letter topics back read_committed, checks every stream against the
// simulator's timeline (each update exactly once and in order, after a
// snapshot; each malformed message once in the dead-letter topic) and the
// committed offsets, checks live.events and live.matches against the
// records and the timeline (VerifyLive), and prints a summary and a few
// records.
func (d *Demo) Verify(ctx context.Context, kafka []kgo.Opt, registry string, out io.Writer) error {
	events, markets, dlq := saba.EventsTopic(d.settings), saba.MarketsTopic(d.settings), d.settings.Topic("saba.dlq")
	got, _, err := ReadBack(ctx, d.sim, kafka, registry, d.settings.TopicPrefix, dlq)
	if err != nil {
		return err
	}
	offs, err := worker.ReadOffsets(ctx, kafka, demo.OffsetsTopic, d.Name())
	if err != nil {
		return err
	}
	counts := map[string]map[string]int{} // topic -> op -> records
	for _, t := range []string{events, markets, dlq} {
		counts[t] = map[string]int{}
	}
	var lines []string
	for _, sp := range d.specs {
		name := sp.Name()
		_, last, err := d.sim.LastRelevant(sp.Endpoint, sp.Query)
		if err != nil {
			return err
		}
		updates, snapshots, err := CheckTimeline(d.sim, sp, "", got[name], last)
		if err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		if c, _ := offs.Offsets[saba.PartitionOf(sp).String()].OffsetString(saba.OffsetKey); c != last {
			return fmt.Errorf("stream %s: committed offset %q, want the last update %q", name, c, last)
		}
		for _, o := range got[name] {
			switch {
			case o.Dead:
				counts[dlq]["dead letters"]++
			case o.Topic == "events":
				counts[events][o.Op]++
			default:
				counts[markets][o.Op]++
			}
		}
		lines = append(lines, fmt.Sprintf("  stream %s: %d updates exactly once, in order, after %d snapshot(s); committed %s=%s, its last",
			name, updates, snapshots, saba.OffsetKey, last))
	}
	for _, t := range []string{events, markets, dlq} {
		var n int
		var parts []string
		for _, op := range []string{saba.OpReset, saba.OpAdd, saba.OpChange, saba.OpRemove, "dead letters"} {
			if c := counts[t][op]; c > 0 {
				n += c
				if op == saba.OpReset {
					op = "reset markers"
				}
				parts = append(parts, strconv.Itoa(c)+" "+op)
			}
		}
		fmt.Fprintf(out, "  %s: %d records (%s)\n", t, n, joinOr(parts, "none"))
	}
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	norm, ls, err := VerifyLive(ctx, kafka, registry, d.settings.TopicPrefix, d.live.EventsTopic, d.live.MatchesTopic, d.sim, d.specs, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  %s and %s: %s; one per mapped record of the GetEvents stream (%d records not mapped: GetMarkets, market removes, reset markers), final states as the timeline ends\n",
		d.live.EventsTopic, d.live.MatchesTopic, norm.Summary(), ls.Unmapped)
	st := d.sim.Stats()
	fmt.Fprintf(out, "  faults survived: %d stream cuts and 1 token revocation (%d logins, %d Last-Event-Id replays), %d repeated frames dropped, %d malformed messages dead-lettered\n",
		st.Cuts, st.Logins, st.Replays, st.Duplicates, counts[dlq]["dead letters"])
	for _, l := range LiveSamples(norm, live.KindScoreChange, live.KindMarketSuspended, live.KindCorrection) {
		fmt.Fprintln(out, "  "+l)
	}
	for _, t := range []string{events, markets} {
		if err := demo.PrintSamples(ctx, out, kafka, registry, t, 2); err != nil {
			return err
		}
	}
	return nil
}

// joinOr joins parts with commas, or returns empty if there are none.
func joinOr(parts []string, empty string) string {
	if len(parts) == 0 {
		return empty
	}
	return strings.Join(parts, ", ")
}

// Close implements demo.Source: it stops the simulator and its faults.
func (d *Demo) Close() error {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	if d.sim != nil {
		d.sim.Close()
	}
	return nil
}
