package live

import (
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/schemas"
)

// Schema files of the normalized records.
const (
	EventSchemaFile = "live_event.avsc"
	MatchSchemaFile = "live_match.avsc"
)

// EventSchema returns the parsed schema of live.events values.
func EventSchema() avro.Schema { return schemas.MustParse(EventSchemaFile) }

// MatchSchema returns the parsed schema of live.matches values.
func MatchSchema() avro.Schema { return schemas.MustParse(MatchSchemaFile) }

// Kind is what happened, in the vocabulary shared by every provider (the
// Kind enum of live_event.avsc). A provider type the mapping does not
// place is KindOther, with the provider's name kept in ProviderType.
type Kind = string

// The shared vocabulary.
const (
	KindOther           Kind = "OTHER"
	KindMatchStatus     Kind = "MATCH_STATUS"
	KindPeriodStart     Kind = "PERIOD_START"
	KindPeriodEnd       Kind = "PERIOD_END"
	KindScoreChange     Kind = "SCORE_CHANGE"
	KindGoal            Kind = "GOAL"
	KindPoint           Kind = "POINT"
	KindWicket          Kind = "WICKET"
	KindBoundary        Kind = "BOUNDARY"
	KindCard            Kind = "CARD"
	KindPenalty         Kind = "PENALTY"
	KindSubstitution    Kind = "SUBSTITUTION"
	KindOddsChange      Kind = "ODDS_CHANGE"
	KindMarketSuspended Kind = "MARKET_SUSPENDED"
	KindMarketReopened  Kind = "MARKET_REOPENED"
	KindCorrection      Kind = "CORRECTION"
)

// Competitor is one side of a match.
type Competitor struct {
	Side string  `avro:"side"` // SideHome or SideAway
	ID   *string `avro:"id"`
	Name *string `avro:"name"`
}

// Sides of a match.
const (
	SideHome = "home"
	SideAway = "away"
)

// Score is the score after an event; nil parts are unknown.
type Score struct {
	Home    *int32  `avro:"home"`
	Away    *int32  `avro:"away"`
	Summary *string `avro:"summary"`
}

// Event is the value of a live.events record (schemas/live_event.avsc).
type Event struct {
	MatchID         string       `avro:"match_id"`
	Provider        string       `avro:"provider"`
	Sport           string       `avro:"sport"`
	ProviderMatchID string       `avro:"provider_match_id"`
	Competitors     []Competitor `avro:"competitors"`
	Kind            Kind         `avro:"kind"`
	ProviderType    string       `avro:"provider_type"`
	EventTime       *time.Time   `avro:"event_time"`
	ReceivedAt      time.Time    `avro:"received_at"`
	Status          *string      `avro:"status"`
	Period          *string      `avro:"period"`
	Clock           *string      `avro:"clock"`
	Score           *Score       `avro:"score"`
	Position        string       `avro:"position"`
	SourceTopic     string       `avro:"source_topic"`
	SourceID        string       `avro:"source_id"`
}

// Match is the value of a live.matches record (schemas/live_match.avsc):
// the latest state of one match.
type Match struct {
	MatchID         string       `avro:"match_id"`
	Provider        string       `avro:"provider"`
	Sport           string       `avro:"sport"`
	ProviderMatchID string       `avro:"provider_match_id"`
	Competitors     []Competitor `avro:"competitors"`
	Status          *string      `avro:"status"`
	Period          *string      `avro:"period"`
	Clock           *string      `avro:"clock"`
	Score           *Score       `avro:"score"`
	Events          int64        `avro:"events"`
	LastKind        Kind         `avro:"last_kind"`
	LastEventTime   *time.Time   `avro:"last_event_time"`
	LastReceivedAt  time.Time    `avro:"last_received_at"`
	LastPosition    string       `avro:"last_position"`
	Finished        bool         `avro:"finished"`
}

// MatchID returns the normalized match id <provider>:<sport>:<id>.
func MatchID(provider, sport, id string) string { return provider + ":" + sport + ":" + id }

// Ptr returns a pointer to v; mappers use it for the optional fields.
func Ptr[T any](v T) *T { return &v }

// apply folds e into m: what e tells replaces what m knew; what e does
// not tell (nil, empty) is kept. It returns e with its score and
// competitors completed from the state, since the score after an event is
// the match's score even when the event does not repeat it.
func (m *Match) apply(e Event, finished bool) Event {
	if m.MatchID == "" {
		m.MatchID, m.Provider, m.Sport, m.ProviderMatchID = e.MatchID, e.Provider, e.Sport, e.ProviderMatchID
	}
	if len(e.Competitors) > 0 {
		m.Competitors = e.Competitors
	} else {
		e.Competitors = m.Competitors
	}
	if e.Status != nil {
		m.Status = e.Status
	}
	if e.Period != nil {
		m.Period = e.Period
	}
	if e.Clock != nil {
		m.Clock = e.Clock
	}
	if e.Score != nil {
		m.Score = mergeScore(m.Score, e.Score)
	}
	e.Score = m.Score
	m.Events++
	m.LastKind = e.Kind
	if e.EventTime != nil {
		m.LastEventTime = e.EventTime
	}
	m.LastReceivedAt = e.ReceivedAt
	m.LastPosition = e.Position
	m.Finished = m.Finished || finished
	return e
}

// mergeScore returns old with the parts next tells replaced.
func mergeScore(old, next *Score) *Score {
	if old == nil {
		c := *next
		return &c
	}
	s := *old
	if next.Home != nil {
		s.Home = next.Home
	}
	if next.Away != nil {
		s.Away = next.Away
	}
	if next.Summary != nil {
		s.Summary = next.Summary
	}
	return &s
}
