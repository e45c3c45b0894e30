package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestTransactionFloor(t *testing.T) {
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := TransactionFloor(ctx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, testenv.UniqueName(t, "floor-"),
		[]time.Duration{0, 8 * time.Millisecond}, 10, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || strings.Count(out.String(), "\n") != 2 {
		t.Fatalf("%d results, output:\n%s", len(res), out.String())
	}
	for _, r := range res {
		if r.Transactions != 10 || r.FlushP50 <= 0 || r.EndP50 <= 0 || r.FlushP99 < r.FlushP50 {
			t.Fatalf("implausible result %+v", r)
		}
	}
	t.Log("\n" + out.String())
}
