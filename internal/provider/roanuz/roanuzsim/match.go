package roanuzsim

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// RelatedBalls is how many recent balls a match document carries in
// play.related_balls (Roanuz: the last 12).
const RelatedBalls = 12

// matchDoc renders the Match API response after steps 0..step.
func (tl *timeline) matchDoc(step int) []byte {
	if step >= len(tl.steps) {
		step = len(tl.steps) - 1
	}
	type inningsScore struct {
		Index       string `json:"index"`
		Overs       [2]int `json:"overs"`
		IsCompleted bool   `json:"is_completed"`
		Runs        int    `json:"runs"`
		Wickets     int    `json:"wickets"`
		Balls       int    `json:"balls"`
		Extras      int    `json:"extras"`
		ScoreStr    string `json:"score_str"`
	}
	var inn [2]inningsScore
	started := [2]bool{}
	versions := map[int]int{}     // ball index -> corrections applied
	corrected := map[int]string{} // ball index -> updated_time of its last correction
	lastBall := -1
	status, playStatus := "not_started", "scheduled"
	var toss, result, live, target any
	squad := map[string]any{}
	for i := 0; i <= step; i++ {
		s := tl.steps[i]
		switch s.Kind {
		case stepToss:
			toss = map[string]string{"winner": "a", "elected": "bat", "squad_armed": "a"}
		case stepSquad:
			for _, t := range tl.teams {
				var xi []string
				for p := 1; p <= 11; p++ {
					xi = append(xi, fmt.Sprintf("%s_p%d", t, p))
				}
				squad[t] = map[string]any{"playing_xi": xi, "captain": t + "_p1", "keeper": t + "_p6"}
			}
		case stepPlay:
			status, playStatus = "started", "in_play"
			if started[0] {
				inn[0].IsCompleted = true
				playStatus = "innings_break"
				b := 6 * tl.overs
				target = map[string]int{"runs": inn[0].Runs + 1, "balls": b}
			}
		case stepBall:
			if s.Version > 0 {
				versions[s.Ball], corrected[s.Ball] = s.Version, tsMinus(s.TS)
				continue
			}
			b := tl.balls[s.Ball]
			lastBall = s.Ball
			started[b.Innings] = true
			playStatus = "in_play"
			sc := &inn[b.Innings]
			sc.Index = tl.teams[b.Innings] + "_1"
			sc.Runs += b.Runs + b.Extras
			sc.Extras += b.Extras
			if b.Wicket {
				sc.Wickets++
			}
			if b.BallType == "normal" {
				sc.Balls++
			}
			sc.Overs = [2]int{sc.Balls / 6, sc.Balls % 6}
			sc.ScoreStr = fmt.Sprintf("%d/%d in %d.%d", sc.Runs, sc.Wickets, sc.Overs[0], sc.Overs[1])
		case stepResult:
			status, playStatus = "completed", "result"
			inn[1].IsCompleted = true
			w, by := "a", fmt.Sprintf("%d runs", inn[0].Runs-inn[1].Runs)
			if inn[1].Runs > inn[0].Runs {
				w, by = "b", fmt.Sprintf("%d wickets", 10-inn[1].Wickets)
			}
			if inn[1].Runs == inn[0].Runs {
				w, by = "", ""
			}
			result = map[string]string{"winner": w, "result_type": "win_by", "msg": "Team " + w + " won by " + by, "win_by": by}
		}
	}
	order := []string{}
	innings := map[string]any{}
	for i, sc := range inn {
		if started[i] {
			order = append(order, sc.Index)
			innings[sc.Index] = sc
		}
	}
	balls := map[string]json.RawMessage{}
	if lastBall >= 0 {
		for i := max(0, lastBall-RelatedBalls+1); i <= lastBall; i++ {
			b := tl.balls[i]
			updated := b.Updated
			if versions[i] > 0 {
				updated = corrected[i] // as the Update push says (pushBody)
			}
			d, _ := json.Marshal(tl.detail(i, versions[i], updated))
			balls[b.Key] = d
		}
		b := tl.balls[lastBall]
		sc := inn[b.Innings]
		if status != "completed" {
			live = map[string]any{"batting_team": tl.teams[b.Innings], "bowling_team": tl.teams[1-b.Innings],
				"innings": sc.Index, "striker_key": b.Batsman, "non_striker_key": b.NonStriker, "bowler_key": b.Bowler,
				"score": map[string]any{"runs": sc.Runs, "wickets": sc.Wickets, "balls": sc.Balls,
					"title": sc.ScoreStr, "overs": sc.Overs}}
		}
	}
	data := map[string]any{
		"key": tl.match, "name": "Team A vs Team B", "short_name": "A vs B", "sub_title": "Simulated T" + strconv.Itoa(tl.overs),
		"status": status, "play_status": playStatus, "start_at": 1733148000, "format": "t20",
		"teams": map[string]any{
			"a": map[string]string{"key": "a", "code": "TA", "name": "Team A"},
			"b": map[string]string{"key": "b", "code": "TB", "name": "Team B"},
		},
		"toss": toss, "squad": squad,
		"play": map[string]any{"first_batting": "a", "overs_per_innings": []int{tl.overs, tl.overs}, "innings_order": order,
			"innings": innings, "live": live, "related_balls": balls, "result": result, "target": target},
	}
	db, _ := json.Marshal(data)
	sum := sha1.Sum(db)
	doc := map[string]any{"data": json.RawMessage(db),
		"cache":  map[string]any{"key": tl.match, "etag": hex.EncodeToString(sum[:8]), "expires": 1733148000 + step, "max_age": 5},
		"schema": map[string]string{"major_version": "5.0", "minor_version": "5.0.1"}, "error": nil}
	out, _ := json.Marshal(doc)
	return out
}
