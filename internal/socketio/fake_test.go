package socketio

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap/zaptest"
)

// fakeServer is an in-process Socket.IO server scripted by each test: every
// WebSocket connection runs script on its own goroutine.
type fakeServer struct {
	t      *testing.T
	srv    *httptest.Server
	script func(*fakeConn)
	// reject, if set, may refuse the upgrade request with an HTTP status.
	reject func(w http.ResponseWriter, r *http.Request) bool

	mu       sync.Mutex
	requests []string // EIO query value of each upgrade request
	wg       sync.WaitGroup
}

func newFakeServer(t *testing.T, script func(*fakeConn)) *fakeServer {
	t.Helper()
	fs := &fakeServer{t: t, script: script}
	fs.srv = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(func() {
		fs.srv.CloseClientConnections()
		fs.srv.Close()
		fs.wg.Wait()
	})
	return fs
}

// url is the server's base URL in ws form.
func (fs *fakeServer) url() string { return "ws" + strings.TrimPrefix(fs.srv.URL, "http") }

func (fs *fakeServer) eioRequests() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]string(nil), fs.requests...)
}

func (fs *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.wg.Add(1)
	defer fs.wg.Done()
	fs.mu.Lock()
	fs.requests = append(fs.requests, r.URL.Query().Get("EIO"))
	fs.mu.Unlock()
	if r.URL.Query().Get("transport") != "websocket" {
		http.Error(w, "transport", http.StatusBadRequest)
		return
	}
	if fs.reject != nil && fs.reject(w, r) {
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		fs.t.Errorf("fake server: upgrade: %v", err)
		return
	}
	defer ws.Close()
	eio := V4
	if r.URL.Query().Get("EIO") == "3" {
		eio = V3
	}
	fc := &fakeConn{t: fs.t, ws: ws, eio: eio, path: r.URL.Path}
	fs.script(fc)
}

// fakeConn is the server side of one connection.
type fakeConn struct {
	t    *testing.T
	ws   *websocket.Conn
	eio  Version
	path string
}

// open sends the Engine.IO open packet.
func (f *fakeConn) open(pingInterval, pingTimeout time.Duration, maxPayload int) {
	payload := fmt.Sprintf(`{"sid":"esid","upgrades":[],"pingInterval":%d,"pingTimeout":%d`,
		pingInterval.Milliseconds(), pingTimeout.Milliseconds())
	if f.eio == V4 {
		payload += fmt.Sprintf(`,"maxPayload":%d`, maxPayload)
	}
	f.send("0" + payload + "}")
}

// handshake opens the session (long heartbeat) and accepts namespace ns.
func (f *fakeConn) handshake(ns string) bool {
	f.open(time.Minute, time.Minute, 1000000)
	return f.acceptNamespace(ns)
}

// acceptNamespace answers the client's CONNECT the way the protocol version
// of the connection does.
func (f *fakeConn) acceptNamespace(ns string) bool {
	prefix := ""
	if ns != "/" {
		prefix = ns + ","
	}
	if f.eio == V3 {
		f.send("40")
		if ns == "/" {
			return true
		}
		if !f.expect("40" + prefix) {
			return false
		}
		f.send("40" + prefix)
		return true
	}
	if _, ok := f.expectPrefix("40" + prefix); !ok {
		return false
	}
	f.send("40" + prefix + `{"sid":"nsid"}`)
	return true
}

func (f *fakeConn) send(text string) {
	_ = f.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := f.ws.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		f.t.Logf("fake server: send %q: %v", text, err)
	}
}

// sendBinary sends an attachment frame (with the v3 type byte if needed).
func (f *fakeConn) sendBinary(b []byte) {
	_, frame := EnginePacket{Type: EngineMessage, Data: b, Binary: true}.Encode(f.eio)
	_ = f.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := f.ws.WriteMessage(websocket.BinaryMessage, frame); err != nil {
		f.t.Logf("fake server: send binary: %v", err)
	}
}

// read returns the next frame, skipping the client's v3 pings (answered)
// and v4 pongs when skipHeartbeat is set.
func (f *fakeConn) read(skipHeartbeat bool) (binary bool, data []byte, err error) {
	for {
		_ = f.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		mt, data, err := f.ws.ReadMessage()
		if err != nil {
			return false, nil, err
		}
		if skipHeartbeat && mt == websocket.TextMessage {
			if f.eio == V3 && string(data) == "2" {
				f.send("3")
				continue
			}
			if f.eio == V4 && string(data) == "3" {
				continue
			}
		}
		return mt == websocket.BinaryMessage, data, nil
	}
}

// expect reads the next text frame and checks it equals want.
func (f *fakeConn) expect(want string) bool {
	f.t.Helper()
	bin, data, err := f.read(true)
	if err != nil || bin || string(data) != want {
		f.t.Errorf("fake server: got (binary=%v) %q, %v; want %q", bin, data, err, want)
		return false
	}
	return true
}

// expectPrefix reads the next text frame and checks its prefix.
func (f *fakeConn) expectPrefix(prefix string) (string, bool) {
	f.t.Helper()
	bin, data, err := f.read(true)
	if err != nil || bin || !strings.HasPrefix(string(data), prefix) {
		f.t.Errorf("fake server: got (binary=%v) %q, %v; want prefix %q", bin, data, err, prefix)
		return "", false
	}
	return string(data), true
}

// expectBinary reads the next frame and checks it is the attachment want.
func (f *fakeConn) expectBinary(want []byte) bool {
	f.t.Helper()
	bin, data, err := f.read(true)
	_, frame := EnginePacket{Type: EngineMessage, Data: want, Binary: true}.Encode(f.eio)
	if err != nil || !bin || string(data) != string(frame) {
		f.t.Errorf("fake server: got (binary=%v) %x, %v; want binary %x", bin, data, err, frame)
		return false
	}
	return true
}

// drain reads (answering v3 pings) until the client goes away and returns
// the text frames it saw.
func (f *fakeConn) drain() []string {
	var seen []string
	for {
		_ = f.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		mt, data, err := f.ws.ReadMessage()
		if err != nil {
			return seen
		}
		if mt == websocket.TextMessage {
			if f.eio == V3 && string(data) == "2" {
				f.send("3")
				continue
			}
			seen = append(seen, string(data))
		}
	}
}

// dialFake dials fs with a test logger and the given options.
func dialFake(t *testing.T, fs *fakeServer, opts ...Option) (*Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts = append([]Option{WithLogger(zaptest.NewLogger(t)), WithHandshakeTimeout(5 * time.Second)}, opts...)
	c, err := Dial(ctx, fs.url(), opts...)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

// waitDone waits for the client's connection to end.
func waitDone(t *testing.T, c *Client, within time.Duration) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(within):
		t.Fatalf("connection still up after %v", within)
	}
}

// bothVersions are the protocol versions every fake-server test runs with.
func bothVersions() []Version { return []Version{V3, V4} }
