package e2e

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// stepper is a test plugin: one source partition per task ("step-<task>"),
// positions 1..n, written to <prefix>.steps with the position in the
// standard position header. It records the offset each task started from,
// and can stall one Poll (ignoring its deadline) to hold a transaction
// open past the producer's transaction timeout.
type stepper struct {
	payload int // bytes of payload per record

	mu       sync.Mutex
	n        int64   // positions 1..n are emitted; may be raised while running
	started  []int64 // the committed position each task session started from
	stallAt  int64   // a Poll about to emit this position first sleeps stallFor
	stallFor time.Duration
	big      map[int64]int // payload bytes of particular positions
}

func (s *stepper) plugin() connector.Plugin {
	return connector.Plugin{Class: "stepper", New: func(*zap.Logger) connector.Connector { return &stepConn{s: s} }}
}

func (s *stepper) limit() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *stepper) setLimit(n int64) {
	s.mu.Lock()
	s.n = n
	s.mu.Unlock()
}

func (s *stepper) starts() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.started...)
}

type stepConn struct {
	s      *stepper
	tasks  int
	prefix string
}

func (c *stepConn) Start(_ context.Context, cfg connector.Config) error {
	c.prefix = cfg.String(connector.KeyTopicPrefix)
	return nil
}
func (c *stepConn) Topics() []connector.TopicSpec {
	return []connector.TopicSpec{{Name: c.prefix + ".steps", Schema: synthetic.Schema()}}
}
func (c *stepConn) TaskConfigs(maxTasks int) ([]connector.Config, error) {
	out := make([]connector.Config, maxTasks)
	for i := range out {
		out[i] = connector.Config{connector.KeyTopicPrefix: c.prefix}
	}
	return out, nil
}
func (c *stepConn) NewTask() connector.SourceTask { return &stepTask{s: c.s} }
func (c *stepConn) Stop() error                   { return nil }

type stepTask struct {
	s     *stepper
	topic string
	id    int32
	p     connector.Partition
	last  int64
}

func (t *stepTask) Start(_ context.Context, tc *connector.TaskContext) error {
	t.topic = tc.Config.String(connector.KeyTopicPrefix) + ".steps"
	t.id = int32(tc.Task)
	t.p = connector.NewPartition(map[string]any{"step": strconv.Itoa(tc.Task)})
	if o, ok := tc.Offset(t.p); ok {
		t.last, _ = o.OffsetInt("position")
	}
	t.s.mu.Lock()
	t.s.started = append(t.s.started, t.last)
	t.s.mu.Unlock()
	return nil
}

func (t *stepTask) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	if t.last >= t.s.limit() {
		select { // idle; look again for a raised limit
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
		return nil, nil
	}
	n := t.last + 1
	t.s.mu.Lock()
	stall := t.s.stallAt == n
	if stall {
		t.s.stallAt = 0
	}
	t.s.mu.Unlock()
	if stall {
		time.Sleep(t.s.stallFor) // deliberately past the poll deadline
	}
	t.last = n
	now := time.Now()
	payload := t.s.payload
	if b, ok := t.s.big[n]; ok {
		payload = b
	}
	v := synthetic.Make(t.id, n, payload)
	return []*connector.SourceRecord{{
		Partition: t.p, Offset: connector.Offset{"position": n}, Topic: t.topic,
		Key: []byte(t.p.String()), Value: v, Schema: synthetic.Schema(), Raw: []byte(v.Payload),
		Headers: connector.SourceHeaders("stepper", strconv.FormatInt(n, 10), now), Timestamp: now,
	}}, nil
}

func (t *stepTask) Stop() error { return nil }

// stepperWorker returns a started worker running only the stepper plugin.
func stepperWorker(t *testing.T, n names, s *stepper, opts ...worker.Option) *worker.Worker {
	t.Helper()
	src, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(connector.NewPlugins(s.plugin()), append([]worker.Option{
		worker.WithKafka(kgo.SeedBrokers(testenv.Brokers(t)...)),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(zaptest.NewLogger(t)),
		worker.WithGroupID(n.group),
		worker.WithOffsetsTopic(n.offsets, 1, -1),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

// stepCounts reads topic read_committed and returns how many times each
// (key, position) was written.
func stepCounts(ctx context.Context, t *testing.T, topic string) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := readback.Committed(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, []string{topic}, func(r *kgo.Record) error {
		for _, h := range r.Headers {
			if h.Key == connector.HeaderPosition {
				out[string(r.Key)+"@"+string(h.Value)]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkSteps fails t unless every position 1..n of each of tasks source
// partitions was written exactly once.
func checkSteps(t *testing.T, counts map[string]int, tasks int, n int64) {
	t.Helper()
	var bad []string
	for task := 0; task < tasks; task++ {
		key := connector.NewPartition(map[string]any{"step": strconv.Itoa(task)}).String()
		for pos := int64(1); pos <= n; pos++ {
			if c := counts[key+"@"+strconv.FormatInt(pos, 10)]; c != 1 {
				bad = append(bad, key+"@"+strconv.FormatInt(pos, 10)+"×"+strconv.Itoa(c))
			}
		}
	}
	if total := len(counts); total != tasks*int(n) {
		bad = append(bad, "distinct records "+strconv.Itoa(total))
	}
	if len(bad) > 0 {
		t.Fatalf("not exactly once: %s", strings.Join(bad, ", "))
	}
}

// waitTasks waits until every task of conn on w has committed its last position.
func waitSteps(t *testing.T, w *worker.Worker, conn string, n int64) {
	t.Helper()
	waitFor(t, 60*time.Second, conn+" commits position "+strconv.FormatInt(n, 10), func() bool {
		st, err := w.Status(conn)
		if err != nil || len(st.Tasks) == 0 {
			return false
		}
		for _, ts := range st.Tasks {
			if ts.State == worker.StateFailed {
				t.Fatalf("task %d failed: %s", ts.ID, ts.Trace)
			}
			key := connector.NewPartition(map[string]any{"step": strconv.Itoa(ts.ID)}).String()
			if pos, _ := ts.Stats.Committed[key].OffsetInt("position"); pos < n {
				return false
			}
		}
		return true
	})
}
