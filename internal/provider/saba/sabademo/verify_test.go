package saba

import (
	"slices"
	"strings"
	"testing"
)

// timelineObs returns what a correct connector writes for sp: the initial
// snapshot, then every update of the view in order (a malformed one as one
// dead letter).
func timelineObs(t *testing.T, sim *Simulator, sp StreamSpec) [][]obs {
	t.Helper()
	name := streamName(sp)
	groups := [][]obs{{
		{stream: name, msgID: sim.idOf(0), topic: "events", op: OpReset, status: StatusInitialData},
		{stream: name, msgID: sim.idOf(0), topic: "events", op: OpAdd, status: StatusInitialData},
	}}
	for _, u := range sim.Updates() {
		c, err := sim.CountsOf(sp.Endpoint, sp.Query, "", u)
		if err != nil {
			t.Fatal(err)
		}
		var g []obs
		add := func(n int, topic, op string) {
			for range n {
				g = append(g, obs{stream: name, msgID: u.ID, topic: topic, op: op})
			}
		}
		if u.Malformed {
			g = append(g, obs{stream: name, msgID: u.ID, dead: true})
		} else {
			add(c.EventsAdd, "events", OpAdd)
			add(c.EventsChange, "events", OpChange)
			add(c.EventsRemove, "events", OpRemove)
			add(c.MarketsAdd, "markets", OpAdd)
			add(c.MarketsChange, "markets", OpChange)
			add(c.MarketsRemove, "markets", OpRemove)
		}
		if len(g) > 0 {
			groups = append(groups, g)
		}
	}
	return groups
}

// TestCheckTimeline: the checker accepts exactly the timeline and names
// what is lost, duplicated, reordered or wrong.
func TestCheckTimeline(t *testing.T) {
	sim := NewSimulator(WithEpoch("v"), WithRecordTimeline(true), WithMalformedEvery(7))
	sim.Step(30)
	sp := StreamSpec{"GetEvents", "$filter=sporttype eq 1"}
	groups := timelineObs(t, sim, sp)
	if len(groups) < 8 {
		t.Fatalf("only %d messages in the view", len(groups))
	}
	_, last, err := sim.lastRelevant(sp)
	if err != nil {
		t.Fatal(err)
	}
	malformed := slices.IndexFunc(groups, func(g []obs) bool { return g[0].dead })
	big := slices.IndexFunc(groups[1:], func(g []obs) bool { return len(g) > 1 }) + 1
	if malformed < 0 || big < 1 {
		t.Fatalf("no malformed update (%d) or no update of several records (%d)", malformed, big)
	}
	cases := []struct {
		name   string
		change func(g [][]obs) [][]obs
		want   string // in the error; "" for none
	}{
		{"exact", func(g [][]obs) [][]obs { return g }, ""},
		{"update lost", func(g [][]obs) [][]obs { return slices.Delete(g, 3, 4) }, "missing"},
		{"update twice in a row", func(g [][]obs) [][]obs { return slices.Insert(g, 4, g[3]) }, "records"},
		{"update again later", func(g [][]obs) [][]obs { return slices.Insert(g, 6, g[3]) }, "duplicated"},
		{"updates swapped", func(g [][]obs) [][]obs { g[3], g[4] = g[4], g[3]; return g }, "missing"},
		{"tail lost", func(g [][]obs) [][]obs { return g[:len(g)-1] }, "missing"},
		{"record of an update lost", func(g [][]obs) [][]obs { g[big] = g[big][1:]; return g }, "records"},
		{"dead letter lost", func(g [][]obs) [][]obs { g[malformed] = []obs{}; return g }, "missing"},
		{"no reset marker", func(g [][]obs) [][]obs { g[0] = g[0][1:]; return g }, "reset marker"},
		{"update before the snapshot", func(g [][]obs) [][]obs { return append([][]obs{g[1]}, g...) }, "before any snapshot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var recs []obs
			for _, g := range c.change(slices.Clone(timelineObs(t, sim, sp))) {
				recs = append(recs, g...)
			}
			_, _, err := checkTimeline(sim, sp, "", recs, last)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("the exact timeline fails: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("err %v, want one about %q", err, c.want)
			}
		})
	}
}
