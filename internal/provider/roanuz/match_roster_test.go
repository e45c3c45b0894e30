package roanuz

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
)

// subscriptions returns the committed Subscription records, in order.
func subscriptions(r *fakeRunner) []*Subscription {
	var out []*Subscription
	for _, rec := range r.records() {
		if s, ok := rec.Value.(*Subscription); ok {
			out = append(out, s)
		}
	}
	return out
}

// hasSub reports whether a Subscription with match, action and reason was committed.
func hasSub(r *fakeRunner, match, action, reason string) bool {
	return slices.ContainsFunc(subscriptions(r), func(s *Subscription) bool {
		return s.MatchKey == match && s.Action == action && s.Reason == reason
	})
}

// roster returns the committed roster of match m's bucket.
func roster(r *fakeRunner, m string) []string {
	o, _ := r.offset(rosterPartition(bucketOf(m)))
	return offsetList(o[offsetRoster])
}

// wrote reports whether a document of match m was committed.
func wrote(r *fakeRunner, m string) bool {
	return slices.ContainsFunc(r.records(), func(rec *connector.SourceRecord) bool {
		v, ok := rec.Value.(*Match)
		return ok && v.Key == m
	})
}

func TestMatchDiscoveryFollowsAndReleases(t *testing.T) {
	sim := startSim(t, roanuzsim.WithMatches("m1", "m2", "m3", "m4"), roanuzsim.WithOvers(1), roanuzsim.WithListed("m1", "m2"))
	r, _ := startMatch(t, matchConfigFor(t, sim, map[string]string{KeyMatches: "", KeyDiscover: DiscoverFeatured,
		KeyDiscoverInterval: "100"}))

	// Listed matches are followed: roster first, then subscribed and streamed.
	waitFor(t, 10*time.Second, "m1 and m2 followed", func() bool {
		return sim.Subscribed("m1", MethodWebSocket) && sim.Subscribed("m2", MethodWebSocket) && wrote(r, "m1") && wrote(r, "m2")
	})
	for _, m := range []string{"m1", "m2"} {
		if !hasSub(r, m, ActionFollow, ReasonListed) || !slices.Contains(roster(r, m), m) {
			t.Fatalf("%s followed without a committed follow record and roster entry: %+v", m, subscriptions(r))
		}
	}

	// A completed match is released.
	for sim.Step("m2") < sim.Steps("m2")-1 {
		sim.Advance("m2")
	}
	waitFor(t, 10*time.Second, "m2 released after completion", func() bool {
		return !sim.Subscribed("m2", MethodWebSocket) && hasSub(r, "m2", ActionRelease, ReasonCompleted)
	})

	// A match gone from the list is released; a new one is followed.
	sim.SetListed("m2", "m3")
	waitFor(t, 10*time.Second, "m1 released, m3 followed", func() bool {
		return !sim.Subscribed("m1", MethodWebSocket) && hasSub(r, "m1", ActionRelease, ReasonRemoved) &&
			sim.Subscribed("m3", MethodWebSocket) && wrote(r, "m3")
	})
	for _, m := range []string{"m1", "m2"} {
		if slices.Contains(roster(r, m), m) {
			t.Fatalf("released %s is still in its roster %v", m, roster(r, m))
		}
	}
	if wrote(r, "m4") || sim.SubscribeCalls("m4", "subscribe") > 0 {
		t.Fatal("m4 was never listed but was followed")
	}
	if m2 := sim.SubscribeCalls("m2", "subscribe"); m2 > 2 {
		t.Fatalf("completed m2 subscribed %d times: followed again after completion", m2)
	}
	_, _, done := r.metrics.snapshot()
	if done["m1"] != 1 || done["m2"] != 1 {
		t.Fatalf("FixtureDone %v, want m1 and m2 once", done)
	}
	t.Logf("%d featured list reads, %d subscription records", sim.FeaturedCalls(), len(subscriptions(r)))
}

func TestMatchRosterOnStart(t *testing.T) {
	rosterOf := func(ms ...string) []connector.PartitionOffset {
		by := map[int][]any{}
		for _, m := range ms {
			by[bucketOf(m)] = append(by[bucketOf(m)], m)
		}
		var out []connector.PartitionOffset
		for b, l := range by {
			out = append(out, connector.PartitionOffset{Partition: rosterPartition(b), Offset: connector.Offset{offsetRoster: l}})
		}
		return out
	}
	completed := func(m string) connector.PartitionOffset {
		return connector.PartitionOffset{Partition: MatchPartition(m), Offset: connector.Offset{OffsetCompleted: true, offsetHash: "x"}}
	}
	for _, tc := range []struct {
		name     string
		extra    map[string]string
		listed   []string
		offsets  []connector.PartitionOffset
		released map[string]string // match -> reason
		kept     []string          // followed and still subscribed
	}{
		{name: "dropped from the config: unsubscribed", extra: map[string]string{KeyMatches: "m1"},
			offsets: rosterOf("m1", "old"), released: map[string]string{"old": ReasonRemoved}, kept: []string{"m1"}},
		{name: "completed before the crash left the roster: unsubscribed", extra: map[string]string{KeyMatches: "m1,done"},
			offsets: append(rosterOf("m1", "done"), completed("done")), released: map[string]string{"done": ReasonCompleted}, kept: []string{"m1"}},
		{name: "no longer listed: unsubscribed after the first list", extra: map[string]string{KeyMatches: "", KeyDiscover: DiscoverFeatured, KeyDiscoverInterval: "100"},
			listed: []string{"m1"}, offsets: rosterOf("m1", "old"), released: map[string]string{"old": ReasonRemoved}, kept: []string{"m1"}},
		{name: "still listed: kept", extra: map[string]string{KeyMatches: "m1", KeyDiscover: DiscoverFeatured, KeyDiscoverInterval: "100"},
			listed: []string{"m1", "old"}, offsets: rosterOf("old"), kept: []string{"m1", "old"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, roanuzsim.WithMatches("m1", "old", "done"), roanuzsim.WithListed(tc.listed...))
			cl := NewClient(sim.URL(), "sim_project", "sim-api-key", nil, testLogger(t))
			for _, m := range []string{"old", "done"} { // subscribed by an earlier run
				if err := cl.Subscribe(context.Background(), m); err != nil {
					t.Fatal(err)
				}
			}
			r, _ := startMatch(t, matchConfigFor(t, sim, tc.extra), tc.offsets...)
			waitFor(t, 30*time.Second, "the roster settled", func() bool {
				for m, reason := range tc.released {
					if sim.Subscribed(m, MethodWebSocket) || !hasSub(r, m, ActionRelease, reason) || slices.Contains(roster(r, m), m) {
						return false
					}
				}
				for _, m := range tc.kept {
					if !sim.Subscribed(m, MethodWebSocket) || !wrote(r, m) {
						return false
					}
				}
				return true
			})
			time.Sleep(300 * time.Millisecond) // a few list reads more: nothing else moves
			for _, m := range tc.kept {
				if !sim.Subscribed(m, MethodWebSocket) || hasSub(r, m, ActionRelease, ReasonRemoved) {
					t.Fatalf("%s was released", m)
				}
			}
			// Without discovery a match dropped from the config is released
			// before it is followed; with discovery, a match on the roster is
			// followed until the first list read says it is gone, so its
			// document may be written meanwhile.
			if wrote(r, "old") && tc.released["old"] != "" && tc.extra[KeyDiscover] == "" {
				t.Fatal("a released match's document was written")
			}
		})
	}
}

func TestRosterRecordKeepsTheBucketList(t *testing.T) {
	task := &MatchTask{subTopic: "subs", rosters: map[int][]string{}, rosterParts: map[int]connector.Partition{}}
	steps := []struct {
		match, action string
	}{{"a", ActionFollow}, {"b", ActionFollow}, {"a", ActionFollow}, {"a", ActionRelease}, {"c", ActionRelease}}
	var last map[int][]string = map[int][]string{}
	for _, s := range steps {
		rec := task.rosterRecord(&rosterChange{match: s.match, action: s.action, reason: ReasonConfigured, done: make(chan error, 1)})
		b := bucketOf(s.match)
		if s.action == ActionFollow {
			last[b] = append(slices.DeleteFunc(last[b], func(x string) bool { return x == s.match }), s.match)
		} else {
			last[b] = slices.DeleteFunc(last[b], func(x string) bool { return x == s.match })
		}
		slices.Sort(last[b])
		got := offsetList(rec.Offset[offsetRoster])
		if !slices.Equal(got, last[b]) && !(len(got) == 0 && len(last[b]) == 0) {
			t.Fatalf("after %s %s: roster %v, want %v", s.action, s.match, got, last[b])
		}
		if rec.Partition.String() != rosterPartition(b).String() || string(rec.Key) != s.match || rec.Schema != SubscriptionSchema {
			t.Fatalf("record %+v", rec)
		}
		rec.OnCommit(nil)
	}
}
