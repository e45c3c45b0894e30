package roanuzsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Engine.IO versions the simulator's Socket.IO server speaks (Roanuz does
// not document its version, so the simulator can play either).
const (
	// EngineIOv4 is Engine.IO v4 with Socket.IO protocol v5 (socket.io ≥ 3,
	// without allowEIO3): an EIO=3 handshake is refused with HTTP 400.
	EngineIOv4 = 4
	// EngineIOv3 is Engine.IO v3 with Socket.IO protocol v4, like a
	// socket.io 2.x server: it ignores the EIO query and speaks v3 to every
	// client (an EIO=4 client must notice and fall back).
	EngineIOv3 = 3
	// EngineIOBoth serves each client in the version it asks for, like
	// socket.io 3/4 with allowEIO3: true.
	EngineIOBoth = 0
)

// WithEngineIO sets the Engine.IO version(s) of the Socket.IO server:
// EngineIOv4 (the default), EngineIOv3 or EngineIOBoth.
func WithEngineIO(v int) SimOption { return func(o *simOptions) { o.sockFaults.engineIO = v } }

var sockUpgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// sockVersion returns the Engine.IO version to speak to a client asking for
// eio (the EIO query value), or 0 to refuse it.
func (s *Simulator) sockVersion(eio string) int {
	switch s.o.sockFaults.engineIO {
	case EngineIOv3:
		return 3
	case EngineIOBoth:
		switch eio {
		case "3":
			return 3
		case "4":
			return 4
		}
		return 0
	}
	if eio == "4" {
		return 4
	}
	return 0
}

// handleSocket serves Engine.IO over WebSocket at /v5/websocket/.
//
// v4: the open packet carries maxPayload, the server pings ("2") every
// pingInterval and the client answers "3"; namespaces are joined with
// 40/ns,{"sid"}. v3: the server sends "40" for the root namespace after the
// open packet, the client pings and the server answers; namespaces are
// joined with "40/ns," and refused with 44/ns,"message"; binary frames
// carry the packet type (4) in their first byte.
func (s *Simulator) handleSocket(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	eio := s.sockVersion(q.Get("EIO"))
	if q.Get("transport") != "websocket" || eio == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"code":5,"message":"Unsupported protocol version"}`))
		return
	}
	if !s.sockAdmit() {
		s.refuseConnection(w)
		return
	}
	ws, err := sockUpgrader.Upgrade(w, r, nil)
	if err != nil {
		s.sockRelease()
		return
	}
	ws.SetReadLimit(1 << 20)
	c := &sockConn{ws: ws, joined: map[string]string{}, eio: eio}
	s.mu.Lock()
	if s.sconns == nil {
		s.sconns = map[*sockConn]bool{}
	}
	s.sconns[c] = true
	id := len(s.sconns) + int(s.sock.conns.Load())
	s.mu.Unlock()
	s.sock.conns.Add(1)
	if eio == 3 {
		s.sock.connsV3.Add(1)
	}
	c.variant = id % 3
	defer func() {
		s.mu.Lock()
		delete(s.sconns, c)
		c.closed = true
		s.mu.Unlock()
		// Released before the socket closes: a client that waits for the
		// server's close before dialing again is never counted twice.
		s.sockRelease()
		ws.Close()
	}()
	ping := s.o.sockFaults.pingInterval
	if ping <= 0 {
		ping = 25 * time.Second
	}
	timeout := 20 * time.Second
	open := map[string]any{"sid": fmt.Sprintf("sim%d", id), "upgrades": []string{},
		"pingInterval": ping.Milliseconds(), "pingTimeout": timeout.Milliseconds()}
	if eio == 4 {
		open["maxPayload"] = 1000000
	}
	ob, _ := json.Marshal(open)
	if c.write(websocket.TextMessage, append([]byte("0"), ob...)) != nil {
		return
	}
	stop := make(chan struct{})
	defer close(stop)
	if eio == 3 {
		// Socket.IO v2 connects every client to the root namespace at once.
		if c.write(websocket.TextMessage, []byte("40")) != nil {
			return
		}
		go func() {
			select {
			case <-stop:
			case <-s.closing:
				ws.Close()
			}
		}()
	} else {
		go s.sockPinger(c, ping, stop)
	}
	for {
		_ = ws.SetReadDeadline(time.Now().Add(ping + timeout))
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if !s.sockPacket(c, id, string(msg)) {
			return
		}
	}
}

// sockPinger sends the Engine.IO v4 server pings.
func (s *Simulator) sockPinger(c *sockConn, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-s.closing:
			c.ws.Close()
			return
		case <-t.C:
			if c.write(websocket.TextMessage, []byte("2")) != nil {
				return
			}
		}
	}
}

// sockPacket handles one text frame from a client; false ends the connection.
func (s *Simulator) sockPacket(c *sockConn, id int, m string) bool {
	switch {
	case m == "3" || m == "3probe" || m == "2probe" && c.eio == 4:
	case c.eio == 3 && strings.HasPrefix(m, "2"):
		// v3: the client pings, the server answers with the same data.
		s.sock.pings.Add(1)
		_ = c.write(websocket.TextMessage, []byte("3"+m[1:]))
	case strings.HasPrefix(m, "40/cricket"):
		if c.eio == 3 {
			_ = c.write(websocket.TextMessage, []byte("40/cricket,"))
		} else {
			_ = c.write(websocket.TextMessage, []byte(`40/cricket,{"sid":"`+fmt.Sprintf("ns%d", id)+`"}`))
		}
	case strings.HasPrefix(m, "40"):
		ns := strings.TrimSuffix(strings.TrimPrefix(m, "40"), ",")
		if i := strings.IndexByte(ns, ','); i >= 0 {
			ns = ns[:i]
		}
		if c.eio == 3 {
			_ = c.write(websocket.TextMessage, []byte(`44`+ns+`,"Invalid namespace"`))
		} else {
			_ = c.write(websocket.TextMessage, []byte(`44`+ns+`,{"message":"Invalid namespace"}`))
		}
	case strings.HasPrefix(m, "42/cricket,"):
		s.sockEvent(c, strings.TrimLeft(strings.TrimPrefix(m, "42/cricket,"), "0123456789"))
	case m == "1" || strings.HasPrefix(m, "41/cricket"):
		return false
	}
	return true
}

// attachment returns the WebSocket frame of a binary attachment: in v3 the
// packet type (4, message) precedes the bytes.
func (c *sockConn) attachment(b []byte) []byte {
	if c.eio == 3 {
		return append([]byte{4}, b...)
	}
	return b
}
