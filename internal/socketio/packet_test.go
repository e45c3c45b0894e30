package socketio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestDecodePacket(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Packet
	}{
		// Socket.IO v5 (Engine.IO v4).
		{"v5 connect default", `0`, Packet{Type: PacketConnect, Namespace: "/"}},
		{"v5 connect with auth", `0/cricket,{"token":"x"}`, Packet{Type: PacketConnect, Namespace: "/cricket", Data: []byte(`{"token":"x"}`)}},
		{"v5 connect ack", `0/cricket,{"sid":"abc"}`, Packet{Type: PacketConnect, Namespace: "/cricket", Data: []byte(`{"sid":"abc"}`)}},
		{"v5 connect error", `4/cricket,{"message":"Invalid namespace"}`, Packet{Type: PacketConnectError, Namespace: "/cricket", Data: []byte(`{"message":"Invalid namespace"}`)}},
		{"event default ns", `2["hello",1]`, Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["hello",1]`)}},
		{"event with ns", `2/cricket,["on_match_joined",{"key":"m1"}]`, Packet{Type: PacketEvent, Namespace: "/cricket", Data: []byte(`["on_match_joined",{"key":"m1"}]`)}},
		{"event with ack id", `2/cricket,12["q"]`, Packet{Type: PacketEvent, Namespace: "/cricket", HasID: true, ID: 12, Data: []byte(`["q"]`)}},
		{"event ack id default ns", `20["q"]`, Packet{Type: PacketEvent, Namespace: "/", HasID: true, ID: 0, Data: []byte(`["q"]`)}},
		{"ack", `3/cricket,12["ok",{"a":[1,2]}]`, Packet{Type: PacketAck, Namespace: "/cricket", HasID: true, ID: 12, Data: []byte(`["ok",{"a":[1,2]}]`)}},
		{"empty ack", `35[]`, Packet{Type: PacketAck, Namespace: "/", HasID: true, ID: 5, Data: []byte(`[]`)}},
		{"binary event", `51-/cricket,["on_match_update",{"_placeholder":true,"num":0}]`, Packet{Type: PacketBinaryEvent, Namespace: "/cricket", Attachments: 1, Data: []byte(`["on_match_update",{"_placeholder":true,"num":0}]`)}},
		{"binary event ack id", `52-/n,7["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, Packet{Type: PacketBinaryEvent, Namespace: "/n", Attachments: 2, HasID: true, ID: 7, Data: []byte(`["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}},
		{"binary event zero attachments", `50-["e"]`, Packet{Type: PacketBinaryEvent, Namespace: "/", Data: []byte(`["e"]`)}},
		{"binary ack", `61-3[{"_placeholder":true,"num":0}]`, Packet{Type: PacketBinaryAck, Namespace: "/", Attachments: 1, HasID: true, ID: 3, Data: []byte(`[{"_placeholder":true,"num":0}]`)}},
		{"disconnect", `1/cricket,`, Packet{Type: PacketDisconnect, Namespace: "/cricket"}},
		{"disconnect no comma", `1/cricket`, Packet{Type: PacketDisconnect, Namespace: "/cricket"}},
		{"disconnect default", `1`, Packet{Type: PacketDisconnect, Namespace: "/"}},
		// Socket.IO v4 (Engine.IO v3).
		{"v4 auto connect", `0`, Packet{Type: PacketConnect, Namespace: "/"}},
		{"v4 connect ack", `0/cricket,`, Packet{Type: PacketConnect, Namespace: "/cricket"}},
		{"v4 error string", `4/cricket,"Invalid namespace"`, Packet{Type: PacketConnectError, Namespace: "/cricket", Data: []byte(`"Invalid namespace"`)}},
		{"v4 error object", `4{"message":"x","data":1}`, Packet{Type: PacketConnectError, Namespace: "/", Data: []byte(`{"message":"x","data":1}`)}},
		{"v4 error empty", `4/cricket,`, Packet{Type: PacketConnectError, Namespace: "/cricket"}},
		{"unicode payload", `2["é",{"s":"✓"}]`, Packet{Type: PacketEvent, Namespace: "/", Data: []byte(`["é",{"s":"✓"}]`)}},
		{"large ack id", `218446744073709551615["e"]`, Packet{Type: PacketEvent, Namespace: "/", HasID: true, ID: 18446744073709551615, Data: []byte(`["e"]`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePacket([]byte(tt.in), Limits{})
			if err != nil {
				t.Fatalf("DecodePacket(%q): %v", tt.in, err)
			}
			if !packetsEqual(got, tt.want) {
				t.Fatalf("DecodePacket(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			// Re-encoding gives an equivalent packet.
			enc, err := got.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			again, err := DecodePacket(enc, Limits{})
			if err != nil || !packetsEqual(again, got) {
				t.Fatalf("round trip %q -> %q -> %+v, %v", tt.in, enc, again, err)
			}
		})
	}
}

func packetsEqual(a, b Packet) bool {
	return a.Type == b.Type && a.Namespace == b.Namespace && a.HasID == b.HasID && a.ID == b.ID &&
		a.Attachments == b.Attachments && bytes.Equal(a.Data, b.Data)
}

func TestDecodePacketErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		lim  Limits
		want error
	}{
		{"empty", ``, Limits{}, ErrInvalidPacket},
		{"unknown type", `7["a"]`, Limits{}, ErrInvalidPacket},
		{"non-digit type", `x`, Limits{}, ErrInvalidPacket},
		{"invalid json", `2["a",`, Limits{}, ErrInvalidPacket},
		{"trailing garbage", `2["a"]x`, Limits{}, ErrInvalidPacket},
		{"event not array", `2{"a":1}`, Limits{}, ErrInvalidPacket},
		{"event empty array", `2[]`, Limits{}, ErrInvalidPacket},
		{"event name not string", `2[1,2]`, Limits{}, ErrInvalidPacket},
		{"event no payload", `2/cricket,`, Limits{}, ErrInvalidPacket},
		{"ack without id", `3["a"]`, Limits{}, ErrInvalidPacket},
		{"ack not array", `31"a"`, Limits{}, ErrInvalidPacket},
		{"connect with array", `0["a"]`, Limits{}, ErrInvalidPacket},
		{"disconnect with payload", `1{"a":1}`, Limits{}, ErrInvalidPacket},
		{"connect error number", `4/n,12`, Limits{}, nil}, // parses as ack id 12, no payload
		{"binary no dash", `51["a"]`, Limits{}, ErrInvalidPacket},
		{"binary empty count", `5-["a"]`, Limits{}, ErrInvalidPacket},
		{"binary bad count", `5a-["a"]`, Limits{}, ErrInvalidPacket},
		{"binary huge count", `599999999999-["a"]`, Limits{}, ErrInvalidPacket},
		{"too many attachments", `517-["a"]`, Limits{}, ErrTooManyAttachments},
		{"attachments over custom cap", `53-["a"]`, Limits{MaxAttachments: 2}, ErrTooManyAttachments},
		{"ack id overflow", `218446744073709551616["e"]`, Limits{}, ErrInvalidPacket},
		{"ack id too long", `2000000000000000000001["e"]`, Limits{}, ErrInvalidPacket},
		{"over payload cap", `2["` + strings.Repeat("a", 100) + `"]`, Limits{MaxPayload: 50}, ErrPayloadTooLarge},
		{"namespace swallows payload", `2/nsp["a","b"]`, Limits{}, ErrInvalidPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := DecodePacket([]byte(tt.in), tt.lim)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("DecodePacket(%q): %v", tt.in, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("DecodePacket(%q) = %+v, %v; want %v", tt.in, p, err, tt.want)
			}
		})
	}
}

func TestPacketEncode(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want string
		err  bool
	}{
		{"connect default ns", Packet{Type: PacketConnect}, `0`, false},
		{"connect slash ns", Packet{Type: PacketConnect, Namespace: "/"}, `0`, false},
		{"connect auth", Packet{Type: PacketConnect, Namespace: "/cricket", Data: []byte(`{"t":1}`)}, `0/cricket,{"t":1}`, false},
		{"v4 namespace connect", Packet{Type: PacketConnect, Namespace: "/cricket"}, `0/cricket,`, false},
		{"disconnect", Packet{Type: PacketDisconnect, Namespace: "/cricket"}, `1/cricket,`, false},
		{"event ack id", Packet{Type: PacketEvent, Namespace: "/cricket", HasID: true, ID: 3, Data: []byte(`["e"]`)}, `2/cricket,3["e"]`, false},
		{"binary event", Packet{Type: PacketBinaryEvent, Namespace: "/", Attachments: 2, Data: []byte(`["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}, `52-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, false},
		{"binary ack", Packet{Type: PacketBinaryAck, Namespace: "/n", Attachments: 1, HasID: true, ID: 9, Data: []byte(`[{"_placeholder":true,"num":0}]`)}, `61-/n,9[{"_placeholder":true,"num":0}]`, false},
		{"invalid json", Packet{Type: PacketEvent, Data: []byte(`[`)}, ``, true},
		{"bad namespace", Packet{Type: PacketEvent, Namespace: "cricket", Data: []byte(`["e"]`)}, ``, true},
		{"namespace with comma", Packet{Type: PacketEvent, Namespace: "/a,b", Data: []byte(`["e"]`)}, ``, true},
		{"attachments on event", Packet{Type: PacketEvent, Attachments: 1, Data: []byte(`["e"]`)}, ``, true},
		{"unknown type", Packet{Type: 9}, ``, true},
		{"ack without id", Packet{Type: PacketAck, Data: []byte(`[]`)}, ``, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Encode()
			if (err != nil) != tt.err {
				t.Fatalf("Encode() error = %v, want error %v", err, tt.err)
			}
			if !tt.err && string(got) != tt.want {
				t.Fatalf("Encode() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPacketTypeString(t *testing.T) {
	if PacketBinaryAck.String() != "BINARY_ACK" || PacketType(9).String() != "PacketType(9)" {
		t.Fatal(PacketBinaryAck.String(), PacketType(9).String())
	}
}

// FuzzDecodePacket checks that DecodePacket never panics, respects its
// limits, and that whatever it accepts re-encodes to an equivalent packet.
func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{
		`0`, `0/cricket,{"sid":"x"}`, `1/cricket,`, `2/cricket,12["ev",{"a":1}]`, `3/n,4["ok"]`,
		`4/n,"Invalid namespace"`, `4{"message":"m"}`, `51-/cricket,["ev",{"_placeholder":true,"num":0}]`,
		`62-7[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`, `2/nsp`, `5-`, `299999999999999999999[]`,
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxPayload: 4096, MaxAttachments: 8}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodePacket(data, lim)
		if err != nil {
			if len(data) > lim.MaxPayload && !errors.Is(err, ErrPayloadTooLarge) {
				t.Fatalf("oversized input: %v", err)
			}
			return
		}
		if len(data) > lim.MaxPayload || p.Attachments > lim.MaxAttachments || p.Attachments < 0 {
			t.Fatalf("limits not enforced: %+v", p)
		}
		enc, err := p.Encode()
		if err != nil {
			t.Fatalf("accepted %q but cannot encode %+v: %v", data, p, err)
		}
		again, err := DecodePacket(enc, lim)
		if err != nil || !packetsEqual(again, p) {
			t.Fatalf("round trip %q -> %q -> %+v, %v", data, enc, again, err)
		}
		if p.Type == PacketEvent || p.Type == PacketBinaryEvent {
			if _, items, err := p.event(); err == nil {
				atts := make([][]byte, p.Attachments)
				_, _ = resolveArgs(items, atts)
				_, _ = resolveJSON(items, atts)
			}
		}
	})
}
