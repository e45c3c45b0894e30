package imgarenasim

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// Shapes the documents leave open; the simulator varies them so the client
// cannot come to depend on one.
const (
	// AuthStyles is how many shapes of the authorised reply there are
	// (SimAuthStyle takes 0..AuthStyles-1).
	AuthStyles = 4
	// HeartbeatStyles is how many heartbeat shapes there are
	// (SimHeartbeatStyle takes 0..HeartbeatStyles-1).
	HeartbeatStyles = 5
	// RefusalStyles is how many shapes of the wrong-token refusal there
	// are; a fixture's n-th connection gets shape n mod RefusalStyles.
	RefusalStyles = 2
)

func authReply(i int) string {
	switch i % AuthStyles {
	case 0:
		return `{"type":"authorised"}`
	case 1:
		return `{"status":"ok","message":"Authorised"}`
	case 2:
		return `{"authorised":true,"statusCode":200}`
	}
	return `{"message":"Connection authorised"}`
}

func heartbeat(i int, now time.Time) []byte {
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	switch i % HeartbeatStyles {
	case 0:
		return []byte(`{"type":"heartbeat"}`)
	case 1:
		return []byte(`{"heartbeat":` + ms + `}`)
	case 3:
		return []byte("ping") // not JSON
	case 4:
		return []byte{} // an empty frame
	}
	return []byte(`{"messageType":"Heartbeat","timestamp":"` + ms + `"}`)
}

func refusal(i int) string {
	if i%RefusalStyles == 0 {
		return `{"statusCode":401,"message":"Invalid token"}`
	}
	return `{"error":"Unauthorized","message":"Invalid token"}`
}

// statusGap is how long before an event's Connected status its Disconnected
// status is stamped.
const statusGap = 30 * time.Second

// writeWait bounds each write to a client that stopped reading.
const writeWait = 60 * time.Second

// stream serves one fixture connection: handshake, then events from start
// onwards with heartbeats, injecting the configured faults.
func (s *Simulator) stream(c *websocket.Conn, fixture string, start int64, interval time.Duration) {
	defer c.Close()
	s.connections.Add(1)
	s.mu.Lock()
	s.conns[fixture]++
	connNo := s.conns[fixture]
	s.mu.Unlock()
	rng := hash64(s.o.seed^uint64(connNo)*0x9E3779B97F4A7C15, fixture)
	pick := func(fixed int) int {
		if fixed >= 0 {
			return fixed
		}
		return int(rng>>3) + connNo
	}

	c.SetReadLimit(64 << 10)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil {
		return
	}
	var auth struct {
		AuthToken *string `json:"authToken"`
	}
	write := func(b []byte) bool {
		_ = c.SetWriteDeadline(time.Now().Add(writeWait))
		return c.WriteMessage(websocket.TextMessage, b) == nil
	}
	if json.Unmarshal(msg, &auth) != nil || auth.AuthToken == nil || *auth.AuthToken != s.o.token {
		s.mu.Lock()
		s.refusals = append(s.refusals, time.Now())
		s.mu.Unlock()
		write([]byte(refusal(connNo)))
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "Invalid token"), time.Now().Add(time.Second))
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	s.authorised.Add(1)
	if !write([]byte(authReply(pick(s.o.authStyle)))) {
		return
	}
	// Frames after the token are ignored; reading them notices the close.
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()

	g := newGenerator(s.o.seed, fixture, s.o.events, s.o.finish)
	skip := start
	if s.o.oneBased && skip > 0 {
		skip-- // "5 would start sending events from the 5th event"
	}
	for g.i < skip {
		if _, ok := g.next(); !ok {
			break
		}
	}
	hbStyle := pick(s.o.heartbeatStyle)
	var hb <-chan time.Time
	if s.o.heartbeat > 0 {
		t := time.NewTicker(s.o.heartbeat)
		defer t.Stop()
		hb = t.C
	}
	evTimer := time.NewTimer(interval)
	defer evTimer.Stop()
	evC := evTimer.C
	var seq int64
	sent := 0
	var buf []byte
	sendAction := func(ev simEvent, seq int64) bool {
		switch ev.pos {
		case s.o.malformedAt:
			buf = g.appendMalformed(buf[:0], ev, seq)
		case s.o.noSeqAt:
			buf = g.appendMalformedNoSeq(buf[:0], ev, seq)
		default:
			buf = g.appendPacket(buf[:0], ev, seq)
		}
		if s.o.onSend != nil {
			s.o.onSend(fixture, ev.pos, time.Now())
		}
		if !write(buf) {
			return false
		}
		s.actionsSent.Add(1)
		sent++
		return true
	}
	drop := func() {
		s.drops.Add(1)
		_ = c.UnderlyingConn().Close()
	}
	for {
		select {
		case <-s.closing:
			return
		case <-gone:
			return
		case <-hb:
			if !write(heartbeat(hbStyle, time.Now())) {
				return
			}
			s.heartbeatsSent.Add(1)
			continue
		case <-evC:
		}
		ev, ok := g.next()
		if !ok {
			if s.o.finish {
				_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "fixture finished"), time.Now().Add(time.Second))
				return
			}
			evC = nil // idle: heartbeats only
			continue
		}
		evTimer.Reset(interval)
		if s.o.statusEvery > 0 && ev.pos%s.o.statusEvery == 0 &&
			(!s.o.statusOnce || s.oneShot(fixture, "status/"+strconv.FormatInt(ev.pos, 10))) {
			// The state changes happened at fixed instants of the feed, so a
			// replay to a resumed connection carries the same timestamps.
			if !write(appendStatus(nil, "Disconnected", ev.ts.Add(-statusGap))) || !write(appendStatus(nil, "Connected", ev.ts)) {
				return
			}
			s.statusesSent.Add(2)
			if s.o.dropAtStatus && s.oneShot(fixture, "dropAtStatus") {
				drop()
				return
			}
		}
		if ev.pos == s.o.extraAt && len(s.o.extra) > 0 && s.oneShot(fixture, "extra") {
			for _, f := range s.o.extra {
				if !write(f) {
					return
				}
			}
		}
		switch {
		case ev.pos == s.o.gapAt && s.oneShot(fixture, "gap"):
			seq++ // the packet is lost: its number is skipped
			continue
		case ev.pos == s.o.dupAt && s.oneShot(fixture, "dup"):
			seq++
			// The same packet twice: the duplicate fixtureSeqNum fault.
			if first := sendAction(ev, seq); !first || !sendAction(ev, seq) {
				return
			}
		case ev.pos == s.o.reorderAt && s.oneShot(fixture, "reorder"):
			seq++
			if ev2, ok := g.next(); ok {
				if !sendAction(ev2, seq+1) || !sendAction(ev, seq) {
					return
				}
				seq++
			} else if !sendAction(ev, seq) {
				return
			}
		default:
			seq++
			if !sendAction(ev, seq) {
				return
			}
		}
		if s.o.stallAfter > 0 && connNo == 1 && sent >= s.o.stallAfter {
			select { // silent: no heartbeats, no data, socket left open
			case <-s.closing:
			case <-gone:
			}
			return
		}
		if s.o.dropAfter > 0 && sent >= s.o.dropAfter {
			drop()
			return
		}
		if s.o.randomDrop > 0 {
			rng ^= rng << 13
			rng ^= rng >> 7
			rng ^= rng << 17
			if float64(rng>>11)/float64(1<<53) < s.o.randomDrop {
				drop()
				return
			}
		}
	}
}

// oneShot reports whether fault has not yet been injected into fixture, and marks it.
func (s *Simulator) oneShot(fixture, fault string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := fixture + "/" + fault
	if s.faultUsed[k] {
		return false
	}
	s.faultUsed[k] = true
	return true
}
