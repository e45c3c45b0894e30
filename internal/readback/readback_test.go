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

// txnClient returns a transactional producer to topic partition 0 with its
// own transactional id.
func txnClient(t *testing.T, topic, name string) *kgo.Client {
	t.Helper()
	return testenv.Client(t, kgo.TransactionalID(testenv.UniqueName(t, name)), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
}

func produce(ctx context.Context, t *testing.T, cl *kgo.Client, values ...string) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func end(ctx context.Context, t *testing.T, cl *kgo.Client, commit bool) {
	t.Helper()
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

// TestCommittedEndsAfterAbortedRecordBelowOpenTransaction: the last record
// below the last stable offset belongs to an aborted transaction (its
// abort marker sits above an open transaction's first record). The client
// drops the aborted record, so a read that waits to see that record never
// ends; the read must end once the open transaction does, and return its
// committed records.
func TestCommittedEndsAfterAbortedRecordBelowOpenTransaction(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := testenv.NewTopic(t, "readback-hang-")
	testenv.CreateTopic(t, topic, 1, nil)
	a, c := txnClient(t, topic, "rb-a-"), txnClient(t, topic, "rb-c-")
	produce(ctx, t, a, "aborted")   // offset 0
	produce(ctx, t, c, "committed") // offset 1: the open transaction; LSO = 1
	end(ctx, t, a, false)           // abort marker at 2, above the LSO
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		time.Sleep(2 * time.Second)
		if err := c.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Error(err)
		}
	}()
	defer func() { <-ended }() // the commit's answer may come after the read ended
	readCtx, readCancel := context.WithTimeout(ctx, 15*time.Second)
	defer readCancel()
	var got []string
	start := time.Now()
	err := Committed(readCtx, []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}, []string{topic}, func(r *kgo.Record) error {
		got = append(got, string(r.Value))
		return nil
	})
	if err != nil {
		t.Fatalf("read did not end (after %s): %v", time.Since(start), err)
	}
	if fmt.Sprint(got) != "[committed]" {
		t.Fatalf("read %v, want [committed]", got)
	}
	t.Logf("read ended %s after it began, once the open transaction committed", time.Since(start).Round(time.Millisecond))
}

// TestCommittedSeesCommitsBehindAnOpenTransaction: a transaction opened
// before a later one commits holds the last stable offset below the later
// commit. The read must return the later commit (after the open
// transaction ends), not stop below it; and OnStall is how a caller ends
// the blocking transaction instead of waiting for the broker's timeout.
func TestCommittedSeesCommitsBehindAnOpenTransaction(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := testenv.NewTopic(t, "readback-behind-")
	testenv.CreateTopic(t, topic, 1, nil)
	mine, other := txnClient(t, topic, "rb-mine-"), txnClient(t, topic, "rb-other-")
	produce(ctx, t, mine, "position-1")
	end(ctx, t, mine, true)
	produce(ctx, t, other, "other-open") // open: holds the LSO here
	produce(ctx, t, mine, "position-2")
	end(ctx, t, mine, true) // committed above the LSO

	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	var stalls int
	var waited []Waiting
	var got []string
	err := Committed(ctx, opts, []string{topic}, func(r *kgo.Record) error {
		got = append(got, string(r.Value))
		return nil
	}, OnStall(500*time.Millisecond, func(ctx context.Context, w []Waiting) {
		stalls++
		waited = w
		end(ctx, t, other, false) // what fencing a zombie does
	}))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[position-1 position-2]" {
		t.Fatalf("read %v, want [position-1 position-2]", got)
	}
	if stalls != 1 || len(waited) != 1 || waited[0].Topic != topic || waited[0].End != 5 {
		t.Fatalf("OnStall called %d times with %+v, want once with %s/0 to offset 5", stalls, waited, topic)
	}
}
