package roanuzdemo

import (
	"context"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

func TestBenchWebhook(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := BenchWebhook(ctx, BenchOptions{Brokers: testenv.Brokers(t), RegistryURL: testenv.Registry(t),
		Prefix: testenv.UniqueName(t, "rzb-"), Senders: 8, Matches: 2, Overs: 5, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushes == 0 || res.P99 <= 0 {
		t.Fatalf("no measurement: %+v", res)
	}
	t.Log(res)
}
