package socketio

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestEndpointURL(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		path    string
		version Version
		want    string
		wantErr bool
	}{
		{"roanuz style", "wss://socket.example.com", "/v5/websocket", V4, "wss://socket.example.com/v5/websocket/?EIO=4&transport=websocket", false},
		{"trailing slash kept", "ws://h:81", "/v5/websocket/", V3, "ws://h:81/v5/websocket/?EIO=3&transport=websocket", false},
		{"no leading slash", "ws://h", "v5", V4, "ws://h/v5/?EIO=4&transport=websocket", false},
		{"default path", "ws://h", "", V4, "ws://h/socket.io/?EIO=4&transport=websocket", false},
		{"default path with root", "ws://h/", "", V4, "ws://h/socket.io/?EIO=4&transport=websocket", false},
		{"url path", "ws://h/custom", "", V4, "ws://h/custom/?EIO=4&transport=websocket", false},
		{"option wins over url path", "ws://h/custom", "/p", V4, "ws://h/p/?EIO=4&transport=websocket", false},
		{"http becomes ws", "http://h", "", V3, "ws://h/socket.io/?EIO=3&transport=websocket", false},
		{"https becomes wss", "HTTPS://h", "", V4, "wss://h/socket.io/?EIO=4&transport=websocket", false},
		{"query kept and overridden", "ws://h/?token=a%20b&EIO=9&transport=polling", "", V4, "ws://h/socket.io/?EIO=4&token=a+b&transport=websocket", false},
		{"fragment dropped", "ws://h#frag", "", V4, "ws://h/socket.io/?EIO=4&transport=websocket", false},
		{"bad scheme", "ftp://h", "", V4, "", true},
		{"no host", "ws:///x", "", V4, "", true},
		{"unparsable", "ws://h\x7f", "", V4, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := endpointURL(tt.raw, tt.path, tt.version)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	if got := redactURL("wss://u:p@h/p/?token=secret"); strings.Contains(got, "secret") || strings.Contains(got, "u:p") {
		t.Fatal(got)
	}
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		check   func(options) bool
		wantErr string
	}{
		{"defaults", nil, func(o options) bool {
			return o.namespace == "/" && o.version == Auto && o.maxPayload == DefaultMaxPayload &&
				o.maxAttachments == DefaultMaxAttachments && o.eventBuffer == DefaultEventBuffer &&
				o.logger != nil && o.dialer != nil && o.handshakeTimeout == DefaultHandshakeTimeout
		}, ""},
		{"namespace normalized", []Option{WithNamespace("cricket")}, func(o options) bool { return o.namespace == "/cricket" }, ""},
		{"empty namespace", []Option{WithNamespace("")}, func(o options) bool { return o.namespace == "/" }, ""},
		{"headers merged", []Option{WithHeader(http.Header{"A": {"1"}}), WithHeader(http.Header{"A": {"2"}})},
			func(o options) bool { return strings.Join(o.header.Values("A"), ",") == "1,2" }, ""},
		{"handlers", []Option{WithHandler("a", func([]Arg) {}), WithAckHandler("b", func([]Arg) []any { return nil }),
			WithAnyHandler(func(string, []Arg) {})},
			func(o options) bool {
				return o.handlers["a"].handler != nil && o.handlers["b"].ack != nil && o.anyHandler != nil
			}, ""},
		{"nil option ignored", []Option{nil}, func(o options) bool { return true }, ""},
		{"namespace with comma", []Option{WithNamespace("/a,b")}, nil, "namespace"},
		{"namespace with query", []Option{WithNamespace("/a?x=1")}, nil, "namespace"},
		{"bad version", []Option{WithVersion(Version(2))}, nil, "version"},
		{"bad handshake timeout", []Option{WithHandshakeTimeout(0)}, nil, "handshake timeout"},
		{"bad write timeout", []Option{WithWriteTimeout(-time.Second)}, nil, "write timeout"},
		{"bad payload", []Option{WithMaxPayload(0)}, nil, "max payload"},
		{"bad attachments", []Option{WithMaxAttachments(-1)}, nil, "max attachments"},
		{"bad buffer", []Option{WithEventBuffer(0)}, nil, "event buffer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := newOptions(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Fatalf("options %+v", o)
			}
		})
	}
}
