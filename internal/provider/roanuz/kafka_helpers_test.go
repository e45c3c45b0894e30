package roanuz

import (
	"context"
	"net"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// freePort returns a local address nobody listens on (now).
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// kafkaRecord is one record read back, its value decoded generically (or
// raw, for topics written without a schema such as the dead-letter topic).
type kafkaRecord struct {
	Key     string
	Value   map[string]any
	Raw     []byte
	Headers map[string]string
}

// readTopic reads topic to its read_committed end and decodes every value
// through the registry.
func readTopic(ctx context.Context, t testing.TB, topic string) []kafkaRecord {
	return readCommitted(ctx, t, topic, true)
}

// readCommitted reads topic to its read_committed end, decoding the values
// when decode is set.
func readCommitted(ctx context.Context, t testing.TB, topic string, decode bool) []kafkaRecord {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	adm, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	// Reading from the start proves nothing if the broker deleted the
	// start (time-based retention of records with old timestamps).
	starts, err := kadm.NewClient(adm).ListStartOffsets(ctx, topic)
	adm.Close()
	if err != nil {
		t.Fatal(err)
	}
	starts.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			t.Fatalf("%s partition %d starts at offset %d: records were deleted", topic, o.Partition, o.Offset)
		}
	})
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	src, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	dec := avroreg.NewDecoder(src)
	cl, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []kafkaRecord
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading %s: %v (waiting for %v)", topic, err, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := want[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if r.Offset == end-1 {
				delete(want, r.Partition)
			}
			if r.Attrs.IsControl() {
				return
			}
			rec := kafkaRecord{Key: string(r.Key), Raw: r.Value, Headers: map[string]string{}}
			if decode {
				if err := dec.Decode(ctx, r.Value, &rec.Value); err != nil {
					t.Fatalf("%s offset %d: %v", topic, r.Offset, err)
				}
			}
			for _, x := range r.Headers {
				rec.Headers[x.Key] = string(x.Value)
			}
			out = append(out, rec)
		})
	}
	return out
}
