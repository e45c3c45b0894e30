package connectortest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// env is one test's names on the shared broker and its source.
type env struct {
	t      *testing.T
	d      Driver
	src    Source
	group  string
	offs   string
	prefix string
	name   string
}

func newEnv(t *testing.T, d Driver) *env {
	u := testenv.UniqueName(t, "ct-")
	return &env{t: t, d: d, src: d.Start(t), group: u + "-g", offs: u + "-offsets", prefix: u, name: "accept"}
}

// config is the connector config of the test, with extra settings.
func (e *env) config(extra ...string) connector.Config {
	c := e.src.Config().Clone()
	c[connector.KeyName] = e.name
	c[connector.KeyClass] = e.d.Plugin().Class
	c[connector.KeyTopicPrefix] = e.prefix
	c[connector.KeyTxnBoundary] = connector.BoundaryInterval
	c[connector.KeyTxnBoundaryIntervalMs] = "200"
	c[connector.KeyTopicPartitions] = "3"
	// Simulators send bad input in every test; it goes aside, counted.
	c[connector.KeyErrorsTolerance] = connector.ToleranceAll
	c[connector.KeyDLQTopic] = e.dlq()
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i]] = extra[i+1]
	}
	return c
}

// dlq is the test's dead-letter topic.
func (e *env) dlq() string { return e.prefix + ".dlq" }

// worker starts a worker on the real broker running the connector.
func (e *env) worker(cfg connector.Config, opts ...worker.Option) *worker.Worker {
	t := e.t
	t.Helper()
	src, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(connector.NewPlugins(e.d.Plugin()), append([]worker.Option{
		worker.WithKafka(kgo.SeedBrokers(testenv.Brokers(t)...)),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))),
		worker.WithGroupID(e.group),
		worker.WithOffsetsTopic(e.offs, 3, -1),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.CreateConnector(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	return w
}

// read reads topic back read_committed and returns the identity of every
// record, in the order read.
func (e *env) read(ctx context.Context, topic string, identity func(*kgo.Record) (string, error)) []string {
	t := e.t
	t.Helper()
	var ids []string
	err := readback.Committed(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, []string{topic}, func(r *kgo.Record) error {
		id, err := identity(r)
		if err != nil {
			return err
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", topic, err)
	}
	return ids
}

// progress returns how many of want the topic holds now (what is
// committed, never waiting).
func (e *env) progress(ctx context.Context) int {
	n := 0
	_ = readback.Stable(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(e.t)...)}, []string{e.src.Topic(e.prefix)}, func(*kgo.Record) error {
		n++
		return nil
	})
	return n
}

// waitProgress waits until the topic holds at least n records, failing
// the test if a task fails first.
func (e *env) waitProgress(ctx context.Context, w *worker.Worker, n int, timeout time.Duration) {
	t := e.t
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if got := e.progress(ctx); got >= n {
			return
		}
		if st, err := w.Status(e.name); err == nil {
			for _, ts := range st.Tasks {
				if ts.State == worker.StateFailed {
					t.Fatalf("task %d failed: %s", ts.ID, ts.Trace)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the topic holds %d records after %s, want at least %d", e.progress(ctx), timeout, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkExactlyOnce fails t unless ids holds every identity of want exactly
// once and nothing else.
func checkExactlyOnce(t *testing.T, ids, want []string) {
	t.Helper()
	if err := exactlyOnce(ids, want); err != nil {
		t.Fatal(err)
	}
}

// exactlyOnce says what is missing, doubled or unexpected in ids.
func exactlyOnce(ids, want []string) error {
	count := map[string]int{}
	for _, id := range ids {
		count[id]++
	}
	var missing, twice, extra []string
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
		switch c := count[w]; {
		case c == 0:
			missing = append(missing, w)
		case c > 1:
			twice = append(twice, fmt.Sprintf("%s×%d", w, c))
		}
	}
	for id := range count {
		if !wanted[id] {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(twice)+len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	return fmt.Errorf("not exactly once (%d records read, %d wanted): missing %d %s, twice %d %s, unexpected %d %s",
		len(ids), len(want), len(missing), head(missing), len(twice), head(twice), len(extra), head(extra))
}

func head(s []string) string {
	if len(s) > 5 {
		s = append(s[:5:5], "…")
	}
	return "[" + strings.Join(s, " ") + "]"
}

func errNoPosition(r *kgo.Record) error {
	return fmt.Errorf("record at %s/%d@%d has no %s header", r.Topic, r.Partition, r.Offset, connector.HeaderPosition)
}
