package roanuz

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// binary builds cmd/sportsconnect once per test run.
var builtBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sportsconnect-roanuz-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "sportsconnect")
	cmd := exec.Command("go", "build", "-o", out, "github.com/seed-474f70f7/sportsconnect/cmd/sportsconnect")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, b)
	}
	return out, nil
})

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

// writeWorker writes a worker.properties for the real broker.
func writeWorker(t testing.TB, dir, group, offsets string) string {
	p := filepath.Join(dir, "worker.properties")
	s := strings.Join([]string{
		"bootstrap.servers=" + testenv.Kafka(t), "schema.registry.url=" + testenv.Registry(t),
		"group.id=" + group, "offset.storage.topic=" + offsets, "offset.storage.partitions=5",
		"task.shutdown.graceful.timeout.ms=10000",
	}, "\n") + "\n"
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startBinary runs the binary with worker and connector files and env.
func startBinary(t testing.TB, bin string, env []string, files ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(bin, append([]string{"run", "--log-format", "json"}, files...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &syncWriter{w: &logs}, &syncWriter{w: &logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &logs
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// kafkaRecord is one record read back, its value decoded generically.
type kafkaRecord struct {
	Key     string
	Value   map[string]any
	Headers map[string]string
}

// readTopic reads topic to its read_committed end and decodes every value.
func readTopic(ctx context.Context, t testing.TB, topic string) []kafkaRecord {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	adm, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	adm.Close()
	if err != nil {
		t.Fatal(err)
	}
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
			var v map[string]any
			if err := dec.Decode(ctx, r.Value, &v); err != nil {
				t.Fatalf("%s offset %d: %v", topic, r.Offset, err)
			}
			h := map[string]string{}
			for _, x := range r.Headers {
				h[x.Key] = string(x.Value)
			}
			out = append(out, kafkaRecord{Key: string(r.Key), Value: v, Headers: h})
		})
	}
	return out
}
