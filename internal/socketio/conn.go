package socketio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"
)

// start launches the reader, the dispatcher and, for Engine.IO v3, the
// pinger.
func (c *Client) start() {
	go c.readLoop()
	go c.dispatchLoop()
	if c.version == V3 {
		go c.pingLoop()
	}
}

// readEngine reads and decodes one WebSocket frame.
func (c *Client) readEngine() (EnginePacket, error) {
	mt, frame, err := c.conn.ReadMessage()
	if err != nil {
		return EnginePacket{}, err
	}
	return DecodeEnginePacket(c.version, mt == websocket.BinaryMessage, frame, c.opts.maxPayload)
}

// heartbeatWindow is how long the reader waits for the next heartbeat.
func (c *Client) heartbeatWindow() time.Duration { return c.pingInterval + c.pingTimeout }

// extendDeadline pushes the read deadline one heartbeat window ahead: in v4
// on every ping from the server, in v3 on every packet (the pong included).
func (c *Client) extendDeadline() {
	_ = c.conn.SetReadDeadline(time.Now().Add(c.heartbeatWindow()))
}

func (c *Client) readLoop() {
	err := c.read()
	c.shutdown(err)
	close(c.events)
	close(c.readerDone)
}

// read runs until the connection fails and returns why.
func (c *Client) read() error {
	limits := Limits{MaxPayload: c.opts.maxPayload, MaxAttachments: c.opts.maxAttachments}
	var pending *Packet      // binary packet waiting for attachments
	var attachments [][]byte // attachments received so far
	size := 0                // bytes of the pending packet so far
	c.extendDeadline()
	for {
		ep, err := c.readEngine()
		if err != nil {
			return c.readError(err)
		}
		if c.version == V3 {
			c.extendDeadline()
		}
		switch ep.Type {
		case EnginePing:
			if c.version == V4 {
				c.extendDeadline()
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.writeTimeout)
			err := c.writeEngine(ctx, true, EnginePacket{Type: EnginePong, Data: ep.Data})
			cancel()
			if err != nil {
				return fmt.Errorf("socketio: answer ping: %w", err)
			}
			continue
		case EngineClose:
			return fmt.Errorf("socketio: engine.io close packet: %w", ErrServerDisconnect)
		case EngineMessage:
		default: // open, pong (v3: the deadline was extended), upgrade, noop
			continue
		}

		if ep.Binary {
			if pending == nil {
				return fmt.Errorf("socketio: read: binary frame without a binary packet: %w", ErrInvalidPacket)
			}
			if size += len(ep.Data); size > c.opts.maxPayload {
				return fmt.Errorf("socketio: read: binary packet over %d bytes: %w", c.opts.maxPayload, ErrPayloadTooLarge)
			}
			attachments = append(attachments, ep.Data)
			if len(attachments) < pending.Attachments {
				continue
			}
			p, atts := *pending, attachments
			pending, attachments, size = nil, nil, 0
			if err := c.handlePacket(p, atts); err != nil {
				return err
			}
			continue
		}
		if pending != nil {
			return fmt.Errorf("socketio: read: text frame while %d of %d attachments are missing: %w",
				pending.Attachments-len(attachments), pending.Attachments, ErrInvalidPacket)
		}
		p, err := DecodePacket(ep.Data, limits)
		if err != nil {
			return fmt.Errorf("socketio: read: %w", err)
		}
		if p.Attachments > 0 {
			pending, size = &p, len(ep.Data)
			continue
		}
		if err := c.handlePacket(p, nil); err != nil {
			return err
		}
	}
}

// readError classifies an error from reading the WebSocket.
func (c *Client) readError(err error) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("socketio: no heartbeat for %v: %w", c.heartbeatWindow(), ErrPingTimeout)
	case errors.Is(err, websocket.ErrReadLimit):
		return fmt.Errorf("socketio: read: frame over %d bytes: %w", c.opts.maxPayload, ErrPayloadTooLarge)
	default:
		return fmt.Errorf("socketio: read: %w", err)
	}
}

// handlePacket acts on a complete Socket.IO packet; an error ends the
// connection.
func (c *Client) handlePacket(p Packet, attachments [][]byte) error {
	if p.Namespace != c.opts.namespace {
		c.log.Debug("socket.io: packet for another namespace ignored", zap.Stringer("type", p.Type),
			zap.String("packet_namespace", p.Namespace))
		return nil
	}
	switch p.Type {
	case PacketEvent, PacketBinaryEvent:
		name, items, err := p.event()
		if err != nil {
			return fmt.Errorf("socketio: read %s: %w", p.Type, err)
		}
		args, err := resolveArgs(items, attachments)
		if err != nil {
			return fmt.Errorf("socketio: read %s %q: %w", p.Type, name, err)
		}
		ev := incoming{event: name, args: args, hasID: p.HasID, id: p.ID}
		select {
		case c.events <- ev:
		case <-c.closingCh:
		case <-c.quit:
		}
	case PacketAck, PacketBinaryAck:
		items, err := p.array()
		if err != nil {
			return fmt.Errorf("socketio: read %s: %w", p.Type, err)
		}
		res, err := resolveJSON(items, attachments)
		if err != nil {
			return fmt.Errorf("socketio: read %s %d: %w", p.Type, p.ID, err)
		}
		c.ackMu.Lock()
		ch := c.acks[p.ID]
		delete(c.acks, p.ID)
		c.ackMu.Unlock()
		if ch == nil {
			c.log.Debug("socket.io: ack for unknown id ignored", zap.Uint64("id", p.ID))
			return nil
		}
		ch <- res // buffered, and removed from the map: never blocks
	case PacketDisconnect:
		return fmt.Errorf("socketio: DISCONNECT for namespace %q: %w", p.Namespace, ErrServerDisconnect)
	case PacketConnectError:
		// Socket.IO v4 servers may send ERROR packets on a connected socket.
		c.log.Warn("socket.io: error packet from server", zap.ByteString("data", p.Data))
	default:
		c.log.Debug("socket.io: packet ignored", zap.Stringer("type", p.Type))
	}
	return nil
}

// dispatchLoop calls the handlers for queued events until the reader closes
// the queue.
func (c *Client) dispatchLoop() {
	defer close(c.done)
	for ev := range c.events {
		if c.closing.Load() {
			continue
		}
		c.dispatch(ev)
	}
}

func (c *Client) dispatch(ev incoming) {
	c.handlersMu.RLock()
	h, ok := c.handlers[ev.event]
	anyH := c.anyHandler
	c.handlersMu.RUnlock()
	switch {
	case ok && h.ack != nil:
		res := h.ack(ev.args)
		if ev.hasID {
			c.sendAck(ev.id, res)
		}
	case ok && h.handler != nil:
		h.handler(ev.args)
	case anyH != nil:
		anyH(ev.event, ev.args)
	default:
		c.log.Debug("socket.io: no handler for event", zap.String("event", ev.event))
	}
}

// sendAck answers an event that asked for an acknowledgement.
func (c *Client) sendAck(id uint64, results []any) {
	data, attachments, err := encodeArgs(nil, results)
	if err != nil {
		c.log.Error("socket.io: encode ack", zap.Uint64("id", id), zap.Error(err))
		return
	}
	p := Packet{Type: PacketAck, Namespace: c.opts.namespace, HasID: true, ID: id, Data: data}
	if len(attachments) > 0 {
		p.Type, p.Attachments = PacketBinaryAck, len(attachments)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.writeTimeout)
	defer cancel()
	if err := c.sendPacket(ctx, p, attachments, false); err != nil {
		c.log.Warn("socket.io: send ack", zap.Uint64("id", id), zap.Error(err))
	}
}

// pingLoop sends the Engine.IO v3 heartbeat pings.
func (c *Client) pingLoop() {
	t := time.NewTicker(c.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.writeTimeout)
		err := c.writeEngine(ctx, true, EnginePacket{Type: EnginePing})
		cancel()
		if err != nil && !c.ended() {
			c.log.Debug("socket.io: send ping", zap.Error(err))
		}
	}
}

// sendPacket writes a Socket.IO packet and its attachments as consecutive
// frames. internal writes go on while Close is in progress.
func (c *Client) sendPacket(ctx context.Context, p Packet, attachments [][]byte, internal bool) error {
	text, err := p.Encode()
	if err != nil {
		return err
	}
	packets := make([]EnginePacket, 0, 1+len(attachments))
	packets = append(packets, EnginePacket{Type: EngineMessage, Data: text})
	for _, a := range attachments {
		packets = append(packets, EnginePacket{Type: EngineMessage, Data: a, Binary: true})
	}
	return c.writeEngine(ctx, internal, packets...)
}

// writeEngine writes Engine.IO packets as consecutive WebSocket frames. A
// failed write ends the connection, since gorilla/websocket cannot resume a
// partly written frame.
func (c *Client) writeEngine(ctx context.Context, internal bool, packets ...EnginePacket) error {
	type frame struct {
		binary bool
		data   []byte
	}
	frames := make([]frame, len(packets))
	for i, p := range packets {
		bin, data := p.Encode(c.version)
		if c.maxOut > 0 && len(data) > c.maxOut {
			return fmt.Errorf("frame of %d bytes over the server's maxPayload %d: %w", len(data), c.maxOut, ErrPayloadTooLarge)
		}
		frames[i] = frame{bin, data}
	}
	select {
	case c.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait to write: %w", ctx.Err())
	case <-c.quit:
		return c.closedErr()
	}
	defer func() { <-c.writeSem }()
	if (!internal && c.closing.Load()) || c.ended() {
		return c.closedErr()
	}
	deadline := time.Now().Add(c.opts.writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.conn.SetWriteDeadline(deadline)
	for _, f := range frames {
		mt := websocket.TextMessage
		if f.binary {
			mt = websocket.BinaryMessage
		}
		if err := c.conn.WriteMessage(mt, f.data); err != nil {
			err = fmt.Errorf("socketio: write: %w", err)
			c.shutdown(err)
			return err
		}
	}
	return nil
}

func (c *Client) ended() bool {
	select {
	case <-c.quit:
		return true
	default:
		return false
	}
}

// closedErr is the error for operations on an ended connection.
func (c *Client) closedErr() error {
	reason := c.Err()
	if reason == nil || errors.Is(reason, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("%w: %w", ErrClosed, reason)
}

// shutdown ends the connection once, recording why (ErrClosed if Close was
// called, whatever the reader saw since).
func (c *Client) shutdown(reason error) {
	c.shutdownOnce.Do(func() {
		if reason == nil || c.closing.Load() {
			reason = ErrClosed
		}
		c.errMu.Lock()
		c.err = reason
		c.errMu.Unlock()
		close(c.quit)
		_ = c.conn.Close()
		if errors.Is(reason, ErrClosed) {
			c.log.Info("socket.io: connection closed")
		} else {
			c.log.Warn("socket.io: connection ended", zap.Error(reason))
		}
	})
}
