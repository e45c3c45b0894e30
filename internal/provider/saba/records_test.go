package saba

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/budget"
	"github.com/seed-474f70f7/sportsconnect/internal/sse"
)

// recordOps names each record: "e:<op>:<key>", "m:<op>:<key>", "dead" or
// "tombstone:<key>".
func recordOps(recs []*connector.SourceRecord) []string {
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
	return ops
}

func TestRecordsOfMessage(t *testing.T) {
	task := &Task{eventSchema: EventSchema(), marketSchema: MarketSchema(), eventsTopic: "p.saba.events", marketsTopic: "p.saba.markets", set: settings{tombstones: true}}
	r := &streamRun{t: task, spec: StreamSpec{"GetEvents", ""}, part: PartitionOf(StreamSpec{"GetEvents", ""}), marketEvent: map[int64]int64{}}
	now := time.Now()
	snap := `{"status":1,"message":"InitialData","payload":{"events":{"add":[{"eventId":7,"sportType":1,"globalShowTime":"2026-01-01T12:00:00Z","gameInfo":{"liveHomeScore":1,"liveAwayScore":"2"}}],"change":[],"remove":[]},"markets":{"add":[{"eventId":7,"marketId":70,"betType":1,"marketStatus":"running","selections":[{"key":"h","point":-0.25,"oddsPrice":{"decimalPrice":1.950}}]}],"change":[],"remove":[]}}}`
	recs, _, err := r.records(sse.Event{ID: "a-1", HasID: true, Data: []byte(snap)}, now)
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
	recs, _, err = r.records(sse.Event{ID: "a-2", HasID: true, Data: []byte(upd)}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := "dead e:remove:7 tombstone:7 m:change:7 m:remove:7 m:remove:market:71"
	if got := strings.Join(recordOps(recs), " "); got != want {
		t.Fatalf("records\n got %s\nwant %s", got, want)
	}
	if _, _, err := r.records(sse.Event{ID: "a-3", Data: []byte(`{"status":98,"message":"Invalid OData query attributes"}`)}, now); err == nil {
		t.Fatal("status 98 inside the stream: no error")
	}
	recs, _, _ = r.records(sse.Event{ID: "a-4", Data: []byte(`{"status":0,`)}, now)
	if len(recs) != 1 || recs[0].DeadLetter == nil || string(recs[0].DeadLetter.Raw) != `{"status":0,` {
		t.Fatalf("malformed message: %+v", recs)
	}
}

// TestRecordsOfALargeMessage: a message of more than buildChunk items
// comes back as one record per chunk, whose Then builds the rest of the
// chunk; built, it holds the records a small message would, in the same
// order, with the market→event map read when the message arrived (the
// next message moving it on does not change them).
func TestRecordsOfALargeMessage(t *testing.T) {
	task := &Task{eventSchema: EventSchema(), marketSchema: MarketSchema(), eventsTopic: "p.saba.events", marketsTopic: "p.saba.markets", set: settings{tombstones: true}}
	r := &streamRun{t: task, spec: StreamSpec{"GetEvents", ""}, part: PartitionOf(StreamSpec{"GetEvents", ""}), marketEvent: map[int64]int64{}}
	var evs, mAdd, mChange []string
	want := []string{"e:reset:", "m:reset:"}
	for i := 1; i <= 300; i++ {
		if i == 150 {
			evs, want = append(evs, `{"noId":1}`), append(want, "dead")
			continue
		}
		evs, want = append(evs, fmt.Sprintf(`{"eventId":%d}`, i)), append(want, fmt.Sprintf("e:add:%d", i))
	}
	want = append(want, "e:remove:42", "tombstone:42")
	for i := range 400 {
		mAdd, want = append(mAdd, fmt.Sprintf(`{"eventId":%d,"marketId":%d}`, i%300+1, 1000+i)), append(want, fmt.Sprintf("m:add:%d", i%300+1))
	}
	for i := range 100 { // no eventId: the map says
		mChange, want = append(mChange, fmt.Sprintf(`{"marketId":%d,"marketStatus":"suspend"}`, 1000+i)), append(want, fmt.Sprintf("m:change:%d", i%300+1))
	}
	mChange, want = append(mChange, `{"marketId":5000}`, `{"marketId":"x"}`), append(want, "m:change:market:5000", "dead")
	want = append(want, "m:remove:1", "m:remove:market:9999")
	snap := fmt.Sprintf(`{"status":1,"message":"InitialData","payload":{"events":{"add":[%s],"remove":[42]},"markets":{"add":[%s],"change":[%s],"remove":[1000,9999]}}}`,
		strings.Join(evs, ","), strings.Join(mAdd, ","), strings.Join(mChange, ","))
	items := 300 + 1 + 400 + 102 + 2

	recs, n, err := r.records(sse.Event{ID: "a-1", HasID: true, Data: []byte(snap)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if heads := (items + buildChunk - 1) / buildChunk; len(recs) != 2+heads || n != 2+items {
		t.Fatalf("%d records (%d counted) for %d items; want the 2 markers and %d chunk heads, %d counted", len(recs), n, items, heads, 2+items)
	}
	for i, rec := range recs[2:] {
		if rec.Then == nil {
			t.Fatalf("chunk head %d has no Then", i)
		}
	}
	// The next message moves the map on before the snapshot is written.
	upd := `{"status":0,"message":"Success","payload":{"markets":{"change":[{"marketId":1001,"eventId":777},{"marketId":1002}],"remove":[1003]}}}`
	next, _, err := r.records(sse.Event{ID: "a-2", HasID: true, Data: []byte(upd)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, w := strings.Join(recordOps(next), " "), "m:change:777 m:change:3 m:remove:4"; got != w {
		t.Fatalf("update after the snapshot\n got %s\nwant %s", got, w)
	}
	if next[0].Then != nil {
		t.Fatal("a small message's record has Then set")
	}

	built := connector.Flatten(recs)
	if got, w := strings.Join(recordOps(built), " "), strings.Join(want, " "); got != w {
		t.Fatalf("built records differ\n got %.300s\nwant %.300s", got, w)
	}
	for _, rec := range built {
		if id, _ := rec.Offset.OffsetString(OffsetKey); id != "a-1" || rec.Partition.String() != r.part.String() || rec.Then != nil {
			t.Fatalf("record %s: offset %v partition %v, Then set %v", rec.Key, rec.Offset, rec.Partition, rec.Then != nil)
		}
	}
}

// TestRecordsOfAMessageOfOneChunk: up to buildChunk items, a message is
// built at once.
func TestRecordsOfAMessageOfOneChunk(t *testing.T) {
	task := &Task{eventSchema: EventSchema(), marketSchema: MarketSchema(), eventsTopic: "e", marketsTopic: "m"}
	r := &streamRun{t: task, spec: StreamSpec{"GetEvents", ""}, part: PartitionOf(StreamSpec{"GetEvents", ""}), marketEvent: map[int64]int64{}}
	var evs []string
	for i := range buildChunk {
		evs = append(evs, fmt.Sprintf(`{"eventId":%d}`, i+1))
	}
	data := `{"status":0,"message":"Success","payload":{"events":{"add":[` + strings.Join(evs, ",") + `]}}}`
	recs, n, err := r.records(sse.Event{ID: "b", HasID: true, Data: []byte(data)}, time.Now())
	if err != nil || len(recs) != buildChunk || n != buildChunk {
		t.Fatalf("%d records, %d counted, %v; want %d", len(recs), n, err, buildChunk)
	}
	for _, rec := range recs {
		if rec.Then != nil {
			t.Fatal("a record of a one-chunk message has Then set")
		}
	}
}

// TestPollCountsWhatChunksBuild: saba.poll.max.records counts the records
// a message makes, those its chunk heads build later included, so a
// snapshot ends a poll as it did when it was built whole.
func TestPollCountsWhatChunksBuild(t *testing.T) {
	one := func(n int) batch {
		return batch{records: []*connector.SourceRecord{{Topic: fmt.Sprint(n)}}, n: n, size: 10}
	}
	cases := []struct {
		name    string
		batches []batch
		want    int // batches the first Poll takes
	}{
		{"a snapshot ends the poll", []batch{one(600), one(1)}, 1},
		{"small messages until the limit", []batch{one(30), one(30), one(30), one(30), one(30)}, 4},
		{"what is there", []batch{one(30), one(30)}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			task := &Task{set: settings{pollMax: 100}, ch: make(chan batch, len(c.batches)), budget: budget.New(1 << 20)}
			for _, b := range c.batches {
				if err := task.budget.Acquire(t.Context(), b.size); err != nil {
					t.Fatal(err)
				}
				task.ch <- b
			}
			recs, err := task.Poll(t.Context())
			if err != nil || len(recs) != c.want {
				t.Fatalf("Poll took %d messages (%v), want %d", len(recs), err, c.want)
			}
			if used, left := task.budget.Used(), (len(c.batches)-c.want)*10; used != left {
				t.Fatalf("budget holds %d bytes, want %d (the messages not taken)", used, left)
			}
		})
	}
}

// snapshotOf is a snapshot message of events × markets, each market with
// two selections.
func snapshotOf(events, markets int) []byte {
	var evs, mks []string
	for e := 1; e <= events; e++ {
		evs = append(evs, fmt.Sprintf(`{"eventId":%d,"eventStatus":"running","sportType":1,"leagueId":%d,"globalShowTime":"2026-01-01T12:00:00Z","gameInfo":{"liveHomeScore":1,"liveAwayScore":0}}`, e, e%50))
		for m := range markets {
			mks = append(mks, fmt.Sprintf(`{"eventId":%d,"marketId":%d,"betType":%d,"marketStatus":"running","selections":[{"key":"h","point":-0.25,"oddsPrice":{"decimalPrice":1.95}},{"key":"a","point":0.25,"oddsPrice":{"decimalPrice":1.87}}]}`, e, e*100+m, m+1))
		}
	}
	return []byte(`{"status":1,"message":"InitialData","payload":{"events":{"add":[` + strings.Join(evs, ",") + `]},"markets":{"add":[` + strings.Join(mks, ",") + `]}}}`)
}

// BenchmarkRecordsOfASnapshot: a snapshot of 6,000 events with 8 markets
// each, read into records and built as the worker writes them.
func BenchmarkRecordsOfASnapshot(b *testing.B) {
	task := &Task{eventSchema: EventSchema(), marketSchema: MarketSchema(), eventsTopic: "e", marketsTopic: "m"}
	data := snapshotOf(6000, 8)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := &streamRun{t: task, spec: StreamSpec{"GetEvents", ""}, part: PartitionOf(StreamSpec{"GetEvents", ""}), marketEvent: map[int64]int64{}}
		recs, _, err := r.records(sse.Event{ID: "s", HasID: true, Data: data}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		for i, rec := range recs {
			recs[i] = nil
			if rec.Then != nil {
				rec.Then()
			}
		}
	}
}

// FuzzRecords: every record of any message, snapshot or update, carries
// the message's position and a key, and built a chunk of two items at a
// time the message makes the records it makes built whole, in the same
// order, leaving the market→event map the same for the next message.
func FuzzRecords(f *testing.F) {
	for _, s := range []string{
		`{"status":1,"message":"InitialData","payload":{"events":{"add":[{"eventId":7}]},"markets":{"add":[{"eventId":7,"marketId":70,"selections":[{"key":"h","point":1,"oddsPrice":{"decimalPrice":"1.9"}}]}]}}}`,
		`{"status":0,"payload":{"markets":{"remove":["70",null,{}]}}}`,
		`{"status":3}`, `{"status":-1}`, `null`,
		`{"status":1,"payload":{"events":{"add":[{"eventId":1},{"noId":1}],"remove":[1,"x"]},"markets":{"add":[{"eventId":1,"marketId":10},{"marketId":11},{"eventId":2,"marketId":11}],` +
			`"change":[{"marketId":10},{"marketId":"y"},{"marketId":12,"marketStatus":5}],"remove":[11,10,99]}}}`,
	} {
		f.Add([]byte(s), []byte(`{"status":0,"payload":{"markets":{"change":[{"marketId":10},{"marketId":11}],"remove":[12]}}}`))
	}
	task := func(chunk int) *Task {
		return &Task{eventSchema: EventSchema(), marketSchema: MarketSchema(), eventsTopic: "e", marketsTopic: "m", set: settings{tombstones: true}, chunk: chunk}
	}
	whole, chunked := task(1<<30), task(2)
	f.Fuzz(func(t *testing.T, data, next []byte) {
		var got [2][]string
		var learned [2]map[int64]int64
		for i, tk := range []*Task{whole, chunked} {
			r := &streamRun{t: tk, spec: StreamSpec{"GetEvents", ""}, part: PartitionOf(StreamSpec{"GetEvents", ""}), marketEvent: map[int64]int64{}}
			recs, n, err := r.records(sse.Event{ID: "x", Data: data}, time.Time{})
			if err != nil {
				var se *StatusError
				if !errors.As(err, &se) {
					t.Fatalf("unexpected error type %T %v", err, err)
				}
				return
			}
			// The next message is read before this one is written, as a
			// stream does while Poll's goroutine writes the chunks.
			nrecs, _, _ := r.records(sse.Event{ID: "y", Data: next}, time.Time{})
			built := connector.Flatten(recs)
			if n > len(built) {
				t.Fatalf("%d records counted, %d built", n, len(built))
			}
			for _, rec := range built {
				if id, _ := rec.Offset.OffsetString(OffsetKey); id != "x" || rec.Partition.IsZero() || rec.Then != nil {
					t.Fatalf("record without the message's position, or with Then: %+v", rec)
				}
				if rec.DeadLetter == nil && rec.Value != nil && rec.Key == nil {
					t.Fatalf("record without key: %+v", rec)
				}
			}
			got[i] = append(recordOps(built), recordOps(connector.Flatten(nrecs))...)
			learned[i] = r.marketEvent
		}
		if !slices.Equal(got[0], got[1]) {
			t.Fatalf("built a chunk at a time, the records differ\nwhole   %q\nchunked %q", got[0], got[1])
		}
		if !maps.Equal(learned[0], learned[1]) {
			t.Fatalf("market→event map differs: whole %v, chunked %v", learned[0], learned[1])
		}
	})
}
