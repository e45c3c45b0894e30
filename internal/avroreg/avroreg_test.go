package avroreg

import (
	"context"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

type rec struct {
	A string `avro:"a"`
	B int64  `avro:"b"`
}

const schemaA = `{"type":"record","name":"R","namespace":"t","fields":[{"name":"a","type":"string"},{"name":"b","type":"long"}]}`
const schemaOther = `{"type":"record","name":"Q","namespace":"t","fields":[{"name":"x","type":"int"}]}`

func setup(t *testing.T) (*Serializer, *Decoder, *sr.Client) {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return NewSerializer(cl), NewDecoder(cl), cl
}

func TestRoundTripConfluentWireFormat(t *testing.T) {
	ctx := context.Background()
	ser, dec, cl := setup(t)
	s := avro.MustParse(schemaA)
	if err := ser.Register(ctx, "topic.x", s); err != nil {
		t.Fatal(err)
	}
	id, ok := ser.ID("topic.x")
	if !ok {
		t.Fatal("no id after Register")
	}
	ss, err := cl.SchemaByVersion(ctx, Subject("topic.x"), -1)
	if err != nil || ss.ID != id {
		t.Fatalf("subject topic.x-value holds %+v, %v; want id %d", ss, err, id)
	}
	b, err := ser.AppendEncode([]byte("prefix"), "topic.x", s, rec{A: "hi", B: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "prefix") {
		t.Fatal("AppendEncode did not append")
	}
	wire := b[len("prefix"):]
	if wire[0] != 0 || int(wire[1])<<24|int(wire[2])<<16|int(wire[3])<<8|int(wire[4]) != id {
		t.Fatalf("header % x, want magic 0 and id %d", wire[:5], id)
	}
	var got rec
	if err := dec.Decode(ctx, wire, &got); err != nil {
		t.Fatal(err)
	}
	if got != (rec{A: "hi", B: 7}) {
		t.Fatalf("decoded %+v", got)
	}
	var generic map[string]any
	if err := dec.Decode(ctx, wire, &generic); err != nil || generic["a"] != "hi" {
		t.Fatalf("generic decode %v, %v", generic, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	ctx := context.Background()
	ser, dec, _ := setup(t)
	s := avro.MustParse(schemaA)
	if _, err := ser.AppendEncode(nil, "unregistered", s, rec{}); err == nil || !strings.Contains(err.Error(), "no registered schema") {
		t.Fatalf("unregistered topic: %v", err)
	}
	if err := ser.Register(ctx, "t", s); err != nil {
		t.Fatal(err)
	}
	if _, err := ser.AppendEncode(nil, "t", avro.MustParse(schemaOther), map[string]any{"x": 1}); err == nil || !strings.Contains(err.Error(), "not the registered one") {
		t.Fatalf("other schema: %v", err)
	}
	if _, err := ser.AppendEncode(nil, "t", s, map[string]any{"a": 5}); err == nil {
		t.Fatal("value not matching the schema encoded")
	}
	for _, bad := range [][]byte{nil, {1, 0, 0, 0, 1}, {0, 0, 0, 0, 99, 1}} {
		var v map[string]any
		if err := dec.Decode(ctx, bad, &v); err == nil {
			t.Errorf("Decode(% x) succeeded", bad)
		}
	}
}
