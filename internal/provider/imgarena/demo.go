package imgarena

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// DemoSource is the demo's IMG Arena source (a demo.Source): a simulator
// with a few fixtures that drops connections, duplicates a fixtureSeqNum
// and sends status packets, and the connector resuming through it.
type DemoSource struct {
	Fixtures int
	Events   int64
	sim      *Simulator
}

const demoName, demoSport = "demo-imgarena", "soccer"

// Name implements demo.Source.
func (d *DemoSource) Name() string { return demoName }

// Start implements demo.Source.
func (d *DemoSource) Start(context.Context) (connector.Config, error) {
	d.sim = NewSimulator(SimSeed(2026), SimFixtureCount(d.Fixtures), SimEvents(d.Events), SimFinish(true),
		SimEventInterval(time.Second, 3*time.Millisecond), SimRandomDrops(0.01), SimDuplicateSeq(d.Events/3),
		SimStatusEvery(d.Events/2), SimToken("demo-token"))
	if err := d.sim.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return connector.Config{
		connector.KeyName: demoName, connector.KeyClass: Class, connector.KeyTasksMax: "2",
		connector.KeyTxnBoundary: connector.BoundaryInterval, connector.KeyTxnBoundaryIntervalMs: "100",
		connector.KeyTopicPartitions: "3",
		KeyURL:                       d.sim.URL(), KeyToken: "demo-token", KeySport: demoSport, KeySpeed: "fast",
		KeyFixtures: strings.Join(d.sim.Fixtures(), ","), KeyBackoffInitialMs: "20", KeyBackoffMaxMs: "200",
	}, nil
}

// Progress implements demo.Source: events committed over all fixtures.
func (d *DemoSource) Progress(st connector.ConnectorStatus) (done, want int64) {
	return demo.SumPositions(st, "position"), int64(d.Fixtures) * d.Events
}

// Verify implements demo.Source: every fixture holds positions 1..N once,
// in order, each the simulator's event at that position.
func (d *DemoSource) Verify(ctx context.Context, kafka []kgo.Opt, registry string, out io.Writer) error {
	set := connector.ParseSettings(connector.Config{connector.KeyTopicPrefix: "sportsconnect"})
	topic := ActionsTopic(set, demoSport)
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
	st := d.sim.Stats()
	fmt.Fprintf(out, "  %s: %d fixtures x %d actions, each position exactly once, in order, matching the simulator's timeline\n",
		topic, d.Fixtures, d.Events)
	fmt.Fprintf(out, "  the simulator served %d connections for them (%d dropped on purpose, one duplicated fixtureSeqNum per fixture)\n",
		st.Connections, st.Drops)
	return demo.PrintSamples(ctx, out, kafka, registry, topic, 2)
}

// Close implements demo.Source.
func (d *DemoSource) Close() error {
	if d.sim == nil {
		return nil
	}
	return d.sim.Close()
}

// ReadActions reads an actions topic from the start to its read_committed
// end and returns each fixture's decoded actions in order.
func ReadActions(ctx context.Context, kafka []kgo.Opt, registry, topic string) (map[string][]Action, error) {
	return ReadFixtureRecords(ctx, kafka, registry, topic, func(a *Action) string { return a.Fixture })
}

// ReadFixtureRecords reads topic from the start to its read_committed end
// and returns, per fixture, the decoded values in order; each record's key
// must be its fixture.
func ReadFixtureRecords[T any](ctx context.Context, kafka []kgo.Opt, registry, topic string, fixtureOf func(*T) string) (map[string][]T, error) {
	src, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		return nil, err
	}
	dec := avroreg.NewDecoder(src)
	out := map[string][]T{}
	err = readback.Committed(ctx, kafka, []string{topic}, func(r *kgo.Record) error {
		var v T
		if err := dec.Decode(ctx, r.Value, &v); err != nil {
			return fmt.Errorf("decoding %s offset %d: %w", topic, r.Offset, err)
		}
		f := fixtureOf(&v)
		if string(r.Key) != f {
			return fmt.Errorf("%s offset %d: key %q for fixture %s", topic, r.Offset, r.Key, f)
		}
		out[f] = append(out[f], v)
		return nil
	})
	return out, err
}
