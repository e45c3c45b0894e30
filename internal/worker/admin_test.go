package worker_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// adminEnv is a worker on kfake running one synthetic connector "adm".
type adminEnv struct {
	env *embedded.Env
	w   *worker.Worker
	ctx context.Context
}

func startAdmin(t *testing.T, cfg connector.Config) *adminEnv {
	t.Helper()
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	w := newWorker(t, env.Brokers(), env.RegistryURL())
	t.Cleanup(func() { _ = w.Close() })
	ctx := context.Background()
	base := connector.Config{"name": "adm", "connector.class": "synthetic", "synthetic.payload.bytes": "16"}
	for k, v := range cfg {
		base[k] = v
	}
	if err := w.CreateConnector(ctx, base); err != nil {
		t.Fatal(err)
	}
	return &adminEnv{env: env, w: w, ctx: ctx}
}

// waitState waits until the connector and all its tasks are in state.
func (a *adminEnv) waitState(t *testing.T, want worker.State) worker.ConnectorStatus {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := a.w.Status("adm")
		if err != nil {
			t.Fatal(err)
		}
		ok := st.State == want
		for _, ts := range st.Tasks {
			ok = ok && ts.State == want
		}
		if ok {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("connector not %s: %+v", want, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitAll waits until each of k synthetic partitions has position n
// committed, whichever task holds it (a task's view may include
// partitions another task committed before it started).
func (a *adminEnv) waitAll(t *testing.T, k int, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := a.w.Status("adm")
		if err != nil {
			t.Fatal(err)
		}
		done := map[string]bool{}
		for _, ts := range st.Tasks {
			if ts.State == worker.StateFailed {
				t.Fatalf("task %d failed: %s", ts.ID, ts.Trace)
			}
			for p, o := range ts.Stats.Committed {
				if got, _ := o.OffsetInt("position"); got == n {
					done[p] = true
				}
			}
		}
		if len(done) == k {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("connector adm did not commit position %d in %d partitions: %+v", n, k, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func commits(t *testing.T, w *worker.Worker) int64 {
	t.Helper()
	st, err := w.Status("adm")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, ts := range st.Tasks {
		n += ts.Stats.Commits
	}
	return n
}

func TestPauseResume(t *testing.T) {
	a := startAdmin(t, connector.Config{"tasks.max": "2", "synthetic.partitions": "2", "synthetic.rate": "500", "synthetic.batch.max": "10"})
	a.waitState(t, worker.StateRunning)
	for commits(t, a.w) == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	if err := a.w.PauseConnector("adm"); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, worker.StatePaused)
	before := commits(t, a.w)
	time.Sleep(400 * time.Millisecond)
	if after := commits(t, a.w); after != before {
		t.Fatalf("paused connector committed %d more transactions", after-before)
	}
	if err := a.w.ResumeConnector(a.ctx, "adm"); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, worker.StateRunning)
	deadline := time.Now().Add(10 * time.Second)
	for commits(t, a.w) == before {
		if time.Now().After(deadline) {
			t.Fatal("resumed connector commits nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStopAlterResume is KIP-875's flow: offsets can only be changed while
// the connector is STOPPED, and on resume its tasks start from them.
func TestStopAlterResume(t *testing.T) {
	const n = 40
	a := startAdmin(t, connector.Config{"tasks.max": "2", "synthetic.partitions": "2", "synthetic.events.per.partition": "40"})
	a.waitAll(t, 2, n)

	p0 := synthetic.PartitionOf(0).Fields()
	p1 := synthetic.PartitionOf(1).Fields()
	alter := worker.ConnectorOffsets{Offsets: []worker.OffsetEntry{
		{Partition: p0, Offset: map[string]any{"position": 15}},
		{Partition: p1, Offset: nil}, // deleted: partition 1 starts over
	}}
	if err := a.w.AlterOffsets(a.ctx, "adm", alter); !errors.Is(err, worker.ErrNotStopped) {
		t.Fatalf("altering a running connector's offsets: %v, want ErrNotStopped", err)
	}
	if err := a.w.ResetOffsets(a.ctx, "adm"); !errors.Is(err, worker.ErrNotStopped) {
		t.Fatalf("resetting a running connector's offsets: %v, want ErrNotStopped", err)
	}
	if err := a.w.StopConnector("adm"); err != nil {
		t.Fatal(err)
	}
	st, err := a.w.Status("adm")
	if err != nil || st.State != worker.StateStopped || len(st.Tasks) != 0 {
		t.Fatalf("stopped connector status %+v, %v; want STOPPED without tasks", st, err)
	}
	if names := a.w.Connectors(); !reflect.DeepEqual(names, []string{"adm"}) {
		t.Fatalf("Connectors = %v", names)
	}
	if err := a.w.AlterOffsets(a.ctx, "adm", alter); err != nil {
		t.Fatal(err)
	}
	got, err := a.w.Offsets(a.ctx, "adm")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Offsets) != 1 || got.Offsets[0].Partition["partition"] == nil {
		t.Fatalf("offsets after alter = %+v, want partition 0 only", got)
	}
	if pos, _ := connector.Offset(got.Offsets[0].Offset).OffsetInt("position"); pos != 15 {
		t.Fatalf("partition 0 offset %v, want position 15", got.Offsets[0].Offset)
	}
	if err := a.w.ResumeConnector(a.ctx, "adm"); err != nil {
		t.Fatal(err)
	}
	a.waitAll(t, 2, n)

	// Partition 0 was re-read from 16, partition 1 from 1.
	opts := []kgo.Opt{kgo.SeedBrokers(a.env.Brokers()...)}
	pos, _, err := eoscheck.ReadTopic(a.ctx, opts, a.env.RegistryURL(), "sportsconnect.synthetic.events", 16)
	if err != nil {
		t.Fatal(err)
	}
	want0 := append(seq(1, n), seq(16, n)...)
	want1 := append(seq(1, n), seq(1, n)...)
	if !reflect.DeepEqual(pos[0], want0) {
		t.Errorf("partition 0 positions %v, want %v", pos[0], want0)
	}
	if !reflect.DeepEqual(pos[1], want1) {
		t.Errorf("partition 1 positions %v, want %v", pos[1], want1)
	}

	// Reset: everything starts over.
	if err := a.w.StopConnector("adm"); err != nil {
		t.Fatal(err)
	}
	if err := a.w.ResetOffsets(a.ctx, "adm"); err != nil {
		t.Fatal(err)
	}
	if got, err := a.w.Offsets(a.ctx, "adm"); err != nil || len(got.Offsets) != 0 {
		t.Fatalf("offsets after reset = %+v, %v; want none", got, err)
	}
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestRestartTaskAndConnector(t *testing.T) {
	a := startAdmin(t, connector.Config{"tasks.max": "2", "synthetic.partitions": "2", "synthetic.rate": "200"})
	a.waitState(t, worker.StateRunning)
	if err := a.w.RestartTask("adm", 1); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, worker.StateRunning)
	if err := a.w.RestartTask("adm", 7); !errors.Is(err, worker.ErrUnknownTask) {
		t.Fatalf("restart of task 7: %v, want ErrUnknownTask", err)
	}
	if err := a.w.RestartTask("nope", 0); !errors.Is(err, worker.ErrUnknownConnector) {
		t.Fatalf("restart of unknown connector: %v", err)
	}
	if err := a.w.PauseConnector("adm"); err != nil {
		t.Fatal(err)
	}
	if err := a.w.RestartConnector(a.ctx, "adm", true, false); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, worker.StatePaused) // a restart keeps the target state
}

func TestPutConfigAndInfoRedacted(t *testing.T) {
	a := startAdmin(t, connector.Config{"synthetic.partitions": "2", "synthetic.rate": "100"})
	// An invalid update is refused before anything stops.
	_, err := a.w.PutConnectorConfig(a.ctx, connector.Config{"name": "adm", "connector.class": "synthetic", "tasks.max": "zero"})
	var ces connector.ConfigErrors
	if !errors.As(err, &ces) {
		t.Fatalf("invalid update: %v, want ConfigErrors", err)
	}
	a.waitState(t, worker.StateRunning)

	t.Setenv("ADM_SECRET", "s3cret-value")
	created, err := a.w.PutConnectorConfig(a.ctx, connector.Config{"name": "adm", "connector.class": "synthetic", "tasks.max": "2",
		"synthetic.partitions": "4", "synthetic.rate": "100"})
	if err != nil || created {
		t.Fatalf("update: created=%v err=%v", created, err)
	}
	info, err := a.w.Info("adm")
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Tasks) != 2 || info.Config["tasks.max"] != "2" {
		t.Fatalf("info after update: %+v", info)
	}
	// Unknown keys are refused, so a secret reaches Info only through a
	// known password key; LooksSecret covers keys added by the worker.
	created, err = a.w.PutConnectorConfig(a.ctx, connector.Config{"name": "other", "connector.class": "synthetic", "synthetic.rate": "10"})
	if err != nil || !created {
		t.Fatalf("create through put: created=%v err=%v", created, err)
	}
	if err := a.w.DeleteConnector("other"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.w.Info("other"); !errors.Is(err, worker.ErrUnknownConnector) {
		t.Fatalf("deleted connector still known: %v", err)
	}
	if err := a.w.CreateConnector(a.ctx, connector.Config{"name": "adm", "connector.class": "synthetic"}); !errors.Is(err, worker.ErrConnectorExists) {
		t.Fatalf("duplicate create: %v", err)
	}
}

func TestParseConnectorOffsets(t *testing.T) {
	cases := []struct {
		name, body string
		wantErr    bool
		want       int
	}{
		{"connect doc shape", `{"offsets":[{"partition":{"filename":"/data/a.txt"},"offset":{"position":30}}]}`, false, 1},
		{"null offset deletes", `{"offsets":[{"partition":{"fixture":"1"},"offset":null}]}`, false, 1},
		{"missing offset deletes", `{"offsets":[{"partition":{"fixture":"1"}}]}`, false, 1},
		{"empty list", `{"offsets":[]}`, false, 0},
		{"no offsets field", `{}`, true, 0},
		{"empty partition", `{"offsets":[{"partition":{},"offset":{"a":1}}]}`, true, 0},
		{"partition not object", `{"offsets":[{"partition":"x","offset":{"a":1}}]}`, true, 0},
		{"offset not object", `{"offsets":[{"partition":{"a":1},"offset":5}]}`, true, 0},
		{"unknown field", `{"offsets":[{"partition":{"a":1},"offset":{"a":1},"extra":1}]}`, true, 0},
		{"not json", `offsets`, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := worker.ParseConnectorOffsets([]byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, worker.ErrBadOffsets) {
				t.Fatalf("err %v is not ErrBadOffsets", err)
			}
			if err == nil && len(got.Offsets) != tc.want {
				t.Fatalf("%d entries, want %d", len(got.Offsets), tc.want)
			}
		})
	}
	// Numbers stay exact.
	got, err := worker.ParseConnectorOffsets([]byte(`{"offsets":[{"partition":{"p":1},"offset":{"position":9007199254740993}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := connector.Offset(got.Offsets[0].Offset).OffsetInt("position"); !ok || n != 9007199254740993 {
		t.Fatalf("position %v", got.Offsets[0].Offset)
	}
}
