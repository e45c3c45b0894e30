package imgarenasim

import (
	"bytes"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestFeedIsWhatAConnectionSends: a Feed's events are the timeline's, and
// its packets are byte for byte the frames a connection carries.
func TestFeedIsWhatAConnectionSends(t *testing.T) {
	const n = 12
	sim := startSim(t, SimSeed(4), SimFixtures("100001"), SimEvents(n), SimFinish(true), SimHeartbeat(0),
		SimEventInterval(time.Second, time.Millisecond), SimAuthStyle(0))
	c, _, err := websocket.DefaultDialer.Dial(sim.URL()+"/soccer/fixtures/100001/actions?speed=fast", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"authToken":"sim-token"}`)); err != nil {
		t.Fatal(err)
	}
	read := func() []byte {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	read() // authorised
	tl := sim.Timeline("100001")
	f := NewFeed(4, "100001", n, true)
	for i := int64(1); ; i++ {
		ev, ok := f.Next()
		if !ok {
			if i != n+1 {
				t.Fatalf("the feed ended after %d events, want %d", i-1, n)
			}
			break
		}
		if te := tl[i-1]; ev.Position != i || ev.ActionID != te.ActionID || ev.Finished != te.Finished {
			t.Fatalf("feed event %d %+v, timeline %+v", i, ev, te)
		}
		if got := read(); !bytes.Equal(got, f.Packet(ev, i)) {
			t.Fatalf("event %d: connection sent %s, feed says %s", i, got, f.Packet(ev, i))
		}
		if m := f.Malformed(ev, i); !bytes.HasPrefix(f.Packet(ev, i), m) || len(m) >= len(f.Packet(ev, i)) {
			t.Fatalf("event %d: malformed %s is not the packet cut short", i, m)
		}
	}
	if !bytes.Contains(ActionFrame(1, "7", 3, 9), []byte(`"fixtureSeqNum":9,"timelineSequence":3`)) {
		t.Fatalf("ActionFrame: %s", ActionFrame(1, "7", 3, 9))
	}
	if got := string(StatusPacket("Connected", time.UnixMilli(1767225600123))); got !=
		`{"eventElementType":"ConnectionStateChanged","state":"Connected","timestamp":"1767225600123"}` {
		t.Fatalf("StatusPacket: %s", got)
	}
}
