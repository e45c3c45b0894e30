package roanuzdemo

import (
	"context"
	"net"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
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
	if err := readback.StartsAtZero(ctx, opts, topic); err != nil {
		t.Fatal(err)
	}
	recs, err := readBack(ctx, opts, testenv.Registry(t), topic, decode)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]kafkaRecord, len(recs))
	for i, r := range recs {
		out[i] = kafkaRecord{Key: r.key, Value: r.value, Raw: r.raw, Headers: r.headers}
	}
	return out
}

// backRecords turns records read by readCommitted back into the form of
// the live checks.
func backRecords(recs []kafkaRecord) []backRecord {
	out := make([]backRecord, len(recs))
	for i, r := range recs {
		out[i] = backRecord{key: r.Key, value: r.Value, raw: r.Raw, headers: r.Headers}
	}
	return out
}
