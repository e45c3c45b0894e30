package saba

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"unsafe"
)

func TestParseMessage(t *testing.T) {
	cases := []struct {
		name   string
		data   string
		status int
		items  int
		ok     bool
	}{
		{"update", `{"status":0,"message":"Success","payload":{"events":{"add":[],"change":[{"eventId":1}],"remove":[2]},"markets":{"add":[{"marketId":3}],"change":[],"remove":[]}}}`, 0, 3, true},
		{"status as string", `{"status":"1","message":"InitialData","payload":{"events":{"add":[{"eventId":1}]}}}`, 1, 1, true},
		{"keep-alive", `{"status":0,"message":"KeepAlive","payload":{}}`, 0, 0, true},
		{"unknown fields", `{"status":3,"message":"Reset","extra":[1,2],"payload":{"events":{"add":[],"other":1}}}`, 3, 0, true},
		{"error status", `{"status":99,"message":"System under maintenance"}`, 99, 0, true},
		{"truncated", `{"status":0,"message":"Success","payload":{"ev`, 0, 0, false},
		{"no status", `{"message":"x","payload":{}}`, 0, 0, false},
		{"not an object", `[1,2]`, 0, 0, false},
		{"empty", ``, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := parseMessage([]byte(c.data))
			if (err == nil) != c.ok {
				t.Fatalf("err %v, want ok=%v", err, c.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrBadMessage) {
					t.Fatalf("error %v is not ErrBadMessage", err)
				}
				return
			}
			if m.Status != c.status || m.Payload.Events.len()+m.Payload.Markets.len() != c.items {
				t.Fatalf("status %d items %d", m.Status, m.Payload.Events.len()+m.Payload.Markets.len())
			}
		})
	}
}

// referenceMessage is what parseMessage must agree with: the documented
// shape decoded by json.Unmarshal (which copies every item).
type referenceMessage struct {
	StatusRaw json.RawMessage `json:"status"`
	Message   json.RawMessage `json:"message"`
	Payload   struct {
		Events  *referenceSet `json:"events"`
		Markets *referenceSet `json:"markets"`
	} `json:"payload"`
}

type referenceSet struct {
	Add    []json.RawMessage `json:"add"`
	Change []json.RawMessage `json:"change"`
	Remove []json.RawMessage `json:"remove"`
}

// sameItems reports whether the streaming parse of a set matches the
// reference, item by item, byte for byte.
func sameItems(got *itemSet, want *referenceSet) bool {
	if (got == nil) != (want == nil) {
		return false
	}
	if got == nil {
		return true
	}
	eq := func(a, b []json.RawMessage) bool {
		return len(a) == len(b) && (a == nil) == (b == nil) && slices.EqualFunc(a, b, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) })
	}
	return eq(got.Add, want.Add) && eq(got.Change, want.Change) && eq(got.Remove, want.Remove)
}

// FuzzParseMessage checks the token-streaming parser against json.Unmarshal:
// same verdict on validity, same status and message, the same items byte
// for byte, and every item a sub-slice of the input (not a copy).
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		`{"status":0,"message":"Success","payload":{"events":{"add":[],"change":[{"eventId":1}],"remove":[2]},"markets":{"add":[{"marketId":3}],"change":[],"remove":[]}}}`,
		`{"Status":"1", "PAYLOAD": {"Events": {"ADD": [ {"a" : [1, {"b":null}]} , "x" ,3.5e1,true ] }, "events": {"remove": null}}}`,
		`{"status":3,"payload":{"events":null,"markets":{}},"payload":{"markets":{"add":[1]}}}`,
		`{"status":0,"payload":null,"x":{"y":[{}]}}`, `{"status":0} x`, `{"status":0,"payload":{"events":{"add":{}}}}`,
		`{"st\u0061tus":1,"message":"\u00e9"}`, `{"ſtatus":1,"payload":{"marKets":{"remove":[1]}}}`, `{"status":1,"payload":{"marKets":{"remove":[1]}}}`, ` {"status" : 0 , "payload" : { } } `, `null`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ref referenceMessage
		refErr := json.Unmarshal(data, &ref)
		if refErr == nil {
			if n, ok, err := jsonInt(ref.StatusRaw); err != nil || !ok || n < 0 || n > 1000 {
				refErr = errors.New("no valid status")
			}
		}
		m, err := parseMessage(data)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("parseMessage err %v, json.Unmarshal err %v", err, refErr)
		}
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v is not ErrBadMessage", err)
			}
			return
		}
		if !bytes.Equal(m.StatusRaw, ref.StatusRaw) || !bytes.Equal(m.Message, ref.Message) {
			t.Fatalf("status/message %q %q, want %q %q", m.StatusRaw, m.Message, ref.StatusRaw, ref.Message)
		}
		if !sameItems(m.Payload.Events, ref.Payload.Events) || !sameItems(m.Payload.Markets, ref.Payload.Markets) {
			t.Fatalf("items %+v %+v, want %+v %+v", m.Payload.Events, m.Payload.Markets, ref.Payload.Events, ref.Payload.Markets)
		}
		for _, set := range []*itemSet{m.Payload.Events, m.Payload.Markets} {
			if set == nil {
				continue
			}
			for _, item := range slices.Concat(set.Add, set.Change, set.Remove) {
				if !aliases(data, item) {
					t.Fatalf("item %q is a copy, not a sub-slice of the data", item)
				}
			}
		}
	})
}

// aliases reports whether b lies inside data's memory.
func aliases(data, b []byte) bool {
	if len(b) == 0 {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= start && p+uintptr(len(b)) <= start+uintptr(len(data))
}
