package imgarena

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// dialSim opens fixture's stream with query q and sends token.
func dialSim(t *testing.T, sim *Simulator, fixture, q, token string) *websocket.Conn {
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
	for style := 0; style < max(authStyles, heartbeatStyles); style++ {
		sim := startSim(t, SimAuthStyle(style%authStyles), SimHeartbeatStyle(style%heartbeatStyles), SimHeartbeat(20*time.Millisecond), SimEvents(0))
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
	for i := 0; i < refusalStyles; i++ {
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
	sim := startSim(t, SimEvents(20), SimEventInterval(time.Second, time.Millisecond), SimHeartbeat(0))
	tl := sim.Timeline("100002")
	for _, start := range []int64{0, 7, 19} {
		c := dialSim(t, sim, "100002", "?speed=fast&startPosition="+itoa(start), "sim-token")
		readPacket(t, c) // authorised
		for i := start + 1; i <= 20; i++ {
			p := readPacket(t, c)
			if p.kind != kindAction || p.seq != i-start || *p.action.FixtureAction.ActionID.ptr() != tl[i-1].ActionID ||
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
	sim := startSim(t, SimEvents(20), SimEventInterval(time.Second, time.Millisecond), SimHeartbeat(0), SimStartPositionOneBased(true))
	for _, tc := range []struct{ start, first int64 }{{0, 1}, {1, 1}, {7, 7}, {20, 20}} {
		c := dialSim(t, sim, "100002", "?speed=fast&startPosition="+itoa(tc.start), "sim-token")
		readPacket(t, c) // authorised
		if p := readPacket(t, c); p.kind != kindAction || p.seq != 1 || p.action.FixtureAction.TimelineSequence.n != tc.first {
			t.Fatalf("startPosition %d: first packet %+v, want event %d with seq 1", tc.start, p, tc.first)
		}
	}
}

// TestSimulatorFaultFrames: SimMalformedNoSeq breaks an event so its
// fixtureSeqNum cannot be read, on every connection; SimExtraFrames sends
// its frames before an event once per fixture.
func TestSimulatorFaultFrames(t *testing.T) {
	sim := startSim(t, SimFixtures("1"), SimEvents(5), SimEventInterval(time.Second, time.Millisecond), SimHeartbeat(0),
		SimMalformedNoSeq(2), SimExtraFrames(4, "ping", ""))
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

func TestSimulatorRoutes(t *testing.T) {
	sim := startSim(t, SimFixtures("11", "12"))
	cases := []struct {
		path, auth string
		code       int
		body       string
	}{
		{"/soccer/fixtures?live=true&subscribed=true", "Bearer sim-token", 200, `"id":11`},
		{"/media/basketball/fixtures?live=true", "Bearer sim-token", 200, `"collectionStatus"`},
		{"/soccer/fixtures?live=true", "Bearer nope", 401, `"statusCode":401`},
		{"/soccer/fixtures/99/actions", "", 404, "Fixture not found"},
		{"/soccer/fixtures/11/actions?startPosition=-1", "", 400, "startPosition"},
		{"/soccer/fixtures/11/actions?speed=warp", "", 400, "speed"},
		{"/nothing", "", 404, ""},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodGet, sim.RESTURL()+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.body) {
			t.Errorf("%s: %d %s, want %d containing %q", tc.path, resp.StatusCode, b, tc.code, tc.body)
		}
		if tc.code == 200 {
			var list []map[string]any
			if err := json.Unmarshal(b, &list); err != nil || len(list) != 2 {
				t.Errorf("%s: %s is not the fixture list: %v", tc.path, b, err)
			}
		}
	}
}

func TestSimulatorDeterministic(t *testing.T) {
	a, b := NewSimulator(SimSeed(9), SimEvents(50)), NewSimulator(SimSeed(9), SimEvents(50))
	c := NewSimulator(SimSeed(10), SimEvents(50))
	ta, tb, tc := a.Timeline("100001"), b.Timeline("100001"), c.Timeline("100001")
	same := 0
	for i := range ta {
		if ta[i] != tb[i] {
			t.Fatalf("same seed differs at %d", i)
		}
		if ta[i].ActionID == tc[i].ActionID {
			same++
		}
	}
	if same == len(ta) {
		t.Fatal("different seeds gave the same timeline")
	}
}

func itoa(n int64) string { return fmtInt(n) }

func fmtInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
