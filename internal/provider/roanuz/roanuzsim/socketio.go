package roanuzsim

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Payload variants of on_match_update.
const (
	VariantVary   = -1 // rotate per update
	VariantText   = 0  // the match JSON as a string argument
	VariantBinary = 1  // gzipped JSON as a binary attachment
	VariantBase64 = 2  // gzipped JSON, base64, as a string argument
)

// sockFaults are the Socket.IO server's fault settings.
type sockFaults struct {
	variant        int // VariantVary or one variant
	dropEvery      int // close a connection abruptly after every N updates it got
	malformedEvery int // every N-th update (per connection) is not valid JSON
	pingInterval   time.Duration
	engineIO       int  // EngineIOv4, EngineIOv3 or EngineIOBoth
	quietJoin      bool // no on_match_update right after on_match_joined
}

// sockStats count the Socket.IO server's work.
type sockStats struct {
	conns, connsV3, pings, joins, updates, errorsSent, drops, malformed atomic.Int64
}

// WithVariant fixes the on_match_update payload variant (VariantVary rotates).
func WithVariant(v int) SimOption { return func(o *simOptions) { o.sockFaults.variant = v } }

// WithSockDropEvery closes each Socket.IO connection after every n updates.
func WithSockDropEvery(n int) SimOption { return func(o *simOptions) { o.sockFaults.dropEvery = n } }

// WithSockMalformedEvery makes every n-th update of a connection malformed.
func WithSockMalformedEvery(n int) SimOption {
	return func(o *simOptions) { o.sockFaults.malformedEvery = n }
}

// WithPingInterval sets the Engine.IO ping interval (default 25 s).
func WithPingInterval(d time.Duration) SimOption {
	return func(o *simOptions) { o.sockFaults.pingInterval = d }
}

// WithSockQuietJoin makes a join answer on_match_joined only: the first
// update comes with the next change (Roanuz does not document whether a
// join sends the current state).
func WithSockQuietJoin() SimOption { return func(o *simOptions) { o.sockFaults.quietJoin = true } }

// sockConn is one Socket.IO client of the simulator.
type sockConn struct {
	ws      *websocket.Conn
	wmu     sync.Mutex
	joined  map[string]string // match -> token it joined with
	sent    int
	closed  bool
	variant int
	eio     int // Engine.IO version of the connection: 3 or 4
}

func (c *sockConn) write(typ int, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(typ, b)
}

// emit sends a /cricket event with JSON args.
func (c *sockConn) emit(event string, args ...any) error {
	b, _ := json.Marshal(append([]any{event}, args...))
	return c.write(websocket.TextMessage, append([]byte("42/cricket,"), b...))
}

// sockEvent handles one event from a client.
func (s *Simulator) sockEvent(c *sockConn, payload string) {
	var args []json.RawMessage
	if json.Unmarshal([]byte(payload), &args) != nil || len(args) < 1 {
		return
	}
	var name string
	_ = json.Unmarshal(args[0], &name)
	if name != "connect_to_match" || len(args) < 2 {
		return
	}
	var req struct {
		Token    string `json:"token"`
		MatchKey string `json:"match_key"`
	}
	_ = json.Unmarshal(args[1], &req)
	fail := func(code, msg string) {
		s.sock.errorsSent.Add(1)
		b, _ := json.Marshal(map[string]any{"error": code, "msg": msg, "match_key": req.MatchKey})
		_ = c.emit("on_error", string(b))
	}
	switch {
	case !s.tokenValid(req.Token):
		fail("invalid_token", "token invalid or expired")
		return
	case s.tls[req.MatchKey] == nil:
		fail("match_not_found", "no such match")
		return
	case !s.Subscribed(req.MatchKey, MethodWebSocket):
		fail("not_subscribed", "match not subscribed")
		return
	}
	s.mu.Lock()
	c.joined[req.MatchKey] = req.Token
	s.mu.Unlock()
	s.sock.joins.Add(1)
	_ = c.emit("on_match_joined", map[string]string{"key": req.MatchKey})
	if !s.o.sockFaults.quietJoin {
		s.sockSend(c, req.MatchKey)
	}
}

// sockBroadcast sends match's current document to every client that joined it.
func (s *Simulator) sockBroadcast(match string) {
	s.mu.Lock()
	var to []*sockConn
	for c := range s.sconns {
		if _, ok := c.joined[match]; ok {
			to = append(to, c)
		}
	}
	s.mu.Unlock()
	for _, c := range to {
		s.sockSend(c, match)
	}
}

// sockSend sends one on_match_update of match to c, with the faults due.
func (s *Simulator) sockSend(c *sockConn, match string) {
	s.mu.Lock()
	tok := c.joined[match]
	exp, live := s.tokens[tok]
	subscribed := s.subs[match][MethodWebSocket]
	c.sent++
	n := c.sent
	s.mu.Unlock()
	if !live || time.Now().After(exp) {
		s.mu.Lock()
		delete(c.joined, match)
		s.mu.Unlock()
		s.sock.errorsSent.Add(1)
		b, _ := json.Marshal(map[string]any{"error": "token_expired", "msg": "token expired", "match_key": match})
		_ = c.emit("on_error", string(b))
		return
	}
	if !subscribed {
		return
	}
	f := s.o.sockFaults
	doc := s.matchDoc(match)
	if f.malformedEvery > 0 && n%f.malformedEvery == 0 {
		s.sock.malformed.Add(1)
		doc = malformedDoc
	}
	if c.writeUpdate(doc, f.variant, n) == nil {
		s.sock.updates.Add(1)
	}
	if f.dropEvery > 0 && n%f.dropEvery == 0 {
		s.sock.drops.Add(1)
		c.ws.Close()
	}
}

// writeUpdate writes one on_match_update carrying doc to c in variant
// (VariantVary: rotated by n).
func (c *sockConn) writeUpdate(doc []byte, variant, n int) error {
	if variant == VariantVary {
		variant = (c.variant + n) % 3
	}
	switch variant {
	case VariantBinary:
		c.wmu.Lock()
		defer c.wmu.Unlock()
		_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`451-/cricket,["on_match_update",{"_placeholder":true,"num":0}]`)); err != nil {
			return err
		}
		return c.ws.WriteMessage(websocket.BinaryMessage, c.attachment(gzipBytes(doc)))
	case VariantBase64:
		return c.emit("on_match_update", base64.StdEncoding.EncodeToString(gzipBytes(doc)))
	}
	return c.emit("on_match_update", string(doc))
}

// malformedDoc is the body of a malformed on_match_update: a match
// document cut short, with a NUL byte where JSON cannot have one.
var malformedDoc = []byte(`{"data":{"key":` + "\x00" + `broken`)

// Joined returns how many Socket.IO connections have joined match now.
func (s *Simulator) Joined(match string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.sconns {
		if _, ok := c.joined[match]; ok {
			n++
		}
	}
	return n
}

// SendMalformed sends one malformed on_match_update of match (as
// WithSockMalformedEvery does, in the connection's payload variant) to
// every connection that joined it while it is subscribed, and returns to
// how many it was written. Unlike WithSockMalformedEvery it is sent when
// the caller chooses and besides the match's updates (it replaces none and
// counts in no connection's fault counters), so a test knows exactly how
// much bad input it sent.
func (s *Simulator) SendMalformed(match string) int {
	s.mu.Lock()
	var to []*sockConn
	if s.subs[match][MethodWebSocket] {
		for c := range s.sconns {
			if _, ok := c.joined[match]; ok {
				to = append(to, c)
			}
		}
	}
	s.mu.Unlock()
	sent := 0
	for _, c := range to {
		k := int(s.sock.malformed.Add(1))
		if c.writeUpdate(malformedDoc, s.o.sockFaults.variant, k) == nil {
			sent++
		}
	}
	return sent
}

// sockCloseAll closes every Socket.IO connection.
func (s *Simulator) sockCloseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.sconns {
		c.ws.Close()
	}
}

// DropConnections closes every Socket.IO connection abruptly.
func (s *Simulator) DropConnections() {
	s.sockCloseAll()
	s.sock.drops.Add(1)
}

// SockStats returns connections, joins, updates, on_error events and drops so far.
func (s *Simulator) SockStats() (conns, joins, updates, errs, drops int64) {
	return s.sock.conns.Load(), s.sock.joins.Load(), s.sock.updates.Load(), s.sock.errorsSent.Load(), s.sock.drops.Load()
}

// SockEngineStats returns how many connections spoke Engine.IO v3 and how
// many v3 client pings the server answered.
func (s *Simulator) SockEngineStats() (v3Conns, v3Pings int64) {
	return s.sock.connsV3.Load(), s.sock.pings.Load()
}

// sockFlagSet holds the Socket.IO fault flags of RunSimulator.
type sockFlagSet struct {
	variant, dropEvery, malformedEvery, eio, connLimit *int
	ping                                               *time.Duration
	quietJoin                                          *bool
}

func sockFlags(fs *flag.FlagSet) *sockFlagSet {
	return &sockFlagSet{
		variant:        fs.Int("sock-variant", VariantVary, "on_match_update payload: 0 JSON text, 1 gzipped binary attachment, 2 gzipped base64 text, -1 rotate"),
		dropEvery:      fs.Int("sock-drop-every", 0, "fault: close each Socket.IO connection after every N updates"),
		malformedEvery: fs.Int("sock-malformed-every", 0, "fault: every N-th update of a connection is malformed"),
		ping:           fs.Duration("sock-ping", 25*time.Second, "Engine.IO ping interval"),
		eio:            fs.Int("sock-eio", EngineIOv4, "Engine.IO version: 4 (refuses EIO=3), 3 (speaks v3 to everyone, like socket.io 2.x), 0 (both, as asked)"),
		quietJoin:      fs.Bool("sock-quiet-join", false, "a join gets on_match_joined only, no update with the current state"),
		connLimit:      fs.Int("sock-conn-limit", 0, "refuse a Socket.IO connection with HTTP 429 while N are open (Roanuz allows 20 per project; 0 = no limit)"),
	}
}

func (f *sockFlagSet) options() []SimOption {
	opts := []SimOption{WithVariant(*f.variant), WithSockDropEvery(*f.dropEvery), WithSockMalformedEvery(*f.malformedEvery), WithPingInterval(*f.ping), WithEngineIO(*f.eio),
		WithConnectionLimit(*f.connLimit)}
	if *f.quietJoin {
		opts = append(opts, WithSockQuietJoin())
	}
	return opts
}
