package roanuzsim

// Truth is the simulator's own account of a match's timeline, for the
// read-back checks: what each step is and where the match stands after
// it, from the simulator's model of the match, not from the documents
// and pushes it renders (which are what the connector parses).
type Truth struct {
	Steps []StepTruth           // one per step, in order
	Balls map[string]*BallTruth // by ball key
}

// StepTruth is one step of the timeline: its push, and the match after it.
type StepTruth struct {
	Kind       string // the push's match_push_kind: Info, Toss, Squad, Play, Ball, Review, Result, Reward
	Reason     string // the push's push_reason: Other, NewOrLast, Update
	BallKey    string // the ball of a Ball step
	Correction bool   // a Ball step that re-sends an earlier ball, corrected

	// After the step, as the Match API document tells it.
	Status, PlayStatus string // not_started/scheduled, started/in_play or innings_break, completed/result
	Toss, Squads       bool   // the toss is decided; the squads are announced
	Innings            int    // innings started (a ball bowled in them)
	InningsDone        int    // innings completed
	LastBall           string // key of the latest ball bowled; "" before the first
	Score              Score  // the score
}

// BallTruth is one delivery of the timeline.
type BallTruth struct {
	Key               string
	Innings           int // 0: team a bats (innings a_1), 1: team b (b_1)
	Over, Ball        int // the over, from 0, and the legal ball number in it after this delivery
	Runs              int // what the delivery added to the batting team, extras included
	Wicket, Four, Six bool
	Legal             bool  // a legal ball (not a wide)
	Step              int   // the step that bowled it
	After             Score // the score right after it
}

// Score is where the match stands, per team (index 0 team a, 1 team b):
// runs, wickets, legal balls, and whether the team's innings started.
type Score struct {
	Runs, Wickets, Legal [2]int
	Started              [2]bool
}

// Truth returns the account of match's timeline (nil for an unknown
// match). The simulator need not be started.
func (s *Simulator) Truth(match string) *Truth {
	tl := s.tls[match]
	if tl == nil {
		return nil
	}
	return tl.truth()
}

// truth replays the timeline as matchDoc renders it.
func (tl *timeline) truth() *Truth {
	out := &Truth{Balls: map[string]*BallTruth{}}
	cur := StepTruth{Status: "not_started", PlayStatus: "scheduled"}
	done := [2]bool{}
	for i, s := range tl.steps {
		cur.Kind, cur.Reason, cur.BallKey, cur.Correction = s.Kind, s.Reason, "", false
		switch s.Kind {
		case stepToss:
			cur.Toss = true
		case stepSquad:
			cur.Squads = true
		case stepPlay:
			cur.Status, cur.PlayStatus = "started", "in_play"
			if cur.Score.Started[0] {
				done[0], cur.PlayStatus = true, "innings_break"
			}
		case stepBall:
			b := tl.balls[s.Ball]
			cur.BallKey = b.Key
			if s.Version > 0 {
				cur.Correction = true
				break
			}
			cur.PlayStatus, cur.LastBall = "in_play", b.Key
			sc := &cur.Score
			sc.Started[b.Innings] = true
			sc.Runs[b.Innings] += b.Runs + b.Extras
			if b.Wicket {
				sc.Wickets[b.Innings]++
			}
			if b.BallType == "normal" {
				sc.Legal[b.Innings]++
			}
			out.Balls[b.Key] = &BallTruth{Key: b.Key, Innings: b.Innings, Over: b.Over, Ball: b.Ball, Runs: b.Runs + b.Extras,
				Wicket: b.Wicket, Four: b.Four, Six: b.Six, Legal: b.BallType == "normal", Step: i, After: *sc}
		case stepResult:
			cur.Status, cur.PlayStatus = "completed", "result"
			done[1] = true
		}
		cur.Innings, cur.InningsDone = 0, 0
		for t := range done {
			if cur.Score.Started[t] {
				cur.Innings++
				if done[t] {
					cur.InningsDone++
				}
			}
		}
		out.Steps = append(out.Steps, cur)
	}
	return out
}
