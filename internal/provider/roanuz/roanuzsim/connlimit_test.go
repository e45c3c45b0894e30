package roanuzsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// limitDial dials the simulator's Socket.IO endpoint (Engine.IO v4) and
// returns the connection (nil if refused), the HTTP status of the answer
// and its body when refused.
func limitDial(t *testing.T, sim *Simulator) (*websocket.Conn, int, string) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(sim.URL(), "http") + "/v5/websocket/?EIO=4&transport=websocket"
	ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		if resp == nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, resp.StatusCode, string(b)
	}
	t.Cleanup(func() { ws.Close() })
	if _, open := sockRead(t, ws); !strings.HasPrefix(string(open), "0{") {
		t.Fatalf("first frame %q, want the Engine.IO open packet", open)
	}
	return ws, http.StatusSwitchingProtocols, ""
}

// waitOpen waits until the simulator counts n open connections.
func waitOpen(t *testing.T, sim *Simulator, n int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for sim.OpenConnections() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open, want %d", sim.OpenConnections(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConnectionLimit proves WithConnectionLimit(n): n connections are
// accepted, the n+1-th is refused before the WebSocket upgrade with HTTP
// 429 and a Roanuz-shaped error body, a refusal takes no place, and once a
// connection ends a new one is accepted again. PeakConnections is the most
// open at once (never above n), RefusedConnections counts the refusals. A
// client that closes cleanly (Socket.IO disconnect, Engine.IO close) and
// waits for the server's close may dial again at once at the limit: the
// server has given its place back before it closes.
func TestConnectionLimit(t *testing.T) {
	const n = 3
	sim := startSim(t, WithMatches("m1"), WithPingInterval(time.Minute), WithConnectionLimit(n))
	var open []*websocket.Conn
	for i := range n {
		ws, status, body := limitDial(t, sim)
		if ws == nil {
			t.Fatalf("connection %d of %d refused: %d %s", i+1, n, status, body)
		}
		open = append(open, ws)
	}
	if sim.OpenConnections() != n || sim.PeakConnections() != n || sim.RefusedConnections() != 0 {
		t.Fatalf("open %d, peak %d, refused %d; want %d, %d, 0", sim.OpenConnections(), sim.PeakConnections(), sim.RefusedConnections(), n, n)
	}
	for i := 1; i <= 2; i++ {
		ws, status, body := limitDial(t, sim)
		if ws != nil || status != http.StatusTooManyRequests {
			t.Fatalf("connection %d at the limit: status %d, want 429", n+i, status)
		}
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
			Status int `json:"http_status_code"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "S-429" || e.Status != 429 {
			t.Fatalf("refusal body %q: %v", body, err)
		}
		if got := sim.RefusedConnections(); got != int64(i) {
			t.Fatalf("refused %d, want %d", got, i)
		}
	}
	if sim.OpenConnections() != n || sim.PeakConnections() != n {
		t.Fatalf("after refusals: open %d, peak %d; want %d, %d", sim.OpenConnections(), sim.PeakConnections(), n, n)
	}

	// An abrupt close frees a place once the server has read the end.
	open[0].Close()
	waitOpen(t, sim, n-1)
	ws, status, _ := limitDial(t, sim)
	if ws == nil {
		t.Fatalf("a place was freed, yet refused: %d", status)
	}
	open[0] = ws

	// A clean close (as the connector's client does: disconnect the
	// namespace, close Engine.IO, wait for the server's close) followed by
	// an immediate dial is never refused.
	for range 20 {
		sockSend(t, open[1], "40/cricket,")
		sockRead(t, open[1]) // namespace joined
		sockSend(t, open[1], "41/cricket,")
		sockSend(t, open[1], "1")
		_ = open[1].SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			if _, _, err := open[1].ReadMessage(); err != nil {
				break
			}
		}
		open[1].Close()
		ws, status, _ := limitDial(t, sim)
		if ws == nil {
			t.Fatalf("a dial right after a clean close was refused (%d): the place was not given back first", status)
		}
		open[1] = ws
	}
	if sim.PeakConnections() != n || sim.RefusedConnections() != 2 {
		t.Fatalf("peak %d, refused %d; want %d, 2", sim.PeakConnections(), sim.RefusedConnections(), n)
	}
	conns, _, _, _, _ := sim.SockStats()
	if conns != n+1+20 {
		t.Fatalf("%d connections accepted, want %d (refusals are not connections)", conns, n+1+20)
	}
}

// TestConnectionLimitOff: without WithConnectionLimit nothing is refused,
// and the peak of open connections is still tracked.
func TestConnectionLimitOff(t *testing.T) {
	sim := startSim(t, WithMatches("m1"), WithPingInterval(time.Minute))
	var open []*websocket.Conn
	for i := range 25 {
		ws, status, body := limitDial(t, sim)
		if ws == nil {
			t.Fatalf("connection %d refused without a limit: %d %s", i+1, status, body)
		}
		open = append(open, ws)
	}
	for _, ws := range open[:10] {
		ws.Close()
	}
	waitOpen(t, sim, 15)
	if sim.PeakConnections() != 25 || sim.RefusedConnections() != 0 {
		t.Fatalf("peak %d, refused %d; want 25, 0", sim.PeakConnections(), sim.RefusedConnections())
	}
}
