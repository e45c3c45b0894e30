package socketio

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestDecodeEnginePacket(t *testing.T) {
	tests := []struct {
		name    string
		version Version
		binary  bool
		frame   string
		want    EnginePacket
		wantErr error
	}{
		{"v4 open", V4, false, `0{"sid":"a"}`, EnginePacket{Type: EngineOpen, Data: []byte(`{"sid":"a"}`)}, nil},
		{"v4 ping", V4, false, `2`, EnginePacket{Type: EnginePing, Data: []byte{}}, nil},
		{"v3 ping probe", V3, false, `2probe`, EnginePacket{Type: EnginePing, Data: []byte("probe")}, nil},
		{"v4 close", V4, false, `1`, EnginePacket{Type: EngineClose, Data: []byte{}}, nil},
		{"message", V4, false, `42["a"]`, EnginePacket{Type: EngineMessage, Data: []byte(`2["a"]`)}, nil},
		{"noop", V3, false, `6`, EnginePacket{Type: EngineNoop, Data: []byte{}}, nil},
		{"v4 binary", V4, true, "\x04\x01\x02", EnginePacket{Type: EngineMessage, Data: []byte{4, 1, 2}, Binary: true}, nil},
		{"v4 empty binary", V4, true, "", EnginePacket{Type: EngineMessage, Data: []byte{}, Binary: true}, nil},
		{"v3 binary", V3, true, "\x04\x1f\x8b", EnginePacket{Type: EngineMessage, Data: []byte{0x1f, 0x8b}, Binary: true}, nil},
		{"v3 binary only type", V3, true, "\x04", EnginePacket{Type: EngineMessage, Data: []byte{}, Binary: true}, nil},
		{"v3 base64", V3, false, "b4AQI=", EnginePacket{Type: EngineMessage, Data: []byte{1, 2}, Binary: true}, nil},
		{"v4 b is invalid", V4, false, "b4AQI=", EnginePacket{}, ErrInvalidPacket},
		{"v3 base64 bad", V3, false, "b4!!", EnginePacket{}, ErrInvalidPacket},
		{"v3 base64 bad type", V3, false, "b9AQI=", EnginePacket{}, ErrInvalidPacket},
		{"v3 empty binary", V3, true, "", EnginePacket{}, ErrInvalidPacket},
		{"v3 binary bad type", V3, true, "\x09a", EnginePacket{}, ErrInvalidPacket},
		{"empty text", V4, false, "", EnginePacket{}, ErrInvalidPacket},
		{"bad type", V4, false, "7", EnginePacket{}, ErrInvalidPacket},
		{"letter", V3, false, "x", EnginePacket{}, ErrInvalidPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeEnginePacket(tt.version, tt.binary, []byte(tt.frame), 0)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tt.want.Type || got.Binary != tt.want.Binary || !bytes.Equal(got.Data, tt.want.Data) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeEnginePacketLimit(t *testing.T) {
	for _, binary := range []bool{false, true} {
		_, err := DecodeEnginePacket(V4, binary, make([]byte, 11), 10)
		if !errors.Is(err, ErrPayloadTooLarge) {
			t.Errorf("binary=%v: err = %v", binary, err)
		}
		if _, err := DecodeEnginePacket(V4, binary, []byte("4abcdefghi"), 10); err != nil {
			t.Errorf("binary=%v at limit: %v", binary, err)
		}
	}
}

func TestEnginePacketEncode(t *testing.T) {
	tests := []struct {
		name    string
		p       EnginePacket
		version Version
		binary  bool
		frame   string
	}{
		{"pong", EnginePacket{Type: EnginePong}, V4, false, "3"},
		{"pong probe", EnginePacket{Type: EnginePong, Data: []byte("probe")}, V3, false, "3probe"},
		{"ping", EnginePacket{Type: EnginePing}, V3, false, "2"},
		{"close", EnginePacket{Type: EngineClose}, V4, false, "1"},
		{"message", EnginePacket{Type: EngineMessage, Data: []byte(`2["a"]`)}, V3, false, `42["a"]`},
		{"v4 binary", EnginePacket{Type: EngineMessage, Data: []byte{1, 2}, Binary: true}, V4, true, "\x01\x02"},
		{"v3 binary", EnginePacket{Type: EngineMessage, Data: []byte{1, 2}, Binary: true}, V3, true, "\x04\x01\x02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, frame := tt.p.Encode(tt.version)
			if bin != tt.binary || string(frame) != tt.frame {
				t.Fatalf("Encode = %v %q, want %v %q", bin, frame, tt.binary, tt.frame)
			}
			back, err := DecodeEnginePacket(tt.version, bin, frame, 0)
			if err != nil || back.Type != tt.p.Type || !bytes.Equal(back.Data, tt.p.Data) && len(tt.p.Data) > 0 {
				t.Fatalf("decode back %+v, %v", back, err)
			}
		})
	}
}

func TestParseOpen(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		ok       bool
		interval time.Duration
		max      int64
	}{
		{"v4", `{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, true, 25 * time.Second, 1000000},
		{"v3", `{"sid":"s","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}`, true, 25 * time.Second, 0},
		{"huge interval capped", `{"sid":"s","pingInterval":9223372036854775807,"pingTimeout":1}`, true, maxHeartbeat, 0},
		{"no sid", `{"pingInterval":1,"pingTimeout":1}`, false, 0, 0},
		{"zero interval", `{"sid":"s","pingInterval":0,"pingTimeout":1}`, false, 0, 0},
		{"negative timeout", `{"sid":"s","pingInterval":1,"pingTimeout":-1}`, false, 0, 0},
		{"negative max", `{"sid":"s","pingInterval":1,"pingTimeout":1,"maxPayload":-1}`, false, 0, 0},
		{"not json", `sid`, false, 0, 0},
		{"wrong types", `{"sid":1,"pingInterval":"1"}`, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := parseOpen([]byte(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				if !errors.Is(err, ErrInvalidPacket) {
					t.Fatalf("err = %v, want ErrInvalidPacket", err)
				}
				return
			}
			if info.pingIntervalDuration() != tt.interval || info.MaxPayload != tt.max {
				t.Fatalf("interval %v max %d", info.pingIntervalDuration(), info.MaxPayload)
			}
		})
	}
}

func TestVersionAndTypeStrings(t *testing.T) {
	tests := map[string]string{
		Auto.String(): "auto", V3.String(): "EIO3", V4.String(): "EIO4", Version(7).String(): "Version(7)",
		EnginePing.String(): "ping", EngineType(9).String(): "EngineType(9)",
	}
	for got, want := range tests {
		if got != want {
			t.Errorf("%q != %q", got, want)
		}
	}
}

// FuzzDecodeEnginePacket checks that DecodeEnginePacket never panics,
// respects its limit, and that what it accepts re-encodes to the same
// packet.
func FuzzDecodeEnginePacket(f *testing.F) {
	for _, s := range []string{"0{}", "2", "3probe", "4hello", "b4AQI=", "\x04\x01", "", "6", "b", "b4"} {
		f.Add(uint8(3), false, []byte(s))
		f.Add(uint8(4), true, []byte(s))
	}
	const limit = 1024
	f.Fuzz(func(t *testing.T, v uint8, binary bool, frame []byte) {
		version := V4
		if v%2 == 1 {
			version = V3
		}
		p, err := DecodeEnginePacket(version, binary, frame, limit)
		if err != nil {
			return
		}
		if len(frame) > limit || p.Type > EngineNoop {
			t.Fatalf("accepted %d bytes, type %d", len(frame), p.Type)
		}
		bin, enc := p.Encode(version)
		back, err := DecodeEnginePacket(version, bin, enc, limit+1)
		if err != nil || back.Type != p.Type || !bytes.Equal(back.Data, p.Data) || back.Binary != p.Binary {
			t.Fatalf("round trip %q -> %+v -> %q -> %+v, %v", frame, p, enc, back, err)
		}
	})
}
