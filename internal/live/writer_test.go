package live

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"go.uber.org/zap"
)

// provRec is a provider record for the tests: match id, position, and the
// score it carries (negative = none).
type provRec struct {
	match      string
	pos        int64
	home, away int32
	kind       Kind
}

func testMapper(rec *connector.SourceRecord) (Mapped, bool) {
	p, ok := rec.Value.(*provRec)
	if !ok {
		return Mapped{}, false
	}
	ev := Event{MatchID: MatchID("test", "soccer", p.match), Provider: "test", Sport: "soccer", ProviderMatchID: p.match,
		Kind: p.kind, ReceivedAt: time.UnixMilli(p.pos), Position: "pos"}
	if p.home >= 0 {
		ev.Score = &Score{Home: Ptr(p.home), Away: Ptr(p.away)}
	}
	return Mapped{Event: ev, Finished: p.kind == KindMatchStatus}, true
}

var testCfg = Config{Enabled: true, EventsTopic: "p.live.events", MatchesTopic: "p.live.matches"}

func rec(part connector.Partition, v *provRec) *connector.SourceRecord {
	return &connector.SourceRecord{Partition: part, Offset: connector.Offset{"pos": v.pos}, Topic: "p.test.actions", Key: []byte(v.match), Value: v}
}

func TestAppendInterleavesEventsAndEndsWithStates(t *testing.T) {
	stream := connector.NewPartition(map[string]any{"stream": "s"}) // one partition, many matches (like Saba)
	w := NewWriter(testCfg, testMapper)
	batch := []*connector.SourceRecord{
		rec(stream, &provRec{match: "1", pos: 1, home: 0, away: 0, kind: KindGoal}),
		{Partition: stream, Offset: connector.Offset{"pos": int64(2)}, Topic: "p.test.other", Value: "not mapped"},
		rec(stream, &provRec{match: "2", pos: 3, home: -1, kind: KindCard}),
		rec(stream, &provRec{match: "1", pos: 4, home: 1, away: 0, kind: KindGoal}),
		{Partition: stream, Offset: connector.Offset{"pos": int64(5)}, DeadLetter: &connector.DeadLetter{}},
	}
	out := connector.Flatten(w.Append(batch))
	var topics []string
	for _, r := range out {
		topics = append(topics, r.Topic)
	}
	want := []string{"p.test.actions", "p.live.events", "p.test.other", "p.test.actions", "p.live.events", "p.test.actions", "p.live.events", "", "p.live.matches", "p.live.matches"}
	if len(topics) != len(want) {
		t.Fatalf("topics %q, want %q", topics, want)
	}
	for i := range want {
		if topics[i] != want[i] {
			t.Fatalf("record %d topic %q, want %q (all: %q)", i, topics[i], want[i], topics)
		}
	}
	// Each event carries the offset of its own provider record; the
	// states carry the partition's last offset in the batch (5), so the
	// committed offset never moves back.
	if got := out[6].Offset["pos"]; got != int64(4) {
		t.Fatalf("event offset %v, want 4", got)
	}
	for _, r := range out[8:] {
		if got := r.Offset["pos"]; got != int64(5) {
			t.Fatalf("state of %s has offset %v, want the batch's last (5)", r.Key, got)
		}
	}
	m1 := out[8].Value.(*Match)
	if string(out[8].Key) != "test:soccer:1" || m1.Events != 2 || *m1.Score.Home != 1 || *m1.Score.Away != 0 {
		t.Fatalf("match 1 state %+v", m1)
	}
	if ev := out[4].Value.(*Event); ev.Score != nil {
		t.Fatalf("match 2 has no score yet, event says %+v", ev.Score)
	}
}

// TestAppendMapsWhatATasksThenBuilds: a record whose Then the task set
// (the rest of a large message, built as it is written) gets its event,
// then each record that Then builds follows with its own, and the states
// still come last, counting those records' events.
func TestAppendMapsWhatATasksThenBuilds(t *testing.T) {
	stream := connector.NewPartition(map[string]any{"stream": "s"})
	w := NewWriter(testCfg, testMapper)
	head := rec(stream, &provRec{match: "1", pos: 1, home: 0, away: 0, kind: KindGoal})
	built := false
	head.Then = func() []*connector.SourceRecord {
		built = true
		return []*connector.SourceRecord{
			{Partition: stream, Offset: head.Offset, Topic: "p.test.actions", Value: &provRec{match: "2", pos: 1, home: -1, kind: KindCard}},
			{Partition: stream, Offset: head.Offset, DeadLetter: &connector.DeadLetter{}},
			{Partition: stream, Offset: head.Offset, Topic: "p.test.actions", Value: &provRec{match: "1", pos: 1, home: 1, away: 0, kind: KindGoal}},
		}
	}
	deadHead := &connector.SourceRecord{Partition: stream, Offset: connector.Offset{"pos": int64(2)}, DeadLetter: &connector.DeadLetter{}}
	deadHead.Then = func() []*connector.SourceRecord {
		return []*connector.SourceRecord{{Partition: stream, Offset: deadHead.Offset, Topic: "p.test.actions", Value: &provRec{match: "3", pos: 2, home: -1, kind: KindCard}}}
	}
	batch := w.Append([]*connector.SourceRecord{head, deadHead})
	if built {
		t.Fatal("Append built what the task's Then builds: that waits for the worker")
	}
	out := connector.Flatten(batch)
	var got []string
	for _, r := range out {
		got = append(got, r.Topic+"/"+string(r.Key))
	}
	want := []string{"p.test.actions/1", "p.live.events/test:soccer:1", "p.test.actions/", "p.live.events/test:soccer:2", "/",
		"p.test.actions/", "p.live.events/test:soccer:1", "/", "p.test.actions/", "p.live.events/test:soccer:3",
		"p.live.matches/test:soccer:1", "p.live.matches/test:soccer:2", "p.live.matches/test:soccer:3"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("records\n got %q\nwant %q", got, want)
	}
	if m1 := out[10].Value.(*Match); m1.Events != 2 || *m1.Score.Home != 1 {
		t.Fatalf("match 1 state %+v: both its events count", m1)
	}
	for _, r := range out[10:] {
		if got := r.Offset["pos"]; got != int64(2) {
			t.Fatalf("state of %s has offset %v, want the batch's last (2)", r.Key, got)
		}
	}
}

func TestAppendCompletesScoreFromState(t *testing.T) {
	p := connector.NewPartition(map[string]any{"fixture": "1"})
	w := NewWriter(testCfg, testMapper)
	connector.Flatten(w.Append([]*connector.SourceRecord{rec(p, &provRec{match: "1", pos: 1, home: 2, away: 1, kind: KindGoal})}))
	out := connector.Flatten(w.Append([]*connector.SourceRecord{rec(p, &provRec{match: "1", pos: 2, home: -1, kind: KindCard})}))
	ev := out[1].Value.(*Event)
	if ev.Score == nil || *ev.Score.Home != 2 || *ev.Score.Away != 1 {
		t.Fatalf("event score %+v, want the state's 2-1", ev.Score)
	}
	if st := out[2].Value.(*Match); st.Events != 2 || st.LastKind != KindCard || st.LastPosition != "pos" {
		t.Fatalf("state %+v", st)
	}
}

func TestDisabledWriterAppendsNothing(t *testing.T) {
	w := NewWriter(Config{Enabled: false}, testMapper)
	if w != nil {
		t.Fatal("disabled config gave a writer")
	}
	b := []*connector.SourceRecord{rec(connector.NewPartition(map[string]any{"f": "1"}), &provRec{match: "1", home: -1})}
	if got := w.Append(b); len(got) != 1 {
		t.Fatalf("nil writer appended: %d records", len(got))
	}
	w.Restore(context.Background(), connector.NewTaskContext("c", 0, nil, nil, nil, nil), zap.NewNop())
}

func TestRestoreContinuesTheCount(t *testing.T) {
	schema := MatchSchema()
	prev := Match{MatchID: "test:soccer:1", Provider: "test", Sport: "soccer", ProviderMatchID: "1", Events: 41,
		Score: &Score{Home: Ptr[int32](3), Away: Ptr[int32](3)}, LastKind: KindGoal, LastReceivedAt: time.UnixMilli(5).UTC(), LastPosition: "9"}
	b, err := avro.Marshal(schema, prev)
	if err != nil {
		t.Fatal(err)
	}
	decode := func(_ context.Context, b []byte, v any) error { return avro.Unmarshal(schema, b, v) }
	tc := connector.NewTaskContext("c", 0, nil, nil, nil, nil).WithRestored(map[string][]connector.RestoredRecord{
		testCfg.MatchesTopic: {
			connector.NewRestoredRecord([]byte("test:soccer:1"), b, decode),
			connector.NewRestoredRecord([]byte("test:soccer:bad"), []byte{0xff}, decode),
		},
	})
	w := NewWriter(testCfg, testMapper)
	w.Restore(context.Background(), tc, zap.NewNop())
	if w.Matches() != 1 {
		t.Fatalf("restored %d matches, want 1 (the undecodable one skipped)", w.Matches())
	}
	p := connector.NewPartition(map[string]any{"fixture": "1"})
	out := connector.Flatten(w.Append([]*connector.SourceRecord{rec(p, &provRec{match: "1", pos: 10, home: -1, kind: KindCard})}))
	st := out[2].Value.(*Match)
	if st.Events != 42 || *st.Score.Home != 3 {
		t.Fatalf("state after restore %+v, want events 42 and the restored 3-3", st)
	}
	if ev := out[1].Value.(*Event); ev.Score == nil || *ev.Score.Away != 3 {
		t.Fatalf("event after restore lacks the restored score: %+v", ev.Score)
	}
}

func TestEncodesWithTheSchemas(t *testing.T) {
	p := connector.NewPartition(map[string]any{"fixture": "1"})
	w := NewWriter(testCfg, testMapper)
	out := connector.Flatten(w.Append([]*connector.SourceRecord{rec(p, &provRec{match: "1", pos: 1, home: 1, away: 0, kind: KindGoal})}))
	for _, r := range out[1:] {
		if _, err := avro.Marshal(r.Schema, r.Value); err != nil {
			t.Fatalf("%s: %v", r.Topic, err)
		}
	}
}
