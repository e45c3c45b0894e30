package livecheck

import (
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/live"
)

func TestCheckStates(t *testing.T) {
	evs := []live.Event{{MatchID: "p:s:1", Kind: live.KindGoal, Position: "1"}, {MatchID: "p:s:1", Kind: live.KindCard, Position: "2"}}
	good := live.Match{MatchID: "p:s:1", Events: 2, LastKind: live.KindCard, LastPosition: "2"}
	for _, tc := range []struct {
		name    string
		matches map[string]live.Match
		events  map[string][]live.Event
		wantErr string
	}{
		{"consistent", map[string]live.Match{"p:s:1": good}, map[string][]live.Event{"p:s:1": evs}, ""},
		{"missing state", nil, map[string][]live.Event{"p:s:1": evs}, "no state"},
		{"count differs", map[string]live.Match{"p:s:1": {MatchID: "p:s:1", Events: 3, LastKind: live.KindCard, LastPosition: "2"}}, map[string][]live.Event{"p:s:1": evs}, "counts 3"},
		{"last differs", map[string]live.Match{"p:s:1": {MatchID: "p:s:1", Events: 2, LastKind: live.KindGoal, LastPosition: "1"}}, map[string][]live.Event{"p:s:1": evs}, "last event"},
		{"state without events", map[string]live.Match{"p:s:1": good, "p:s:2": {MatchID: "p:s:2"}}, map[string][]live.Event{"p:s:1": evs}, "no event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := &Topics{Events: tc.events, Matches: tc.matches}
			err := tp.CheckStates()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	tp := &Topics{Events: map[string][]live.Event{"a": {{Kind: live.KindGoal}, {Kind: live.KindOther}, {Kind: live.KindOther}}}, Matches: map[string]live.Match{"a": {}}}
	if got, want := tp.Summary(), "3 normalized events (OTHER 2, GOAL 1), 1 match states"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}
