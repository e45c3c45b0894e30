package saba

import (
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/schemas"
)

// Operations of a record (the op field).
const (
	OpAdd    = "add"
	OpChange = "change"
	OpRemove = "remove"
	OpReset  = "reset"
)

// EventRecord is the value of a record on <prefix>.saba.events
// (schemas/saba_event.avsc).
type EventRecord struct {
	Op             string     `avro:"op"`
	Status         int32      `avro:"status"`
	MessageID      string     `avro:"message_id"`
	Endpoint       string     `avro:"endpoint"`
	Query          string     `avro:"query"`
	EventID        *int64     `avro:"event_id"`
	EventStatus    *string    `avro:"event_status"`
	SportType      *int32     `avro:"sport_type"`
	LeagueID       *int64     `avro:"league_id"`
	GlobalShowTime *time.Time `avro:"global_show_time"`
	LiveHomeScore  *int32     `avro:"live_home_score"`
	LiveAwayScore  *int32     `avro:"live_away_score"`
	ReceivedAt     time.Time  `avro:"received_at"`
	Raw            string     `avro:"raw"`
}

// MarketRecord is the value of a record on <prefix>.saba.markets
// (schemas/saba_market.avsc).
type MarketRecord struct {
	Op           string      `avro:"op"`
	Status       int32       `avro:"status"`
	MessageID    string      `avro:"message_id"`
	Endpoint     string      `avro:"endpoint"`
	Query        string      `avro:"query"`
	EventID      *int64      `avro:"event_id"`
	MarketID     *int64      `avro:"market_id"`
	BetType      *int32      `avro:"bet_type"`
	MarketStatus *string     `avro:"market_status"`
	Selections   []Selection `avro:"selections"`
	ReceivedAt   time.Time   `avro:"received_at"`
	Raw          string      `avro:"raw"`
}

// Selection is one outcome of a market; decimals stay the provider's text.
type Selection struct {
	Key          string  `avro:"key"`
	Point        *string `avro:"point"`
	DecimalPrice *string `avro:"decimal_price"`
}

// EventSchema is the parsed schema of EventRecord.
func EventSchema() avro.Schema { return schemas.MustParse("saba_event.avsc") }

// MarketSchema is the parsed schema of MarketRecord.
func MarketSchema() avro.Schema { return schemas.MustParse("saba_market.avsc") }
