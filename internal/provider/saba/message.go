package saba

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// message is one SSE message's data. Every raw field and item is a
// sub-slice of the data it was parsed from, not a copy: a 20 MB snapshot is
// held once, by the records made from it.
type message struct {
	StatusRaw json.RawMessage // "status", as sent
	Message   json.RawMessage // "message", as sent
	Payload   struct {
		Events  *itemSet // "events"; nil when absent or null
		Markets *itemSet // "markets"
	}
	Status int // StatusRaw, decoded
}

// itemSet is the add/change/remove lists of events or markets.
type itemSet struct {
	Add    []json.RawMessage
	Change []json.RawMessage
	Remove []json.RawMessage
}

func (s *itemSet) len() int {
	if s == nil {
		return 0
	}
	return len(s.Add) + len(s.Change) + len(s.Remove)
}

// parseMessage decodes the data of an SSE message. It reads it as a token
// stream, so the items are never copied (see message); it accepts what
// json.Unmarshal into the documented shape would: keys matched without
// regard to case, the last of repeated keys winning, unknown keys ignored,
// null for an absent list.
func parseMessage(data []byte) (*message, error) {
	p := msgParser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	m, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	n, ok, err := jsonInt(m.StatusRaw)
	if err != nil || !ok || n < 0 || n > 1000 {
		return nil, fmt.Errorf("%w: no valid status", ErrBadMessage)
	}
	m.Status = int(n)
	return m, nil
}

// msgParser walks one message's JSON with a json.Decoder and cuts values
// out of data by their offsets.
type msgParser struct {
	data []byte
	dec  *json.Decoder
}

func (p *msgParser) parse() (*message, error) {
	var m message
	err := p.object(func(key string) error {
		var err error
		switch {
		case strings.EqualFold(key, "status"):
			m.StatusRaw, err = p.value()
		case strings.EqualFold(key, "message"):
			m.Message, err = p.value()
		case strings.EqualFold(key, "payload"):
			err = p.payload(&m)
		default:
			_, err = p.value()
		}
		return err
	}, false)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, errors.New("data after the message object")
	}
	return &m, nil
}

func (p *msgParser) payload(m *message) error {
	return p.object(func(key string) error {
		switch {
		case strings.EqualFold(key, "events"):
			return p.itemSet(&m.Payload.Events)
		case strings.EqualFold(key, "markets"):
			return p.itemSet(&m.Payload.Markets)
		}
		_, err := p.value()
		return err
	}, true)
}

func (p *msgParser) itemSet(dst **itemSet) error {
	err := p.object(func(key string) error {
		if *dst == nil {
			*dst = &itemSet{}
		}
		switch {
		case strings.EqualFold(key, "add"):
			return p.list(&(*dst).Add)
		case strings.EqualFold(key, "change"):
			return p.list(&(*dst).Change)
		case strings.EqualFold(key, "remove"):
			return p.list(&(*dst).Remove)
		}
		_, err := p.value()
		return err
	}, true)
	if err == errNull {
		*dst = nil
		return nil
	}
	if err == nil && *dst == nil {
		*dst = &itemSet{} // {}: present, empty
	}
	return err
}

// errNull is returned by object for a null where an object may be null.
var errNull = errors.New("null")

// object reads an object, calling field for each key with the decoder
// positioned at its value (which field must consume). A null is errNull if
// nullable, else an error.
func (p *msgParser) object(field func(key string) error, nullable bool) error {
	tok, err := p.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil && nullable {
		return errNull
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%v where an object belongs", tok)
	}
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if err := field(key); err != nil && err != errNull {
			return err
		}
	}
	_, err = p.dec.Token() // '}'
	return err
}

// list reads an array of values (or null) into *dst, replacing it.
func (p *msgParser) list(dst *[]json.RawMessage) error {
	tok, err := p.dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		*dst = nil
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("%v where a list belongs", tok)
	}
	*dst = (*dst)[:0]
	for p.dec.More() {
		v, err := p.value()
		if err != nil {
			return err
		}
		*dst = append(*dst, v)
	}
	if *dst == nil {
		*dst = []json.RawMessage{}
	}
	_, err = p.dec.Token() // ']'
	return err
}

// value consumes the next value and returns it as a sub-slice of data: the
// decoder stops right after a value, so it ends at InputOffset.
func (p *msgParser) value() (json.RawMessage, error) {
	var s span
	if err := p.dec.Decode(&s); err != nil {
		return nil, err
	}
	end := int(p.dec.InputOffset())
	start := end - s.n
	if start < 0 || end > len(p.data) || p.data[start] != s.first || p.data[end-1] != s.last {
		return nil, errors.New("internal error: value offsets do not match the data")
	}
	return json.RawMessage(p.data[start:end:end]), nil
}

// span notes the length and the end bytes of a value as the decoder saw
// it; the bytes it is given belong to the decoder and are not kept.
type span struct {
	n           int
	first, last byte
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *span) UnmarshalJSON(b []byte) error {
	*s = span{n: len(b), first: b[0], last: b[len(b)-1]}
	return nil
}

// rawText returns b as a string without copying it. b must never be
// written to afterwards: it is a sub-slice of an SSE message's data, which
// package sse allocates for each event and nothing here modifies.
func rawText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
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
