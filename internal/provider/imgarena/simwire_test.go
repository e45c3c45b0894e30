package imgarena

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
)

// The simulator's frames as this client reads them: the contract between
// the two, which neither package can check alone (imgarenasim may not
// import this package's parser; its own tests check its routes and
// determinism).

// dialSim opens fixture's stream with query q and sends token.
func dialSim(t *testing.T, sim *imgarenasim.Simulator, fixture, q, token string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(sim.URL()+"/soccer/fixtures/"+fixture+"/actions"+q, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"authToken":"`+token+`"}`)); err != nil {
		t.Fatal(err)
	}
	return c
}

func readPacket(t *testing.T, c *websocket.Conn) packet {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePacket(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return p
}

// TestSimulatorHandshakeShapes: every authorised reply and every heartbeat
// shape, the non-JSON and empty ones included, is liveness to the client.
func TestSimulatorHandshakeShapes(t *testing.T) {
	for style := 0; style < max(imgarenasim.AuthStyles, imgarenasim.HeartbeatStyles); style++ {
		sim := startSim(t, imgarenasim.SimAuthStyle(style%imgarenasim.AuthStyles), imgarenasim.SimHeartbeatStyle(style%imgarenasim.HeartbeatStyles), imgarenasim.SimHeartbeat(20*time.Millisecond), imgarenasim.SimEvents(0))
		c := dialSim(t, sim, "100001", "", "sim-token")
		if p := readPacket(t, c); p.kind != kindLiveness {
			t.Fatalf("style %d: authorised reply classified %s", style, p.kind)
		}
		if p := readPacket(t, c); p.kind != kindLiveness {
			t.Fatalf("style %d: heartbeat classified %s", style, p.kind)
		}
	}
}

func TestSimulatorRefusesWrongToken(t *testing.T) {
	for i := 0; i < imgarenasim.RefusalStyles; i++ {
		sim := startSim(t)
		for j := 0; j < i; j++ { // advance the per-connection style
			c := dialSim(t, sim, "100001", "", "bad")
			_, _, _ = c.ReadMessage()
		}
		c := dialSim(t, sim, "100001", "", "bad")
		p := readPacket(t, c)
		if p.kind != kindError || !p.isAuthError(false) {
			t.Fatalf("refusal classified %s %q", p.kind, p.errMsg)
		}
		_, _, err := c.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.ClosePolicyViolation {
			t.Fatalf("after refusal: %v, want close 1008", err)
		}
	}
}

// TestSimulatorStartPosition checks startPosition skips events and
// fixtureSeqNum restarts at 1 per connection, matching the timeline.
func TestSimulatorStartPosition(t *testing.T) {
	sim := startSim(t, imgarenasim.SimEvents(20), imgarenasim.SimEventInterval(time.Second, time.Millisecond), imgarenasim.SimHeartbeat(0))
	tl := sim.Timeline("100002")
	for _, start := range []int64{0, 7, 19} {
		c := dialSim(t, sim, "100002", "?speed=fast&startPosition="+itoa(start), "sim-token")
		readPacket(t, c) // authorised
		for i := start + 1; i <= 20; i++ {
			p := readPacket(t, c)
			if p.kind != kindAction || p.seq != i-start || !p.action.FixtureAction.ActionID.ok || p.action.FixtureAction.ActionID.s != tl[i-1].ActionID ||
				p.action.FixtureAction.TimelineSequence.n != i {
				t.Fatalf("start %d event %d: %+v", start, i, p)
			}
		}
	}
	// speed=normal paces events (1 s here): nothing but the reply within 300 ms.
	c := dialSim(t, sim, "100002", "", "sim-token")
	readPacket(t, c)
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, b, err := c.ReadMessage(); err == nil {
		t.Fatalf("speed=normal sent %s at once", b)
	}
}

// TestSimulatorStartPositionOneBased: a server reading startPosition n as
// "start at the n-th event" sends the client's last event again first.
func TestSimulatorStartPositionOneBased(t *testing.T) {
	sim := startSim(t, imgarenasim.SimEvents(20), imgarenasim.SimEventInterval(time.Second, time.Millisecond), imgarenasim.SimHeartbeat(0), imgarenasim.SimStartPositionOneBased(true))
	for _, tc := range []struct{ start, first int64 }{{0, 1}, {1, 1}, {7, 7}, {20, 20}} {
		c := dialSim(t, sim, "100002", "?speed=fast&startPosition="+itoa(tc.start), "sim-token")
		readPacket(t, c) // authorised
		if p := readPacket(t, c); p.kind != kindAction || p.seq != 1 || p.action.FixtureAction.TimelineSequence.n != tc.first {
			t.Fatalf("startPosition %d: first packet %+v, want event %d with seq 1", tc.start, p, tc.first)
		}
	}
}

// TestSimulatorFaultFrames: imgarenasim.SimMalformedNoSeq breaks an event so its
// fixtureSeqNum cannot be read, on every connection; imgarenasim.SimExtraFrames sends
// its frames before an event once per fixture.
func TestSimulatorFaultFrames(t *testing.T) {
	sim := startSim(t, imgarenasim.SimFixtures("1"), imgarenasim.SimEvents(5), imgarenasim.SimEventInterval(time.Second, time.Millisecond), imgarenasim.SimHeartbeat(0),
		imgarenasim.SimMalformedNoSeq(2), imgarenasim.SimExtraFrames(4, "ping", ""))
	read := func(c *websocket.Conn) string {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for conn := 1; conn <= 2; conn++ {
		c := dialSim(t, sim, "1", "?speed=fast", "sim-token")
		read(c) // authorised
		var frames []string
		for i := 0; i < 5+2*(2-conn); i++ {
			frames = append(frames, read(c))
		}
		if _, err := parsePacket([]byte(frames[1])); err == nil || !strings.HasSuffix(frames[1], `"fixtureSeqNum":`) {
			t.Fatalf("connection %d: event 2 is %s, want cut after its fixtureSeqNum key", conn, frames[1])
		}
		if _, ok := scanSeq([]byte(frames[1])); ok {
			t.Fatalf("connection %d: the seq of %s can be read", conn, frames[1])
		}
		if conn == 1 && (frames[3] != "ping" || frames[4] != "") {
			t.Fatalf("first connection: frames %q before event 4, want ping and an empty frame", frames[3:5])
		}
		if p, err := parsePacket([]byte(frames[len(frames)-1])); err != nil || p.seq != 5 {
			t.Fatalf("connection %d: last frame %s (%v), want event 5 with seq 5", conn, frames[len(frames)-1], err)
		}
	}
	if tl := sim.Timeline("1"); !tl[1].Malformed || tl[0].Malformed {
		t.Fatalf("timeline %+v: want event 2 marked malformed", tl)
	}
}
