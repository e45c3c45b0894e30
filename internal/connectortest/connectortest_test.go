package connectortest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// paced is the suite's own test provider: K source partitions of N events
// each at a fixed rate, every tenth event of partition 0 undecodable (a
// DeadLetter), so each part of the suite has something to check.
type paced struct{ k, n int }

const pacedSchema = "synthetic_event.avsc"

func (p paced) Plugin() connector.Plugin {
	return connector.Plugin{Class: "paced", New: func(*zap.Logger) connector.Connector { return &pacedConn{p: p} }}
}

func (p paced) Start(*testing.T) Source { return p }

func (p paced) Config() connector.Config { return connector.Config{} }

func (p paced) Topic(prefix string) string { return prefix + ".paced" }

func (p paced) bad(part, pos int) bool { return part == 0 && pos%10 == 0 }

func (p paced) Want() []string {
	var out []string
	for part := 0; part < p.k; part++ {
		for pos := 1; pos <= p.n; pos++ {
			if !p.bad(part, pos) {
				out = append(out, fmt.Sprintf("p%d@%d", part, pos))
			}
		}
	}
	return out
}

func (p paced) Identity(r *kgo.Record) (string, error) { return PositionIdentity(r) }

func (p paced) BadMessages() int { return p.n / 10 }

type pacedConn struct {
	p      paced
	prefix string
}

func (c *pacedConn) Start(_ context.Context, cfg connector.Config) error {
	c.prefix = cfg.String(connector.KeyTopicPrefix)
	return nil
}
func (c *pacedConn) Topics() []connector.TopicSpec {
	return []connector.TopicSpec{{Name: c.p.Topic(c.prefix), Schema: synthetic.Schema()}}
}
func (c *pacedConn) TaskConfigs(maxTasks int) ([]connector.Config, error) {
	return []connector.Config{{connector.KeyTopicPrefix: c.prefix}}, nil
}
func (c *pacedConn) NewTask() connector.SourceTask { return &pacedTask{p: c.p} }
func (c *pacedConn) Stop() error                   { return nil }

type pacedTask struct {
	p     paced
	topic string
	last  []int
	next  int
}

func (t *pacedTask) Start(_ context.Context, tc *connector.TaskContext) error {
	t.topic = t.p.Topic(tc.Config.String(connector.KeyTopicPrefix))
	t.last = make([]int, t.p.k)
	for part := range t.last {
		if o, ok := tc.Offset(connector.NewPartition(map[string]any{"p": part})); ok {
			n, _ := o.OffsetInt("position")
			t.last[part] = int(n)
		}
	}
	return nil
}

func (t *pacedTask) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	select { // 20 records a poll, 50 polls a second at most: a run of seconds
	case <-ctx.Done():
		return nil, nil
	case <-time.After(20 * time.Millisecond):
	}
	var out []*connector.SourceRecord
	for i := 0; i < 20; i++ {
		part := t.next
		t.next = (t.next + 1) % t.p.k
		if t.last[part] >= t.p.n {
			continue
		}
		t.last[part]++
		pos := t.last[part]
		rec := &connector.SourceRecord{
			Partition: connector.NewPartition(map[string]any{"p": part}), Offset: connector.Offset{"position": pos},
			Topic: t.topic, Key: []byte("p" + strconv.Itoa(part)), Schema: synthetic.Schema(),
			Value:   synthetic.Make(int32(part), int64(pos), 16),
			Headers: connector.SourceHeaders("paced", strconv.Itoa(pos), time.Now()),
		}
		if t.p.bad(part, pos) {
			rec.DeadLetter = &connector.DeadLetter{Raw: []byte("garbage"), Err: errors.New("undecodable"), Stage: connector.StageTaskPoll}
		}
		out = append(out, rec)
	}
	return out, nil
}

func (t *pacedTask) Stop() error { return nil }

// TestSuiteOnPacedProvider runs the whole suite on the test provider: the
// suite's own checks must pass on a provider that resumes exactly.
func TestSuiteOnPacedProvider(t *testing.T) {
	Run(t, paced{k: 3, n: 400})
}

// TestExactlyOnceCheck: the suite's check finds what is missing, doubled
// or unexpected.
func TestExactlyOnceCheck(t *testing.T) {
	want := []string{"a", "b", "c"}
	for _, tc := range []struct {
		ids  []string
		fail string
	}{
		{[]string{"c", "a", "b"}, ""},
		{[]string{"a", "b"}, "missing 1 [c]"},
		{[]string{"a", "b", "b", "c"}, "twice 1 [b×2]"},
		{[]string{"a", "b", "c", "d"}, "unexpected 1 [d]"},
	} {
		err := exactlyOnce(tc.ids, want)
		if (tc.fail == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.fail)) {
			t.Errorf("%v: %v, want %q", tc.ids, err, tc.fail)
		}
	}
}
