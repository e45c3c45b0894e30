package worker

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestOffsetKeyIsConnectFormat(t *testing.T) {
	tests := []struct {
		conn string
		p    map[string]any
		want string
	}{
		{"c", map[string]any{"fixture": "123", "sport": "soccer"}, `["c",{"fixture":"123","sport":"soccer"}]`},
		{`we"ird`, map[string]any{"partition": 3}, `["we\"ird",{"partition":3}]`},
	}
	for _, tt := range tests {
		if got := string(OffsetKey(tt.conn, connector.NewPartition(tt.p))); got != tt.want {
			t.Errorf("OffsetKey = %s, want %s", got, tt.want)
		}
	}
}

func TestParseOffsetRecord(t *testing.T) {
	tests := []struct {
		name      string
		key, val  string
		nilVal    bool
		conn      string
		partition string
		position  int64
		tombstone bool
		wantErr   bool
	}{
		{name: "offset", key: `["c",{"partition":1}]`, val: `{"position":9007199254740993}`, conn: "c", partition: `{"partition":1}`, position: 9007199254740993},
		{name: "null tombstone", key: `["c",{"partition":1}]`, nilVal: true, conn: "c", partition: `{"partition":1}`, tombstone: true},
		{name: "json null tombstone", key: `["c",{"partition":1}]`, val: `null`, conn: "c", partition: `{"partition":1}`, tombstone: true},
		{name: "key not array", key: `{"a":1}`, val: `{}`, wantErr: true},
		{name: "key wrong arity", key: `["c"]`, val: `{}`, wantErr: true},
		{name: "partition not object", key: `["c",5]`, val: `{}`, wantErr: true},
		{name: "value not object", key: `["c",{"p":1}]`, val: `[1]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var val []byte
			if !tt.nilVal {
				val = []byte(tt.val)
			}
			conn, p, o, err := ParseOffsetRecord([]byte(tt.key), val)
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if conn != tt.conn || p.String() != tt.partition {
				t.Fatalf("got %s %s", conn, p)
			}
			if tt.tombstone {
				if o != nil {
					t.Fatalf("want tombstone, got %v", o)
				}
				return
			}
			if got, ok := o.OffsetInt("position"); !ok || got != tt.position {
				t.Fatalf("position %v (%v), want %d: precision must survive", got, ok, tt.position)
			}
		})
	}
}

func TestOffsetValueRoundTrip(t *testing.T) {
	v, err := OffsetValue(connector.Offset{"last_event_id": "abc-1", "position": int64(5)})
	if err != nil {
		t.Fatal(err)
	}
	if string(v) != `{"last_event_id":"abc-1","position":5}` {
		t.Fatalf("OffsetValue = %s", v)
	}
	if nilV, _ := OffsetValue(nil); nilV != nil {
		t.Fatal("nil offset must encode as a tombstone")
	}
	if _, err := OffsetValue(connector.Offset{"bad": make(chan int)}); err == nil {
		t.Fatal("want an error for an unencodable offset")
	}
	var back map[string]any
	if err := json.Unmarshal(v, &back); err != nil {
		t.Fatal(err)
	}
}

func TestOffsetAccessors(t *testing.T) {
	o := connector.Offset{"n": json.Number("42"), "i": 7, "f": 3.0, "frac": 2.5, "s": "x", "sn": "12"}
	cases := []struct {
		key  string
		want int64
		ok   bool
	}{{"n", 42, true}, {"i", 7, true}, {"f", 3, true}, {"frac", 2, false}, {"s", 0, false}, {"sn", 12, true}, {"missing", 0, false}}
	for _, c := range cases {
		got, ok := o.OffsetInt(c.key)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("OffsetInt(%s) = %d, %v; want %d, %v", c.key, got, ok, c.want, c.ok)
		}
	}
	if s, ok := o.OffsetString("s"); !ok || s != "x" {
		t.Errorf("OffsetString(s) = %q, %v", s, ok)
	}
}

func FuzzParseOffsetRecord(f *testing.F) {
	f.Add([]byte(`["c",{"partition":1}]`), []byte(`{"position":5}`))
	f.Add([]byte(`["c",{}]`), []byte(`null`))
	f.Add([]byte(`[]`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		conn, p, o, err := ParseOffsetRecord(key, value)
		if err != nil {
			return
		}
		// Whatever parses re-encodes to a key that parses to the same thing.
		conn2, p2, _, err := ParseOffsetRecord(OffsetKey(conn, p), nil)
		if err != nil || conn2 != conn || p2.String() != p.String() {
			t.Fatalf("key %q re-encoded as %q: %v", key, OffsetKey(conn, p), err)
		}
		if o != nil {
			if _, err := OffsetValue(o); err != nil {
				t.Fatalf("offset %v does not re-encode: %v", o, err)
			}
		}
	})
}

// TestReadOffsetsKeepsToItsConnector: connectors share the offsets topic;
// each read returns only the asked connector's partitions, the latest
// offset of each, tombstones deleting, with the waiting read and the
// snapshot alike.
func TestReadOffsetsKeepsToItsConnector(t *testing.T) {
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ctx := context.Background()
	opts := []kgo.Opt{kgo.SeedBrokers(env.Brokers()...)}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, -1, nil, "offs"); err != nil {
		t.Fatal(err)
	}
	p := func(n int) connector.Partition { return connector.NewPartition(map[string]any{"partition": n}) }
	rec := func(conn string, part int, value string) *kgo.Record {
		r := &kgo.Record{Topic: "offs", Key: OffsetKey(conn, p(part))}
		if value != "" {
			r.Value = []byte(value)
		}
		return r
	}
	if err := cl.ProduceSync(ctx,
		rec("a", 0, `{"position":1}`), rec("a", 0, `{"position":2}`), rec("b", 0, `{"position":500}`),
		rec("a", 1, `{"position":7}`), rec("a", 1, ""), rec("b", 1, `{"position":9}`), rec("b", 2, `{"position":3}`),
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for _, wait := range []bool{false, true} {
		got, err := readOffsets(ctx, opts, "offs", "a", wait)
		if err != nil {
			t.Fatal(err)
		}
		pos, _ := got.Offsets[p(0).String()].OffsetInt("position")
		if len(got.Offsets) != 1 || pos != 2 {
			t.Fatalf("wait=%v: connector a's offsets %v, want only partition 0 at 2", wait, got.Offsets)
		}
	}
}
