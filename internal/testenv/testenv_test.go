package testenv

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// The tests below run against the real services and prove the harness gives
// what the project relies on: transactions with read_committed isolation,
// compaction, the registry's Confluent API and Kafka's own console consumer.

// TestTransactionsReadCommitted commits one transaction, aborts a second and
// commits a third; a read_committed consumer must see only the committed
// records, while a read_uncommitted one sees all three (so the abort really
// wrote a record and the isolation level is what hides it).
func TestTransactionsReadCommitted(t *testing.T) {
	t.Parallel()
	topic := NewTopic(t, "txn-")
	CreateTopic(t, topic, 1, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	prod := Client(t,
		kgo.TransactionalID(UniqueName(t, "txid-")),
		kgo.DefaultProduceTopic(topic),
	)
	txn := func(value string, end kgo.TransactionEndTry) {
		t.Helper()
		if err := prod.BeginTransaction(); err != nil {
			t.Fatalf("begin transaction: %v", err)
		}
		if err := prod.ProduceSync(ctx, kgo.StringRecord(value)).FirstErr(); err != nil {
			t.Fatalf("produce %q: %v", value, err)
		}
		if err := prod.EndTransaction(ctx, end); err != nil {
			t.Fatalf("end transaction (%q, commit=%v): %v", value, end, err)
		}
	}
	txn("committed-1", kgo.TryCommit)
	txn("aborted-1", kgo.TryAbort)
	txn("committed-2", kgo.TryCommit)

	committed := values(consume(ctx, t, topic, 2, kgo.FetchIsolationLevel(kgo.ReadCommitted())))
	if want := []string{"committed-1", "committed-2"}; !slices.Equal(committed, want) {
		t.Fatalf("read_committed consumer saw %q, want %q", committed, want)
	}
	all := values(consume(ctx, t, topic, 3, kgo.FetchIsolationLevel(kgo.ReadUncommitted())))
	if want := []string{"committed-1", "aborted-1", "committed-2"}; !slices.Equal(all, want) {
		t.Fatalf("read_uncommitted consumer saw %q, want %q", all, want)
	}
}

// TestCompactedTopic creates a compacted topic through kadm, checks the broker
// reports cleanup.policy=compact, and waits for the log cleaner to drop an
// overwritten key.
func TestCompactedTopic(t *testing.T) {
	t.Parallel()
	topic := NewTopic(t, "compact-")
	CreateTopic(t, topic, 1, map[string]string{
		"cleanup.policy":            "compact",
		"segment.ms":                "100",
		"min.cleanable.dirty.ratio": "0.01",
		"min.compaction.lag.ms":     "0",
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	rcs, err := Admin(t).DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatalf("describe topic configs: %v", err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe %s: %v / %v", topic, err, rc.Err)
	}
	policy := ""
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			policy = *c.Value
		}
	}
	if policy != "compact" {
		t.Fatalf("cleanup.policy = %q, want compact", policy)
	}

	prod := Client(t, kgo.DefaultProduceTopic(topic))
	produce := func(k, v string) {
		t.Helper()
		if err := prod.ProduceSync(ctx, kgo.KeyStringRecord(k, v)).FirstErr(); err != nil {
			t.Fatalf("produce %s=%s: %v", k, v, err)
		}
	}
	produce("k", "v1")
	produce("k", "v2")
	produce("other", "x")
	// The active segment is never cleaned: let segment.ms pass so the next
	// record rolls a new segment and leaves the first one to the cleaner.
	time.Sleep(300 * time.Millisecond)
	produce("roll", "r")

	start := time.Now()
	for {
		recs := consume(ctx, t, topic, 3)
		if string(recs[0].Key) == "k" && string(recs[0].Value) == "v2" {
			t.Logf("compacted after %v: first record is now offset %d", time.Since(start).Round(time.Millisecond), recs[0].Offset)
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("log cleaner did not compact %s in time; first record still %s=%s", topic, recs[0].Key, recs[0].Value)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestRegistry registers an Avro schema through the Confluent-compatible API
// and reads it back by id and by subject version.
func TestRegistry(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cl, err := sr.NewClient(sr.URLs(Registry(t)))
	if err != nil {
		t.Fatalf("sr.NewClient: %v", err)
	}
	if _, err := cl.Subjects(ctx); err != nil {
		t.Fatalf("GET /subjects: %v", err)
	}

	subject := UniqueName(t, "testenv-") + "-value"
	const schema = `{"type":"record","name":"Score","namespace":"sportsconnect.test",` +
		`"fields":[{"name":"team","type":"string"},{"name":"points","type":"int"}]}`
	id, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: schema, Type: sr.TypeAvro}, -1, -1)
	if err != nil {
		t.Fatalf("register schema under %s: %v", subject, err)
	}
	if id <= 0 {
		t.Fatalf("registry returned schema id %d", id)
	}

	byID, err := cl.SchemaByID(ctx, id)
	if err != nil {
		t.Fatalf("GET /schemas/ids/%d: %v", id, err)
	}
	if !sameJSON(t, byID.Schema, schema) {
		t.Fatalf("schema %d = %s, want %s", id, byID.Schema, schema)
	}
	if byID.Type != sr.TypeAvro {
		t.Fatalf("schema %d type = %v, want AVRO", id, byID.Type)
	}

	latest, err := cl.SchemaByVersion(ctx, subject, -1)
	if err != nil {
		t.Fatalf("GET /subjects/%s/versions/latest: %v", subject, err)
	}
	if latest.ID != id || latest.Version != 1 || !sameJSON(t, latest.Schema.Schema, schema) {
		t.Fatalf("latest of %s = id %d version %d, want id %d version 1", subject, latest.ID, latest.Version, id)
	}

	subjects, err := cl.Subjects(ctx)
	if err != nil {
		t.Fatalf("GET /subjects: %v", err)
	}
	if !slices.Contains(subjects, subject) {
		t.Fatalf("subjects %q do not include %s", subjects, subject)
	}
}

// TestConsoleConsumer reads a produced record back with Kafka's own tool.
func TestConsoleConsumer(t *testing.T) {
	t.Parallel()
	topic := NewTopic(t, "console-")
	CreateTopic(t, topic, 1, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	prod := Client(t, kgo.DefaultProduceTopic(topic))
	if err := prod.ProduceSync(ctx, kgo.KeyStringRecord("match-42", "home 3 away 1")).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}

	out := RunConsoleConsumer(ctx, t, topic, "--max-messages", "1")
	if want := "match-42\thome 3 away 1\n"; out != want {
		t.Fatalf("console consumer printed %q, want %q", out, want)
	}
}

// TestConsoleConsumerOffsetsTopic commits a group offset and finds it in
// __consumer_offsets with Kafka's own tool and offsets formatter: the recipe
// for tests that show where the connector's progress really lives.
func TestConsoleConsumerOffsetsTopic(t *testing.T) {
	t.Parallel()
	topic := NewTopic(t, "offsets-")
	CreateTopic(t, topic, 1, nil)
	group := UniqueName(t, "group-")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var offs kadm.Offsets
	offs.AddOffset(topic, 0, 42, -1)
	if err := Admin(t).CommitAllOffsets(ctx, group, offs); err != nil {
		t.Fatalf("commit offset for %s: %v", group, err)
	}

	out := RunConsoleConsumer(ctx, t, "__consumer_offsets",
		"--formatter", "org.apache.kafka.tools.consumer.OffsetsMessageFormatter",
		"--consumer-property", "exclude.internal.topics=false")
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, group) {
			line = l
		}
	}
	if line == "" || !strings.Contains(line, topic) || !strings.Contains(line, `"offset":42`) {
		t.Fatalf("no commit of offset 42 for %s in __consumer_offsets; tool printed:\n%s", group, out)
	}
	t.Logf("__consumer_offsets: %s", line)
}

// consume reads the first n records of topic from the start (failing the
// test if they do not arrive in time) with a fresh, group-less client.
func consume(ctx context.Context, t *testing.T, topic string, n int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(Brokers(t)...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	defer cl.Close()

	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s before timing out: %q", len(recs), n, topic, values(recs))
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch %s/%d: %v", topic, p, err)
		})
		recs = append(recs, fs.Records()...)
	}
	return recs[:n]
}

func values(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Fatalf("not JSON: %s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("not JSON: %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// The tests below need no services: they pin down how a missing environment
// is reported.

// fakeTB records Fatalf/Skipf instead of ending the real test.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

type stopped struct{}

func (*fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	panic(stopped{})
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skip = fmt.Sprintf(format, args...)
	panic(stopped{})
}

func runFake(t *testing.T, fn func(testing.TB)) (f *fakeTB) {
	f = &fakeTB{TB: t}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopped); !ok {
				panic(r)
			}
		}
	}()
	fn(f)
	return f
}

func setShort(t *testing.T, v bool) {
	t.Helper()
	fl := flag.Lookup("test.short")
	old := fl.Value.String()
	if err := fl.Value.Set(fmt.Sprint(v)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fl.Value.Set(old) })
}

func TestMissingEnvironment(t *testing.T) {
	for _, name := range []string{EnvKafka, EnvRegistry, EnvKafkaTools} {
		t.Setenv(name, "")
	}
	getters := map[string]func(testing.TB) string{
		EnvKafka:      Kafka,
		EnvRegistry:   Registry,
		EnvKafkaTools: KafkaToolsClasspath,
	}
	for name, get := range getters {
		setShort(t, false)
		f := runFake(t, func(tb testing.TB) { get(tb) })
		if f.skip != "" || !strings.Contains(f.fatal, name+" is not set") ||
			!strings.Contains(f.fatal, "make test") || !strings.Contains(f.fatal, "deploy/local/with-services.sh go test ./...") {
			t.Errorf("%s missing, normal run: fatal=%q skip=%q; want a failure naming the variable and how to run", name, f.fatal, f.skip)
		}

		setShort(t, true)
		f = runFake(t, func(tb testing.TB) { get(tb) })
		if f.fatal != "" || !strings.Contains(f.skip, name) || !strings.Contains(f.skip, "(run via make test)") {
			t.Errorf("%s missing, -short: fatal=%q skip=%q; want a skip", name, f.fatal, f.skip)
		}
	}
}

func TestUnreachableKafka(t *testing.T) {
	// Port 1 on loopback: nothing listens there.
	t.Setenv(EnvKafka, "127.0.0.1:1")
	f := runFake(t, func(tb testing.TB) { Kafka(tb) })
	if !strings.Contains(f.fatal, "does not answer") {
		t.Fatalf("unreachable broker: fatal=%q, want a clear failure", f.fatal)
	}
}

func TestNewTopic(t *testing.T) {
	a, b := NewTopic(t, "pre-"), NewTopic(t, "pre-")
	if a == b {
		t.Fatalf("two calls returned the same name %q", a)
	}
	if !regexp.MustCompile(`^pre-TestNewTopic-[0-9a-f]{8}$`).MatchString(a) {
		t.Fatalf("NewTopic = %q", a)
	}
	t.Run("sub test/with spaces.and_dots", func(t *testing.T) {
		got := NewTopic(t, "x.")
		if !regexp.MustCompile(`^x-TestNewTopic-sub-test-with-spaces-and-dots-[0-9a-f]{8}$`).MatchString(got) {
			t.Fatalf("NewTopic = %q", got)
		}
	})
	t.Run(strings.Repeat("y", 250), func(t *testing.T) {
		if n := len(NewTopic(t, "p-")); n > 249 {
			t.Fatalf("topic name of %d characters; Kafka allows 249", n)
		}
	})
}
