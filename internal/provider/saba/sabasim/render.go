package sabasim

import (
	"encoding/json"
	"fmt"
)

// Attribute names the simulator's OData filters understand (lower case).
var (
	eventFields  = map[string]bool{"sporttype": true, "eventid": true, "leagueid": true}
	marketFields = map[string]bool{"sporttype": true, "eventid": true, "leagueid": true, "bettype": true, "marketid": true}
)

// streamView is what one stream request sees of the timeline.
type streamView struct {
	endpoint    string       // GetEvents or GetMarkets
	events      *odataFilter // nil: the stream carries no events
	markets     *odataFilter // nil: the stream carries no markets
	marketEvent *odataFilter // GetEvents: markets only of events passing the query
}

// newStreamView parses the request's query and includeMarkets parameters.
func newStreamView(endpoint, query, includeMarkets string) (*streamView, error) {
	v := &streamView{endpoint: endpoint}
	switch endpoint {
	case "GetEvents":
		f, err := parseODataQuery(query, eventFields)
		if err != nil {
			return nil, err
		}
		v.events = f
		if includeMarkets != "none" {
			mf, err := parseODataQuery(includeMarkets, marketFields)
			if err != nil {
				return nil, err
			}
			v.markets, v.marketEvent = mf, f
		}
	case "GetMarkets":
		f, err := parseODataQuery(query, marketFields)
		if err != nil {
			return nil, err
		}
		v.markets = f
	default:
		// GetSports, GetLeagues, GetOutrights: documented, not simulated;
		// they stream keep-alives only.
	}
	return v, nil
}

func (v *streamView) eventOK(s *simState, id int64) bool {
	return v.events.Match(func(f string) (any, bool) {
		switch f {
		case "eventid":
			return id, true
		case "sporttype":
			return int64(s.eventSport[id]), true
		case "leagueid":
			return s.eventLeag[id], true
		}
		return nil, false
	})
}

func (v *streamView) marketOK(s *simState, id int64) bool {
	mi := s.marketInfo[id]
	if v.marketEvent != nil && !v.eventOK(s, mi.eventID) {
		return false
	}
	return v.markets.Match(func(f string) (any, bool) {
		switch f {
		case "marketid":
			return id, true
		case "bettype":
			return int64(mi.betType), true
		case "eventid":
			return mi.eventID, true
		case "sporttype":
			return int64(s.eventSport[mi.eventID]), true
		case "leagueid":
			return s.eventLeag[mi.eventID], true
		}
		return nil, false
	})
}

type wireSet struct {
	Add    []any   `json:"add"`
	Change []any   `json:"change"`
	Remove []int64 `json:"remove"`
}

type wirePayload struct {
	Events  *wireSet `json:"events,omitempty"`
	Markets *wireSet `json:"markets,omitempty"`
}

type wireMsg struct {
	Status  int         `json:"status"`
	Message string      `json:"message"`
	Payload wirePayload `json:"payload"`
}

// render returns the data of u as this view sees it, and how many items it
// holds. s must be locked by the caller (its lookups are read).
func (v *streamView) render(s *simState, u *Update, status int) ([]byte, int, error) {
	msg := wireMsg{Status: status, Message: StatusMessage(status)}
	n := 0
	if v.events != nil {
		ws := &wireSet{Add: []any{}, Change: []any{}, Remove: []int64{}}
		for _, e := range u.EventsAdd {
			if v.eventOK(s, e.EventID) {
				ws.Add = append(ws.Add, e)
			}
		}
		for _, e := range u.EventsChange {
			if v.eventOK(s, e.EventID) {
				ws.Change = append(ws.Change, e)
			}
		}
		for _, id := range u.EventsRemove {
			if v.eventOK(s, id) {
				ws.Remove = append(ws.Remove, id)
			}
		}
		n += len(ws.Add) + len(ws.Change) + len(ws.Remove)
		msg.Payload.Events = ws
	}
	if v.markets != nil {
		ws := &wireSet{Add: []any{}, Change: []any{}, Remove: []int64{}}
		for _, m := range u.MarketsAdd {
			if v.marketOK(s, m.MarketID) {
				ws.Add = append(ws.Add, m)
			}
		}
		for _, m := range u.MarketsChange {
			if v.marketOK(s, m.MarketID) {
				ws.Change = append(ws.Change, m)
			}
		}
		for _, id := range u.MarketsRemove {
			if v.marketOK(s, id) {
				ws.Remove = append(ws.Remove, id)
			}
		}
		n += len(ws.Add) + len(ws.Change) + len(ws.Remove)
		msg.Payload.Markets = ws
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, 0, fmt.Errorf("rendering message %s: %w", u.ID, err)
	}
	if u.Malformed {
		b = b[:len(b)/2]
	}
	return b, n, nil
}

// Counts is how many records a stream's view of an update makes, by topic
// and operation; tests compare what reached Kafka against it.
type Counts struct {
	EventsAdd, EventsChange, EventsRemove    int
	MarketsAdd, MarketsChange, MarketsRemove int
}

// Total is the number of items.
func (c Counts) Total() int {
	return c.EventsAdd + c.EventsChange + c.EventsRemove + c.MarketsAdd + c.MarketsChange + c.MarketsRemove
}
