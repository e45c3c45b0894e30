package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. They are wrapped with what was being done, so compare them
// with errors.Is.
var (
	// ErrClosed reports that the connection is closed: Err returns it after
	// Close, and operations on a connection that has ended return an error
	// wrapping it (and, if the connection ended for another reason, that
	// reason too).
	ErrClosed = errors.New("socketio: connection closed")

	// ErrPingTimeout reports that the heartbeat failed: with Engine.IO v4 no
	// ping arrived from the server within pingInterval+pingTimeout, with
	// Engine.IO v3 nothing (in particular no pong) arrived within
	// pingInterval+pingTimeout.
	ErrPingTimeout = errors.New("socketio: ping timeout")

	// ErrServerDisconnect reports that the server ended the session, either
	// with a Socket.IO DISCONNECT packet for the client's namespace or with an
	// Engine.IO close packet.
	ErrServerDisconnect = errors.New("socketio: disconnected by server")

	// ErrInvalidPacket reports a packet that does not follow the Engine.IO or
	// Socket.IO protocol.
	ErrInvalidPacket = errors.New("socketio: invalid packet")

	// ErrPayloadTooLarge reports a frame or packet over the size limit: the
	// client's read limit (WithMaxPayload) for incoming data, the server's
	// maxPayload for outgoing data.
	ErrPayloadTooLarge = errors.New("socketio: payload too large")

	// ErrTooManyAttachments reports a binary packet that announces more
	// attachments than WithMaxAttachments allows.
	ErrTooManyAttachments = errors.New("socketio: too many binary attachments")

	// ErrProtocolMismatch reports a server that does not speak the requested
	// Engine.IO / Socket.IO protocol version (for example a Socket.IO v2
	// server answering an EIO=4 handshake with Engine.IO v3 behaviour).
	ErrProtocolMismatch = errors.New("socketio: protocol version mismatch")
)

// ConnectError is returned by Dial when the server refuses the namespace
// connection with a CONNECT_ERROR packet (Socket.IO v5) or an ERROR packet
// (Socket.IO v4).
type ConnectError struct {
	// Namespace is the namespace that was refused.
	Namespace string
	// Message is the server's message: the "message" field of the error
	// object, or the error string itself.
	Message string
	// Data is the raw JSON payload of the packet (the whole error object or
	// string), nil if the packet carried none.
	Data json.RawMessage
}

// Error implements error.
func (e *ConnectError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("socketio: connect to namespace %q refused", e.Namespace)
	}
	return fmt.Sprintf("socketio: connect to namespace %q refused: %s", e.Namespace, e.Message)
}

// newConnectError builds a ConnectError from a CONNECT_ERROR payload, which is
// a JSON object with a "message" field (v5) or a JSON string (v4).
func newConnectError(namespace string, data json.RawMessage) *ConnectError {
	e := &ConnectError{Namespace: namespace}
	if len(data) > 0 {
		e.Data = append(json.RawMessage(nil), data...)
		var s string
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &s) == nil {
			e.Message = s
		} else if json.Unmarshal(data, &obj) == nil {
			e.Message = obj.Message
		}
	}
	return e
}

// HandshakeError is returned by Dial when the server answers the WebSocket
// upgrade request with an HTTP status instead of switching protocols (for
// example 400 "Unsupported protocol version" from an Engine.IO v4 server that
// does not allow EIO=3).
type HandshakeError struct {
	// Version is the Engine.IO version that was requested.
	Version Version
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Body is the start of the response body (at most 512 bytes).
	Body string
}

// Error implements error.
func (e *HandshakeError) Error() string {
	msg := fmt.Sprintf("socketio: websocket handshake (EIO=%d) failed: HTTP %d %s",
		int(e.Version), e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}
