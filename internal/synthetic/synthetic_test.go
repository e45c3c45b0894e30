package synthetic

import (
	"context"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"go.uber.org/zap"
)

func TestMakeIsDeterministic(t *testing.T) {
	a, b := Make(3, 17, 560), Make(3, 17, 560)
	if a != b {
		t.Fatal("the same position yields different events")
	}
	if c := Make(3, 18, 560); c.Payload == a.Payload {
		t.Fatal("neighbouring positions share a payload")
	}
	if len(a.Payload) != 560 || a.Position != 17 || a.Partition != 3 || !a.EventTime.Equal(time.Date(2026, 1, 1, 0, 0, 17, 0, time.UTC)) {
		t.Fatalf("event %+v", a)
	}
	b2, err := avro.Marshal(Schema(), a)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b2); n < 570 || n > 620 {
		t.Fatalf("encoded size %d, want about 600", n)
	}
}

func newTask(t *testing.T, cfg connector.Config, offsets map[int32]int64) *Task {
	t.Helper()
	full, err := Spec().Merge(connector.CommonSpec()).Validate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &Connector{log: zap.NewNop()}
	if err := c.Start(context.Background(), full); err != nil {
		t.Fatal(err)
	}
	tcs, err := c.TaskConfigs(int(full.Int(connector.KeyTasksMax)))
	if err != nil {
		t.Fatal(err)
	}
	tc := tcs[0]
	tc[connector.KeyTaskIndex], tc[connector.KeyTaskCount] = "0", "2"
	task := c.NewTask().(*Task)
	ctx := connector.NewTaskContextForTest("syn", 0, tc, zap.NewNop(), offsetsOf(offsets)...)
	if err := task.Start(context.Background(), ctx); err != nil {
		t.Fatal(err)
	}
	return task
}

func offsetsOf(m map[int32]int64) []connector.PartitionOffset {
	var out []connector.PartitionOffset
	for p, n := range m {
		out = append(out, connector.PartitionOffset{Partition: PartitionOf(p), Offset: connector.Offset{"position": n}})
	}
	return out
}

func TestTaskOwnsItsShareAndResumes(t *testing.T) {
	task := newTask(t, connector.Config{"name": "syn", "connector.class": Class, "tasks.max": "2",
		KeyPartitions: "4", KeyEvents: "3", KeyBatch: "100"}, map[int32]int64{2: 2})
	recs, err := task.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Task 0 of 2 owns partitions 0 and 2; partition 2 resumes after 2.
	got := map[int32][]int64{}
	for _, r := range recs {
		ev := r.Value.(Event)
		got[ev.Partition] = append(got[ev.Partition], ev.Position)
		if pos, _ := r.Offset.OffsetInt("position"); pos != ev.Position || r.Partition.String() != PartitionOf(ev.Partition).String() {
			t.Fatalf("record %+v carries the wrong source position", r)
		}
	}
	if len(got) != 2 || len(got[0]) != 3 || len(got[2]) != 1 || got[2][0] != 3 {
		t.Fatalf("positions %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if recs, err := task.Poll(ctx); len(recs) != 0 || err != nil {
		t.Fatalf("after the end Poll returned %d records, %v", len(recs), err)
	}
}

func TestTaskRejectsMalformedOffset(t *testing.T) {
	c := &Connector{log: zap.NewNop()}
	full, _ := Spec().Merge(connector.CommonSpec()).Validate(connector.Config{"name": "s", "connector.class": Class, KeyPartitions: "1"})
	_ = c.Start(context.Background(), full)
	tc := connector.NewTaskContextForTest("s", 0, full, zap.NewNop(), connector.PartitionOffset{Partition: PartitionOf(0), Offset: connector.Offset{"position": "x"}})
	if err := c.NewTask().Start(context.Background(), tc); err == nil {
		t.Fatal("want an error for a non-integer committed position")
	}
}
