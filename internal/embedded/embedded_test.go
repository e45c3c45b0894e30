package embedded

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestStartServesKafkaAndRegistry(t *testing.T) {
	env, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		t.Fatalf("kfake does not answer: %v", err)
	}
	resp, err := http.Get(env.RegistryURL() + "/subjects")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("registry GET /subjects: %s", resp.Status)
	}
}
