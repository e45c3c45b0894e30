package readback

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCommittedOnRealBroker: committed records are read, aborted ones are
// not, records written after the read began are not waited for, and a
// partition whose last entry is a commit marker still ends the read.
func TestCommittedOnRealBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := testenv.NewTopic(t, "readback-")
	testenv.CreateTopic(t, topic, 2, nil)
	cl := testenv.Client(t, kgo.TransactionalID(testenv.UniqueName(t, "rb-")), kgo.DefaultProduceTopic(topic))
	txn := func(commit bool, values ...string) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	txn(true, "a", "b", "c")
	txn(false, "x", "y")
	txn(true, "d")
	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	got := map[string]bool{}
	err := Committed(ctx, opts, []string{topic}, func(r *kgo.Record) error {
		got[string(r.Value)] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "map[a:true b:true c:true d:true]" {
		t.Fatalf("read %v, want a b c d", got)
	}
	if err := StartsAtZero(ctx, opts, topic); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	if err := Committed(ctx, opts, []string{topic}, func(*kgo.Record) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn's error not returned: %v", err)
	}
	if err := Committed(ctx, opts, []string{topic + "-missing"}, func(*kgo.Record) error { return nil }); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("missing topic: %v", err)
	}
}
