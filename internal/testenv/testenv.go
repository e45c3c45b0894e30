// Package testenv hands tests the real Apache Kafka broker and schema
// registry that `make test` and `make bench` start (deploy/local/
// with-services.sh), or any cluster named by the environment.
//
// Why a real broker: transactions, read_committed isolation, log compaction,
// consumer-group offsets and the registry's wire format are exactly where an
// in-process fake can agree with our own bugs, so the tests that back the
// connector's delivery guarantees run against Kafka itself. kfake stays in use
// for quick unit tests that only need "a broker that answers".
//
// The environment:
//
//	KAFKA_BOOTSTRAP        host:port[,host:port...] of the broker
//	SCHEMA_REGISTRY_URL    base URL of a Confluent-compatible registry API
//	KAFKA_TOOLS_CLASSPATH  Java classpath holding Kafka's tools (libs/*)
//
// A test that needs one of them and does not find it fails loudly with the
// command to run; with -short it is skipped instead, so `go test -short ./...`
// stays a quick, service-free run.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Names of the environment variables this package reads.
const (
	// EnvKafka names the variable holding the broker bootstrap list.
	EnvKafka = "KAFKA_BOOTSTRAP"
	// EnvRegistry names the variable holding the schema registry base URL.
	EnvRegistry = "SCHEMA_REGISTRY_URL"
	// EnvKafkaTools names the variable holding the Kafka tools classpath.
	EnvKafkaTools = "KAFKA_TOOLS_CLASSPATH"
)

// howToRun is appended to every "missing environment" failure.
const howToRun = "run the tests with `make test`, or `deploy/local/with-services.sh go test ./...` " +
	"(it starts a local Kafka and registry), or export the variable to point at your own; " +
	"use `go test -short` to skip tests that need real services"

// reachable caches, per address, the result of the first reachability probe
// so that many tests sharing one broker pay for one dial.
var reachable sync.Map // string -> error

// require returns the value of the environment variable name. When it is
// unset it skips the test under -short and fails it otherwise.
func require(t testing.TB, name, what string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(name))
	if v != "" {
		return v
	}
	if testing.Short() {
		t.Skipf("%s is not set: skipping test that needs %s in -short mode (run via make test)", name, what)
		return ""
	}
	t.Fatalf("%s is not set but this test needs %s: %s", name, what, howToRun)
	return ""
}

// probe dials addr once per process and fails t if nothing answers, so a
// stale variable gives one clear message instead of a pile of timeouts.
func probe(t testing.TB, name, value, addr string) {
	t.Helper()
	errv, ok := reachable.Load(addr)
	if !ok {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			conn.Close()
		}
		errv, _ = reachable.LoadOrStore(addr, err)
	}
	if err, _ := errv.(error); err != nil {
		t.Fatalf("%s=%s is set but %s does not answer (%v): is the service running? %s",
			name, value, addr, err, howToRun)
	}
}

// Kafka returns the bootstrap address list of the real Kafka broker from
// KAFKA_BOOTSTRAP, after checking that the first address answers. Without
// the variable it fails the test (skips it under -short).
func Kafka(t testing.TB) string {
	t.Helper()
	v := require(t, EnvKafka, "a real Kafka broker")
	probe(t, EnvKafka, v, strings.TrimSpace(strings.Split(v, ",")[0]))
	return v
}

// Brokers returns Kafka's bootstrap list split for kgo.SeedBrokers.
func Brokers(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, b := range strings.Split(Kafka(t), ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Registry returns the base URL of the Confluent-compatible schema registry
// API from SCHEMA_REGISTRY_URL (for the local Apicurio:
// http://127.0.0.1:18081/apis/ccompat/v7), after checking that its host
// answers. Without the variable it fails the test (skips it under -short).
func Registry(t testing.TB) string {
	t.Helper()
	v := require(t, EnvRegistry, "a schema registry")
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		t.Fatalf("%s=%q is not a URL: %v", EnvRegistry, v, err)
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	probe(t, EnvRegistry, v, host)
	return strings.TrimRight(v, "/")
}

// KafkaToolsClasspath returns the Java classpath of Kafka's own command-line
// tools from KAFKA_TOOLS_CLASSPATH (e.g. ".../kafka-4.1.1/libs/*"). Without
// the variable it fails the test (skips it under -short).
func KafkaToolsClasspath(t testing.TB) string {
	t.Helper()
	return require(t, EnvKafkaTools, "Kafka's command-line tools")
}

// UniqueName returns prefix + the sanitized test name + a random suffix,
// made of [A-Za-z0-9-] only (anything else, '.' and '_' included, becomes
// '-'), so it is legal as a Kafka topic, group or transactional id.
// Use it for consumer groups and transactional ids so that tests sharing a
// broker never collide.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatalf("testenv: random suffix: %v", err)
	}
	name := sanitize(t.Name())
	// Kafka topic names are limited to 249 characters.
	const maxName = 180
	if len(name) > maxName {
		name = name[:maxName]
	}
	return sanitize(prefix) + name + "-" + hex.EncodeToString(suffix[:])
}

// NewTopic returns a topic name unique to this test run: prefix + the
// sanitized test name + a random suffix. It does not create the topic (the
// local broker has auto-creation off); see CreateTopic.
func NewTopic(t testing.TB, prefix string) string {
	t.Helper()
	return UniqueName(t, prefix)
}

// sanitize maps everything but [A-Za-z0-9-] to '-'. Dots and underscores
// become '-' too: Kafka refuses a topic that differs from an existing one only
// by '.' versus '_'.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		default:
			b[i] = '-'
		}
	}
	return string(b)
}

// Admin returns a kadm client for the real broker, closed when the test ends.
func Admin(t testing.TB, opts ...kgo.Opt) *kadm.Client {
	t.Helper()
	cl := Client(t, opts...)
	return kadm.NewClient(cl)
}

// Client returns a kgo client seeded with the real broker plus opts, closed
// when the test ends.
func Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	all := append([]kgo.Opt{kgo.SeedBrokers(Brokers(t)...)}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatalf("testenv: kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// CreateTopic creates topic on the real broker with the given partition
// count, the broker's default replication factor and the given topic configs
// (e.g. "cleanup.policy": "compact"), and waits until the broker's metadata
// shows it with a leader for every partition, failing the test on error. The
// topic is deleted when the test ends.
func CreateTopic(t testing.TB, topic string, partitions int32, configs map[string]string) {
	t.Helper()
	adm := Admin(t)
	var cfg map[string]*string
	if len(configs) > 0 {
		cfg = make(map[string]*string, len(configs))
		for k, v := range configs {
			cfg[k] = kadm.StringPtr(v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, partitions, -1, cfg, topic); err != nil {
		t.Fatalf("testenv: create topic %q: %v", topic, err)
	}
	// The controller answers before the broker's metadata shows the topic;
	// a produce or offset commit in that gap fails with
	// UNKNOWN_TOPIC_OR_PARTITION, so wait until every partition has a leader.
	for {
		if ready, why := topicReady(ctx, adm, topic); ready {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("testenv: topic %q created but not ready in time: %s", topic, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		// Best effort: a leftover topic on a throwaway broker is harmless.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = adm.DeleteTopic(ctx, topic)
	})
}

// topicReady reports whether metadata shows topic with a leader for every
// partition, and if not, why.
func topicReady(ctx context.Context, adm *kadm.Client, topic string) (bool, string) {
	tds, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return false, err.Error()
	}
	td, ok := tds[topic]
	switch {
	case !ok:
		return false, "not in metadata"
	case td.Err != nil:
		return false, td.Err.Error()
	case len(td.Partitions) == 0:
		return false, "no partitions in metadata"
	}
	for _, p := range td.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return false, fmt.Sprintf("partition %d has no leader (%v)", p.Partition, p.Err)
		}
	}
	return true, ""
}

// consoleLog4j keeps the tools' log output off stdout: log4j2's built-in
// default would print errors there and mix them with the records.
const consoleLog4j = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders><Console name="stderr" target="SYSTEM_ERR"><PatternLayout pattern="%p %m (%c)%n"/></Console></Appenders>
  <Loggers><Root level="WARN"><AppenderRef ref="stderr"/></Root></Loggers>
</Configuration>
`

// RunConsoleConsumer runs Kafka's own console consumer
// (org.apache.kafka.tools.consumer.ConsoleConsumer, from
// KAFKA_TOOLS_CLASSPATH) against the real broker and returns what it printed
// on stdout. It fails the test if the tool fails.
//
// Defaults, each left out when extraArgs already carries that option:
// --topic topic (omitted when topic is ""), --from-beginning (unless --offset
// is given), --timeout-ms 10000 (the tool exits after that long without a
// record), and --property print.key=true so each line is "key<TAB>value".
// Pass --max-messages N to return as soon as N records were printed, and
// e.g. --formatter, --property or --consumer-property for anything else
// (Kafka 4.1 takes formatter settings with --property). To show committed
// group offsets, read topic "__consumer_offsets" with
//
//	"--formatter", "org.apache.kafka.tools.consumer.OffsetsMessageFormatter",
//	"--consumer-property", "exclude.internal.topics=false"
//
// which prints one JSON line per commit.
func RunConsoleConsumer(ctx context.Context, t testing.TB, topic string, extraArgs ...string) string {
	t.Helper()
	bootstrap := Kafka(t)
	cp := KafkaToolsClasspath(t)
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("testenv: java is needed to run Kafka's console consumer: %v", err)
	}

	has := func(opt string) bool {
		for _, a := range extraArgs {
			if a == opt || strings.HasPrefix(a, opt+"=") {
				return true
			}
		}
		return false
	}
	hasProperty := func(key string) bool {
		for i, a := range extraArgs {
			if a == "--property" && i+1 < len(extraArgs) && strings.HasPrefix(extraArgs[i+1], key+"=") {
				return true
			}
		}
		return false
	}

	logCfg := filepath.Join(t.TempDir(), "log4j2.xml")
	if err := os.WriteFile(logCfg, []byte(consoleLog4j), 0o644); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	args := []string{
		"-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
		"-Dlog4j2.configurationFile=" + logCfg,
		"-cp", cp,
	}
	jvmArgs := len(args)
	args = append(args, "org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server", bootstrap)
	if topic != "" && !has("--topic") {
		args = append(args, "--topic", topic)
	}
	if !has("--from-beginning") && !has("--offset") {
		args = append(args, "--from-beginning")
	}
	if !has("--timeout-ms") {
		args = append(args, "--timeout-ms", "10000")
	}
	if !hasProperty("print.key") {
		args = append(args, "--property", "print.key=true")
	}
	args = append(args, extraArgs...)
	toolArgs := args[jvmArgs:]

	cmd := exec.CommandContext(ctx, java, args...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	if s := quietStderr(stderr.String()); s != "" {
		t.Logf("console consumer stderr:\n%s", s)
	}
	if err != nil {
		t.Fatalf("testenv: console consumer %s failed after %v: %v\nstdout:\n%s",
			strings.Join(toolArgs, " "), time.Since(start).Round(time.Millisecond), err, stdout.String())
	}
	return stdout.String()
}

// quietStderr drops the two lines the console consumer always logs when
// --timeout-ms ends it normally, keeping anything else for the test log.
func quietStderr(s string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.HasPrefix(l, "ERROR Error processing message, terminating consumer process") ||
			strings.HasPrefix(l, "org.apache.kafka.common.errors.TimeoutException") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}
