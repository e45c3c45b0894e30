package sabademo

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/connectortest"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The acceptance run, checked on live.events: the normalized events of
// the GetEvents streams (includeMarkets none: event records only) are, like
// the events topic, a function of the seed, one per event item of a
// stream's view. Their identity is the match id, the SSE id, the provider
// type, the kind, the event status the record names and the match's score
// after it: unique, for the reason identity's is.

// TestAcceptanceLive runs the suite's restart test (a graceful stop and an
// abrupt one, the open transaction fenced) on live.events: every
// normalized event exactly once, the match states restored across the
// restarts.
func TestAcceptanceLive(t *testing.T) {
	a := AcceptanceDriver()
	a.Live = true
	connectortest.ExactlyOnceAcrossRestarts(t, a)
}

// TestAcceptanceLiveExpect checks ExpectLive against Expect (no broker):
// one normalized event per event record but the reset markers and the
// records of events added by a malformed update (whose sport the connector
// never learns), and both twins give the same.
func TestAcceptanceLiveExpect(t *testing.T) {
	a := AcceptanceDriver()
	specs, err := saba.ParseStreams(acceptanceStreams)
	if err != nil {
		t.Fatal(err)
	}
	want, err := a.ExpectLive(specs, "x")
	if err != nil {
		t.Fatal(err)
	}
	records, _, err := a.Expect(specs, "x")
	if err != nil {
		t.Fatal(err)
	}
	again, err := a.ExpectLive(specs, "x")
	if err != nil || len(again) != len(want) {
		t.Fatalf("a second ExpectLive: %d identities (%v), first %d", len(again), err, len(want))
	}
	markers := 0
	for _, sp := range specs {
		if sp.Endpoint == "GetEvents" {
			markers++
		}
	}
	unknown := len(records) - markers - len(want)
	if unknown < 0 || unknown > len(records)/20 {
		t.Fatalf("%d normalized events for %d event records and %d reset markers", len(want), len(records), markers)
	}
	t.Logf("%d normalized events for %d event records (%d reset markers, %d records of events added by a malformed update)", len(want), len(records), markers, unknown)
}

// ExpectLive returns the identity of every normalized event a run of
// streams over the whole timeline of a simulator with epoch must write:
// the status 1 snapshot of update 0 and every update but the malformed
// ones, as each GetEvents stream sees them.
func (a *Acceptance) ExpectLive(streams []saba.StreamSpec, epoch string) ([]string, error) {
	twin := sabasim.NewSimulator(a.simOptions(epoch)...)
	defer twin.Close()
	type state struct {
		sport      string
		home, away *int32
	}
	var want []string
	emit := func(st *state, r saba.EventRecord) {
		kind, _ := wantKind(r)
		if r.LiveHomeScore != nil {
			st.home, st.away = r.LiveHomeScore, r.LiveAwayScore
		}
		id := live.MatchID(saba.Class, st.sport, strconv.FormatInt(*r.EventID, 10))
		want = append(want, liveIdentityOf(id, r.MessageID, wantProviderType("events", r.Op, r.EventStatus, r.Status), kind, r.EventStatus, pairText(st.home, st.away)))
	}
	added := func(states map[int64]*state, e sabasim.SimEvent, msgID string, status int32) {
		st := &state{sport: saba.Sport(int32(e.SportType))}
		states[e.EventID] = st
		emit(st, saba.EventRecord{Op: saba.OpAdd, Status: status, MessageID: msgID, Endpoint: "GetEvents", EventID: &e.EventID,
			EventStatus: &e.EventStatus, LiveHomeScore: i32(e.GameInfo.LiveHomeScore), LiveAwayScore: i32(e.GameInfo.LiveAwayScore)})
	}
	snaps := map[string][]sabasim.SimEvent{}
	for _, sp := range streams {
		if sp.Endpoint != "GetEvents" {
			continue
		}
		var err error
		if snaps[sp.Query], err = snapshotEvents(twin, sp); err != nil {
			return nil, err
		}
	}
	twin.Step(int(a.Updates))
	for _, sp := range streams {
		if sp.Endpoint != "GetEvents" {
			continue
		}
		states := map[int64]*state{}
		for _, e := range snaps[sp.Query] {
			added(states, e, twin.IDOf(0), saba.StatusInitialData)
		}
		inView := func(id int64) (bool, error) {
			c, err := twin.CountsOf(sp.Endpoint, sp.Query, "none", sabasim.Update{EventsRemove: []int64{id}})
			return c.EventsRemove == 1, err
		}
		for _, u := range twin.Updates() {
			if u.Malformed {
				continue
			}
			for _, e := range u.EventsAdd {
				if ok, err := inView(e.EventID); err != nil || !ok {
					if err != nil {
						return nil, err
					}
					continue
				}
				added(states, e, u.ID, saba.StatusSuccess)
			}
			for _, c := range u.EventsChange {
				st := states[c.EventID]
				if st == nil {
					continue // not in the view, or added by a malformed update
				}
				r := saba.EventRecord{Op: saba.OpChange, MessageID: u.ID, Endpoint: "GetEvents", EventID: &c.EventID}
				if c.EventStatus != "" {
					r.EventStatus = &c.EventStatus
				}
				if c.GameInfo != nil {
					r.LiveHomeScore, r.LiveAwayScore = i32(c.GameInfo.LiveHomeScore), i32(c.GameInfo.LiveAwayScore)
				}
				emit(st, r)
			}
			for _, id := range u.EventsRemove {
				if st := states[id]; st != nil {
					emit(st, saba.EventRecord{Op: saba.OpRemove, MessageID: u.ID, Endpoint: "GetEvents", EventID: &id})
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, id := range want {
		if seen[id] {
			return nil, fmt.Errorf("the timeline has two normalized events of identity %q: the identity is not unique", id)
		}
		seen[id] = true
	}
	return want, nil
}

// liveIdentityOf names one normalized event:
// "<match id>@<sse id>|<provider type>|<kind>|<status>|<home>:<away>".
func liveIdentityOf(matchID, pos, providerType string, kind live.Kind, status *string, score string) string {
	return matchID + "@" + pos + "|" + providerType + "|" + kind + "|" + str(status) + "|" + score
}

// liveIdentity is Identity on live.events.
func (s *acceptanceSource) liveIdentity(r *kgo.Record) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var e live.Event
	if err := s.dec.Decode(ctx, r.Value, &e); err != nil {
		return "", fmt.Errorf("record at %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	pos := ""
	for _, h := range r.Headers {
		if h.Key == connector.HeaderPosition {
			pos = string(h.Value)
		}
	}
	if e.Position != pos || string(r.Key) != e.MatchID {
		return "", fmt.Errorf("record at %s/%d@%d: key %q position %q, event of %s at %s", r.Topic, r.Partition, r.Offset, r.Key, pos, e.MatchID, e.Position)
	}
	return liveIdentityOf(e.MatchID, e.Position, e.ProviderType, e.Kind, e.Status, scoreText(e.Score)), nil
}
