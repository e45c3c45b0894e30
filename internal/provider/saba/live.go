package saba

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
)

// Saba's eventStatus values that end an event, and its marketStatus
// values (doc.go, "Normalized events").
const (
	eventClosed   = "closed"
	eventDeleted  = "deleted"
	marketRunning = "running"
)

// marketStopped are the marketStatus values under which the market takes
// no bets: suspended, prices closed, or closed.
var marketStopped = map[string]bool{"suspend": true, "closePrice": true, "closed": true}

// Sport returns the normalized sport of a Saba sportType: "sport-<n>"
// (the documents number sports; their names depend on the language).
func Sport(sportType int32) string { return "sport-" + strconv.FormatInt(int64(sportType), 10) }

// liveMapper turns the records of GetEvents streams into normalized
// events. An EventChange, an event remove and a market carry no sportType,
// so the mapper remembers the sport of every event it has seen added, and
// of every match the connector wrote a state for (restore): both are
// committed with the records, so the mapping of a record does not depend
// on where the task last restarted.
//
// It is used by the task's Poll goroutine only (restore runs in Start,
// before the first Poll). Memory: one matchRef per event seen or
// restored, kept for the task's life as the Writer keeps its states.
type liveMapper struct {
	matches map[int64]*matchRef // by eventId
	types   map[typeKey]string  // provider_type strings, made once each
}

// matchRef is the identity of one match, its strings shared by all its
// events (a snapshot makes one event per market).
type matchRef struct{ sport, id, matchID string }

// typeKey is what a provider_type is made of.
type typeKey struct {
	set, op, status string
	msgStatus       int32
}

func newLiveMapper() *liveMapper {
	return &liveMapper{matches: map[int64]*matchRef{}, types: map[typeKey]string{}}
}

// learn records the sport of an event.
func (m *liveMapper) learn(eventID int64, sport string) {
	if ref := m.matches[eventID]; ref != nil && ref.sport == sport {
		return
	}
	id := strconv.FormatInt(eventID, 10)
	m.matches[eventID] = &matchRef{sport: sport, id: id, matchID: live.MatchID(Class, sport, id)}
}

// restore learns the sport of every match the connector wrote a state
// for, from the states w restored from live.matches.
func (m *liveMapper) restore(w *live.Writer) {
	w.EachMatch(func(s *live.Match) {
		if s.Provider != Class {
			return
		}
		if id, err := strconv.ParseInt(s.ProviderMatchID, 10, 64); err == nil {
			m.learn(id, s.Sport)
		}
	})
}

// mapRecord is the task's live.Mapper. Records of GetMarkets streams,
// reset markers and market removes are not mapped; nor is a record of an
// event whose sport the task does not know (see liveMapper).
func (m *liveMapper) mapRecord(rec *connector.SourceRecord) (live.Mapped, bool) {
	switch v := rec.Value.(type) {
	case EventRecord:
		if v.Endpoint != endpointEvents || v.EventID == nil || v.Op == OpReset {
			return live.Mapped{}, false
		}
		if v.Op == OpAdd && v.SportType != nil {
			m.learn(*v.EventID, Sport(*v.SportType))
		}
		ev, ok := m.event(*v.EventID, v.MessageID, v.ReceivedAt)
		if !ok {
			return live.Mapped{}, false
		}
		ev.Kind, ev.ProviderType = eventKind(&v), m.providerType("events", v.Op, v.EventStatus, v.Status)
		ev.SourceID, ev.Status = ev.ProviderMatchID, v.EventStatus
		if v.LiveHomeScore != nil || v.LiveAwayScore != nil {
			ev.Score = &live.Score{Home: v.LiveHomeScore, Away: v.LiveAwayScore}
		}
		if v.Op == OpAdd {
			ev.Competitors = competitors(v.Raw)
		}
		return live.Mapped{Event: ev, Finished: eventEnds(&v)}, true
	case MarketRecord:
		if v.Endpoint != endpointEvents || v.EventID == nil || v.MarketID == nil || (v.Op != OpAdd && v.Op != OpChange) {
			return live.Mapped{}, false
		}
		ev, ok := m.event(*v.EventID, v.MessageID, v.ReceivedAt)
		if !ok {
			return live.Mapped{}, false
		}
		ev.Kind, ev.ProviderType = marketKind(&v), m.providerType("markets", v.Op, v.MarketStatus, v.Status)
		ev.SourceID = strconv.FormatInt(*v.MarketID, 10)
		return live.Mapped{Event: ev}, true
	}
	return live.Mapped{}, false
}

// endpointEvents is the endpoint whose records are mapped.
const endpointEvents = "GetEvents"

// event returns the normalized event of eventID with its identity filled;
// ok is false when the event's sport is unknown.
func (m *liveMapper) event(eventID int64, messageID string, received time.Time) (live.Event, bool) {
	ref, ok := m.matches[eventID]
	if !ok {
		return live.Event{}, false
	}
	return live.Event{
		MatchID: ref.matchID, Provider: Class, Sport: ref.sport, ProviderMatchID: ref.id,
		ReceivedAt: received, Position: messageID,
	}, true
}

// eventKind is the kind of an event record: an add restates the event
// (CORRECTION in a status 3 Reset, whose snapshot follows lost updates);
// a change is MATCH_STATUS when it names eventStatus, SCORE_CHANGE when it
// names a live score, else OTHER; a remove is MATCH_STATUS.
func eventKind(v *EventRecord) live.Kind {
	switch {
	case v.Op == OpAdd && v.Status == StatusReset:
		return live.KindCorrection
	case v.Op == OpAdd, v.Op == OpRemove:
		return live.KindMatchStatus
	case v.EventStatus != nil:
		return live.KindMatchStatus
	case v.LiveHomeScore != nil || v.LiveAwayScore != nil:
		return live.KindScoreChange
	}
	return live.KindOther
}

// eventEnds reports whether the record ends the match: a remove, or an
// eventStatus of closed or deleted.
func eventEnds(v *EventRecord) bool {
	if v.Op == OpRemove {
		return true
	}
	return v.EventStatus != nil && (*v.EventStatus == eventClosed || *v.EventStatus == eventDeleted)
}

// marketKind is the kind of a market add or change: a MarketChange names
// only what changed, so a marketStatus in it is a transition (running:
// MARKET_REOPENED; suspend, closePrice, closed: MARKET_SUSPENDED), and
// selections without it are ODDS_CHANGE. An add publishes the market:
// ODDS_CHANGE, or MARKET_SUSPENDED when added stopped; CORRECTION in a
// status 3 Reset. Anything else is OTHER.
func marketKind(v *MarketRecord) live.Kind {
	status := ""
	if v.MarketStatus != nil {
		status = *v.MarketStatus
	}
	switch {
	case v.Op == OpAdd && v.Status == StatusReset:
		return live.KindCorrection
	case marketStopped[status]:
		return live.KindMarketSuspended
	case status == marketRunning && v.Op == OpChange:
		return live.KindMarketReopened
	case status == marketRunning, status == "" && (v.Op == OpAdd || v.Selections != nil):
		return live.KindOddsChange
	}
	return live.KindOther
}

// providerType names the record as Saba's payload does: "events.change",
// "markets.add", with the item's status when it carries one
// ("markets.change/suspend") and, in a snapshot, the message's status
// ("events.add/running (InitialData)", "... (Reset)").
func (m *liveMapper) providerType(set, op string, status *string, msgStatus int32) string {
	k := typeKey{set: set, op: op, msgStatus: msgStatus}
	if status != nil {
		k.status = *status
	}
	if s, ok := m.types[k]; ok {
		return s
	}
	s := set + "." + op
	if k.status != "" {
		s += "/" + k.status
	}
	switch msgStatus {
	case StatusInitialData:
		s += " (InitialData)"
	case StatusReset:
		s += " (Reset)"
	}
	if len(m.types) < 1024 { // statuses are the provider's: bound what is kept
		m.types[k] = s
	}
	return s
}

// wireTeams is the teamInfo of an Event.
type wireTeams struct {
	TeamInfo *struct {
		HomeID   json.RawMessage `json:"homeId"`
		HomeName *string         `json:"homeName"`
		AwayID   json.RawMessage `json:"awayId"`
		AwayName *string         `json:"awayName"`
	} `json:"teamInfo"`
}

// competitors returns the teams an Event's teamInfo names (raw is the
// event item as sent), or nil.
func competitors(raw string) []live.Competitor {
	var w wireTeams
	if json.Unmarshal([]byte(raw), &w) != nil || w.TeamInfo == nil {
		return nil
	}
	ti := w.TeamInfo
	if ti.HomeName == nil && ti.AwayName == nil && jsonDecimal(ti.HomeID) == nil && jsonDecimal(ti.AwayID) == nil {
		return nil
	}
	return []live.Competitor{
		{Side: live.SideHome, ID: jsonDecimal(ti.HomeID), Name: ti.HomeName},
		{Side: live.SideAway, ID: jsonDecimal(ti.AwayID), Name: ti.AwayName},
	}
}
