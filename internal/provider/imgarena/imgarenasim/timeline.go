package imgarenasim

import (
	"bytes"
	"hash/fnv"
	"strconv"
	"time"
)

// TimelineEvent is event Position of a simulated fixture: what the
// simulator sends as that event, whatever connection carries it.
type TimelineEvent struct {
	Position      int64  // 1-based index of the event in the fixture's feed
	ActionID      string // fixtureAction.actionId
	ActionType    string // fixtureAction.fixtureActionType
	SendType      string // Pending or Confirmed
	Malformed     bool   // sent as broken JSON (SimMalformed, SimMalformedNoSeq)
	Finished      bool   // the packet says finished: true
	StatusesAfore int    // ConnectionStateChanged packets sent just before it
	Home, Away    int    // fixtureSummary's score after the event
}

// actionKinds are the simulated fixtureActionType values with their ids and sub types.
var actionKinds = [...]struct {
	name string
	id   int
	subs []string
}{
	{"DangerousAttack", 7, nil},
	{"Shot", 3, []string{"OnTarget", "OffTarget", "Blocked"}},
	{"Corner", 5, nil},
	{"Foul", 6, nil},
	{"Card", 4, []string{"Yellow", "Red"}},
	{"Goal", 2, []string{"InsideBox", "OutsideBox", "Penalty"}},
	{"Substitution", 8, nil},
	{"FreeKick", 9, nil},
}

// simEvent is the content of one event, before it is framed with a seq num.
type simEvent struct {
	pos            int64
	actionID       string
	sendType       string
	period         int
	clockSecs      int
	ts             time.Time
	kind           int // index into actionKinds; -1 for KickOff, -2 for FixtureEnd
	sub            string
	team           int // 0 none, 1 home, 2 away
	xg             string
	related        string
	home, away     int
	p1home, p1away int
	finished       bool
}

// fixtureStyle is how a fixture's packets spell things where the documents
// allow more than one spelling; chosen from the seed per fixture.
type fixtureStyle struct {
	quotedTimestamp bool // "timestamp": "1767225600123" vs 1767225600123
	quotedScores    bool
	extraField      bool // an undocumented field in fixtureSummary
	numericID       bool // fixtureId as a number
}

// generator produces a fixture's events in order, deterministically.
type generator struct {
	fixture string
	rng     uint64
	n       int64 // events in the feed
	finish  bool
	style   fixtureStyle
	start   time.Time
	i       int64
	home    int
	away    int
	p1h     int
	p1a     int
	pending string // actionId of a Pending action awaiting its Confirmed
}

func hash64(seed uint64, s string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(seed >> (8 * i))
	}
	h.Write(b[:])
	h.Write([]byte(s))
	return h.Sum64() | 1
}

func newGenerator(seed uint64, fixture string, n int64, finish bool) *generator {
	g := &generator{fixture: fixture, rng: hash64(seed, fixture), n: n, finish: finish}
	st := g.next64()
	g.style = fixtureStyle{quotedTimestamp: st&1 == 0, quotedScores: st&2 == 0, extraField: st&4 == 0, numericID: isDigits(fixture)}
	g.start = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(g.next64()%(24*30)) * time.Hour)
	return g
}

func (g *generator) next64() uint64 {
	g.rng ^= g.rng << 13
	g.rng ^= g.rng >> 7
	g.rng ^= g.rng << 17
	return g.rng
}

// next returns the next event; ok is false after the last one.
func (g *generator) next() (simEvent, bool) {
	if g.i >= g.n {
		return simEvent{}, false
	}
	g.i++
	r := g.next64()
	clock := int(g.i * 5400 / max(g.n, 1))
	ev := simEvent{pos: g.i, sendType: "Confirmed", period: 1, clockSecs: clock, team: int(r%2) + 1}
	if clock >= 2700 {
		ev.period = 2
	}
	ev.ts = g.start.Add(time.Duration(clock)*time.Second + time.Duration(r>>40%1000)*time.Millisecond)
	switch {
	case g.i == 1:
		ev.kind, ev.team = -1, 0
	case g.i == g.n && g.finish:
		ev.kind, ev.team, ev.finished = -2, 0, true
	default:
		ev.kind = int(r>>8) % len(actionKinds)
		if subs := actionKinds[ev.kind].subs; len(subs) > 0 {
			ev.sub = subs[int(r>>16)%len(subs)]
		}
		if actionKinds[ev.kind].name == "Shot" {
			ev.xg = "0." + strconv.FormatUint(r>>20%1000, 10)
		}
	}
	if g.pending != "" {
		ev.actionID, ev.related, g.pending = g.pending, g.pending, ""
	} else {
		ev.actionID = g.fixture + "-" + strconv.FormatUint(r>>24%0xFFFFFF, 16) + "-" + strconv.FormatInt(g.i, 10)
		if ev.kind >= 0 && r>>32%5 == 0 && g.i < g.n-1 {
			ev.sendType, g.pending = "Pending", ev.actionID
		}
	}
	if ev.kind >= 0 && actionKinds[ev.kind].name == "Goal" && ev.sendType == "Confirmed" {
		if ev.team == 1 {
			g.home++
		} else {
			g.away++
		}
		if ev.period == 1 {
			g.p1h, g.p1a = g.home, g.away
		}
	}
	ev.home, ev.away, ev.p1home, ev.p1away = g.home, g.away, g.p1h, g.p1a
	return ev, true
}

func (ev simEvent) actionType() (string, int) {
	switch ev.kind {
	case -1:
		return "KickOff", 1
	case -2:
		return "FixtureEnd", 11
	}
	return actionKinds[ev.kind].name, actionKinds[ev.kind].id
}

// appendPacket appends the action packet of ev with fixtureSeqNum seq.
func (g *generator) appendPacket(b []byte, ev simEvent, seq int64) []byte {
	st := g.style
	name, id := ev.actionType()
	b = append(b, `{"traceId":"`...)
	b = strconv.AppendUint(b, hash64(uint64(ev.pos), g.fixture), 36)
	b = append(b, `","version":2,"finished":`...)
	b = strconv.AppendBool(b, ev.finished)
	b = append(b, `,"fixtureAction":{"period":`...)
	b = strconv.AppendInt(b, int64(ev.period), 10)
	b = append(b, `,"actionId":"`...)
	b = append(b, ev.actionID...)
	b = append(b, `","sendType":"`...)
	b = append(b, ev.sendType...)
	b = append(b, `","sendTypeId":`...)
	if ev.sendType == "Pending" {
		b = append(b, '1')
	} else {
		b = append(b, '2')
	}
	b = append(b, `,"clockTime":"`...)
	b = appendClock(b, ev.clockSecs)
	b = append(b, `","fixtureId":`...)
	b = appendMaybeQuoted(b, g.fixture, !st.numericID)
	b = append(b, `,"timestamp":`...)
	b = appendMaybeQuoted(b, strconv.FormatInt(ev.ts.UnixMilli(), 10), st.quotedTimestamp)
	b = append(b, `,"fixtureSeqNum":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"timelineSequence":`...)
	b = strconv.AppendInt(b, ev.pos, 10)
	b = append(b, `,"fixtureActionType":"`...)
	b = append(b, name...)
	b = append(b, `","fixtureActionTypeId":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	if ev.sub != "" {
		b = append(b, `,"fixtureActionSubType":"`...)
		b = append(b, ev.sub...)
		b = append(b, '"')
	}
	if ev.team != 0 {
		b = append(b, `,"team":{"id":`...)
		b = strconv.AppendInt(b, int64(ev.team), 10)
		if ev.team == 1 {
			b = append(b, `,"name":"Home FC"}`...)
		} else {
			b = append(b, `,"name":"Away United"}`...)
		}
	}
	if ev.xg != "" {
		b = append(b, `,"metadata":{"xG":"`...)
		b = append(b, ev.xg...)
		b = append(b, `"}`...)
	}
	b = append(b, `,"relatedFixtureActionIds":[`...)
	if ev.related != "" {
		b = append(b, '"')
		b = append(b, ev.related...)
		b = append(b, '"')
	}
	b = append(b, `]},"fixtureSummary":{"periods":[{"period":1,"homeTeamScore":`...)
	b = strconv.AppendInt(b, int64(ev.p1home), 10)
	b = append(b, `,"awayTeamScore":`...)
	b = strconv.AppendInt(b, int64(ev.p1away), 10)
	b = append(b, '}')
	if ev.period == 2 {
		b = append(b, `,{"period":2,"homeTeamScore":`...)
		b = strconv.AppendInt(b, int64(ev.home-ev.p1home), 10)
		b = append(b, `,"awayTeamScore":`...)
		b = strconv.AppendInt(b, int64(ev.away-ev.p1away), 10)
		b = append(b, '}')
	}
	b = append(b, `],"currentPeriod":`...)
	b = strconv.AppendInt(b, int64(ev.period), 10)
	b = append(b, `,"currentStatus":"`...)
	if ev.finished {
		b = append(b, "Finished"...)
	} else {
		b = append(b, "InPlay"...)
	}
	b = append(b, `","homeTeamScore":`...)
	b = appendMaybeQuoted(b, strconv.Itoa(ev.home), st.quotedScores)
	b = append(b, `,"awayTeamScore":`...)
	b = appendMaybeQuoted(b, strconv.Itoa(ev.away), st.quotedScores)
	b = append(b, `,"currentClockTime":"`...)
	b = appendClock(b, ev.clockSecs)
	b = append(b, '"')
	if st.extraField {
		b = append(b, `,"possession":{"home":"0.52","away":"0.48"}`...)
	}
	return append(b, "}}"...)
}

// appendMalformed appends a broken rendering of the packet: cut short.
func (g *generator) appendMalformed(b []byte, ev simEvent, seq int64) []byte {
	full := g.appendPacket(nil, ev, seq)
	return append(b, full[:len(full)*2/3]...)
}

// appendMalformedNoSeq appends the packet cut just after its
// "fixtureSeqNum" key, so its sequence number cannot be read.
func (g *generator) appendMalformedNoSeq(b []byte, ev simEvent, seq int64) []byte {
	full := g.appendPacket(nil, ev, seq)
	i := bytes.Index(full, []byte(`"fixtureSeqNum":`))
	return append(b, full[:i+len(`"fixtureSeqNum":`)]...)
}

// appendStatus appends a ConnectionStateChanged packet.
func appendStatus(b []byte, state string, ts time.Time) []byte {
	b = append(b, `{"eventElementType":"ConnectionStateChanged","state":"`...)
	b = append(b, state...)
	b = append(b, `","timestamp":"`...)
	b = strconv.AppendInt(b, ts.UnixMilli(), 10)
	return append(b, `"}`...)
}

func appendClock(b []byte, secs int) []byte {
	m, s := secs/60, secs%60
	if m < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(m), 10)
	b = append(b, ':')
	if s < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(s), 10)
}

func appendMaybeQuoted(b []byte, v string, quoted bool) []byte {
	if !quoted {
		return append(b, v...)
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}

func isDigits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
