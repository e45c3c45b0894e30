package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/rest"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// offsetsEnv is a worker config file on some cluster and how to run a
// worker from it in-process.
type offsetsEnv struct {
	t        *testing.T
	brokers  []string
	registry string
	props    string // worker.properties path
	prefix   string
}

func newOffsetsEnv(t *testing.T, brokers []string, registry, extra string) *offsetsEnv {
	u := testenv.UniqueName(t, "oc-")
	props := strings.Join([]string{
		"bootstrap.servers=" + strings.Join(brokers, ","),
		"schema.registry.url=" + registry,
		"group.id=" + u + "-g",
		"offset.storage.topic=" + u + "-offsets",
		"offset.storage.partitions=2",
		"topic.prefix=" + u,
		extra,
	}, "\n") + "\n"
	return &offsetsEnv{t: t, brokers: brokers, registry: registry, props: writeTemp(t, t.TempDir(), "worker.properties", props), prefix: u}
}

// worker starts a worker from the config file and the synthetic connector syn.
func (e *offsetsEnv) worker(n int) *worker.Worker {
	t := e.t
	t.Helper()
	ws, err := worker.LoadWorkerConfig(e.props)
	if err != nil {
		t.Fatal(err)
	}
	src, err := sr.NewClient(sr.URLs(e.registry))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(plugins(), append(ws.Options, worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := connector.Config{"name": "syn", "connector.class": "synthetic", "tasks.max": "2", "topic.prefix": e.prefix,
		"synthetic.partitions": "2", "synthetic.events.per.partition": fmt.Sprint(n), "synthetic.payload.bytes": "8",
		"topic.creation.default.partitions": "1"}
	if err := w.CreateConnector(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	return w
}

// waitOffsets waits until both synthetic partitions committed position n.
func (e *offsetsEnv) waitOffsets(n int64) {
	t := e.t
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(e.brokers...)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ws, _ := worker.LoadWorkerConfig(e.props)
		offs, err := worker.ReadConnectorOffsets(context.Background(), opts, ws.Config.String(worker.WKeyOffsetsTopic), "syn")
		done := 0
		if err == nil {
			for _, o := range offs.Offsets {
				if p, _ := connector.Offset(o.Offset).OffsetInt("position"); p == n {
					done++
				}
			}
		}
		if done == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets never reached %d: %+v %v", n, offs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cli runs `sportsconnect offsets ...` in-process.
func (e *offsetsEnv) cli(stdin string, args ...string) (int, string, string) {
	e.t.Helper()
	var stdout, stderr bytes.Buffer
	code := mainCode(context.Background(), append([]string{"offsets"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func (e *offsetsEnv) get() worker.ConnectorOffsets {
	e.t.Helper()
	code, out, errOut := e.cli("", "get", "--worker", e.props, "syn")
	if code != 0 {
		e.t.Fatalf("offsets get: exit %d: %s", code, errOut)
	}
	offs, err := worker.ParseConnectorOffsets([]byte(out))
	if err != nil {
		e.t.Fatalf("offsets get printed %q: %v", out, err)
	}
	return offs
}

func (e *offsetsEnv) positions() eoscheck.Positions {
	e.t.Helper()
	pos, _, err := eoscheck.ReadTopic(context.Background(), []kgo.Opt{kgo.SeedBrokers(e.brokers...)}, e.registry, e.prefix+".synthetic.events", 8)
	if err != nil {
		e.t.Fatal(err)
	}
	return pos
}

func positionOf(t *testing.T, offs worker.ConnectorOffsets, part int64) (int64, bool) {
	t.Helper()
	for _, o := range offs.Offsets {
		if p, _ := connector.Offset(o.Partition).OffsetInt("partition"); p == part {
			n, ok := connector.Offset(o.Offset).OffsetInt("position")
			return n, ok
		}
	}
	return 0, false
}

func seqs(parts ...[2]int64) []int64 {
	var out []int64
	for _, p := range parts {
		for i := p[0]; i <= p[1]; i++ {
			out = append(out, i)
		}
	}
	return out
}

// TestOffsetsSetAndResetRealBroker sets offsets with the CLI on the real
// broker, restarts the worker, and proves the synthetic task resumed from
// the set position; then resets them and proves it starts over.
func TestOffsetsSetAndResetRealBroker(t *testing.T) {
	const n = 30
	e := newOffsetsEnv(t, testenv.Brokers(t), testenv.Registry(t), "listeners=")
	w := e.worker(n)
	e.waitOffsets(n)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if p, _ := positionOf(t, e.get(), 0); p != n {
		t.Fatalf("partition 0 at %d before set, want %d", p, n)
	}

	file := writeTemp(t, t.TempDir(), "offsets.json", `{"offsets": [
		{"partition": {"partition": 0}, "offset": {"position": 12}},
		{"partition": {"partition": 1}, "offset": null}]}`)
	code, out, errOut := e.cli("", "set", "--worker", e.props, "--file", file, "syn")
	if code != 0 || !strings.Contains(out, "altered successfully") {
		t.Fatalf("offsets set: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	got := e.get()
	if p, ok := positionOf(t, got, 0); !ok || p != 12 || len(got.Offsets) != 1 {
		t.Fatalf("after set: %+v, want partition 0 at 12 only", got)
	}

	w = e.worker(n)
	e.waitOffsets(n)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pos := e.positions()
	if want := seqs([2]int64{1, n}, [2]int64{13, n}); !reflect.DeepEqual(pos[0], want) {
		t.Errorf("partition 0 holds %v, want %v (resumed after the set position 12)", pos[0], want)
	}
	if want := seqs([2]int64{1, n}, [2]int64{1, n}); !reflect.DeepEqual(pos[1], want) {
		t.Errorf("partition 1 holds %v, want %v (its offset deleted: from the start)", pos[1], want)
	}

	code, out, errOut = e.cli("", "reset", "--worker", e.props, "syn")
	if code != 0 || !strings.Contains(out, "reset successfully") {
		t.Fatalf("offsets reset: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if got := e.get(); len(got.Offsets) != 0 {
		t.Fatalf("after reset: %+v", got)
	}
	w = e.worker(n)
	e.waitOffsets(n)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := seqs([2]int64{1, n}, [2]int64{13, n}, [2]int64{1, n}); !reflect.DeepEqual(e.positions()[0], want) {
		t.Errorf("partition 0 after reset holds %v, want %v", e.positions()[0], want)
	}
}

// TestOffsetsRefusedWhileTransactionOpen opens a transaction under task
// 0's transactional id (as a running task does) and checks that set is
// refused, and that --force fences that producer.
func TestOffsetsRefusedWhileTransactionOpen(t *testing.T) {
	e := newOffsetsEnv(t, testenv.Brokers(t), testenv.Registry(t), "listeners=")
	w := e.worker(5)
	e.waitOffsets(5)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ws, err := worker.LoadWorkerConfig(e.props)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	zombie, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.TransactionalID(worker.TransactionalID(ws.Config.String(worker.WKeyGroupID), "syn", 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer zombie.Close()
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := zombie.ProduceSync(ctx, &kgo.Record{Topic: e.prefix + ".synthetic.events", Value: []byte("zombie")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	file := writeTemp(t, t.TempDir(), "offsets.json", `{"offsets":[{"partition":{"partition":0},"offset":{"position":2}}]}`)
	code, _, errOut := e.cli("", "set", "--worker", e.props, "--file", file, "syn")
	if code != 1 || !strings.Contains(errOut, "has a transaction open") || !strings.Contains(errOut, "--force") {
		t.Fatalf("set with an open transaction: exit %d, stderr %s", code, errOut)
	}
	if p, _ := positionOf(t, e.get(), 0); p != 5 {
		t.Fatalf("refused set changed the offset to %d", p)
	}
	code, out, errOut := e.cli("", "set", "--worker", e.props, "--file", file, "--force", "syn")
	if code != 0 {
		t.Fatalf("set --force: exit %d\n%s%s", code, out, errOut)
	}
	if p, _ := positionOf(t, e.get(), 0); p != 2 {
		t.Fatalf("forced set: partition 0 at %d, want 2", p)
	}
	if err := zombie.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Fatal("the fenced producer could still commit")
	}
}

// TestOffsetsThroughRunningWorker runs a worker with its REST API (on
// kfake) and checks that set is refused while the connector runs, and
// made through the API once it is stopped.
func TestOffsetsThroughRunningWorker(t *testing.T) {
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	// The API listens first, so listeners can name its port.
	e := newOffsetsEnv(t, env.Brokers(), env.RegistryURL(), "")
	w := e.worker(20)
	defer w.Close()
	api := rest.New(rest.Options{Worker: w, Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))})
	addr, err := api.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer api.Shutdown(context.Background()) //nolint:errcheck // test
	e.waitOffsets(20)
	file := writeTemp(t, t.TempDir(), "offsets.json", `{"offsets":[{"partition":{"partition":1},"offset":{"position":7}}]}`)
	base := "http://" + addr
	code, _, errOut := e.cli("", "set", "--worker", e.props, "--rest", base, "--file", file, "syn")
	if code != 1 || !strings.Contains(errOut, "it is RUNNING on the worker at "+base) || !strings.Contains(errOut, "curl -X PUT "+base+"/connectors/syn/stop") {
		t.Fatalf("set while running: exit %d, stderr %s", code, errOut)
	}
	req, _ := http.NewRequest(http.MethodPut, base+"/connectors/syn/stop", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("stop: %v %v", resp, err)
	}
	resp.Body.Close()
	code, out, errOut := e.cli("", "set", "--worker", e.props, "--rest", base, "--file", file, "syn")
	if code != 0 || !strings.Contains(out, "altered successfully (through the worker at "+base+")") {
		t.Fatalf("set while stopped: exit %d\n%s%s", code, out, errOut)
	}
	if p, _ := positionOf(t, e.get(), 1); p != 7 {
		t.Fatalf("partition 1 at %d, want 7", p)
	}
	code, out, _ = e.cli("", "reset", "--worker", e.props, "--rest", base, "syn")
	if code != 0 || !strings.Contains(out, "reset successfully (through the worker") {
		t.Fatalf("reset while stopped: exit %d %s", code, out)
	}
	var st map[string]any
	resp, err = http.Get(base + "/connectors/syn/status")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st["connector"].(map[string]any)["state"] != "STOPPED" {
		t.Fatalf("status %v", st)
	}
}

func TestOffsetsUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"offsets"}, 2},
		{[]string{"offsets", "frobnicate"}, 2},
		{[]string{"offsets", "get"}, 2},
		{[]string{"offsets", "--help"}, 0},
		{[]string{"offsets", "set", "--help"}, 0},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		if code := mainCode(context.Background(), tc.args, &stdout, &stderr); code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, stderr.String())
		}
	}
}

// TestOffsetsRefusedWhileIdleWorkerRuns: a worker without a REST API runs
// the connector, which has emitted everything and sits idle with no
// transaction open. The offsets command must still see it running (it is a
// member of its group) and refuse; fencing would fail the idle task the
// next time it wrote.
func TestOffsetsRefusedWhileIdleWorkerRuns(t *testing.T) {
	e := newOffsetsEnv(t, testenv.Brokers(t), testenv.Registry(t), "listeners=")
	w := e.worker(5)
	defer w.Close()
	e.waitOffsets(5)
	file := writeTemp(t, t.TempDir(), "offsets.json", `{"offsets":[{"partition":{"partition":0},"offset":{"position":2}}]}`)
	ws, err := worker.LoadWorkerConfig(e.props)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		members, err := worker.RunningWorkers(context.Background(), ws.Kafka, ws.Config.String(worker.WKeyGroupID))
		if err == nil && len(members) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker never showed in its group: %v %v", members, err)
		}
	}
	code, _, errOut := e.cli("", "set", "--worker", e.props, "--file", file, "syn")
	if !strings.Contains(errOut, worker.ErrWorkerRunning.Error()) || !strings.Contains(errOut, "sportsconnect-worker@") {
		t.Fatalf("set with an idle worker running: exit %d, stderr %s", code, errOut)
	}
	if p, _ := positionOf(t, e.get(), 0); p != 5 {
		t.Fatalf("refused set changed the offset to %d", p)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := e.cli("", "set", "--worker", e.props, "--file", file, "syn")
	if code != 0 {
		t.Fatalf("set after the worker stopped: exit %d\n%s%s", code, out, errOut)
	}
}
