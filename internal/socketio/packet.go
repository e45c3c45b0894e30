package socketio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Default limits, used when the corresponding option or Limits field is zero.
const (
	// DefaultMaxPayload is the default limit, in bytes, on one incoming
	// WebSocket frame and on one Socket.IO packet including its binary
	// attachments.
	DefaultMaxPayload = 16 << 20
	// DefaultMaxAttachments is the default limit on the number of binary
	// attachments of one packet.
	DefaultMaxAttachments = 16
)

// PacketType is the type of a Socket.IO packet.
type PacketType byte

// Socket.IO packet types. In Socket.IO protocol v4 (Engine.IO v3) type 4 is
// named ERROR; it plays the role of CONNECT_ERROR.
const (
	PacketConnect      PacketType = 0
	PacketDisconnect   PacketType = 1
	PacketEvent        PacketType = 2
	PacketAck          PacketType = 3
	PacketConnectError PacketType = 4
	PacketBinaryEvent  PacketType = 5
	PacketBinaryAck    PacketType = 6
)

// String returns the protocol name of the packet type.
func (t PacketType) String() string {
	names := [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}
	if int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("PacketType(%d)", byte(t))
}

func (t PacketType) isBinary() bool { return t == PacketBinaryEvent || t == PacketBinaryAck }

// Packet is one Socket.IO packet: the text part
// <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>] carried by an
// Engine.IO message. The binary attachments of a BINARY_EVENT or BINARY_ACK
// follow in separate Engine.IO messages.
type Packet struct {
	// Type is the packet type.
	Type PacketType
	// Namespace is the namespace, "/" for the default one.
	Namespace string
	// HasID reports whether the packet carries an acknowledgement id.
	HasID bool
	// ID is the acknowledgement id, meaningful when HasID is set.
	ID uint64
	// Attachments is the number of binary attachments that follow a
	// BINARY_EVENT or BINARY_ACK packet.
	Attachments int
	// Data is the JSON payload, nil if absent. A decoded packet's Data
	// aliases the decoded input.
	Data json.RawMessage
}

// Limits bounds what DecodePacket accepts. A zero field means its default.
type Limits struct {
	// MaxPayload is the maximum packet length in bytes (DefaultMaxPayload).
	MaxPayload int
	// MaxAttachments is the maximum attachment count (DefaultMaxAttachments).
	MaxAttachments int
}

func (l Limits) withDefaults() Limits {
	if l.MaxPayload <= 0 {
		l.MaxPayload = DefaultMaxPayload
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = DefaultMaxAttachments
	}
	return l
}

// maxIDDigits bounds the ack id to the length of the largest uint64.
const maxIDDigits = 20

// DecodePacket decodes the text of a Socket.IO packet (the data of an
// Engine.IO message). It validates the payload against the packet type:
// CONNECT carries nothing or an object, DISCONNECT nothing, EVENT an array
// starting with the event name, ACK an array (and requires an id),
// CONNECT_ERROR a string or an object. It never panics.
func DecodePacket(data []byte, lim Limits) (Packet, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxPayload {
		return Packet{}, fmt.Errorf("decode socket.io packet of %d bytes (limit %d): %w",
			len(data), lim.MaxPayload, ErrPayloadTooLarge)
	}
	if len(data) == 0 {
		return Packet{}, fmt.Errorf("decode socket.io packet: empty: %w", ErrInvalidPacket)
	}
	if data[0] < '0' || data[0] > '6' {
		return Packet{}, fmt.Errorf("decode socket.io packet: type %q: %w", data[0], ErrInvalidPacket)
	}
	p := Packet{Type: PacketType(data[0] - '0'), Namespace: "/"}
	rest := data[1:]

	if p.Type.isBinary() {
		dash := bytes.IndexByte(rest, '-')
		if dash <= 0 || dash > 10 || !allDigits(rest[:dash]) {
			return Packet{}, fmt.Errorf("decode socket.io %s: bad attachment count: %w", p.Type, ErrInvalidPacket)
		}
		n, err := strconv.Atoi(string(rest[:dash]))
		if err != nil {
			return Packet{}, fmt.Errorf("decode socket.io %s: attachment count: %w", p.Type, ErrInvalidPacket)
		}
		if n > lim.MaxAttachments {
			return Packet{}, fmt.Errorf("decode socket.io %s: %d attachments (limit %d): %w",
				p.Type, n, lim.MaxAttachments, ErrTooManyAttachments)
		}
		p.Attachments = n
		rest = rest[dash+1:]
	}

	if len(rest) > 0 && rest[0] == '/' {
		end := bytes.IndexByte(rest, ',')
		if end < 0 {
			p.Namespace = string(rest)
			rest = nil
		} else {
			p.Namespace = string(rest[:end])
			rest = rest[end+1:]
		}
	}

	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits > 0 {
		if digits > maxIDDigits {
			return Packet{}, fmt.Errorf("decode socket.io %s: ack id too long: %w", p.Type, ErrInvalidPacket)
		}
		id, err := strconv.ParseUint(string(rest[:digits]), 10, 64)
		if err != nil {
			return Packet{}, fmt.Errorf("decode socket.io %s: ack id: %w", p.Type, ErrInvalidPacket)
		}
		p.HasID, p.ID = true, id
		rest = rest[digits:]
	}

	if len(rest) > 0 {
		if !json.Valid(rest) {
			return Packet{}, fmt.Errorf("decode socket.io %s: payload is not valid JSON: %w", p.Type, ErrInvalidPacket)
		}
		p.Data = rest
	}
	if err := p.validate(); err != nil {
		return Packet{}, fmt.Errorf("decode socket.io %s: %w", p.Type, err)
	}
	return p, nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validate checks the fields against the packet type; Data must be valid
// JSON (or nil).
func (p Packet) validate() error {
	if p.Type > PacketBinaryAck {
		return fmt.Errorf("unknown packet type %d: %w", byte(p.Type), ErrInvalidPacket)
	}
	if p.Namespace != "" && (p.Namespace[0] != '/' || strings.IndexByte(p.Namespace, ',') >= 0) {
		return fmt.Errorf("namespace %q: %w", p.Namespace, ErrInvalidPacket)
	}
	if p.Attachments < 0 || (p.Attachments > 0 && !p.Type.isBinary()) {
		return fmt.Errorf("%d attachments on a %s packet: %w", p.Attachments, p.Type, ErrInvalidPacket)
	}
	kind := jsonKind(p.Data)
	switch p.Type {
	case PacketConnect:
		if kind != 0 && kind != '{' {
			return fmt.Errorf("payload must be an object: %w", ErrInvalidPacket)
		}
	case PacketDisconnect:
		if kind != 0 {
			return fmt.Errorf("unexpected payload: %w", ErrInvalidPacket)
		}
	case PacketConnectError:
		if kind != 0 && kind != '{' && kind != '"' {
			return fmt.Errorf("payload must be a string or an object: %w", ErrInvalidPacket)
		}
	case PacketEvent, PacketBinaryEvent:
		if err := checkEventHead(p.Data); err != nil {
			return err
		}
	case PacketAck, PacketBinaryAck:
		if !p.HasID {
			return fmt.Errorf("missing ack id: %w", ErrInvalidPacket)
		}
		if kind != '[' {
			return fmt.Errorf("payload must be an array: %w", ErrInvalidPacket)
		}
	}
	return nil
}

// jsonKind returns the first non-space byte of a JSON value, 0 if empty.
func jsonKind(data json.RawMessage) byte {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// checkEventHead cheaply checks that an EVENT payload is an array whose
// first element is a string, without scanning the rest.
func checkEventHead(data json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return fmt.Errorf("event payload must be an array: %w", ErrInvalidPacket)
	}
	if tok, err := dec.Token(); err != nil {
		return fmt.Errorf("event payload is an empty array: %w", ErrInvalidPacket)
	} else if _, ok := tok.(string); !ok {
		return fmt.Errorf("event name is not a string: %w", ErrInvalidPacket)
	}
	return nil
}

// event splits the payload of an EVENT or BINARY_EVENT packet into the event
// name and its (raw, placeholder-bearing) arguments.
func (p Packet) event() (string, []json.RawMessage, error) {
	items, err := p.array()
	if err != nil {
		return "", nil, err
	}
	if len(items) == 0 {
		return "", nil, fmt.Errorf("event payload is an empty array: %w", ErrInvalidPacket)
	}
	var name string
	if err := json.Unmarshal(items[0], &name); err != nil {
		return "", nil, fmt.Errorf("event name is not a string: %w", ErrInvalidPacket)
	}
	return name, items[1:], nil
}

// array splits a JSON array payload into its elements.
func (p Packet) array() ([]json.RawMessage, error) {
	if jsonKind(p.Data) != '[' {
		return nil, fmt.Errorf("payload must be an array: %w", ErrInvalidPacket)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(p.Data, &items); err != nil {
		return nil, fmt.Errorf("payload array: %w: %v", ErrInvalidPacket, err)
	}
	return items, nil
}

// Encode returns the text form of p. It rejects packets that DecodePacket
// would reject (other than for size), so what it produces decodes back to p.
func (p Packet) Encode() ([]byte, error) {
	if p.Data != nil && !json.Valid(p.Data) {
		return nil, fmt.Errorf("encode socket.io %s: payload is not valid JSON: %w", p.Type, ErrInvalidPacket)
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("encode socket.io %s: %w", p.Type, err)
	}
	buf := make([]byte, 0, 32+len(p.Namespace)+len(p.Data))
	buf = append(buf, '0'+byte(p.Type))
	if p.Type.isBinary() {
		buf = strconv.AppendInt(buf, int64(p.Attachments), 10)
		buf = append(buf, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		buf = append(buf, p.Namespace...)
		buf = append(buf, ',')
	}
	if p.HasID {
		buf = strconv.AppendUint(buf, p.ID, 10)
	}
	return append(buf, p.Data...), nil
}
