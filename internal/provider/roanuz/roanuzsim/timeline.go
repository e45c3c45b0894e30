package roanuzsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Step kinds of a simulated match; each is one push and one change of the
// match document.
const (
	stepInfo   = "Info"
	stepToss   = "Toss"
	stepSquad  = "Squad"
	stepPlay   = "Play"
	stepBall   = "Ball"
	stepReview = "Review"
	stepResult = "Result"
	stepReward = "Reward"
	stepOther  = "Other"
)

// simBall is one delivery of the simulated match.
type simBall struct {
	Key        string
	KeyNum     int64
	Innings    int // 0 or 1
	Over, Ball int // over index and legal ball number within it (after this delivery)
	Runs       int
	Extras     int
	Wicket     bool
	Four, Six  bool
	Batsman    string
	Bowler     string
	NonStriker string
	Comment    string
	Repr       string
	BallType   string
	Deleted    bool
	Entry      string // entry_time text
	Updated    string // updated_time text
}

// simStep is one step of the timeline.
type simStep struct {
	Kind    string
	Reason  string // NewOrLast, Update, Other
	TS      string // ts text
	Ball    int    // index into timeline.balls, -1 if none
	Version int    // for Update steps: the correction number
}

// timeline is the deterministic course of one match: its steps and balls.
type timeline struct {
	match     string
	steps     []simStep
	balls     []simBall
	overs     int
	teams     [2]string
	completed int // step index after which the match is completed (the Result step)
}

// newTimeline builds the course of match from seed, with overs per innings.
func newTimeline(seed uint64, match string, overs int) *timeline {
	h := uint64(14695981039346656037)
	for _, c := range []byte(match) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	rng := rand.New(rand.NewPCG(seed, h))
	tl := &timeline{match: match, overs: overs, teams: [2]string{"a", "b"}}
	ts := int64(1733148565)
	addStep := func(kind, reason string, ball int, frac bool) {
		ts += int64(3 + rng.IntN(20))
		t := strconv.FormatInt(ts, 10)
		if frac {
			t += "." + fmt.Sprintf("%06d", rng.IntN(1000000))
		}
		tl.steps = append(tl.steps, simStep{Kind: kind, Reason: reason, TS: t, Ball: ball})
	}
	addStep(stepInfo, "Other", -1, false)
	addStep(stepToss, "Other", -1, false)
	addStep(stepSquad, "Other", -1, false)
	addStep(stepPlay, "Other", -1, false)
	key := int64(524352)
	target := 0
	for inn := 0; inn < 2; inn++ {
		bat, bowl := tl.teams[inn], tl.teams[1-inn]
		striker, nonStriker, next := 1, 2, 3
		runs, wickets := 0, 0
	overs:
		for over := 0; over < overs; over++ {
			bowler := fmt.Sprintf("%s_p%d", bowl, 7+over%5)
			for legal := 0; legal < 6; {
				b := simBall{Key: strconv.FormatInt(key, 10), KeyNum: key, Innings: inn, Over: over, Bowler: bowler, BallType: "normal",
					Batsman: fmt.Sprintf("%s_p%d", bat, striker), NonStriker: fmt.Sprintf("%s_p%d", bat, nonStriker)}
				key++
				switch r := rng.IntN(100); {
				case r < 3:
					b.BallType, b.Extras, b.Repr = "wide", 1, "wd"
				case r < 9 && wickets < 10:
					b.Wicket, b.Repr = true, "w"
				case r < 40:
					b.Repr = "0"
				case r < 70:
					b.Runs, b.Repr = 1, "1"
				case r < 80:
					b.Runs, b.Repr = 2, "2"
				case r < 93:
					b.Runs, b.Four, b.Repr = 4, true, "b4"
				default:
					b.Runs, b.Six, b.Repr = 6, true, "b6"
				}
				if b.BallType == "normal" {
					legal++
				}
				b.Ball = legal
				runs += b.Runs + b.Extras
				b.Comment = fmt.Sprintf("%s to %s: %s", b.Bowler, b.Batsman, commentOf(&b))
				tl.balls = append(tl.balls, b)
				addStep(stepBall, "NewOrLast", len(tl.balls)-1, true)
				last := &tl.balls[len(tl.balls)-1]
				last.Updated = tsMinus(tl.steps[len(tl.steps)-1].TS)
				last.Entry = last.Updated
				if b.Wicket {
					wickets++
					striker = next
					next++
					addStep(stepReview, "Other", -1, false)
				} else if b.Runs%2 == 1 {
					striker, nonStriker = nonStriker, striker
				}
				// Now and then correct an earlier ball (push_reason Update).
				if len(tl.balls) > 3 && rng.IntN(12) == 0 {
					i := len(tl.balls) - 2 - rng.IntN(2)
					addStep(stepBall, "Update", i, true)
					tl.steps[len(tl.steps)-1].Version = 1
				}
				if wickets >= 10 || (inn == 1 && runs >= target) {
					break overs
				}
			}
			striker, nonStriker = nonStriker, striker
		}
		if inn == 0 {
			target = runs + 1
			addStep(stepPlay, "Other", -1, false) // innings break
		}
	}
	addStep(stepResult, "Other", -1, false)
	tl.completed = len(tl.steps) - 1
	addStep(stepReward, "Other", -1, false)
	return tl
}

func commentOf(b *simBall) string {
	switch {
	case b.BallType == "wide":
		return "wide"
	case b.Wicket:
		return "<b>OUT</b>"
	case b.Six:
		return "<b>SIX</b>. 6 runs."
	case b.Four:
		return "<b>FOUR</b>. 4 runs."
	case b.Runs == 0:
		return "no run"
	}
	return fmt.Sprintf("%d run(s)", b.Runs)
}

// tsMinus returns the entry/updated time text of a ball pushed at ts: 0.6 s earlier, 3 decimals.
func tsMinus(ts string) string {
	f, _ := strconv.ParseFloat(ts, 64)
	return strconv.FormatFloat(f-0.6, 'f', 3, 64)
}

// wire types of the simulated push (field order as the documents show).
type simPushBody struct {
	Sport    string      `json:"sport"`
	DataKind string      `json:"data_kind"`
	Data     simPushData `json:"data"`
}

type simPushData struct {
	MatchKey      string       `json:"matchkey"`
	Ball          *simPushBall `json:"ball"`
	PushReason    string       `json:"push_reason"`
	MatchPushKind string       `json:"match_push_kind"`
	TS            json.Number  `json:"ts"`
}

type simPushBall struct {
	BallKey      json.Number   `json:"ball_key"`
	Over         int           `json:"over"`
	BattingOrder int           `json:"batting_order"`
	IsDelete     bool          `json:"is_delete"`
	Detail       simBallDetail `json:"detail"`
}

type simBallDetail struct {
	Key            string       `json:"key"`
	BallType       string       `json:"ball_type"`
	BattingTeam    string       `json:"batting_team"`
	Comment        string       `json:"comment"`
	Innings        string       `json:"innings"`
	Overs          [2]int       `json:"overs"`
	Batsman        simBatsman   `json:"batsman"`
	Bowler         simBowler    `json:"bowler"`
	TeamScore      simTeamScore `json:"team_score"`
	Fielders       []any        `json:"fielders"`
	Wicket         *simWicket   `json:"wicket"`
	NonStrikerKey  string       `json:"non_striker_key"`
	EntryTime      json.Number  `json:"entry_time"`
	BallPlayStatus string       `json:"ball_play_status"`
	BallTags       []string     `json:"ball_tags"`
	UpdatedTime    json.Number  `json:"updated_time"`
	Repr           string       `json:"repr"`
}

// simBatsman is the striker's share of a ball.
type simBatsman struct {
	PlayerKey string `json:"player_key"`
	BallCount int32  `json:"ball_count"`
	Runs      int32  `json:"runs"`
	IsDotBall bool   `json:"is_dot_ball"`
	IsFour    bool   `json:"is_four"`
	IsSix     bool   `json:"is_six"`
}

// simBowler is the bowler's share of a ball.
type simBowler struct {
	PlayerKey string `json:"player_key"`
	BallCount int32  `json:"ball_count"`
	Runs      int32  `json:"runs"`
	Extras    int32  `json:"extras"`
	IsWicket  bool   `json:"is_wicket"`
}

// simTeamScore is the batting team's share of a ball.
type simTeamScore struct {
	BallCount int32 `json:"ball_count"`
	Runs      int32 `json:"runs"`
	Extras    int32 `json:"extras"`
	IsWicket  bool  `json:"is_wicket"`
}

type simWicket struct {
	PlayerKey  string `json:"player_key"`
	WicketType string `json:"wicket_type"`
}

// detail renders ball i as the documents show it; version > 0 marks a correction.
func (tl *timeline) detail(i, version int, updated string) simBallDetail {
	b := tl.balls[i]
	d := simBallDetail{Key: b.Key, BallType: b.BallType, BattingTeam: tl.teams[b.Innings], Comment: b.Comment,
		Innings: tl.teams[b.Innings] + "_1", Overs: [2]int{b.Over, b.Ball},
		Batsman:        simBatsman{PlayerKey: b.Batsman, BallCount: boolInt(b.BallType == "normal"), Runs: int32(b.Runs), IsDotBall: b.Runs == 0 && b.Extras == 0 && !b.Wicket, IsFour: b.Four, IsSix: b.Six},
		Bowler:         simBowler{PlayerKey: b.Bowler, BallCount: boolInt(b.BallType == "normal"), Runs: int32(b.Runs + b.Extras), Extras: int32(b.Extras), IsWicket: b.Wicket},
		TeamScore:      simTeamScore{BallCount: boolInt(b.BallType == "normal"), Runs: int32(b.Runs + b.Extras), Extras: int32(b.Extras), IsWicket: b.Wicket},
		Fielders:       []any{},
		NonStrikerKey:  b.NonStriker,
		EntryTime:      json.Number(b.Entry),
		BallPlayStatus: "played",
		BallTags:       []string{},
		UpdatedTime:    json.Number(updated),
		Repr:           b.Repr,
	}
	if b.Wicket {
		d.Wicket = &simWicket{PlayerKey: b.Batsman, WicketType: "bowled"}
		d.Fielders = []any{}
	}
	if version > 0 {
		d.Comment += " (corrected)"
		d.BallTags = []string{"corrected"}
	}
	return d
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// pushBody returns the JSON body of step i.
func (tl *timeline) pushBody(i int) []byte {
	s := tl.steps[i]
	body := simPushBody{Sport: "cricket", DataKind: "match-detail-update",
		Data: simPushData{MatchKey: tl.match, PushReason: s.Reason, MatchPushKind: s.Kind, TS: json.Number(s.TS)}}
	if s.Ball >= 0 {
		b := tl.balls[s.Ball]
		updated := b.Updated
		if s.Version > 0 {
			updated = tsMinus(s.TS)
		}
		body.Data.Ball = &simPushBall{BallKey: json.Number(b.Key), Over: b.Over, BattingOrder: b.Innings + 1,
			Detail: tl.detail(s.Ball, s.Version, updated)}
	}
	out, _ := json.Marshal(body)
	return out
}
