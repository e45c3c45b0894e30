package roanuz

import (
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/schemas"
)

// Schemas of the records the package writes (schemas/roanuz_*.avsc).
var (
	// BallUpdateSchema is the value schema of <prefix>.roanuz.cricket.ball-updates.
	BallUpdateSchema = schemas.MustParse("roanuz_ball_update.avsc")
	// MatchEventSchema is the value schema of <prefix>.roanuz.cricket.match-events.
	MatchEventSchema = schemas.MustParse("roanuz_match_event.avsc")
	// BallSchema is the value schema of <prefix>.roanuz.cricket.balls.
	BallSchema = schemas.MustParse("roanuz_ball.avsc")
)

// Topic names (without the topic.prefix).
const (
	TopicBallUpdates = "roanuz.cricket.ball-updates"
	TopicMatchEvents = "roanuz.cricket.match-events"
	TopicMatches     = "roanuz.cricket.matches"
	TopicBalls       = "roanuz.cricket.balls"
)

// Ensure the schemas are avro.Schema values (compile-time use of the import).
var _ avro.Schema = BallSchema

// BallUpdate is a Ball push of the webhook (roanuz_ball_update.avsc).
type BallUpdate struct {
	MatchKey      string      `avro:"match_key"`
	PushReason    string      `avro:"push_reason"`
	MatchPushKind string      `avro:"match_push_kind"`
	TS            time.Time   `avro:"ts"`
	TSText        string      `avro:"ts_text"`
	TSMicros      int64       `avro:"ts_micros"` // TS in microseconds since the epoch: ts itself is written to the millisecond
	BallKey       string      `avro:"ball_key"`
	Over          int32       `avro:"over"`
	BattingOrder  int32       `avro:"batting_order"`
	IsDelete      bool        `avro:"is_delete"`
	Detail        *BallDetail `avro:"detail"`
	ReceivedAt    time.Time   `avro:"received_at"`
	Raw           string      `avro:"raw"`
}

// MatchEvent is any other push of the webhook (roanuz_match_event.avsc).
type MatchEvent struct {
	MatchKey      string    `avro:"match_key"`
	PushReason    string    `avro:"push_reason"`
	MatchPushKind string    `avro:"match_push_kind"`
	TS            time.Time `avro:"ts"`
	TSText        string    `avro:"ts_text"`
	TSMicros      int64     `avro:"ts_micros"` // TS in microseconds since the epoch: ts itself is written to the millisecond
	Sport         string    `avro:"sport"`
	DataKind      string    `avro:"data_kind"`
	ReceivedAt    time.Time `avro:"received_at"`
	Raw           string    `avro:"raw"`
}

// Ball is one ball of a match document's play.related_balls (roanuz_ball.avsc).
type Ball struct {
	MatchKey   string     `avro:"match_key"`
	BallKey    string     `avro:"ball_key"`
	Detail     BallDetail `avro:"detail"`
	ReceivedAt time.Time  `avro:"received_at"`
	Raw        string     `avro:"raw"`
}

// BallDetail is the typed detail of one ball, as both the push and the
// Match API's related_balls carry it.
type BallDetail struct {
	Key             string     `avro:"key"`
	BallType        string     `avro:"ball_type"`
	BattingTeam     string     `avro:"batting_team"`
	Comment         string     `avro:"comment"`
	Innings         string     `avro:"innings"`
	Overs           []int32    `avro:"overs"`
	Batsman         *Batsman   `avro:"batsman"`
	Bowler          *Bowler    `avro:"bowler"`
	TeamScore       *TeamScore `avro:"team_score"`
	Fielders        []Fielder  `avro:"fielders"`
	Wicket          *Wicket    `avro:"wicket"`
	NonStrikerKey   string     `avro:"non_striker_key"`
	EntryTime       *time.Time `avro:"entry_time"`
	BallPlayStatus  string     `avro:"ball_play_status"`
	BallTags        []string   `avro:"ball_tags"`
	UpdatedTime     *time.Time `avro:"updated_time"`
	UpdatedTimeText string     `avro:"updated_time_text"`
	Repr            string     `avro:"repr"`
}

// Batsman is the striker's share of a ball.
type Batsman struct {
	PlayerKey string `avro:"player_key" json:"player_key"`
	BallCount int32  `avro:"ball_count" json:"ball_count"`
	Runs      int32  `avro:"runs" json:"runs"`
	IsDotBall bool   `avro:"is_dot_ball" json:"is_dot_ball"`
	IsFour    bool   `avro:"is_four" json:"is_four"`
	IsSix     bool   `avro:"is_six" json:"is_six"`
}

// Bowler is the bowler's share of a ball.
type Bowler struct {
	PlayerKey string `avro:"player_key" json:"player_key"`
	BallCount int32  `avro:"ball_count" json:"ball_count"`
	Runs      int32  `avro:"runs" json:"runs"`
	Extras    int32  `avro:"extras" json:"extras"`
	IsWicket  bool   `avro:"is_wicket" json:"is_wicket"`
}

// TeamScore is the batting team's share of a ball.
type TeamScore struct {
	BallCount int32 `avro:"ball_count" json:"ball_count"`
	Runs      int32 `avro:"runs" json:"runs"`
	Extras    int32 `avro:"extras" json:"extras"`
	IsWicket  bool  `avro:"is_wicket" json:"is_wicket"`
}

// Fielder is one fielder involved in a ball; JSON keeps the object as sent
// (its shape is not documented beyond player_key).
type Fielder struct {
	PlayerKey string `avro:"player_key"`
	JSON      string `avro:"json"`
}

// Wicket is the wicket of a ball; JSON keeps the object as sent.
type Wicket struct {
	PlayerKey  string `avro:"player_key"`
	WicketType string `avro:"wicket_type"`
	JSON       string `avro:"json"`
}

// SubscriptionSchema is the value schema of <prefix>.roanuz.cricket.subscriptions.
var SubscriptionSchema = schemas.MustParse("roanuz_subscription.avsc")

// TopicSubscriptions is the topic of the matches roanuz.match starts and
// stops following (compacted: the latest per match key).
const TopicSubscriptions = "roanuz.cricket.subscriptions"

// Subscription is a match the match stream started or stopped following
// (roanuz_subscription.avsc).
type Subscription struct {
	MatchKey     string    `avro:"match_key"`
	Action       string    `avro:"action"`
	Reason       string    `avro:"reason"`
	ListedStatus string    `avro:"listed_status"`
	Task         int32     `avro:"task"`
	At           time.Time `avro:"at"`
	Raw          string    `avro:"raw"`
}
