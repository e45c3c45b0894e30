package imgarena

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
)

// agreeWithJSON fails t unless decodeAction's answer for b, where it gives
// one, is encoding/json's.
func agreeWithJSON(t *testing.T, b []byte) (decoded bool) {
	t.Helper()
	w, ok := decodeAction(b)
	if !ok {
		return false
	}
	var want wirePacket
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("decodeAction decoded %q, which encoding/json refuses: %v", b, err)
	}
	if !reflect.DeepEqual(*w, want) { // pointers followed: every nested field
		t.Fatalf("decodeAction and encoding/json differ on %q:\n%+v\n%+v", b, *w, want)
	}
	return true
}

func simPackets(n int) [][]byte {
	feed := imgarenasim.NewFeed(7, "100001", int64(n), true)
	var out [][]byte
	for i := int64(1); i <= int64(n); i++ {
		ev, ok := feed.Next()
		if !ok {
			break
		}
		out = append(out, feed.Packet(ev, i))
	}
	return out
}

// TestDecodeActionReadsTheSimulatorsPackets: every packet of a whole
// simulated match takes the fast path, with encoding/json's answer.
func TestDecodeActionReadsTheSimulatorsPackets(t *testing.T) {
	ps := simPackets(300)
	if len(ps) < 100 {
		t.Fatalf("only %d packets", len(ps))
	}
	for _, p := range ps {
		if !agreeWithJSON(t, p) {
			t.Fatalf("gave up on a simulator packet: %s", p)
		}
	}
}

func TestDecodeAction(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		fast bool // decodeAction answers (and agrees with encoding/json)
	}{
		{"documented shape", `{"traceId":"t","version":2,"finished":"true","fixtureAction":{"fixtureSeqNum":"7","team":{"id":1,"name":"A"},"metadata":{"x":[1,2,{"y":null}]},"relatedFixtureActionIds":["a",1,null]},"fixtureSummary":{"periods":[],"homeTeamScore":"2"}}`, true},
		{"spaces everywhere", " {\n \"fixtureAction\" : { \"fixtureSeqNum\" : 1 , \"metadata\" : [ 1 , \"x\" ] } , \"finished\" :\ttrue } ", true},
		{"unknown keys of any shape are skipped", `{"fixtureAction":{"fixtureSeqNum":1,"x":{"\"k\u00e9ü":[true,false,-1.5e+3]}},"other":"ü"}`, true},
		{"null fields", `{"fixtureAction":{"fixtureSeqNum":null,"team":null,"metadata":null,"relatedFixtureActionIds":null},"fixtureSummary":null}`, true},
		{"objects and arrays kept as text in string fields", `{"fixtureAction":{"fixtureSeqNum":1,"period":{"a": 1},"sendType":[1, 2]}}`, true},
		{"null fixtureAction", `{"fixtureAction":null}`, true},
		{"non-ASCII string value", `{"fixtureAction":{"fixtureSeqNum":1,"actionId":"Gól"}}`, true},
		{"key matching only by case", `{"FixtureAction":{"fixtureSeqNum":1}}`, false},
		{"nested key matching only by case", `{"fixtureAction":{"FIXTURESEQNUM":1}}`, false},
		{"key twice", `{"fixtureAction":{"fixtureSeqNum":1},"fixtureAction":{"period":2}}`, false},
		{"escaped key", `{"fixture\u0041ction":{"fixtureSeqNum":1}}`, false},
		{"escape in a string field", `{"fixtureAction":{"fixtureSeqNum":1,"actionId":"a\nb"}}`, false},
		{"invalid UTF-8 in a string field", "{\"fixtureAction\":{\"fixtureSeqNum\":1,\"actionId\":\"\xff\"}}", false},
		{"wrong type for an object field", `{"fixtureAction":"x"}`, false},
		{"wrong type for an array field", `{"fixtureAction":{"relatedFixtureActionIds":{}}}`, false},
		{"trailing bytes", `{"fixtureAction":{"fixtureSeqNum":1}} x`, false},
		{"leading zero", `{"fixtureAction":{"fixtureSeqNum":01}}`, false},
		{"bad escape in a skipped string", `{"fixtureAction":{"fixtureSeqNum":1},"x":"\q"}`, false},
		{"control character in a skipped string", "{\"fixtureAction\":{\"fixtureSeqNum\":1},\"x\":\"\x01\"}", false},
		{"cut short", `{"fixtureAction":{"fixtureSeqNum":1}`, false},
		{"too deep", `{"fixtureAction":{"metadata":` + string(bytes.Repeat([]byte("["), maxFastDepth+1)) + string(bytes.Repeat([]byte("]"), maxFastDepth+1)) + `}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := agreeWithJSON(t, []byte(tc.in)); got != tc.fast {
				t.Fatalf("decodeAction answered: %v, want %v", got, tc.fast)
			}
		})
	}
}

// FuzzDecodeAction: wherever the fast path answers, encoding/json accepts
// the packet and decodes the same fields.
func FuzzDecodeAction(f *testing.F) {
	for _, p := range simPackets(20) {
		f.Add(p)
	}
	f.Add([]byte(`{"fixtureAction":{"fixtureSeqNum":"7","team":{"id":1},"metadata":{"x":[1,{"y":null}]},"relatedFixtureActionIds":["a",1,null]}}`))
	f.Add([]byte(`{"fixtureAction":{"fixtureSeqNum":-0.5e-3,"period":"\u00e9"},"finished":"TRUE"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		agreeWithJSON(t, b)
	})
}
