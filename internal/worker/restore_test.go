package worker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

const counterSchema = `{"type":"record","name":"Counter","namespace":"test","fields":[{"name":"n","type":"long"}]}`

type counter struct {
	N int64 `avro:"n"`
}

// counting is a test plugin with a Restore topic "state": each Poll adds
// one to counter "<name>/k" (from the restored value), writes it to
// "state", and deletes key "<name>/gone" (a tombstone) after writing it once.
type counting struct {
	schema avro.Schema
	mu     sync.Mutex
	seen   map[string][]string // by connector name: what each Start was restored, "key=n"
	polls  int64
}

func (c *counting) plugin() connector.Plugin {
	return connector.Plugin{Class: "counting", New: func(*zap.Logger) connector.Connector { return &cConn{c: c} }}
}

type cConn struct {
	c    *counting
	name string
}

func (k *cConn) Start(_ context.Context, cfg connector.Config) error {
	k.name = cfg.String("name")
	return nil
}
func (k *cConn) Topics() []connector.TopicSpec {
	return []connector.TopicSpec{{Name: "state", Schema: k.c.schema, Compact: true, Restore: true}}
}
func (k *cConn) TaskConfigs(int) ([]connector.Config, error) { return []connector.Config{{}}, nil }
func (k *cConn) NewTask() connector.SourceTask               { return &cTask{c: k.c, name: k.name} }
func (k *cConn) Stop() error                                 { return nil }

type cTask struct {
	c    *counting
	name string
	n    int64
	p    connector.Partition
}

func (t *cTask) Start(ctx context.Context, tc *connector.TaskContext) error {
	t.p = connector.NewPartition(map[string]any{"c": "k"})
	var got []string
	for _, r := range tc.Restored("state") {
		var v counter
		if err := r.Decode(ctx, &v); err != nil {
			return err
		}
		got = append(got, fmt.Sprintf("%s=%d", r.Key, v.N))
		if string(r.Key) == t.name+"/k" {
			t.n = v.N
		}
	}
	t.c.mu.Lock()
	t.c.seen[t.name] = append(t.c.seen[t.name], fmt.Sprint(got))
	t.c.mu.Unlock()
	return nil
}

func (t *cTask) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	if t.n >= 5 {
		<-ctx.Done()
		return nil, nil
	}
	time.Sleep(5 * time.Millisecond)
	t.n++
	off := connector.Offset{"n": t.n}
	recs := []*connector.SourceRecord{{Partition: t.p, Offset: off, Topic: "state", Key: []byte(t.name + "/k"), Value: counter{N: t.n}, Schema: t.c.schema}}
	switch t.n {
	case 1:
		recs = append(recs, &connector.SourceRecord{Partition: t.p, Offset: off, Topic: "state", Key: []byte(t.name + "/gone"), Value: counter{N: 99}, Schema: t.c.schema})
	case 2:
		recs = append(recs, &connector.SourceRecord{Partition: t.p, Offset: off, Topic: "state", Key: []byte(t.name + "/gone")}) // tombstone
	}
	return recs, nil
}

func (t *cTask) Stop() error { return nil }

// TestRestoreTopicHandsTheLatestStateToTheNextTask: a task restarted gets
// the latest value of each key its connector wrote to a Restore topic,
// without deleted keys and without another connector's keys.
func TestRestoreTopicHandsTheLatestStateToTheNextTask(t *testing.T) {
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	src, _ := sr.NewClient(sr.URLs(env.RegistryURL()))
	c := &counting{schema: avro.MustParse(counterSchema), seen: map[string][]string{}}
	w, err := worker.New(connector.NewPlugins(c.plugin()),
		worker.WithKafka(kgo.SeedBrokers(env.Brokers()...)), worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(zaptest.NewLogger(t)), worker.WithOffsetsTopic("offsets", 1, -1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	for _, name := range []string{"a", "b"} {
		if err := w.CreateConnector(ctx, connector.Config{"name": name, "connector.class": "counting", "topic.prefix": ""}); err != nil {
			t.Fatal(err)
		}
	}
	waitCommitted := func(name string, n int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			st, err := w.Status(name)
			if err == nil && len(st.Tasks) == 1 {
				if o, ok := st.Tasks[0].Stats.Committed[`{"c":"k"}`]; ok {
					if got, _ := o.OffsetInt("n"); got == n {
						return
					}
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s: n=%d not committed", name, n)
	}
	waitCommitted("a", 5)
	waitCommitted("b", 5)
	if err := w.RestartConnector(ctx, "a", true, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c.mu.Lock()
		seen := append([]string(nil), c.seen["a"]...)
		c.mu.Unlock()
		if len(seen) == 2 {
			if seen[0] != "[]" || seen[1] != "[a/k=5]" {
				t.Fatalf("restored to connector a: first start %s, restart %s; want [] then [a/k=5] (no tombstoned key, no key of b's)", seen[0], seen[1])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("connector a was not restarted: starts %v", seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
