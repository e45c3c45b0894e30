package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"go.uber.org/zap/zaptest"
)

// TestRunSmall runs both sides of the benchmark at a tiny size on the real
// broker, so make bench cannot rot unnoticed. It checks the report's shape,
// not the speed.
func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sum, err := Run(ctx, Options{
		Brokers: testenv.Brokers(t), RegistryURL: testenv.Registry(t),
		Partitions: 10, Events: 50, TopicPartitions: 3, Tasks: 2, Interval: 50 * time.Millisecond,
		Rate: 2000, RateEvents: 20, Rounds: 2, Prefix: testenv.UniqueName(t, "bench-"), Out: &out, Log: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"raw franz-go producer (no txn, 2)", "pipeline, exactly-once", "ratio pipeline/raw", "500 records", "200 records", "medians of 2 alternating runs"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if sum.Raw.Records != 500 || sum.Pipeline.Records != 500 || sum.PacedRaw.Records != 200 || sum.PacedPipeline.Records != 200 {
		t.Errorf("summary records raw %d pipeline %d, paced %d and %d: want 500, 500, 200, 200",
			sum.Raw.Records, sum.Pipeline.Records, sum.PacedRaw.Records, sum.PacedPipeline.Records)
	}
	fmt.Println(out.String())
}
