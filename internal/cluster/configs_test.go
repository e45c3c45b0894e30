package cluster

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"
)

// TestConfigsThroughKafkaLog: connector configs, target states and task
// sets written to a real config topic reach a tailing view; a task set is
// visible only with its commit record, ReadToEnd waits for a transaction
// open when it was called, and a tombstone deletes the connector.
func TestConfigsThroughKafkaLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := testenv.NewTopic(t, "configs-")
	testenv.CreateTopic(t, topic, 1, map[string]string{"cleanup.policy": "compact"})
	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	changes := make(chan struct{}, 100)
	view := NewConfigs(func() { changes <- struct{}{} })
	l, err := NewKafkaLog(opts, topic, view.Apply, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	leader := testenv.Client(t, kgo.TransactionalID(testenv.UniqueName(t, "leader-")))
	write := func(commit bool, recs ...*kgo.Record) {
		t.Helper()
		if err := leader.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := leader.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if commit {
			if err := leader.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(true, ConnectorRecord(topic, "a", map[string]string{"connector.class": "synthetic", "tasks.max": "2"}))
	write(true, TaskRecords(topic, "a", []map[string]string{{"task.index": "0"}, {"task.index": "1"}})[:2]...) // no commit yet
	if err := l.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	snap, _ := view.Snapshot()
	if st := snap["a"]; st.Target != TargetStarted || st.Tasks != nil || st.Config["tasks.max"] != "2" {
		t.Fatalf("before the commit record: %+v", st)
	}

	write(false, append(TaskRecords(topic, "a", []map[string]string{{"task.index": "0"}, {"task.index": "1"}})[2:],
		TargetStateRecord(topic, "a", TargetPaused))...) // open
	go func() {
		time.Sleep(time.Second)
		if err := leader.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	if err := l.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Fatalf("ReadToEnd returned after %s, before the open transaction committed", waited)
	}
	snap, _ = view.Snapshot()
	want := []map[string]string{{"task.index": "0"}, {"task.index": "1"}}
	if st := snap["a"]; st.Target != TargetPaused || !reflect.DeepEqual(st.Tasks, want) {
		t.Fatalf("after the commit: %+v", st)
	}

	write(true, ConnectorRecord(topic, "a", nil))
	if err := l.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	if names := view.Names(); len(names) != 0 {
		t.Fatalf("after the tombstone: %v", names)
	}
	if len(changes) == 0 {
		t.Fatal("onChange never called")
	}
}

// TestStatusesApply: the latest status per connector and task wins; a
// tombstone deletes; unknown keys are ignored.
func TestStatusesApply(t *testing.T) {
	s := NewStatuses()
	for _, r := range []*kgo.Record{
		ConnectorStatusRecord("t", "a", Status{State: "RUNNING", WorkerID: "w1:8083", Generation: 1}),
		TaskStatusRecord("t", "a", 0, Status{State: "RUNNING", WorkerID: "w1:8083", Generation: 1}),
		TaskStatusRecord("t", "a", 1, Status{State: "RUNNING", WorkerID: "w2:8083", Generation: 1}),
		TaskStatusRecord("t", "a", 1, Status{State: "FAILED", Trace: "boom", WorkerID: "w2:8083", Generation: 2}),
		{Key: []byte("status-task-a-0")},
		{Key: []byte("something-else"), Value: []byte("{}")},
	} {
		s.Apply(r)
	}
	c, tasks, ok := s.Connector("a")
	if !ok || c.WorkerID != "w1:8083" || len(tasks) != 1 || tasks[1].State != "FAILED" || tasks[1].Generation != 2 {
		t.Fatalf("connector %+v tasks %+v", c, tasks)
	}
}
