package sabademo

import (
	"slices"
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
)

// timelineObs returns what a correct connector writes for sp: the initial
// snapshot, then every update of the view in order (a malformed one as one
// dead letter).
func timelineObs(t *testing.T, sim *sabasim.Simulator, sp saba.StreamSpec) [][]Obs {
	t.Helper()
	name := sp.Name()
	groups := [][]Obs{{
		{Stream: name, MsgID: sim.IDOf(0), Topic: "events", Op: saba.OpReset, Status: saba.StatusInitialData},
		{Stream: name, MsgID: sim.IDOf(0), Topic: "events", Op: saba.OpAdd, Status: saba.StatusInitialData},
	}}
	for _, u := range sim.Updates() {
		c, err := sim.CountsOf(sp.Endpoint, sp.Query, "", u)
		if err != nil {
			t.Fatal(err)
		}
		var g []Obs
		add := func(n int, topic, op string) {
			for range n {
				g = append(g, Obs{Stream: name, MsgID: u.ID, Topic: topic, Op: op})
			}
		}
		if u.Malformed {
			g = append(g, Obs{Stream: name, MsgID: u.ID, Dead: true})
		} else {
			add(c.EventsAdd, "events", saba.OpAdd)
			add(c.EventsChange, "events", saba.OpChange)
			add(c.EventsRemove, "events", saba.OpRemove)
			add(c.MarketsAdd, "markets", saba.OpAdd)
			add(c.MarketsChange, "markets", saba.OpChange)
			add(c.MarketsRemove, "markets", saba.OpRemove)
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
	sim := sabasim.NewSimulator(sabasim.WithEpoch("v"), sabasim.WithRecordTimeline(true), sabasim.WithMalformedEvery(7))
	sim.Step(30)
	sp := saba.StreamSpec{Endpoint: "GetEvents", Query: "$filter=sporttype eq 1"}
	groups := timelineObs(t, sim, sp)
	if len(groups) < 8 {
		t.Fatalf("only %d messages in the view", len(groups))
	}
	_, last, err := sim.LastRelevant(sp.Endpoint, sp.Query)
	if err != nil {
		t.Fatal(err)
	}
	malformed := slices.IndexFunc(groups, func(g []Obs) bool { return g[0].Dead })
	big := slices.IndexFunc(groups[1:], func(g []Obs) bool { return len(g) > 1 }) + 1
	if malformed < 0 || big < 1 {
		t.Fatalf("no malformed update (%d) or no update of several records (%d)", malformed, big)
	}
	cases := []struct {
		name   string
		change func(g [][]Obs) [][]Obs
		want   string // in the error; "" for none
	}{
		{"exact", func(g [][]Obs) [][]Obs { return g }, ""},
		{"update lost", func(g [][]Obs) [][]Obs { return slices.Delete(g, 3, 4) }, "missing"},
		{"update twice in a row", func(g [][]Obs) [][]Obs { return slices.Insert(g, 4, g[3]) }, "records"},
		{"update again later", func(g [][]Obs) [][]Obs { return slices.Insert(g, 6, g[3]) }, "duplicated"},
		{"updates swapped", func(g [][]Obs) [][]Obs { g[3], g[4] = g[4], g[3]; return g }, "missing"},
		{"tail lost", func(g [][]Obs) [][]Obs { return g[:len(g)-1] }, "missing"},
		{"record of an update lost", func(g [][]Obs) [][]Obs { g[big] = g[big][1:]; return g }, "records"},
		{"dead letter lost", func(g [][]Obs) [][]Obs { g[malformed] = []Obs{}; return g }, "missing"},
		{"no reset marker", func(g [][]Obs) [][]Obs { g[0] = g[0][1:]; return g }, "reset marker"},
		{"update before the snapshot", func(g [][]Obs) [][]Obs { return append([][]Obs{g[1]}, g...) }, "before any snapshot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var recs []Obs
			for _, g := range c.change(slices.Clone(timelineObs(t, sim, sp))) {
				recs = append(recs, g...)
			}
			_, _, err := CheckTimeline(sim, sp, "", recs, last)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("the exact timeline fails: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("err %v, want one about %q", err, c.want)
			}
		})
	}
}
