package socketio

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestResolveArgs(t *testing.T) {
	atts := [][]byte{[]byte("zero"), {0xff, 0x00}}
	tests := []struct {
		name    string
		items   []string
		want    []string // JSON text, or "bin:" + bytes
		wantErr bool
	}{
		{"plain json", []string{`1`, `"s"`, `{"a":[1,2]}`, `null`}, []string{`1`, `"s"`, `{"a":[1,2]}`, `null`}, false},
		{"top-level placeholders", []string{`{"_placeholder":true,"num":1}`, `{"num":0,"_placeholder":true}`}, []string{"bin:\xff\x00", "bin:zero"}, false},
		{"nested placeholder", []string{`{"b":2,"a":{"_placeholder":true,"num":0},"c":[{"_placeholder":true,"num":1},3]}`}, []string{`{"b":2,"a":"emVybw==","c":["/wA=",3]}`}, false},
		{"string mentioning key", []string{`"_placeholder"`, `{"x":"\"_placeholder\""}`}, []string{`"_placeholder"`, `{"x":"\"_placeholder\""}`}, false},
		{"placeholder false", []string{`{"_placeholder":false,"num":0}`}, []string{`{"_placeholder":false,"num":0}`}, false},
		{"num out of range", []string{`{"_placeholder":true,"num":2}`}, nil, true},
		{"num negative", []string{`{"_placeholder":true,"num":-1}`}, nil, true},
		{"num fractional", []string{`{"_placeholder":true,"num":0.5}`}, nil, true},
		{"num missing", []string{`{"_placeholder":true}`}, nil, true},
		{"nested bad num", []string{`[{"_placeholder":true,"num":"0"}]`}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := make([]json.RawMessage, len(tt.items))
			for i, s := range tt.items {
				items[i] = json.RawMessage(s)
			}
			args, err := resolveArgs(items, atts)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidPacket) {
					t.Fatalf("err = %v, want ErrInvalidPacket", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range args {
				got := string(a.JSON)
				if a.IsBinary() {
					got = "bin:" + string(a.Binary)
				}
				if got != tt.want[i] {
					t.Errorf("arg %d = %q, want %q", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestResolveJSON(t *testing.T) {
	items := []json.RawMessage{json.RawMessage(`{"_placeholder":true,"num":0}`), json.RawMessage(`[1]`)}
	got, err := resolveJSON(items, [][]byte{{1, 2, 3}})
	if err != nil || string(got[0]) != `"AQID"` || string(got[1]) != `[1]` {
		t.Fatalf("got %s, %v", got, err)
	}
	same, err := resolveJSON(items, nil)
	if err != nil || string(same[0]) != string(items[0]) {
		t.Fatalf("without attachments: %s, %v", same, err)
	}
}

func TestPlaceholderDepthBound(t *testing.T) {
	deep := strings.Repeat("[", 40) + `{"_placeholder":true,"num":0}` + strings.Repeat("]", 40)
	out, err := replacePlaceholders(json.RawMessage(deep), [][]byte{{1}}, 0)
	if err != nil || string(out) != deep {
		t.Fatalf("deep placeholder should be left alone: %s, %v", out, err)
	}
	shallow := `[[{"_placeholder":true,"num":0}]]`
	out, err = replacePlaceholders(json.RawMessage(shallow), [][]byte{{1}}, 0)
	if err != nil || string(out) != `[["AQ=="]]` {
		t.Fatalf("got %s, %v", out, err)
	}
}

func TestEncodeArgs(t *testing.T) {
	ev := "ev"
	tests := []struct {
		name    string
		event   *string
		args    []any
		want    string
		atts    int
		wantErr bool
	}{
		{"no args", &ev, nil, `["ev"]`, 0, false},
		{"json values", &ev, []any{1, "s", map[string]int{"a": 1}, nil}, `["ev",1,"s",{"a":1},null]`, 0, false},
		{"raw message", &ev, []any{json.RawMessage(`{"x":1}`), json.RawMessage(nil)}, `["ev",{"x":1},null]`, 0, false},
		{"binary", &ev, []any{[]byte{1}, "x", []byte(nil)}, `["ev",{"_placeholder":true,"num":0},"x",{"_placeholder":true,"num":1}]`, 2, false},
		{"args", &ev, []any{Arg{JSON: json.RawMessage(`true`)}, Arg{Binary: []byte{2}}}, `["ev",true,{"_placeholder":true,"num":0}]`, 1, false},
		{"ack without event", nil, []any{1, []byte{1}}, `[1,{"_placeholder":true,"num":0}]`, 1, false},
		{"empty ack", nil, nil, `[]`, 0, false},
		{"event name escaped", func() *string { s := "a\"b"; return &s }(), nil, `["a\"b"]`, 0, false},
		{"invalid raw", &ev, []any{json.RawMessage(`{`)}, ``, 0, true},
		{"invalid arg", &ev, []any{Arg{JSON: json.RawMessage(`x`)}}, ``, 0, true},
		{"unmarshalable", &ev, []any{func() {}}, ``, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, atts, err := encodeArgs(tt.event, tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr {
				return
			}
			if string(data) != tt.want || len(atts) != tt.atts {
				t.Fatalf("got %s with %d attachments, want %s with %d", data, len(atts), tt.want, tt.atts)
			}
			for _, a := range atts {
				if a == nil {
					t.Error("nil attachment")
				}
			}
		})
	}
}

func TestArgDecode(t *testing.T) {
	var s string
	if err := (Arg{JSON: json.RawMessage(`"x"`)}).Decode(&s); err != nil || s != "x" {
		t.Fatalf("%q %v", s, err)
	}
	if err := (Arg{JSON: json.RawMessage(`1`)}).Decode(&s); err == nil {
		t.Fatal("number into string")
	}
	var b []byte
	if err := (Arg{Binary: []byte{1}}).Decode(&b); err != nil || len(b) != 1 {
		t.Fatalf("%v %v", b, err)
	}
	if err := (Arg{Binary: []byte{1}}).Decode(&s); err == nil {
		t.Fatal("binary into string")
	}
	if got := (Arg{Binary: []byte{1, 2}}).String(); got != "<binary 2 bytes>" {
		t.Fatal(got)
	}
	if got := (Arg{JSON: json.RawMessage(`[1]`)}).String(); got != "[1]" {
		t.Fatal(got)
	}
}
