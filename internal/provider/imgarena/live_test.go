package imgarena

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
)

func TestLiveMapper(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		name     string
		a        Action
		kind     live.Kind
		provType string
		score    string // "h-a" or ""
	}{
		{"kick off", Action{ActionType: s("KickOff"), SendType: s("Confirmed")}, live.KindPeriodStart, "KickOff", ""},
		{"goal", Action{ActionType: s("Goal"), ActionSubType: s("Penalty"), SendType: s("Confirmed"),
			Summary: &Summary{HomeTeamScore: ptr64(1), AwayTeamScore: ptr64(0)}}, live.KindGoal, "Goal/Penalty", "1-0"},
		{"pending goal is not yet a goal", Action{ActionType: s("Goal"), SendType: s("Pending")}, live.KindOther, "Goal (Pending)", ""},
		{"amended card", Action{ActionType: s("Card"), ActionSubType: s("Yellow"), SendType: s("Amended")}, live.KindCorrection, "Card/Yellow (Amended)", ""},
		{"card", Action{ActionType: s("Card"), ActionSubType: s("Red"), SendType: s("Confirmed")}, live.KindCard, "Card/Red", ""},
		{"substitution", Action{ActionType: s("Substitution"), SendType: s("Confirmed")}, live.KindSubstitution, "Substitution", ""},
		{"fixture end", Action{ActionType: s("FixtureEnd"), SendType: s("Confirmed"), Finished: true}, live.KindMatchStatus, "FixtureEnd", ""},
		{"shot is other", Action{ActionType: s("Shot"), ActionSubType: s("OnTarget"), SendType: s("Confirmed")}, live.KindOther, "Shot/OnTarget", ""},
		{"no send type", Action{ActionType: s("Corner")}, live.KindOther, "Corner", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			a.Fixture, a.Sport, a.Position, a.ActionID = "42", "soccer", 7, s("42-a-7")
			m, ok := liveMapper(&connector.SourceRecord{Value: &a})
			if !ok {
				t.Fatal("action not mapped")
			}
			ev := m.Event
			if ev.Kind != tc.kind || ev.ProviderType != tc.provType {
				t.Fatalf("kind %s type %q, want %s %q", ev.Kind, ev.ProviderType, tc.kind, tc.provType)
			}
			if ev.MatchID != "imgarena:soccer:42" || ev.Position != "7" || ev.SourceID != "42-a-7" {
				t.Fatalf("ids %q %q %q", ev.MatchID, ev.Position, ev.SourceID)
			}
			got := ""
			if ev.Score != nil {
				got = strconv.Itoa(int(*ev.Score.Home)) + "-" + strconv.Itoa(int(*ev.Score.Away))
			}
			if got != tc.score || m.Finished != a.Finished {
				t.Fatalf("score %q finished %v", got, m.Finished)
			}
		})
	}
	if _, ok := liveMapper(&connector.SourceRecord{Value: &Status{}}); ok {
		t.Fatal("a connection status was mapped to a match event")
	}
}

func ptr64(n int64) *int64 { return &n }

// TestLiveEventsFollowTheFeed runs a task against the simulator with
// dropped connections: every action gets exactly one normalized event,
// right after it and with its position, and the last match state counts
// them all and holds the feed's final score.
func TestLiveEventsFollowTheFeed(t *testing.T) {
	const n = 60
	sim := startSim(t, imgarenasim.SimFixtures("5001", "5002"), imgarenasim.SimEvents(n), imgarenasim.SimFinish(true),
		imgarenasim.SimEventInterval(time.Second, time.Millisecond), imgarenasim.SimDropAfter(17))
	task := runTask(t, taskConfig(t, sim, map[string]string{KeyFixtures: "5001,5002"}), nil, testLogger(t))
	var all []*connector.SourceRecord
	deadline := time.Now().Add(20 * time.Second)
	for actions := 0; actions < 2*n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d actions of %d", actions, 2*n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		recs, err := task.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		recs = connector.Flatten(recs) // as the worker writes them
		for _, r := range recs {
			if _, ok := r.Value.(*Action); ok {
				actions++
			}
		}
		all = append(all, recs...)
	}
	last := map[string]*live.Match{}
	events := map[string]int{}
	kinds := map[live.Kind]int{}
	for i, r := range all {
		switch v := r.Value.(type) {
		case *Action:
			if i+1 >= len(all) {
				t.Fatalf("action %s/%d is the batch's last record: no normalized event after it", v.Fixture, v.Position)
			}
			ev, ok := all[i+1].Value.(*live.Event)
			if !ok || !strings.HasSuffix(all[i+1].Topic, ".live.events") {
				t.Fatalf("after action %s/%d comes %T on %s, want its live event", v.Fixture, v.Position, all[i+1].Value, all[i+1].Topic)
			}
			if ev.MatchID != "imgarena:soccer:"+v.Fixture || ev.Position != strconv.FormatInt(v.Position, 10) || ev.SourceTopic != r.Topic {
				t.Fatalf("event %+v for action %s/%d", ev, v.Fixture, v.Position)
			}
			if all[i+1].Offset["position"] != r.Offset["position"] {
				t.Fatalf("event offset %v, action offset %v", all[i+1].Offset, r.Offset)
			}
			events[ev.MatchID]++
			kinds[ev.Kind]++
		case *live.Match:
			last[v.MatchID] = v
		}
	}
	for _, f := range []string{"5001", "5002"} {
		id := "imgarena:soccer:" + f
		m := last[id]
		if m == nil || events[id] != n || m.Events != int64(n) || !m.Finished {
			t.Fatalf("%s: %d events, state %+v; want %d events and finished", id, events[id], m, n)
		}
		if m.Score == nil || m.Score.Home == nil || m.Score.Away == nil {
			t.Fatalf("%s: final state without a score: %+v", id, m)
		}
	}
	if kinds[live.KindPeriodStart] != 2 || kinds[live.KindMatchStatus] != 2 || kinds[live.KindOther] == 0 {
		t.Fatalf("kinds %v: want one kick-off and one end per fixture, and some OTHER", kinds)
	}
	t.Logf("%d records, kinds %v", len(all), kinds)
}
