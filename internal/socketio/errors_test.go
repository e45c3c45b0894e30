package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestNewConnectError(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		message string
		text    string
	}{
		{"v5 object", `{"message":"not authorized","data":{"code":1}}`, "not authorized", `socketio: connect to namespace "/n" refused: not authorized`},
		{"v4 string", `"Invalid namespace"`, "Invalid namespace", `socketio: connect to namespace "/n" refused: Invalid namespace`},
		{"object without message", `{"code":1}`, "", `socketio: connect to namespace "/n" refused`},
		{"empty", ``, "", `socketio: connect to namespace "/n" refused`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newConnectError("/n", json.RawMessage(tt.data))
			if e.Message != tt.message || e.Error() != tt.text || string(e.Data) != tt.data {
				t.Fatalf("%#v: %q", e, e.Error())
			}
			var ce *ConnectError
			if !errors.As(fmt.Errorf("wrapped: %w", e), &ce) {
				t.Fatal("errors.As through wrapping")
			}
		})
	}
}

func TestHandshakeError(t *testing.T) {
	e := &HandshakeError{Version: V3, StatusCode: 400, Body: `{"code":5}`}
	if got := e.Error(); got != `socketio: websocket handshake (EIO=3) failed: HTTP 400 Bad Request: {"code":5}` {
		t.Fatal(got)
	}
	e.Body = ""
	if got := e.Error(); got != `socketio: websocket handshake (EIO=3) failed: HTTP 400 Bad Request` {
		t.Fatal(got)
	}
}

func TestSentinelsDistinct(t *testing.T) {
	all := []error{ErrClosed, ErrPingTimeout, ErrServerDisconnect, ErrInvalidPacket, ErrPayloadTooLarge,
		ErrTooManyAttachments, ErrProtocolMismatch}
	for i, a := range all {
		for j, b := range all {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
}
