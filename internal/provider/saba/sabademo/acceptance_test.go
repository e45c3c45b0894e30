package sabademo

import (
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/connectortest"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
)

// TestAcceptance runs the connectortest acceptance suite on the saba
// connector against its simulator, on the real broker and registry.
func TestAcceptance(t *testing.T) {
	connectortest.Run(t, AcceptanceDriver())
}

// TestAcceptanceExpect checks the driver's Want against the simulator's
// own accounting (no broker): per GetEvents stream, one reset marker, the
// snapshot's events, and the event items CountsOf gives for every update
// of the timeline; every malformed update once per stream; and the faults
// the run promises fall on updates the streams carry.
func TestAcceptanceExpect(t *testing.T) {
	a := AcceptanceDriver()
	specs, err := saba.ParseStreams(acceptanceStreams)
	if err != nil {
		t.Fatal(err)
	}
	want, bad, err := a.Expect(specs, "x")
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := a.Expect(specs, "x")
	if err != nil || len(again) != len(want) {
		t.Fatalf("a second Expect: %d identities (%v), first %d", len(again), err, len(want))
	}
	twin := sabasim.NewSimulator(a.simOptions("x")...)
	defer twin.Close()
	n := 0
	for _, sp := range specs {
		if sp.Endpoint != "GetEvents" {
			continue
		}
		snap, err := snapshotEvents(twin, sp)
		if err != nil {
			t.Fatal(err)
		}
		n += 1 + len(snap)
	}
	twin.Step(int(a.Updates))
	malformed, duplicated := 0, 0
	for _, u := range twin.Updates() {
		if u.Malformed {
			malformed++
			continue
		}
		for _, sp := range specs {
			c, err := twin.CountsOf(sp.Endpoint, sp.Query, "none", u)
			if err != nil {
				t.Fatal(err)
			}
			if sp.Endpoint == "GetEvents" {
				n += c.EventsAdd + c.EventsChange + c.EventsRemove
				if u.Index%a.DuplicateEvery == 0 && c.Total() > 0 {
					duplicated++
				}
			}
		}
	}
	if len(want) != n {
		t.Errorf("Want holds %d identities, the simulator's counts %d", len(want), n)
	}
	if bad != malformed*len(specs) || malformed == 0 {
		t.Errorf("BadMessages %d, want %d malformed updates × %d streams", bad, malformed, len(specs))
	}
	if duplicated == 0 {
		t.Errorf("no duplicated frame carries an event item")
	}
	t.Logf("%d records on the events topic, %d malformed updates (%d dead letters), %d duplicated frames with event items",
		len(want), malformed, bad, duplicated)
}
