package imgarenademo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DemoSource is the demo's IMG Arena source (a demo.Source): a simulator
// with a few fixtures that drops connections, duplicates a fixtureSeqNum
// and sends status packets, and the connector resuming through it.
type DemoSource struct {
	Fixtures int
	Events   int64
	sim      *imgarenasim.Simulator
}

const demoName, demoSport = "demo-imgarena", "soccer"

// Name implements demo.Source.
func (d *DemoSource) Name() string { return demoName }

// Start implements demo.Source.
func (d *DemoSource) Start(context.Context) (connector.Config, error) {
	d.sim = imgarenasim.NewSimulator(imgarenasim.SimSeed(2026), imgarenasim.SimFixtureCount(d.Fixtures), imgarenasim.SimEvents(d.Events), imgarenasim.SimFinish(true),
		imgarenasim.SimEventInterval(time.Second, 3*time.Millisecond), imgarenasim.SimRandomDrops(0.01), imgarenasim.SimDuplicateSeq(d.Events/3),
		imgarenasim.SimStatusEvery(d.Events/2), imgarenasim.SimToken("demo-token"))
	if err := d.sim.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return connector.Config{
		connector.KeyName: demoName, connector.KeyClass: imgarena.Class, connector.KeyTasksMax: "2",
		connector.KeyTxnBoundary: connector.BoundaryInterval, connector.KeyTxnBoundaryIntervalMs: "100",
		connector.KeyTopicPartitions: "3",
		imgarena.KeyURL:              d.sim.URL(), imgarena.KeyToken: "demo-token", imgarena.KeySport: demoSport, imgarena.KeySpeed: "fast",
		imgarena.KeyFixtures: strings.Join(d.sim.Fixtures(), ","), imgarena.KeyBackoffInitialMs: "20", imgarena.KeyBackoffMaxMs: "200",
	}, nil
}

// Progress implements demo.Source: events committed over all fixtures.
func (d *DemoSource) Progress(st worker.ConnectorStatus) (done, want int64) {
	return demo.SumPositions(st, "position"), int64(d.Fixtures) * d.Events
}

// Verify implements demo.Source: every fixture holds positions 1..N once,
// in order, each the simulator's event at that position.
func (d *DemoSource) Verify(ctx context.Context, kafka []kgo.Opt, registry string, out io.Writer) error {
	set := connector.ParseSettings(connector.Config{connector.KeyTopicPrefix: "sportsconnect"})
	topic := imgarena.ActionsTopic(set, demoSport)
	got, err := ReadActions(ctx, kafka, registry, topic)
	if err != nil {
		return err
	}
	for _, f := range d.sim.Fixtures() {
		tl := d.sim.Timeline(f)
		acts := got[f]
		if int64(len(acts)) != d.Events {
			return fmt.Errorf("fixture %s: %d actions, want %d", f, len(acts), d.Events)
		}
		for i, a := range acts {
			if a.Position != int64(i+1) || a.ActionID == nil || *a.ActionID != tl[i].ActionID {
				return fmt.Errorf("fixture %s: record %d is position %d (action %v), want position %d (action %s)",
					f, i, a.Position, a.ActionID, i+1, tl[i].ActionID)
			}
		}
	}
	lv := live.ParseConfig(live.Spec().WithDefaults(connector.Config{connector.KeyTopicPrefix: "sportsconnect"}))
	norm, err := VerifyLive(ctx, kafka, registry, lv.EventsTopic, lv.MatchesTopic, d.sim, demoSport, d.Events)
	if err != nil {
		return err
	}
	st := d.sim.Stats()
	fmt.Fprintf(out, "  %s: %d fixtures x %d actions, each position exactly once, in order, matching the simulator's timeline\n",
		topic, d.Fixtures, d.Events)
	fmt.Fprintf(out, "  %s and %s: %s, one per action, kinds and scores as the timeline says\n", lv.EventsTopic, lv.MatchesTopic, norm.Summary())
	fmt.Fprintf(out, "  the simulator served %d connections for them (%d dropped on purpose, one duplicated fixtureSeqNum per fixture)\n",
		st.Connections, st.Drops)
	for _, t := range []string{topic, lv.EventsTopic, lv.MatchesTopic} {
		if err := demo.PrintSamples(ctx, out, kafka, registry, t, 2); err != nil {
			return err
		}
	}
	return nil
}

// Close implements demo.Source.
func (d *DemoSource) Close() error {
	if d.sim == nil {
		return nil
	}
	return d.sim.Close()
}
