package saba

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// message is one SSE message's data, with every item kept as its raw bytes.
type message struct {
	StatusRaw json.RawMessage `json:"status"`
	Message   json.RawMessage `json:"message"`
	Payload   struct {
		Events  *itemSet `json:"events"`
		Markets *itemSet `json:"markets"`
	} `json:"payload"`
	Status int // StatusRaw, decoded
}

// itemSet is the add/change/remove lists of events or markets.
type itemSet struct {
	Add    []json.RawMessage `json:"add"`
	Change []json.RawMessage `json:"change"`
	Remove []json.RawMessage `json:"remove"`
}

func (s *itemSet) len() int {
	if s == nil {
		return 0
	}
	return len(s.Add) + len(s.Change) + len(s.Remove)
}

// parseMessage decodes the data of an SSE message.
func parseMessage(data []byte) (*message, error) {
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	n, ok, err := jsonInt(m.StatusRaw)
	if err != nil || !ok || n < 0 || n > 1000 {
		return nil, fmt.Errorf("%w: no valid status", ErrBadMessage)
	}
	m.Status = int(n)
	return &m, nil
}

// markerRaw is the raw text of a reset marker: the message's status and
// message fields as sent.
func (m *message) markerRaw() string {
	msg := m.Message
	if len(msg) == 0 {
		msg = json.RawMessage(`null`)
	}
	return `{"status":` + string(m.StatusRaw) + `,"message":` + string(msg) + `}`
}

// text returns the server's message text.
func (m *message) text() string {
	var s string
	if json.Unmarshal(m.Message, &s) == nil {
		return s
	}
	return string(m.Message)
}

// jsonInt reads an integer given as a JSON number or a quoted number; ok is
// false when raw is absent or null.
func jsonInt(raw json.RawMessage) (int64, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false, err
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("not an integer: %.40s", raw)
	}
	return n, true, nil
}

// jsonDecimal returns a decimal given as a JSON number or string, as text.
func jsonDecimal(raw json.RawMessage) *string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
	}
	return &s
}

func ptr32(n int64, ok bool) *int32 {
	if !ok {
		return nil
	}
	v := int32(n)
	return &v
}

func ptr64(n int64, ok bool) *int64 {
	if !ok {
		return nil
	}
	return &n
}

type wireEventItem struct {
	EventID        json.RawMessage `json:"eventId"`
	EventStatus    *string         `json:"eventStatus"`
	SportType      json.RawMessage `json:"sportType"`
	LeagueID       json.RawMessage `json:"leagueId"`
	GlobalShowTime *string         `json:"globalShowTime"`
	GameInfo       *struct {
		LiveHomeScore json.RawMessage `json:"liveHomeScore"`
		LiveAwayScore json.RawMessage `json:"liveAwayScore"`
	} `json:"gameInfo"`
}

// decodeEvent fills the typed fields of an Event or EventChange item.
func decodeEvent(raw json.RawMessage, r *EventRecord) error {
	var w wireEventItem
	if err := json.Unmarshal(raw, &w); err != nil {
		return fmt.Errorf("%w: event: %w", ErrBadMessage, err)
	}
	id, ok, err := jsonInt(w.EventID)
	if err != nil || !ok {
		return fmt.Errorf("%w: event without a valid eventId (%v)", ErrBadMessage, err)
	}
	r.EventID = &id
	r.EventStatus = w.EventStatus
	if n, ok, err := jsonInt(w.SportType); err == nil {
		r.SportType = ptr32(n, ok)
	}
	if n, ok, err := jsonInt(w.LeagueID); err == nil {
		r.LeagueID = ptr64(n, ok)
	}
	if w.GlobalShowTime != nil {
		if t, err := time.Parse(time.RFC3339Nano, *w.GlobalShowTime); err == nil {
			r.GlobalShowTime = &t
		}
	}
	if w.GameInfo != nil {
		if n, ok, err := jsonInt(w.GameInfo.LiveHomeScore); err == nil {
			r.LiveHomeScore = ptr32(n, ok)
		}
		if n, ok, err := jsonInt(w.GameInfo.LiveAwayScore); err == nil {
			r.LiveAwayScore = ptr32(n, ok)
		}
	}
	return nil
}

type wireMarketItem struct {
	EventID      json.RawMessage `json:"eventId"`
	MarketID     json.RawMessage `json:"marketId"`
	BetType      json.RawMessage `json:"betType"`
	MarketStatus *string         `json:"marketStatus"`
	Selections   *[]struct {
		Key       json.RawMessage `json:"key"`
		Point     json.RawMessage `json:"point"`
		OddsPrice *struct {
			DecimalPrice json.RawMessage `json:"decimalPrice"`
		} `json:"oddsPrice"`
	} `json:"selections"`
}

// decodeMarket fills the typed fields of a Market or MarketChange item.
func decodeMarket(raw json.RawMessage, r *MarketRecord) error {
	var w wireMarketItem
	if err := json.Unmarshal(raw, &w); err != nil {
		return fmt.Errorf("%w: market: %w", ErrBadMessage, err)
	}
	id, ok, err := jsonInt(w.MarketID)
	if err != nil || !ok {
		return fmt.Errorf("%w: market without a valid marketId (%v)", ErrBadMessage, err)
	}
	r.MarketID = &id
	if n, ok, err := jsonInt(w.EventID); err == nil {
		r.EventID = ptr64(n, ok)
	}
	if n, ok, err := jsonInt(w.BetType); err == nil {
		r.BetType = ptr32(n, ok)
	}
	r.MarketStatus = w.MarketStatus
	if w.Selections != nil {
		r.Selections = make([]Selection, 0, len(*w.Selections))
		for _, s := range *w.Selections {
			sel := Selection{Point: jsonDecimal(s.Point)}
			if k := jsonDecimal(s.Key); k != nil {
				sel.Key = *k
			}
			if s.OddsPrice != nil {
				sel.DecimalPrice = jsonDecimal(s.OddsPrice.DecimalPrice)
			}
			r.Selections = append(r.Selections, sel)
		}
	}
	return nil
}
