package roanuz

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/socketio"
	"github.com/seed-474f70f7/sportsconnect/schemas"
)

// MatchSchema is the value schema of <prefix>.roanuz.cricket.matches.
var MatchSchema = schemas.MustParse("roanuz_match.avsc")

// Match is a match document (roanuz_match.avsc).
type Match struct {
	Key         string     `avro:"key"`
	Name        string     `avro:"name"`
	ShortName   string     `avro:"short_name"`
	Status      string     `avro:"status"`
	PlayStatus  string     `avro:"play_status"`
	StartAt     *time.Time `avro:"start_at"`
	Format      string     `avro:"format"`
	TeamA       *Team      `avro:"team_a"`
	TeamB       *Team      `avro:"team_b"`
	Toss        *Toss      `avro:"toss"`
	Innings     []Innings  `avro:"innings"`
	Live        *Live      `avro:"live"`
	Result      *Result    `avro:"result"`
	Target      *Target    `avro:"target"`
	Etag        string     `avro:"etag"`
	ContentHash string     `avro:"content_hash"`
	Source      string     `avro:"source"`
	ReceivedAt  time.Time  `avro:"received_at"`
	Raw         string     `avro:"raw"`
}

// Team is one side of a match.
type Team struct {
	Key  string `avro:"key" json:"key"`
	Code string `avro:"code" json:"code"`
	Name string `avro:"name" json:"name"`
}

// Toss is the toss result.
type Toss struct {
	Winner  string `avro:"winner" json:"winner"`
	Elected string `avro:"elected" json:"elected"`
}

// Innings is one innings' score.
type Innings struct {
	Key         string `avro:"key"`
	Runs        int32  `avro:"runs"`
	Wickets     int32  `avro:"wickets"`
	Overs       string `avro:"overs"`
	IsCompleted bool   `avro:"is_completed"`
	ScoreStr    string `avro:"score_str"`
}

// Live is the live state of a match in play.
type Live struct {
	BattingTeam   string `avro:"batting_team"`
	BowlingTeam   string `avro:"bowling_team"`
	Innings       string `avro:"innings"`
	StrikerKey    string `avro:"striker_key"`
	NonStrikerKey string `avro:"non_striker_key"`
	BowlerKey     string `avro:"bowler_key"`
	Runs          int32  `avro:"runs"`
	Wickets       int32  `avro:"wickets"`
	Title         string `avro:"title"`
}

// Result is the result of a completed match.
type Result struct {
	Winner     string `avro:"winner" json:"winner"`
	ResultType string `avro:"result_type" json:"result_type"`
	Msg        string `avro:"msg" json:"msg"`
}

// Target is the chasing side's target.
type Target struct {
	Runs  int32 `avro:"runs" json:"runs"`
	Balls int32 `avro:"balls" json:"balls"`
}

// matchDocument is a parsed match document and its new balls' raw JSON.
type matchDocument struct {
	match    *Match
	balls    []rawBall // related_balls, in ball-key order
	progress progress  // how far the match is (match_order.go)
}

// Match returns the document's typed match (its ContentHash is what the
// stream compares and writes).
func (d *matchDocument) Match() *Match { return d.match }

type rawBall struct {
	key string
	raw json.RawMessage
}

// DecodeUpdate turns an on_match_update argument into the match JSON: a
// JSON string holding the document (or gzipped base64), a binary attachment
// (gzipped or not), or the document object itself. Inflation is capped at max.
func DecodeUpdate(a socketio.Arg, max int64) ([]byte, error) {
	if a.IsBinary() {
		return DecodeBody(a.Binary, "", max)
	}
	t := bytes.TrimSpace(a.JSON)
	if len(t) > 0 && t[0] == '{' {
		return DecodeBody(t, "", max)
	}
	var s string
	if err := json.Unmarshal(t, &s); err != nil {
		return nil, fmt.Errorf("%w: on_match_update argument is neither a string, an object nor bytes", ErrMalformed)
	}
	if z, err := base64.StdEncoding.DecodeString(s); err == nil && bytes.HasPrefix(z, gzipMagic) {
		return DecodeBody(z, "gzip", max)
	}
	return DecodeBody([]byte(s), "", max)
}

// ParseMatch parses a Match API document.
func ParseMatch(doc []byte, source string, received time.Time) (*matchDocument, error) {
	var w struct {
		Data *struct {
			Key        string      `json:"key"`
			Name       string      `json:"name"`
			ShortName  string      `json:"short_name"`
			Status     string      `json:"status"`
			PlayStatus string      `json:"play_status"`
			Format     string      `json:"format"`
			StartAt    json.Number `json:"start_at"`
			Teams      struct {
				A *Team `json:"a"`
				B *Team `json:"b"`
			} `json:"teams"`
			Toss  json.RawMessage `json:"toss"`
			Squad json.RawMessage `json:"squad"`
			Play  *struct {
				Innings map[string]struct {
					Overs       [2]int `json:"overs"`
					IsCompleted bool   `json:"is_completed"`
					Runs        int32  `json:"runs"`
					Wickets     int32  `json:"wickets"`
					ScoreStr    string `json:"score_str"`
				} `json:"innings"`
				InningsOrder []string `json:"innings_order"`
				Live         *struct {
					BattingTeam   string `json:"batting_team"`
					BowlingTeam   string `json:"bowling_team"`
					Innings       string `json:"innings"`
					StrikerKey    string `json:"striker_key"`
					NonStrikerKey string `json:"non_striker_key"`
					BowlerKey     string `json:"bowler_key"`
					Score         struct {
						Runs    int32  `json:"runs"`
						Wickets int32  `json:"wickets"`
						Title   string `json:"title"`
					} `json:"score"`
				} `json:"live"`
				RelatedBalls map[string]json.RawMessage `json:"related_balls"`
				Result       *Result                    `json:"result"`
				Target       *Target                    `json:"target"`
			} `json:"play"`
		} `json:"data"`
		RawData json.RawMessage `json:"-"`
		Cache   *struct {
			Etag string `json:"etag"`
		} `json:"cache"`
	}
	if err := json.Unmarshal(doc, &w); err != nil {
		return nil, fmt.Errorf("%w: match document: %v", ErrMalformed, err)
	}
	if w.Data == nil || w.Data.Key == "" {
		return nil, fmt.Errorf("%w: match document without data.key", ErrMalformed)
	}
	var raw struct {
		Data json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(doc, &raw)
	sum := sha256.Sum256(raw.Data)
	d := w.Data
	m := &Match{Key: d.Key, Name: d.Name, ShortName: d.ShortName, Status: d.Status, PlayStatus: d.PlayStatus, Format: d.Format,
		TeamA: d.Teams.A, TeamB: d.Teams.B, Innings: []Innings{}, ContentHash: hex.EncodeToString(sum[:16]),
		Source: source, ReceivedAt: received, Raw: string(doc)}
	if err := json.Unmarshal(d.Toss, &m.Toss); len(d.Toss) > 0 && err != nil {
		return nil, fmt.Errorf("%w: match document: toss: %v", ErrMalformed, err)
	}
	if w.Cache != nil {
		m.Etag = w.Cache.Etag
	}
	if d.StartAt != "" {
		if t, err := parseUnix(d.StartAt); err == nil {
			m.StartAt = &t
		}
	}
	out := &matchDocument{match: m, progress: unknownProgress}
	out.progress.status, out.progress.toss, out.progress.squads = statusRank(d.Status), min(presence(d.Toss), 1), presence(d.Squad)
	if p := d.Play; p != nil {
		pr := &out.progress
		pr.innings, pr.inningsDone, pr.balls = int64(len(p.InningsOrder)), 0, 0
		for _, k := range p.InningsOrder {
			in := p.Innings[k]
			m.Innings = append(m.Innings, Innings{Key: k, Runs: in.Runs, Wickets: in.Wickets, IsCompleted: in.IsCompleted,
				Overs: fmt.Sprintf("%d.%d", in.Overs[0], in.Overs[1]), ScoreStr: in.ScoreStr})
			if in.IsCompleted {
				pr.inningsDone++
			}
			pr.balls += int64(in.Overs[0]*6 + in.Overs[1])
		}
		if l := p.Live; l != nil {
			m.Live = &Live{BattingTeam: l.BattingTeam, BowlingTeam: l.BowlingTeam, Innings: l.Innings, StrikerKey: l.StrikerKey,
				NonStrikerKey: l.NonStrikerKey, BowlerKey: l.BowlerKey, Runs: l.Score.Runs, Wickets: l.Score.Wickets, Title: l.Score.Title}
		}
		m.Result, m.Target = p.Result, p.Target
		for k, b := range p.RelatedBalls {
			out.balls = append(out.balls, rawBall{key: k, raw: b})
		}
		sort.Slice(out.balls, func(i, j int) bool { return ballLess(out.balls[i].key, out.balls[j].key) })
		pr.lastBall, pr.updated = ballProgress(out.balls)
	}
	return out, nil
}

// ballLess orders ball keys numerically when both are numbers.
func ballLess(a, b string) bool {
	x, ea := strconv.ParseInt(a, 10, 64)
	y, eb := strconv.ParseInt(b, 10, 64)
	if ea == nil && eb == nil {
		return x < y
	}
	return a < b
}

// parseBall types one related ball.
func parseBall(raw json.RawMessage) (*BallDetail, error) {
	var d wireDetail
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: related ball: %v", ErrMalformed, err)
	}
	return d.typed()
}
