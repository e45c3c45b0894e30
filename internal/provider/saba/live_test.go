package saba

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"go.uber.org/zap"
)

// TestLiveMapper is the mapping table of doc.go, record by record.
func TestLiveMapper(t *testing.T) {
	s := func(v string) *string { return &v }
	n32 := func(v int32) *int32 { return &v }
	n64 := func(v int64) *int64 { return &v }
	received := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ev := func(op string, status int32, f func(*EventRecord)) EventRecord {
		r := EventRecord{Op: op, Status: status, MessageID: "m-7", Endpoint: "GetEvents", Query: "$filter=sporttype eq 1", EventID: n64(42), ReceivedAt: received}
		if f != nil {
			f(&r)
		}
		return r
	}
	mk := func(op string, status int32, f func(*MarketRecord)) MarketRecord {
		r := MarketRecord{Op: op, Status: status, MessageID: "m-7", Endpoint: "GetEvents", EventID: n64(42), MarketID: n64(5000001), ReceivedAt: received}
		if f != nil {
			f(&r)
		}
		return r
	}
	added := func(r *EventRecord) {
		r.SportType, r.EventStatus, r.LiveHomeScore, r.LiveAwayScore = n32(1), s("running"), n32(0), n32(0)
		r.Raw = `{"eventId":42,"sportType":1,"eventStatus":"running","teamInfo":{"homeId":7,"homeName":"Home 42","awayName":"Away 42"}}`
	}
	for _, tc := range []struct {
		name     string
		value    any
		kind     live.Kind // "" for not mapped
		provType string
		sourceID string
		status   string // "" for none
		score    string // "h:a" or ""
		finished bool
	}{
		{"event in the initial snapshot", ev(OpAdd, StatusInitialData, added), live.KindMatchStatus, "events.add/running (InitialData)", "42", "running", "0:0", false},
		{"event added by an update", ev(OpAdd, StatusSuccess, added), live.KindMatchStatus, "events.add/running", "42", "running", "0:0", false},
		{"event restated by a Reset", ev(OpAdd, StatusReset, added), live.KindCorrection, "events.add/running (Reset)", "42", "running", "0:0", false},
		{"score", ev(OpChange, 0, func(r *EventRecord) { r.LiveHomeScore, r.LiveAwayScore = n32(1), n32(0) }), live.KindScoreChange, "events.change", "42", "", "1:0", false},
		{"one side's score", ev(OpChange, 0, func(r *EventRecord) { r.LiveAwayScore = n32(2) }), live.KindScoreChange, "events.change", "42", "", "?:2", false},
		{"closed", ev(OpChange, 0, func(r *EventRecord) { r.EventStatus = s("closed") }), live.KindMatchStatus, "events.change/closed", "42", "closed", "", true},
		{"deleted", ev(OpChange, 0, func(r *EventRecord) { r.EventStatus = s("deleted") }), live.KindMatchStatus, "events.change/deleted", "42", "deleted", "", true},
		{"postponed", ev(OpChange, 0, func(r *EventRecord) { r.EventStatus = s("postponed") }), live.KindMatchStatus, "events.change/postponed", "42", "postponed", "", false},
		{"other change", ev(OpChange, 0, func(r *EventRecord) { r.GlobalShowTime = &received }), live.KindOther, "events.change", "42", "", "", false},
		{"event removed", ev(OpRemove, 0, nil), live.KindMatchStatus, "events.remove", "42", "", "", true},
		{"market in the initial snapshot", mk(OpAdd, StatusInitialData, func(r *MarketRecord) { r.MarketStatus = s("running") }), live.KindOddsChange, "markets.add/running (InitialData)", "5000001", "", "", false},
		{"market added suspended", mk(OpAdd, 0, func(r *MarketRecord) { r.MarketStatus = s("suspend") }), live.KindMarketSuspended, "markets.add/suspend", "5000001", "", "", false},
		{"market restated by a Reset", mk(OpAdd, StatusReset, func(r *MarketRecord) { r.MarketStatus = s("suspend") }), live.KindCorrection, "markets.add/suspend (Reset)", "5000001", "", "", false},
		{"prices", mk(OpChange, 0, func(r *MarketRecord) { r.Selections = []Selection{{Key: "h", DecimalPrice: s("1.95")}} }), live.KindOddsChange, "markets.change", "5000001", "", "", false},
		{"suspended", mk(OpChange, 0, func(r *MarketRecord) { r.MarketStatus = s("suspend") }), live.KindMarketSuspended, "markets.change/suspend", "5000001", "", "", false},
		{"prices closed", mk(OpChange, 0, func(r *MarketRecord) { r.MarketStatus = s("closePrice") }), live.KindMarketSuspended, "markets.change/closePrice", "5000001", "", "", false},
		{"market closed", mk(OpChange, 0, func(r *MarketRecord) { r.MarketStatus = s("closed") }), live.KindMarketSuspended, "markets.change/closed", "5000001", "", "", false},
		{"reopened", mk(OpChange, 0, func(r *MarketRecord) { r.MarketStatus = s("running") }), live.KindMarketReopened, "markets.change/running", "5000001", "", "", false},
		{"unknown market status", mk(OpChange, 0, func(r *MarketRecord) { r.MarketStatus = s("paused") }), live.KindOther, "markets.change/paused", "5000001", "", "", false},
		{"other market change", mk(OpChange, 0, nil), live.KindOther, "markets.change", "5000001", "", "", false},
		{"market remove", mk(OpRemove, 0, nil), "", "", "", "", "", false},
		{"market of an unknown event", mk(OpChange, 0, func(r *MarketRecord) { r.EventID = nil }), "", "", "", "", "", false},
		{"GetMarkets stream", mk(OpChange, 0, func(r *MarketRecord) { r.Endpoint, r.MarketStatus = "GetMarkets", s("suspend") }), "", "", "", "", "", false},
		{"reset marker", EventRecord{Op: OpReset, Status: StatusReset, Endpoint: "GetEvents"}, "", "", "", "", "", false},
		{"change of an event never added", ev(OpChange, 0, func(r *EventRecord) { r.EventID, r.EventStatus = n64(99), s("closed") }), "", "", "", "", "", false},
		{"dead letter", nil, "", "", "", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newLiveMapper()
			if _, ok := m.mapRecord(&connector.SourceRecord{Value: ev(OpAdd, StatusInitialData, added)}); !ok {
				t.Fatal("the event's add is not mapped")
			}
			got, ok := m.mapRecord(&connector.SourceRecord{Value: tc.value})
			if ok != (tc.kind != "") {
				t.Fatalf("mapped %v, want %v", ok, tc.kind != "")
			}
			if !ok {
				return
			}
			e := got.Event
			if e.Kind != tc.kind || e.ProviderType != tc.provType || e.SourceID != tc.sourceID {
				t.Fatalf("kind %s type %q source %q, want %s %q %q", e.Kind, e.ProviderType, e.SourceID, tc.kind, tc.provType, tc.sourceID)
			}
			if e.MatchID != "saba:sport-1:42" || e.Sport != "sport-1" || e.ProviderMatchID != "42" || e.Provider != "saba" {
				t.Fatalf("identity %q %q %q %q", e.MatchID, e.Provider, e.Sport, e.ProviderMatchID)
			}
			if e.Position != "m-7" || !e.ReceivedAt.Equal(received) || e.EventTime != nil {
				t.Fatalf("position %q received %v event time %v", e.Position, e.ReceivedAt, e.EventTime)
			}
			if st := strOr(e.Status); st != tc.status || scoreOf(e.Score) != tc.score || got.Finished != tc.finished {
				t.Fatalf("status %q score %q finished %v, want %q %q %v", st, scoreOf(e.Score), got.Finished, tc.status, tc.score, tc.finished)
			}
		})
	}
}

// TestLiveMapperCompetitors: an Event's teamInfo names the sides; a
// change names none (the Writer keeps the match's).
func TestLiveMapperCompetitors(t *testing.T) {
	m := newLiveMapper()
	id, sport := int64(7), int32(2)
	got, ok := m.mapRecord(&connector.SourceRecord{Value: EventRecord{Op: OpAdd, Endpoint: "GetEvents", EventID: &id, SportType: &sport,
		Raw: `{"eventId":7,"teamInfo":{"homeId":"11","homeName":"Lions","awayId":12,"awayName":"Tigers"}}`}})
	if !ok || len(got.Event.Competitors) != 2 {
		t.Fatalf("mapped %v, competitors %+v", ok, got.Event.Competitors)
	}
	h, a := got.Event.Competitors[0], got.Event.Competitors[1]
	if h.Side != live.SideHome || strOr(h.ID) != "11" || strOr(h.Name) != "Lions" || a.Side != live.SideAway || strOr(a.ID) != "12" || strOr(a.Name) != "Tigers" {
		t.Fatalf("competitors %s/%s/%s %s/%s/%s", h.Side, strOr(h.ID), strOr(h.Name), a.Side, strOr(a.ID), strOr(a.Name))
	}
	if got.Event.MatchID != "saba:sport-2:7" {
		t.Fatalf("match id %s", got.Event.MatchID)
	}
	got, _ = m.mapRecord(&connector.SourceRecord{Value: EventRecord{Op: OpChange, Endpoint: "GetEvents", EventID: &id, Raw: `{"eventId":7}`}})
	if got.Event.Competitors != nil {
		t.Fatalf("a change names competitors: %+v", got.Event.Competitors)
	}
}

// TestLiveMapperRestore: after a restart, the sport of a match comes from
// its restored live.matches state, so its changes map to the same match id
// as before.
func TestLiveMapperRestore(t *testing.T) {
	schema := live.MatchSchema()
	state := func(provider, sport, id string) []byte {
		b, err := avro.Marshal(schema, live.Match{MatchID: live.MatchID(provider, sport, id), Provider: provider, Sport: sport,
			ProviderMatchID: id, LastKind: live.KindOther, LastReceivedAt: time.UnixMilli(1).UTC()})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	decode := func(_ context.Context, b []byte, v any) error { return avro.Unmarshal(schema, b, v) }
	restored := []connector.RestoredRecord{
		connector.NewRestoredRecord([]byte("saba:sport-3:77"), state(Class, "sport-3", "77"), decode),
		connector.NewRestoredRecord([]byte("imgarena:soccer:78"), state("imgarena", "soccer", "78"), decode), // not ours
		connector.NewRestoredRecord([]byte("saba:sport-3:bad"), state(Class, "sport-3", "bad"), decode),
	}
	tc := connector.NewTaskContext("c", 0, nil, nil, nil, nil).WithRestored(map[string][]connector.RestoredRecord{"p.live.matches": restored})
	m := newLiveMapper()
	w := live.NewWriter(live.Config{Enabled: true, EventsTopic: "p.live.events", MatchesTopic: "p.live.matches"}, m.mapRecord)
	w.Restore(context.Background(), tc, zap.NewNop())
	m.restore(w)
	id, closed := int64(77), "closed"
	got, ok := m.mapRecord(&connector.SourceRecord{Value: EventRecord{Op: OpChange, Endpoint: "GetEvents", EventID: &id, EventStatus: &closed}})
	if !ok || got.Event.MatchID != "saba:sport-3:77" || !got.Finished {
		t.Fatalf("mapped %v: %q finished %v", ok, got.Event.MatchID, got.Finished)
	}
	if len(m.matches) != 1 {
		t.Fatalf("matches %v: only saba matches with a numeric event id are learnt", m.matches)
	}
}

func strOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func scoreOf(s *live.Score) string {
	if s == nil {
		return ""
	}
	part := func(p *int32) string {
		if p == nil {
			return "?"
		}
		return strconv.Itoa(int(*p))
	}
	return part(s.Home) + ":" + part(s.Away)
}
