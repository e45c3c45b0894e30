package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap/zaptest"
)

// names is a test's unique group, offsets topic and topic prefix on the shared broker.
type names struct {
	group, offsets, prefix string
}

func newNames(t *testing.T) names {
	u := testenv.UniqueName(t, "sc-")
	return names{group: u + "-g", offsets: u + "-offsets", prefix: u}
}

// inProcessWorker returns a started worker on the real broker.
func inProcessWorker(t *testing.T, n names, opts ...worker.Option) *worker.Worker {
	t.Helper()
	src, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	base := []worker.Option{
		worker.WithKafka(kgo.SeedBrokers(testenv.Brokers(t)...)),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(zaptest.NewLogger(t)),
		worker.WithGroupID(n.group),
		worker.WithOffsetsTopic(n.offsets, 5, -1),
	}
	w, err := worker.New(connector.NewPlugins(synthetic.Plugin()), append(base, opts...)...)
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

// committedMin returns the smallest committed position over k synthetic
// partitions of connector (0 for a partition without an offset).
func committedMin(ctx context.Context, t *testing.T, n names, conn string, k int32) int64 {
	t.Helper()
	offs, err := worker.ReadOffsets(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, n.offsets, conn)
	if err != nil {
		t.Logf("reading offsets: %v", err)
		return -1
	}
	lowest := int64(-1)
	for p := int32(0); p < k; p++ {
		pos, _ := offs.Offsets[synthetic.PartitionOf(p).String()].OffsetInt("position")
		if lowest < 0 || pos < lowest {
			lowest = pos
		}
	}
	return lowest
}
