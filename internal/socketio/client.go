// Package socketio is a Socket.IO client over the WebSocket transport only,
// built on gorilla/websocket.
//
// It speaks Engine.IO v4 with Socket.IO protocol v5 (socket.io servers ≥ 3)
// and Engine.IO v3 with Socket.IO protocol v4 (socket.io 2.x servers). With
// the default version, Auto, Dial tries v4 and falls back to v3 when the
// server rejects the v4 handshake or answers it the v3 way.
//
// One Client is connected to one namespace. Received events are handed to
// handlers registered with On, OnAck, OnAny or the WithHandler option;
// arguments are JSON or, for binary attachments, bytes (see Arg). Emit sends
// events, EmitWithAck waits for the server's acknowledgement. Done and Err
// tell when and why the connection ended; Close ends it cleanly.
//
// Typical use:
//
//	c, err := socketio.Dial(ctx, "wss://example.com",
//		socketio.WithPath("/v5/websocket"), socketio.WithNamespace("/cricket"),
//		socketio.WithHandler("update", func(args []socketio.Arg) { ... }))
//	if err != nil { ... }
//	defer c.Close()
//	err = c.Emit(ctx, "subscribe", map[string]string{"key": "k"})
//	<-c.Done() // c.Err() says why it ended
package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"
)

// Handler handles the arguments of a received event.
type Handler func(args []Arg)

// AckHandler handles a received event and returns the arguments of its
// acknowledgement, which is sent if the server asked for one. The results
// are encoded like Emit's arguments.
type AckHandler func(args []Arg) []any

// AnyHandler handles events that have no handler of their own.
type AnyHandler func(event string, args []Arg)

type handlerEntry struct {
	handler Handler
	ack     AckHandler
}

// Client is a Socket.IO connection to one namespace.
//
// A single reader goroutine reads the WebSocket, answers heartbeats and
// reassembles binary packets; received events go through a bounded queue
// (WithEventBuffer) to a single dispatcher goroutine that calls the handlers
// one at a time, in order of arrival. When the queue is full the reader
// waits for the dispatcher, so memory stays bounded but nothing else is read
// meanwhile, heartbeats included: handlers that fall behind by more than
// about pingTimeout end the connection with ErrPingTimeout. Writes (Emit,
// acknowledgements, heartbeats, Close) are serialized.
//
// All methods are safe for concurrent use.
type Client struct {
	conn    *websocket.Conn
	opts    options
	log     *zap.Logger
	version Version

	sid          string // Engine.IO session id
	nsSID        string // Socket.IO socket id (v5 only)
	pingInterval time.Duration
	pingTimeout  time.Duration
	maxOut       int // server's maxPayload, 0 if unknown

	writeSem chan struct{} // holds one token while a goroutine writes

	nextAck atomic.Uint64
	ackMu   sync.Mutex
	acks    map[uint64]chan []json.RawMessage

	handlersMu sync.RWMutex
	handlers   map[string]handlerEntry
	anyHandler AnyHandler

	events     chan incoming // reader -> dispatcher, bounded
	quit       chan struct{} // closed when the connection ends
	readerDone chan struct{} // closed when the reader has exited
	done       chan struct{} // closed when reader and dispatcher have exited

	closing      atomic.Bool   // Close was called
	closingCh    chan struct{} // closed by Close: the reader stops queueing events
	shutdownOnce sync.Once
	errMu        sync.Mutex
	err          error
}

// incoming is a received event waiting for its handler.
type incoming struct {
	event string
	args  []Arg
	hasID bool
	id    uint64
}

// Dial connects to the Socket.IO server at rawURL (ws, wss, http or https;
// the query is kept and EIO and transport are added) and joins the
// namespace; ctx bounds only this connection attempt, not the connection's
// lifetime. It returns once the namespace connection is acknowledged, or
// with a *ConnectError if the server refuses it, a *HandshakeError if the
// WebSocket upgrade is refused, or the error of the connection attempt.
//
// With version Auto, an EIO=4 attempt that fails with a *HandshakeError of
// status 4xx, ErrProtocolMismatch (the server answers the v3 way), an invalid open
// packet or a connection closed during the handshake is retried with EIO=3.
func Dial(ctx context.Context, rawURL string, opts ...Option) (*Client, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	versions := []Version{o.version}
	if o.version == Auto {
		versions = []Version{V4, V3}
	}
	var firstErr error
	for i, v := range versions {
		c, fallback, err := dialVersion(ctx, rawURL, v, o)
		if err == nil {
			return c, nil
		}
		if i+1 < len(versions) && fallback && ctx.Err() == nil {
			o.logger.Info("socket.io: Engine.IO v4 handshake failed, falling back to v3", zap.Error(err))
			firstErr = err
			continue
		}
		if firstErr != nil {
			return nil, fmt.Errorf("%w (after EIO=4 attempt: %v)", err, firstErr)
		}
		return nil, err
	}
	return nil, errors.New("socketio: no protocol version to try") // unreachable
}

// dialVersion makes one connection attempt with Engine.IO version v. It
// reports whether a failure warrants trying another version.
func dialVersion(ctx context.Context, rawURL string, v Version, o options) (*Client, bool, error) {
	endpoint, err := endpointURL(rawURL, o.path, v)
	if err != nil {
		return nil, false, err
	}
	where := redactURL(endpoint)
	hctx, cancel := context.WithTimeout(ctx, o.handshakeTimeout)
	defer cancel()
	conn, resp, err := o.dialer.DialContext(hctx, endpoint, o.header)
	if err != nil {
		if resp != nil && resp.StatusCode != 0 {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			_ = resp.Body.Close()
			herr := &HandshakeError{Version: v, StatusCode: resp.StatusCode, Body: string(body)}
			// Servers refuse an unsupported EIO with 400 (socket.io:
			// "Unsupported protocol version"). Other refusals (401, 403,
			// 429 too many connections) are not about the version: trying
			// another would only send the provider a second handshake.
			fallback := resp.StatusCode == http.StatusBadRequest
			return nil, fallback, fmt.Errorf("socketio: dial %s: %w", where, herr)
		}
		return nil, false, fmt.Errorf("socketio: dial %s (EIO=%d): %w", where, int(v), err)
	}
	conn.SetReadLimit(int64(o.maxPayload))
	c := newClient(conn, v, o)
	stop := context.AfterFunc(hctx, func() { _ = conn.Close() })
	fallback, err := c.handshake(hctx)
	if !stop() {
		err, fallback = context.Cause(hctx), false
	}
	if err != nil {
		_ = conn.Close()
		return nil, fallback, fmt.Errorf("socketio: handshake with %s (EIO=%d, namespace %q): %w",
			where, int(v), o.namespace, err)
	}
	c.log.Info("socket.io: connected", zap.String("sid", c.sid), zap.String("socket_id", c.nsSID),
		zap.Duration("ping_interval", c.pingInterval), zap.Duration("ping_timeout", c.pingTimeout))
	c.start()
	return c, false, nil
}

// redactURL drops the query (which may hold credentials) for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<invalid URL>"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

func newClient(conn *websocket.Conn, v Version, o options) *Client {
	c := &Client{
		conn:       conn,
		opts:       o,
		version:    v,
		writeSem:   make(chan struct{}, 1),
		acks:       map[uint64]chan []json.RawMessage{},
		handlers:   map[string]handlerEntry{},
		anyHandler: o.anyHandler,
		events:     make(chan incoming, o.eventBuffer),
		quit:       make(chan struct{}),
		closingCh:  make(chan struct{}),
		readerDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
	for ev, h := range o.handlers {
		c.handlers[ev] = h
	}
	c.log = o.logger.With(zap.String("namespace", o.namespace), zap.Stringer("eio", v))
	return c
}

// handshake reads the open packet and joins the namespace. It reports
// whether a failure suggests the server speaks another protocol version.
func (c *Client) handshake(ctx context.Context) (fallback bool, err error) {
	ep, err := c.readEngine()
	if err != nil {
		return isClosedDuringHandshake(err), fmt.Errorf("read open packet: %w", err)
	}
	if ep.Type != EngineOpen || ep.Binary {
		return true, fmt.Errorf("first packet is %s, not open: %w", ep.Type, ErrProtocolMismatch)
	}
	info, err := parseOpen(ep.Data)
	if err != nil {
		return true, err
	}
	c.sid, c.maxOut = info.SID, int(min(info.MaxPayload, int64(1<<40)))
	c.pingInterval, c.pingTimeout = info.pingIntervalDuration(), info.pingTimeoutDuration()

	if c.version == V3 && c.opts.auth != nil {
		c.log.Warn("socket.io: WithAuth is not sent with Engine.IO v3; pass credentials in the URL query")
	}
	if c.version == V4 || c.opts.namespace != "/" {
		p := Packet{Type: PacketConnect, Namespace: c.opts.namespace}
		if c.version == V4 && c.opts.auth != nil {
			if p.Data, err = json.Marshal(c.opts.auth); err != nil {
				return false, fmt.Errorf("encode auth: %w", err)
			}
		}
		if err := c.sendPacket(ctx, p, nil, true); err != nil {
			return false, fmt.Errorf("send CONNECT: %w", err)
		}
	}
	for {
		ep, err := c.readEngine()
		if err != nil {
			return isClosedDuringHandshake(err), fmt.Errorf("wait for CONNECT: %w", err)
		}
		switch ep.Type {
		case EnginePing:
			if err := c.writeEngine(ctx, true, EnginePacket{Type: EnginePong, Data: ep.Data}); err != nil {
				return false, fmt.Errorf("send pong: %w", err)
			}
			continue
		case EngineClose:
			return false, fmt.Errorf("engine.io close packet: %w", ErrServerDisconnect)
		case EngineMessage:
		default:
			continue
		}
		if ep.Binary {
			continue // attachment of a packet sent before CONNECT: ignore
		}
		p, err := DecodePacket(ep.Data, Limits{MaxPayload: c.opts.maxPayload, MaxAttachments: c.opts.maxAttachments})
		if err != nil {
			return false, err
		}
		if done, fallback, err := c.handshakePacket(p); done || err != nil {
			return fallback, err
		}
	}
}

// handshakePacket handles one Socket.IO packet received while joining the
// namespace; done reports that the namespace is joined.
func (c *Client) handshakePacket(p Packet) (done, fallback bool, err error) {
	ns := c.opts.namespace
	switch p.Type {
	case PacketConnect:
		if c.version == V3 {
			return p.Namespace == ns, false, nil
		}
		var ack struct {
			SID string `json:"sid"`
		}
		if p.Namespace != ns || json.Unmarshal(p.Data, &ack) != nil || ack.SID == "" {
			// A Socket.IO v2 server ignores EIO=4, speaks Engine.IO v3 and
			// acknowledges namespaces without a socket id.
			return false, true, fmt.Errorf("CONNECT for %q without socket id (Socket.IO v4 server?): %w",
				p.Namespace, ErrProtocolMismatch)
		}
		c.nsSID = ack.SID
		return true, false, nil
	case PacketConnectError:
		if p.Namespace == ns {
			return false, false, newConnectError(ns, p.Data)
		}
	case PacketDisconnect:
		if p.Namespace == ns {
			return false, false, fmt.Errorf("DISCONNECT while connecting: %w", ErrServerDisconnect)
		}
	}
	c.log.Debug("socket.io: packet ignored during handshake", zap.Stringer("type", p.Type),
		zap.String("packet_namespace", p.Namespace))
	return false, false, nil
}

// isClosedDuringHandshake reports a connection the server closed (rather
// than a network failure or a timeout), which may mean it rejected the
// protocol version.
func isClosedDuringHandshake(err error) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, ErrInvalidPacket) || errors.Is(err, ErrProtocolMismatch)
}

// Version returns the Engine.IO version in use (V3 or V4).
func (c *Client) Version() Version { return c.version }

// SID returns the Engine.IO session id.
func (c *Client) SID() string { return c.sid }

// SocketID returns the Socket.IO socket id of the namespace connection; it
// is empty with Engine.IO v3, whose protocol does not send one.
func (c *Client) SocketID() string { return c.nsSID }

// Namespace returns the namespace the client is connected to.
func (c *Client) Namespace() string { return c.opts.namespace }

// On registers h for event, replacing any handler for it; a nil h removes
// it. Handlers run one at a time on the dispatcher goroutine; they must not
// wait on Done. Events that arrive while no handler matches are dropped:
// register before emitting whatever makes the server send the event, or,
// for events the server sends unprompted, with WithHandler at Dial.
func (c *Client) On(event string, h Handler) {
	c.setHandler(event, handlerEntry{handler: h}, h == nil)
}

// OnAck registers h for event like On (see also WithAckHandler); if the
// server asked for an acknowledgement, h's results are sent as its
// arguments.
func (c *Client) OnAck(event string, h AckHandler) {
	c.setHandler(event, handlerEntry{ack: h}, h == nil)
}

// OnAny registers h for events that have no handler of their own (nil
// removes it). Without it such events are dropped.
func (c *Client) OnAny(h AnyHandler) {
	c.handlersMu.Lock()
	c.anyHandler = h
	c.handlersMu.Unlock()
}

func (c *Client) setHandler(event string, e handlerEntry, remove bool) {
	c.handlersMu.Lock()
	defer c.handlersMu.Unlock()
	if remove {
		delete(c.handlers, event)
		return
	}
	c.handlers[event] = e
}

// reservedEvent reports event names that socket.io reserves for itself;
// servers drop the connection of a client emitting them.
func reservedEvent(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}

// Emit sends event with args. Arguments of type []byte (or binary Args)
// travel as binary attachments; json.RawMessage (or JSON Args) as they are;
// anything else is encoded with encoding/json. It returns once the packet is
// written; ctx bounds the wait for the writer and the write itself (a write
// cut short ends the connection).
func (c *Client) Emit(ctx context.Context, event string, args ...any) error {
	if err := c.emit(ctx, event, args, nil); err != nil {
		return fmt.Errorf("socketio: emit %q: %w", event, err)
	}
	return nil
}

// EmitWithAck sends event with args like Emit and waits for the server's
// acknowledgement, returning its arguments as JSON. Binary attachments among
// them are returned as base64 JSON strings (which decode into []byte).
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	id := c.nextAck.Add(1) - 1
	ch := make(chan []json.RawMessage, 1)
	c.ackMu.Lock()
	c.acks[id] = ch
	c.ackMu.Unlock()
	defer func() {
		c.ackMu.Lock()
		delete(c.acks, id)
		c.ackMu.Unlock()
	}()
	if err := c.emit(ctx, event, args, &id); err != nil {
		return nil, fmt.Errorf("socketio: emit %q: %w", event, err)
	}
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("socketio: emit %q: wait for ack %d: %w", event, id, ctx.Err())
	case <-c.quit:
		return nil, fmt.Errorf("socketio: emit %q: wait for ack %d: %w", event, id, c.closedErr())
	}
}

func (c *Client) emit(ctx context.Context, event string, args []any, id *uint64) error {
	if reservedEvent(event) {
		return fmt.Errorf("%q is a reserved event name", event)
	}
	data, attachments, err := encodeArgs(&event, args)
	if err != nil {
		return err
	}
	p := Packet{Type: PacketEvent, Namespace: c.opts.namespace, Data: data}
	if len(attachments) > 0 {
		p.Type, p.Attachments = PacketBinaryEvent, len(attachments)
	}
	if id != nil {
		p.HasID, p.ID = true, *id
	}
	return c.sendPacket(ctx, p, attachments, false)
}

// Done returns a channel that is closed once the connection has ended and
// every event received before that has been handled (after Close, pending
// events are dropped instead).
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended: nil while it is up, ErrClosed after
// Close, otherwise an error wrapping ErrServerDisconnect, ErrPingTimeout,
// ErrInvalidPacket, ErrPayloadTooLarge or the read or write error.
func (c *Client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Close ends the connection cleanly: it sends a Socket.IO DISCONNECT for the
// namespace, an Engine.IO close packet and a WebSocket close frame, waits
// briefly for the server to close, then closes the connection and waits for
// the reader to stop. Events not yet handled are dropped. Close may be
// called from a handler and more than once; it returns nil.
func (c *Client) Close() error {
	if !c.closing.CompareAndSwap(false, true) {
		<-c.readerDone
		return nil
	}
	close(c.closingCh)
	select {
	case <-c.quit: // already ended
	default:
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		text, _ := Packet{Type: PacketDisconnect, Namespace: c.opts.namespace}.Encode()
		err := c.writeEngine(ctx, true, EnginePacket{Type: EngineMessage, Data: text}, EnginePacket{Type: EngineClose})
		cancel()
		if err == nil {
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			err = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeGrace))
		}
		if err == nil {
			select {
			case <-c.readerDone:
			case <-time.After(closeGrace):
			}
		} else {
			c.log.Debug("socket.io: clean close failed", zap.Error(err))
		}
	}
	c.shutdown(ErrClosed)
	<-c.readerDone
	return nil
}
