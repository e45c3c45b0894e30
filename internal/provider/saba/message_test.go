package saba

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/sse"
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

func TestRecordsOfMessage(t *testing.T) {
	task := &Task{eventSchema: EventSchema(), marketSchema: MarketSchema(), eventsTopic: "p.saba.events", marketsTopic: "p.saba.markets", set: settings{tombstones: true}}
	r := &streamRun{t: task, spec: StreamSpec{"GetEvents", ""}, part: PartitionOf(StreamSpec{"GetEvents", ""}), marketEvent: map[int64]int64{}}
	now := time.Now()
	snap := `{"status":1,"message":"InitialData","payload":{"events":{"add":[{"eventId":7,"sportType":1,"globalShowTime":"2026-01-01T12:00:00Z","gameInfo":{"liveHomeScore":1,"liveAwayScore":"2"}}],"change":[],"remove":[]},"markets":{"add":[{"eventId":7,"marketId":70,"betType":1,"marketStatus":"running","selections":[{"key":"h","point":-0.25,"oddsPrice":{"decimalPrice":1.950}}]}],"change":[],"remove":[]}}}`
	recs, err := r.records(sse.Event{ID: "a-1", HasID: true, Data: []byte(snap)}, now)
	if err != nil {
		t.Fatal(err)
	}
	// marker events, marker markets, event add, market add
	if len(recs) != 4 || recs[0].Value.(EventRecord).Op != OpReset || recs[1].Value.(MarketRecord).Op != OpReset {
		t.Fatalf("snapshot records: %d", len(recs))
	}
	ev := recs[2].Value.(EventRecord)
	if string(recs[2].Key) != "7" || *ev.LiveAwayScore != 2 || ev.GlobalShowTime == nil || ev.Raw != `{"eventId":7,"sportType":1,"globalShowTime":"2026-01-01T12:00:00Z","gameInfo":{"liveHomeScore":1,"liveAwayScore":"2"}}` {
		t.Fatalf("event record %+v key %s", ev, recs[2].Key)
	}
	mk := recs[3].Value.(MarketRecord)
	if string(recs[3].Key) != "7" || *mk.Selections[0].DecimalPrice != "1.950" || *mk.Selections[0].Point != "-0.25" {
		t.Fatalf("market record %+v", mk)
	}
	for _, rec := range recs {
		if id, _ := rec.Offset.OffsetString(OffsetKey); id != "a-1" {
			t.Fatalf("offset %v", rec.Offset)
		}
	}
	upd := `{"status":0,"message":"Success","payload":{"events":{"add":[],"change":[{"noId":1}],"remove":[7]},"markets":{"add":[],"change":[{"marketId":70,"marketStatus":"suspend"}],"remove":[70, 71]}}}`
	recs, err = r.records(sse.Event{ID: "a-2", HasID: true, Data: []byte(upd)}, now)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, rec := range recs {
		switch v := rec.Value.(type) {
		case EventRecord:
			ops = append(ops, "e:"+v.Op+":"+string(rec.Key))
		case MarketRecord:
			ops = append(ops, "m:"+v.Op+":"+string(rec.Key))
		case nil:
			if rec.DeadLetter != nil {
				ops = append(ops, "dead")
			} else {
				ops = append(ops, "tombstone:"+string(rec.Key))
			}
		}
	}
	want := "dead e:remove:7 tombstone:7 m:change:7 m:remove:7 m:remove:market:71"
	if got := strings.Join(ops, " "); got != want {
		t.Fatalf("records\n got %s\nwant %s", got, want)
	}
	if _, err := r.records(sse.Event{ID: "a-3", Data: []byte(`{"status":98,"message":"Invalid OData query attributes"}`)}, now); err == nil {
		t.Fatal("status 98 inside the stream: no error")
	}
	recs, _ = r.records(sse.Event{ID: "a-4", Data: []byte(`{"status":0,`)}, now)
	if len(recs) != 1 || recs[0].DeadLetter == nil || string(recs[0].DeadLetter.Raw) != `{"status":0,` {
		t.Fatalf("malformed message: %+v", recs)
	}
}

func FuzzRecords(f *testing.F) {
	for _, s := range []string{
		`{"status":1,"message":"InitialData","payload":{"events":{"add":[{"eventId":7}]},"markets":{"add":[{"eventId":7,"marketId":70,"selections":[{"key":"h","point":1,"oddsPrice":{"decimalPrice":"1.9"}}]}]}}}`,
		`{"status":0,"payload":{"markets":{"remove":["70",null,{}]}}}`,
		`{"status":3}`, `{"status":-1}`, `null`,
	} {
		f.Add([]byte(s))
	}
	task := &Task{eventSchema: EventSchema(), marketSchema: MarketSchema(), eventsTopic: "e", marketsTopic: "m", set: settings{tombstones: true}}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &streamRun{t: task, spec: StreamSpec{"GetMarkets", ""}, part: PartitionOf(StreamSpec{"GetMarkets", ""}), marketEvent: map[int64]int64{}}
		recs, err := r.records(sse.Event{ID: "x", Data: data}, time.Time{})
		if err != nil {
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("unexpected error type %T %v", err, err)
			}
			return
		}
		for _, rec := range recs {
			if id, _ := rec.Offset.OffsetString(OffsetKey); id != "x" || rec.Partition.IsZero() {
				t.Fatalf("record without the message's position: %+v", rec)
			}
			if rec.DeadLetter == nil && rec.Value != nil && rec.Key == nil {
				t.Fatalf("record without key: %+v", rec)
			}
		}
	})
}
