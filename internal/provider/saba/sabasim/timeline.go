package sabasim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// SimEvent is an Event as the simulator sends it (GetEvents).
type SimEvent struct {
	EventID        int64       `json:"eventId"`
	SportType      int         `json:"sportType"`
	LeagueID       int64       `json:"leagueId"`
	EventStatus    string      `json:"eventStatus"`
	GlobalShowTime string      `json:"globalShowTime"`
	GameInfo       SimGameInfo `json:"gameInfo"`
	TeamInfo       SimTeamInfo `json:"teamInfo"`
}

// SimGameInfo is an event's live score block.
type SimGameInfo struct {
	LiveHomeScore int  `json:"liveHomeScore"`
	LiveAwayScore int  `json:"liveAwayScore"`
	InPlay        bool `json:"inPlay"`
}

// SimTeamInfo names the teams.
type SimTeamInfo struct {
	HomeName string `json:"homeName"`
	AwayName string `json:"awayName"`
}

// SimEventChange is an EventChange: the eventId and the fields that changed.
type SimEventChange struct {
	EventID     int64        `json:"eventId"`
	EventStatus string       `json:"eventStatus,omitempty"`
	GameInfo    *SimGameInfo `json:"gameInfo,omitempty"`
}

// SimMarket is a Market as the simulator sends it.
type SimMarket struct {
	EventID      int64          `json:"eventId"`
	MarketID     int64          `json:"marketId"`
	BetType      int            `json:"betType"`
	MarketStatus string         `json:"marketStatus"`
	Selections   []SimSelection `json:"selections"`
	Pad          string         `json:"extraInfo,omitempty"` // filler for large snapshots; an undocumented field kept only in raw
}

// SimSelection is one outcome of a market. point and decimalPrice are JSON
// numbers whose exact text matters (they are decimals).
type SimSelection struct {
	Key       string       `json:"key"`
	Point     *json.Number `json:"point"`
	OddsPrice SimOddsPrice `json:"oddsPrice"`
}

// SimOddsPrice holds a selection's prices.
type SimOddsPrice struct {
	DecimalPrice json.Number `json:"decimalPrice"`
}

// SimMarketChange is a MarketChange: ids plus what changed.
type SimMarketChange struct {
	MarketID     int64          `json:"marketId"`
	EventID      int64          `json:"eventId"`
	MarketStatus string         `json:"marketStatus,omitempty"`
	Selections   []SimSelection `json:"selections,omitempty"`
}

// Update is one message of the simulator's timeline: the deltas of SSE id
// ID. Index is its 1-based position. A Malformed update is sent as broken
// JSON on every delivery (the task must dead-letter it).
type Update struct {
	Index         int64
	ID            string
	Created       time.Time // when the generator made it (latency measurements)
	Malformed     bool
	EventsAdd     []SimEvent
	EventsChange  []SimEventChange
	EventsRemove  []int64
	MarketsAdd    []SimMarket
	MarketsChange []SimMarketChange
	MarketsRemove []int64
}

// simState is the live set of events and markets, and the generator.
type simState struct {
	rng        *rand.Rand
	events     map[int64]*SimEvent
	markets    map[int64]*SimMarket
	byEvent    map[int64][]int64 // live markets of each event
	liveEvents []int64           // sorted
	liveMkts   []int64           // sorted
	nextEvent  int64
	nextMarket int64
	// permanent lookups for filtering removes
	eventSport map[int64]int
	eventLeag  map[int64]int64
	marketInfo map[int64]marketInfo
	marketsPer int
	pad        string
	minEvents  int
	baseTime   time.Time
}

type marketInfo struct {
	eventID int64
	betType int
}

var betTypes = []int{1, 3, 5, 7, 8, 15, 20, 128}

func newSimState(seed uint64, events, marketsPer, padBytes int) *simState {
	s := &simState{
		rng:        rand.New(rand.NewPCG(seed, seed^0x5aba)),
		events:     map[int64]*SimEvent{},
		markets:    map[int64]*SimMarket{},
		byEvent:    map[int64][]int64{},
		nextEvent:  10000,
		nextMarket: 5000000,
		eventSport: map[int64]int{},
		eventLeag:  map[int64]int64{},
		marketInfo: map[int64]marketInfo{},
		marketsPer: max(1, marketsPer),
		pad:        strings.Repeat("x", padBytes),
		minEvents:  max(2, events/2),
		baseTime:   time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
	}
	var u Update
	for range events {
		s.addEvent(&u)
	}
	return s
}

func decimal(hundredths int) json.Number {
	return json.Number(fmt.Sprintf("%d.%02d", hundredths/100, hundredths%100))
}

func (s *simState) selections(betType int) []SimSelection {
	keys := []string{"h", "a"}
	if betType == 5 {
		keys = []string{"1", "x", "2"}
	}
	out := make([]SimSelection, len(keys))
	var point *json.Number
	if betType == 1 || betType == 3 {
		q := s.rng.IntN(17) - 8 // quarter goals
		p := json.Number(fmt.Sprintf("%g", float64(q)/4))
		point = &p
	}
	for i, k := range keys {
		out[i] = SimSelection{Key: k, Point: point, OddsPrice: SimOddsPrice{DecimalPrice: decimal(101 + s.rng.IntN(900))}}
	}
	return out
}

func (s *simState) addEvent(u *Update) {
	s.nextEvent++
	id := s.nextEvent
	sport := 1 + s.rng.IntN(3)
	ev := &SimEvent{
		EventID: id, SportType: sport, LeagueID: int64(100 + s.rng.IntN(20)), EventStatus: "running",
		GlobalShowTime: s.baseTime.Add(time.Duration(s.rng.IntN(72*60)) * time.Minute).Format(time.RFC3339),
		GameInfo:       SimGameInfo{InPlay: s.rng.IntN(2) == 0},
		TeamInfo:       SimTeamInfo{HomeName: fmt.Sprintf("Home %d", id), AwayName: fmt.Sprintf("Away %d", id)},
	}
	s.events[id] = ev
	s.liveEvents = append(s.liveEvents, id)
	s.eventSport[id], s.eventLeag[id] = sport, ev.LeagueID
	u.EventsAdd = append(u.EventsAdd, *ev)
	for range s.marketsPer {
		s.nextMarket++
		bt := betTypes[s.rng.IntN(len(betTypes))]
		m := &SimMarket{EventID: id, MarketID: s.nextMarket, BetType: bt, MarketStatus: "running", Selections: s.selections(bt), Pad: s.pad}
		s.markets[m.MarketID] = m
		s.byEvent[id] = append(s.byEvent[id], m.MarketID)
		s.liveMkts = append(s.liveMkts, m.MarketID)
		s.marketInfo[m.MarketID] = marketInfo{eventID: id, betType: bt}
		u.MarketsAdd = append(u.MarketsAdd, *m)
	}
}

func removeSorted(xs []int64, x int64) []int64 {
	if i, ok := slices.BinarySearch(xs, x); ok {
		return slices.Delete(xs, i, i+1)
	}
	return xs
}

func (s *simState) removeMarket(u *Update, id int64) {
	m := s.markets[id]
	delete(s.markets, id)
	s.liveMkts = removeSorted(s.liveMkts, id)
	s.byEvent[m.EventID] = slices.DeleteFunc(s.byEvent[m.EventID], func(x int64) bool { return x == id })
	u.MarketsRemove = append(u.MarketsRemove, id)
}

func (s *simState) removeEvent(u *Update, id int64) {
	for _, m := range slices.Clone(s.byEvent[id]) {
		s.removeMarket(u, m)
	}
	delete(s.byEvent, id)
	delete(s.events, id)
	s.liveEvents = removeSorted(s.liveEvents, id)
	u.EventsRemove = append(u.EventsRemove, id)
}

// step generates the next update's deltas and applies them to the state.
func (s *simState) step(u *Update) {
	n := 1 + s.rng.IntN(3)
	for range n {
		r := s.rng.IntN(100)
		switch {
		case len(s.liveEvents) < s.minEvents || len(s.liveMkts) == 0 || (r >= 80 && r < 88):
			s.addEvent(u)
		case r < 55:
			m := s.markets[s.liveMkts[s.rng.IntN(len(s.liveMkts))]]
			m.Selections = s.selections(m.BetType)
			u.MarketsChange = append(u.MarketsChange, SimMarketChange{MarketID: m.MarketID, EventID: m.EventID, Selections: m.Selections})
		case r < 70:
			ev := s.events[s.liveEvents[s.rng.IntN(len(s.liveEvents))]]
			if s.rng.IntN(2) == 0 {
				ev.GameInfo.LiveHomeScore++
			} else {
				ev.GameInfo.LiveAwayScore++
			}
			gi := ev.GameInfo
			u.EventsChange = append(u.EventsChange, SimEventChange{EventID: ev.EventID, GameInfo: &gi})
		case r < 80:
			m := s.markets[s.liveMkts[s.rng.IntN(len(s.liveMkts))]]
			if m.MarketStatus == "running" {
				m.MarketStatus = "suspend"
			} else {
				m.MarketStatus = "running"
			}
			u.MarketsChange = append(u.MarketsChange, SimMarketChange{MarketID: m.MarketID, EventID: m.EventID, MarketStatus: m.MarketStatus})
		case r < 94:
			id := s.liveMkts[s.rng.IntN(len(s.liveMkts))]
			if len(s.byEvent[s.markets[id].EventID]) > 1 {
				s.removeMarket(u, id)
			}
		default:
			id := s.liveEvents[s.rng.IntN(len(s.liveEvents))]
			ev := s.events[id]
			ev.EventStatus = "closed"
			u.EventsChange = append(u.EventsChange, SimEventChange{EventID: id, EventStatus: "closed"})
			s.removeEvent(u, id)
		}
	}
}

// snapshot returns the live set as an update (every event and market as an add).
func (s *simState) snapshot() Update {
	var u Update
	u.EventsAdd = make([]SimEvent, 0, len(s.liveEvents))
	for _, id := range s.liveEvents {
		u.EventsAdd = append(u.EventsAdd, *s.events[id])
	}
	u.MarketsAdd = make([]SimMarket, 0, len(s.liveMkts))
	for _, id := range s.liveMkts {
		m := *s.markets[id]
		m.Selections = slices.Clone(m.Selections)
		u.MarketsAdd = append(u.MarketsAdd, m)
	}
	return u
}
