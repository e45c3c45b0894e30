package live

import (
	"testing"
	"time"
)

func TestApplyKeepsWhatTheEventDoesNotTell(t *testing.T) {
	t0 := time.UnixMilli(1000).UTC()
	for _, tc := range []struct {
		name      string
		events    []Event
		finished  []bool
		wantScore string // home-away/summary of the state
		wantState string
		wantFin   bool
	}{
		{name: "first event sets identity and score",
			events:    []Event{{MatchID: "p:s:1", Status: Ptr("live"), Score: &Score{Home: Ptr[int32](1), Away: Ptr[int32](0)}}},
			wantScore: "1-0/", wantState: "live"},
		{name: "partial score keeps the other side",
			events:    []Event{{MatchID: "p:s:1", Score: &Score{Home: Ptr[int32](1), Away: Ptr[int32](0)}}, {MatchID: "p:s:1", Score: &Score{Away: Ptr[int32](2)}}},
			wantScore: "1-2/"},
		{name: "summary only (cricket text)",
			events:    []Event{{MatchID: "p:s:1", Score: &Score{Summary: Ptr("120/3 (15.2)")}}},
			wantScore: "?-?/120/3 (15.2)"},
		{name: "status kept when later event says none, finished sticks",
			events:    []Event{{MatchID: "p:s:1", Status: Ptr("ended")}, {MatchID: "p:s:1", EventTime: &t0}},
			finished:  []bool{true, false},
			wantScore: "none", wantState: "ended", wantFin: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Match
			for i, e := range tc.events {
				fin := i < len(tc.finished) && tc.finished[i]
				m.apply(e, fin)
			}
			if m.MatchID != "p:s:1" || m.Events != int64(len(tc.events)) {
				t.Fatalf("identity/count %+v", m)
			}
			if got := scoreText(m.Score); got != tc.wantScore {
				t.Fatalf("score %s, want %s", got, tc.wantScore)
			}
			if st := deref(m.Status); st != tc.wantState {
				t.Fatalf("status %q, want %q", st, tc.wantState)
			}
			if m.Finished != tc.wantFin {
				t.Fatalf("finished %v", m.Finished)
			}
		})
	}
}

func scoreText(s *Score) string {
	if s == nil {
		return "none"
	}
	n := func(p *int32) string {
		if p == nil {
			return "?"
		}
		return string(rune('0' + *p))
	}
	return n(s.Home) + "-" + n(s.Away) + "/" + deref(s.Summary)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
