package socketio

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Version is an Engine.IO protocol version. Engine.IO v4 is used together
// with Socket.IO protocol v5 (socket.io ≥ 3), Engine.IO v3 with Socket.IO
// protocol v4 (socket.io 2.x).
type Version int

const (
	// Auto tries Engine.IO v4 first and falls back to v3 when the server
	// rejects the v4 handshake or turns out to speak v3.
	Auto Version = 0
	// V3 is Engine.IO v3 (the client sends the pings) with Socket.IO v4.
	V3 Version = 3
	// V4 is Engine.IO v4 (the server sends the pings) with Socket.IO v5.
	V4 Version = 4
)

// String returns "auto", "EIO3" or "EIO4".
func (v Version) String() string {
	switch v {
	case Auto:
		return "auto"
	case V3, V4:
		return fmt.Sprintf("EIO%d", int(v))
	default:
		return fmt.Sprintf("Version(%d)", int(v))
	}
}

func (v Version) valid() bool { return v == Auto || v == V3 || v == V4 }

// EngineType is the type of an Engine.IO packet.
type EngineType byte

// Engine.IO packet types.
const (
	EngineOpen    EngineType = 0 // handshake data from the server
	EngineClose   EngineType = 1 // the transport is to be closed
	EnginePing    EngineType = 2 // heartbeat probe (sent by the server in v4, by the client in v3)
	EnginePong    EngineType = 3 // heartbeat answer
	EngineMessage EngineType = 4 // carries a Socket.IO packet or a binary attachment
	EngineUpgrade EngineType = 5 // transport upgrade (not used over a plain WebSocket)
	EngineNoop    EngineType = 6 // no operation
)

// String returns the protocol name of the packet type.
func (t EngineType) String() string {
	names := [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}
	if int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("EngineType(%d)", byte(t))
}

// EnginePacket is one Engine.IO packet; over WebSocket each frame carries
// exactly one.
type EnginePacket struct {
	// Type is the packet type.
	Type EngineType
	// Data is the packet's payload (for a text packet: everything after the
	// type digit). A decoded packet's Data aliases the decoded frame.
	Data []byte
	// Binary reports binary data, which travels in a binary WebSocket frame.
	Binary bool
}

// DecodeEnginePacket decodes one WebSocket frame (binary tells whether it was
// a binary frame) received over Engine.IO version v (V3 or V4). Frames longer
// than maxPayload bytes are rejected (maxPayload <= 0 means
// DefaultMaxPayload).
//
// In v4 a binary frame is a message whose data is the whole frame; in v3 its
// first byte is the packet type (4 for a message). A v3 text packet of the
// form "b<type><base64>" carries base64-encoded binary data.
func DecodeEnginePacket(v Version, binary bool, frame []byte, maxPayload int) (EnginePacket, error) {
	if maxPayload <= 0 {
		maxPayload = DefaultMaxPayload
	}
	if len(frame) > maxPayload {
		return EnginePacket{}, fmt.Errorf("decode engine.io packet of %d bytes (limit %d): %w",
			len(frame), maxPayload, ErrPayloadTooLarge)
	}
	if binary {
		if v != V3 {
			return EnginePacket{Type: EngineMessage, Data: frame, Binary: true}, nil
		}
		if len(frame) == 0 {
			return EnginePacket{}, fmt.Errorf("decode engine.io v3 binary frame: empty frame: %w", ErrInvalidPacket)
		}
		t := EngineType(frame[0])
		if t > EngineNoop {
			return EnginePacket{}, fmt.Errorf("decode engine.io v3 binary frame: packet type byte %d: %w",
				frame[0], ErrInvalidPacket)
		}
		return EnginePacket{Type: t, Data: frame[1:], Binary: true}, nil
	}
	if len(frame) == 0 {
		return EnginePacket{}, fmt.Errorf("decode engine.io packet: empty frame: %w", ErrInvalidPacket)
	}
	if frame[0] == 'b' && v == V3 {
		if len(frame) < 2 || frame[1] < '0' || frame[1] > '6' {
			return EnginePacket{}, fmt.Errorf("decode engine.io v3 base64 packet: bad type: %w", ErrInvalidPacket)
		}
		data, err := base64.StdEncoding.DecodeString(string(frame[2:]))
		if err != nil {
			return EnginePacket{}, fmt.Errorf("decode engine.io v3 base64 packet: %w: %v", ErrInvalidPacket, err)
		}
		return EnginePacket{Type: EngineType(frame[1] - '0'), Data: data, Binary: true}, nil
	}
	if frame[0] < '0' || frame[0] > '6' {
		return EnginePacket{}, fmt.Errorf("decode engine.io packet: type %q: %w", frame[0], ErrInvalidPacket)
	}
	return EnginePacket{Type: EngineType(frame[0] - '0'), Data: frame[1:]}, nil
}

// Encode returns the WebSocket frame for p over Engine.IO version v and
// whether it must be sent as a binary frame.
func (p EnginePacket) Encode(v Version) (binary bool, frame []byte) {
	if p.Binary {
		if v == V3 {
			frame = make([]byte, 0, len(p.Data)+1)
			frame = append(frame, byte(p.Type))
			return true, append(frame, p.Data...)
		}
		return true, p.Data
	}
	frame = make([]byte, 0, len(p.Data)+1)
	frame = append(frame, '0'+byte(p.Type))
	return false, append(frame, p.Data...)
}

// openInfo is the payload of the Engine.IO open packet.
type openInfo struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"` // milliseconds
	PingTimeout  int64    `json:"pingTimeout"`  // milliseconds
	MaxPayload   int64    `json:"maxPayload"`   // bytes; v4 only, 0 if absent
}

// maxHeartbeat caps the heartbeat durations taken from the server, so a
// hostile open packet cannot overflow time.Duration arithmetic.
const maxHeartbeat = 24 * time.Hour

// parseOpen validates the open packet's JSON payload.
func parseOpen(data []byte) (openInfo, error) {
	var info openInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return openInfo{}, fmt.Errorf("decode engine.io open packet: %w: %v", ErrInvalidPacket, err)
	}
	switch {
	case info.SID == "":
		return openInfo{}, fmt.Errorf("decode engine.io open packet: missing sid: %w", ErrInvalidPacket)
	case info.PingInterval <= 0 || info.PingTimeout <= 0:
		return openInfo{}, fmt.Errorf("decode engine.io open packet: pingInterval %d, pingTimeout %d: %w",
			info.PingInterval, info.PingTimeout, ErrInvalidPacket)
	case info.MaxPayload < 0:
		return openInfo{}, fmt.Errorf("decode engine.io open packet: maxPayload %d: %w", info.MaxPayload, ErrInvalidPacket)
	}
	return info, nil
}

func (o openInfo) pingIntervalDuration() time.Duration { return msDuration(o.PingInterval) }
func (o openInfo) pingTimeoutDuration() time.Duration  { return msDuration(o.PingTimeout) }

func msDuration(ms int64) time.Duration {
	if ms > int64(maxHeartbeat/time.Millisecond) {
		return maxHeartbeat
	}
	return time.Duration(ms) * time.Millisecond
}
