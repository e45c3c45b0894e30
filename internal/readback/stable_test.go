package readback

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestStableNeverWaits: Stable returns what is committed below the last
// stable offset at once, whatever is open: aborted records are left out
// (also one just below an open transaction, which hangs a read that waits
// for that record), committed ones are kept (also one whose commit marker
// lies above the open transaction), and a commit above the last stable
// offset is not returned yet.
func TestStableNeverWaits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := testenv.NewTopic(t, "readback-stable-")
	testenv.CreateTopic(t, topic, 1, nil)
	a, b, c := txnClient(t, topic, "rb-sa-"), txnClient(t, topic, "rb-sb-"), txnClient(t, topic, "rb-sc-")
	plain := testenv.Client(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produce(ctx, t, a, "a1")
	end(ctx, t, a, true)
	if err := plain.ProduceSync(ctx, &kgo.Record{Value: []byte("plain")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	produce(ctx, t, b, "b-aborted")
	produce(ctx, t, a, "a2-committed-late")
	produce(ctx, t, c, "c-open") // open: the LSO stops here
	end(ctx, t, b, false)
	end(ctx, t, a, true) // a2's marker is above the LSO
	produce(ctx, t, a, "a3-above-lso")
	end(ctx, t, a, true)

	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	readCtx, readCancel := context.WithTimeout(ctx, 10*time.Second)
	defer readCancel()
	var got []string
	start := time.Now()
	err := Stable(readCtx, opts, []string{topic}, func(r *kgo.Record) error {
		got = append(got, string(r.Value))
		return nil
	})
	if err != nil {
		t.Fatalf("Stable with a transaction open: %v", err)
	}
	if fmt.Sprint(got) != "[a1 plain a2-committed-late]" {
		t.Fatalf("Stable read %v, want [a1 plain a2-committed-late]", got)
	}
	t.Logf("Stable read %d records in %s with a transaction open", len(got), time.Since(start).Round(time.Millisecond))
	end(ctx, t, c, true)
	got = nil
	if err := Stable(ctx, opts, []string{topic}, func(r *kgo.Record) error {
		got = append(got, string(r.Value))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[a1 plain a2-committed-late c-open a3-above-lso]" {
		t.Fatalf("Stable after the open transaction committed read %v", got)
	}
}
