package sabademo

import (
	"context"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// TestBench runs a small Bench on the real broker: it must finish and see
// every update's records; its numbers are logged, not asserted.
func TestBench(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Bench(ctx, BenchOptions{Brokers: testenv.Brokers(t), RegistryURL: testenv.Registry(t), Updates: 3000, Rate: 1000, Prefix: testenv.UniqueName(t, "sc-")})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Records < int(res.Updates) || res.P99 <= 0 {
		t.Fatalf("%+v", res)
	}
}
