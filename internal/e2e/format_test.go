package e2e

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// runToCompletion runs the synthetic connector in-process on the real
// broker until every partition committed n events, then stops it.
func runToCompletion(t *testing.T, n names, conn string, k, events int) {
	t.Helper()
	w := inProcessWorker(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := connector.Config{
		"name": conn, "connector.class": "synthetic", "topic.prefix": n.prefix,
		"synthetic.partitions": fmt.Sprint(k), "synthetic.events.per.partition": fmt.Sprint(events),
	}
	if err := w.CreateConnector(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "all events committed", func() bool {
		return committedMin(ctx, t, n, conn, int32(k)) == int64(events)
	})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOffsetsTopicConnectFormat reads the offsets topic with Kafka's own
// console consumer: keys are ["<connector>",{partition}] and values the
// offset JSON, exactly as Kafka Connect writes them. The topic is compacted.
func TestOffsetsTopicConnectFormat(t *testing.T) {
	n := newNames(t)
	runToCompletion(t, n, "fmt", 3, 50)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out := testenv.RunConsoleConsumer(ctx, t, n.offsets,
		"--isolation-level", "read_committed", "--timeout-ms", "5000")
	latest := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		key, value, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("console consumer line %q is not key<TAB>value", line)
		}
		latest[key] = value
	}
	want := map[string]string{
		`["fmt",{"partition":0}]`: `{"position":50}`,
		`["fmt",{"partition":1}]`: `{"position":50}`,
		`["fmt",{"partition":2}]`: `{"position":50}`,
	}
	for k, v := range want {
		if latest[k] != v {
			t.Errorf("offsets topic: key %s has latest value %q, want %q (all: %v)", k, latest[k], v, latest)
		}
	}
	if len(latest) != len(want) {
		t.Errorf("offsets topic has keys %v, want exactly %v", latest, want)
	}

	adm := testenv.Admin(t)
	rc, err := adm.DescribeTopicConfigs(ctx, n.offsets)
	if err != nil {
		t.Fatal(err)
	}
	policy := ""
	for _, c := range rc[0].Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			policy = *c.Value
		}
	}
	if policy != "compact" {
		t.Fatalf("offsets topic cleanup.policy = %q, want compact", policy)
	}
}

// TestValuesDecodeWithPlainConfluentReader decodes the records with nothing
// but the registry URL and the Confluent wire format spec: magic byte 0,
// 4-byte big-endian schema id, Avro binary; the schema fetched from
// GET /schemas/ids/{id}. No code of ours is on this path.
func TestValuesDecodeWithPlainConfluentReader(t *testing.T) {
	n := newNames(t)
	runToCompletion(t, n, "dec", 2, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := testenv.Client(t,
		kgo.ConsumeTopics(n.prefix+".synthetic.events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	schemas := map[uint32]avro.Schema{}
	seen := 0
	for seen < 40 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of 40 records: %v", seen, ctx.Err())
		}
		for _, r := range fs.Records() {
			if len(r.Value) < 5 || r.Value[0] != 0 {
				t.Fatalf("record %d: not Confluent wire format: % x", r.Offset, r.Value[:min(8, len(r.Value))])
			}
			id := binary.BigEndian.Uint32(r.Value[1:5])
			s, ok := schemas[id]
			if !ok {
				s = fetchSchema(t, testenv.Registry(t), id)
				schemas[id] = s
			}
			var v map[string]any
			if err := avro.Unmarshal(s, r.Value[5:], &v); err != nil {
				t.Fatalf("record %d: %v", r.Offset, err)
			}
			p, _ := v["partition"].(int)
			pos, _ := v["position"].(int64)
			want := synthetic.Make(int32(p), pos, 560)
			if v["payload"] != want.Payload || v["kind"] != want.Kind || string(r.Key) != synthetic.Key(int32(p)) {
				t.Fatalf("record %d decodes to %v, want the event %d of partition %d", r.Offset, v, pos, p)
			}
			seen++
		}
	}
}

// fetchSchema gets a schema by id with a bare HTTP request.
func fetchSchema(t *testing.T, registry string, id uint32) avro.Schema {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/schemas/ids/%d", registry, id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /schemas/ids/%d: %s: %s", id, resp.Status, body)
	}
	var got struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	s, err := avro.Parse(got.Schema)
	if err != nil {
		t.Fatalf("schema %d does not parse: %v", id, err)
	}
	return s
}
