package imgarenasim

import "time"

// Feed is a fixture's events exactly as the simulator generates them, for
// tests that need its frames without a server: a client's parser and
// schema tests, scripted servers. It shares the simulator's generator, so
// a Feed's packets are the bytes a connection carries.
type Feed struct {
	g *generator
}

// NewFeed returns the feed of fixture under seed (SimSeed), of events
// events (SimEvents); with finish (SimFinish) the last one says
// finished: true.
func NewFeed(seed uint64, fixture string, events int64, finish bool) *Feed {
	return &Feed{g: newGenerator(seed, fixture, events, finish)}
}

// FeedEvent is one event of a Feed: what the simulator writes into its
// action packet, whatever fixtureSeqNum frames it.
type FeedEvent struct {
	Position  int64     // 1-based index in the feed (timelineSequence)
	ActionID  string    // fixtureAction.actionId
	Time      time.Time // fixtureAction.timestamp, to the millisecond on the wire
	HomeScore int       // fixtureSummary.homeTeamScore
	AwayScore int       // fixtureSummary.awayTeamScore
	Finished  bool      // the packet says finished: true

	ev simEvent
}

// Next returns the next event; ok is false after the last one.
func (f *Feed) Next() (ev FeedEvent, ok bool) {
	e, ok := f.g.next()
	if !ok {
		return FeedEvent{}, false
	}
	return FeedEvent{Position: e.pos, ActionID: e.actionID, Time: e.ts, HomeScore: e.home, AwayScore: e.away,
		Finished: e.finished, ev: e}, true
}

// Packet returns ev's action packet with fixtureSeqNum seq, as a
// connection sends it.
func (f *Feed) Packet(ev FeedEvent, seq int64) []byte { return f.g.appendPacket(nil, ev.ev, seq) }

// Malformed returns ev's packet broken as SimMalformed sends it (cut short).
func (f *Feed) Malformed(ev FeedEvent, seq int64) []byte { return f.g.appendMalformed(nil, ev.ev, seq) }

// ActionFrame returns event pos of a feed of pos events (seed, fixture,
// not finishing) framed with fixtureSeqNum seq.
func ActionFrame(seed uint64, fixture string, pos, seq int64) []byte {
	f := NewFeed(seed, fixture, pos, false)
	var ev FeedEvent
	for i := int64(0); i < pos; i++ {
		ev, _ = f.Next()
	}
	return f.Packet(ev, seq)
}

// StatusPacket returns the ConnectionStateChanged packet of state at ts,
// as the simulator sends it before an event (SimStatusEvery).
func StatusPacket(state string, ts time.Time) []byte { return appendStatus(nil, state, ts) }
