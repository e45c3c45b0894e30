package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestLatencyFloors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := LatencyFloors(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, testenv.UniqueName(t, "lfloor-"),
		500, 2*time.Second, 2*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	for i, r := range res {
		// Every record was read back (the reader counts all 1,000);
		// transactions were committed only by the exactly-once floor.
		if r.Records != 1000 || r.P50 <= 0 || r.P99 < r.P50 || (r.Commits > 0) != (i == 1) {
			t.Fatalf("implausible result %+v", r)
		}
		if !strings.Contains(r.String(), "p99") {
			t.Fatalf("report line %q", r)
		}
		t.Log(r)
	}
	if _, err := LatencyFloors(ctx, nil, "x", 0, time.Second, 0); err == nil {
		t.Fatal("a zero rate was accepted")
	}
}
