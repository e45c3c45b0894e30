package saba

import (
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

func TestSchemasRoundTrip(t *testing.T) {
	id, st, sport, home := int64(42), "running", int32(1), int32(2)
	when := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	recv := time.Date(2026, 1, 1, 12, 0, 1, 123456000, time.UTC) // decodes to .123: received_at is timestamp-millis
	price, point := "1.95", "-0.25"
	cases := []struct {
		name   string
		schema avro.Schema
		in     any
		out    any
	}{
		{"event full", EventSchema(), EventRecord{Op: OpAdd, Status: 1, MessageID: "x-1", Endpoint: "GetEvents", EventID: &id, EventStatus: &st, SportType: &sport, GlobalShowTime: &when, LiveHomeScore: &home, ReceivedAt: recv, Raw: `{"eventId":42}`}, &EventRecord{}},
		{"event reset marker", EventSchema(), EventRecord{Op: OpReset, Status: 3, MessageID: "x-2", ReceivedAt: recv, Raw: `{"status":3,"message":"Reset"}`}, &EventRecord{}},
		{"market with selections", MarketSchema(), MarketRecord{Op: OpChange, MessageID: "x-3", MarketID: &id, EventID: &id, Selections: []Selection{{Key: "h", Point: &point, DecimalPrice: &price}}, ReceivedAt: recv, Raw: "{}"}, &MarketRecord{}},
		{"market remove", MarketSchema(), MarketRecord{Op: OpRemove, MessageID: "x-4", MarketID: &id, ReceivedAt: recv, Raw: "42"}, &MarketRecord{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := avro.Marshal(c.schema, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if err := avro.Unmarshal(c.schema, b, c.out); err != nil {
				t.Fatal(err)
			}
			switch in := c.in.(type) {
			case EventRecord:
				got := *c.out.(*EventRecord)
				if got.Op != in.Op || got.Raw != in.Raw || !got.ReceivedAt.Equal(in.ReceivedAt.Truncate(time.Millisecond)) || (in.GlobalShowTime != nil && !got.GlobalShowTime.Equal(*in.GlobalShowTime)) || (in.EventID == nil) != (got.EventID == nil) {
					t.Fatalf("round trip: %+v -> %+v", in, got)
				}
			case MarketRecord:
				got := *c.out.(*MarketRecord)
				if got.Op != in.Op || got.Raw != in.Raw || len(got.Selections) != len(in.Selections) || (in.Selections == nil) != (got.Selections == nil) {
					t.Fatalf("round trip: %+v -> %+v", in, got)
				}
				if len(in.Selections) > 0 && *got.Selections[0].DecimalPrice != price {
					t.Fatalf("price %v", *got.Selections[0].DecimalPrice)
				}
			}
		})
	}
}
