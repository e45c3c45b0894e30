package roanuz

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/internal/live"
)

// The cricket score of the normalized records: runs of team a (home) and
// team b (away), each over its innings, and the text "TA 145/6 (20.0), TB
// 98/3 (12.2)": per innings in the order played, the batting team's code
// (its side, a or b, without one), runs/wickets and (overs.balls).

// tally is one innings' runs, wickets and legal balls.
type tally struct{ runs, wickets, legal int32 }

// docScores is what a match document tells of the score.
type docScores struct {
	after   map[string]*live.Score // by ball key: the score right after the ball
	current *live.Score            // the document's score; nil before the first innings
	latest  string                 // the key of its latest related ball
	clock   string                 // that ball as "over.ball"
}

// scoreBalls returns the document's score and the score right after each
// of its related balls: the innings totals, less what the later related
// balls added. A ball that does not decode, or names an innings the
// document does not list, ends the walk back (the earlier balls get none).
func scoreBalls(doc *matchDocument) docScores {
	m := doc.match
	out := docScores{after: map[string]*live.Score{}}
	tallies := make([]tally, len(m.Innings))
	index := map[string]int{}
	for i, in := range m.Innings {
		tallies[i] = tally{in.Runs, in.Wickets, oversBalls(in.Overs)}
		index[in.Key] = i
	}
	out.current = cricketScore(m, tallies, len(m.Innings))
	if n := len(doc.balls); n > 0 {
		out.latest = doc.balls[n-1].key
	}
	for i := len(doc.balls) - 1; i >= 0; i-- {
		d, err := parseBall(doc.balls[i].raw)
		if err != nil {
			break
		}
		if i == len(doc.balls)-1 {
			out.clock = ballClock(d)
		}
		k, ok := index[d.Innings]
		if !ok {
			break
		}
		out.after[doc.balls[i].key] = cricketScore(m, tallies, k+1)
		t := &tallies[k]
		t.runs -= ballRuns(d)
		if d.Wicket != nil || (d.TeamScore != nil && d.TeamScore.IsWicket) {
			t.wickets--
		}
		t.legal -= legalBalls(d)
		if t.runs < 0 || t.wickets < 0 || t.legal < 0 {
			break // the document's totals do not hold its balls
		}
	}
	return out
}

// legalBalls is 1 for a legal delivery (counted in the overs), else 0.
func legalBalls(d *BallDetail) int32 {
	switch {
	case d.TeamScore != nil:
		return d.TeamScore.BallCount
	case d.BallType == "normal":
		return 1
	}
	return 0
}

// oversBalls turns "overs.balls" into legal balls (0 when unreadable).
func oversBalls(s string) int32 {
	o, b, _ := strings.Cut(s, ".")
	ov, err1 := strconv.Atoi(o)
	bl, err2 := strconv.Atoi(b)
	if err1 != nil || (b != "" && err2 != nil) {
		return 0
	}
	return int32(ov*6 + bl)
}

// cricketScore is the score of the first n innings of m at tallies; nil
// when n is 0. A team without an innings among them has no runs (nil).
func cricketScore(m *Match, tallies []tally, n int) *live.Score {
	if n == 0 {
		return nil
	}
	var home, away *int32
	parts := make([]string, 0, n)
	for i := range n {
		in, t := m.Innings[i], tallies[i]
		side, _, _ := strings.Cut(in.Key, "_")
		label := in.Key
		switch side {
		case "a":
			home, label = addRuns(home, t.runs), teamLabel(m.TeamA, side)
		case "b":
			away, label = addRuns(away, t.runs), teamLabel(m.TeamB, side)
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d (%d.%d)", label, t.runs, t.wickets, t.legal/6, t.legal%6))
	}
	return &live.Score{Home: home, Away: away, Summary: live.Ptr(strings.Join(parts, ", "))}
}

func addRuns(total *int32, runs int32) *int32 {
	if total == nil {
		return live.Ptr(runs)
	}
	return live.Ptr(*total + runs)
}

// teamLabel is the team's code, or its side without one.
func teamLabel(t *Team, side string) string {
	if t != nil && t.Code != "" {
		return t.Code
	}
	return side
}
