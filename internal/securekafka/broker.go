package securekafka

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// Broker is a running single-node Kafka (KRaft, combined broker and
// controller) with one listener per security setup. Every address is
// host:port on 127.0.0.1.
type Broker struct {
	// Plain is the PLAINTEXT listener: inter-broker traffic and the tests'
	// own setup (topic creation, admin). Never the listener under test.
	Plain string
	// MTLS is the SSL listener that requires a client certificate signed by
	// Certs.CA.
	MTLS string
	// SCRAM is the SASL_SSL listener with SCRAM-SHA-256 and SCRAM-SHA-512.
	SCRAM string
	// OAuth is the SASL_SSL listener with OAUTHBEARER, validated by Kafka's
	// unsecured validator: any unexpired JWT with {"alg":"none"} passes.
	OAuth string
	// Certs is the PKI the SSL listeners use (server.pem, ca.pem).
	Certs *Certs
	// User and Password are the SCRAM credentials created at format time,
	// valid for both SCRAM-SHA-256 and SCRAM-SHA-512.
	User, Password string
	// LogPath is the broker's log4j log file.
	LogPath string
	// Dir is the broker's scratch directory: configuration, data and logs.
	Dir string
	// StartedIn is how long Start took: certificates, storage format (a
	// JVM of its own) and broker start until ready.
	StartedIn time.Duration

	formattedIn time.Duration // the StorageTool part of StartedIn
}

// ScramUser is the name of the SCRAM user Start creates.
const ScramUser = "sc-user"

// readyTimeout bounds the wait for "Kafka Server started".
const readyTimeout = 90 * time.Second

// startAttempts is how often Start retries when a port it picked was taken
// by someone else between picking and binding.
const startAttempts = 3

// heap is the JVM heap of the broker: small, it holds a handful of records.
var heap = []string{"-Xms128m", "-Xmx384m"}

// Start formats and starts a fresh broker in a test temp dir and waits until
// it serves. The JVM (its whole process group) is killed in t.Cleanup. It
// needs KAFKA_TOOLS_CLASSPATH (see testenv.KafkaToolsClasspath): without
// it the test fails, or is skipped under -short.
func Start(t testing.TB) *Broker {
	t.Helper()
	classpath := testenv.KafkaToolsClasspath(t)
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var b *Broker
		b, err = start(t, classpath)
		if err == nil {
			t.Logf("securekafka: broker ready in %s (format %s; plain %s, mtls %s, scram %s, oauth %s)",
				b.StartedIn.Round(time.Millisecond), b.formattedIn.Round(time.Millisecond), b.Plain, b.MTLS, b.SCRAM, b.OAuth)
			return b
		}
		if !errors.Is(err, errPortTaken) {
			break
		}
		t.Logf("securekafka: attempt %d: %v; retrying with new ports", attempt, err)
	}
	t.Fatalf("securekafka: starting Kafka: %v", err)
	return nil
}

// errPortTaken marks a start that failed because a port got taken.
var errPortTaken = errors.New("a listener port was taken before the broker bound it")

// start makes one attempt; the returned error carries the log tail.
func start(t testing.TB, classpath string) (*Broker, error) {
	began := time.Now()
	dir := t.TempDir()
	certs, err := GenerateCerts(dir)
	if err != nil {
		return nil, fmt.Errorf("generating certificates: %w", err)
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	addr := func(p int) string { return net.JoinHostPort("127.0.0.1", fmt.Sprint(p)) }
	b := &Broker{
		Plain: addr(ports[0]), MTLS: addr(ports[2]), SCRAM: addr(ports[3]), OAuth: addr(ports[4]),
		Certs: certs, User: ScramUser, Password: randomHex(16),
		LogPath: filepath.Join(dir, "server.log"), Dir: dir,
	}
	props := filepath.Join(dir, "server.properties")
	log4j := filepath.Join(dir, "log4j2.xml")
	if err := writeTemplate(props, serverProperties, map[string]any{
		"Dir": dir, "Plain": b.Plain, "Controller": addr(ports[1]),
		"MTLS": b.MTLS, "SCRAM": b.SCRAM, "OAuth": b.OAuth, "Certs": certs,
	}); err != nil {
		return nil, err
	}
	if err := writeTemplate(log4j, log4jConfig, map[string]any{"LogPath": b.LogPath}); err != nil {
		return nil, err
	}
	jvmLog := []string{"-Dlog4j2.configurationFile=" + log4j, "-Dkafka.logs.dir=" + dir}

	// Format the storage, creating the SCRAM credentials in the metadata log.
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	format := exec.CommandContext(ctx, "java", append(jvmLog, "-Xmx256m", "-cp", classpath,
		"kafka.tools.StorageTool", "format", "--config", props, "--cluster-id", clusterID(),
		"--add-scram", fmt.Sprintf("SCRAM-SHA-256=[name=%s,password=%s]", b.User, b.Password),
		"--add-scram", fmt.Sprintf("SCRAM-SHA-512=[name=%s,password=%s]", b.User, b.Password),
	)...)
	if out, err := format.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("formatting KRaft storage: %w\n%s", err, out)
	}
	b.formattedIn = time.Since(began)

	stdoutPath := filepath.Join(dir, "stdout.log")
	stdout, err := os.Create(stdoutPath)
	if err != nil {
		return nil, fmt.Errorf("creating the broker's stdout file: %w", err)
	}
	defer stdout.Close() // the child holds its own descriptor
	args := append(append([]string{}, heap...), "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
		"-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true")
	args = append(append(args, jvmLog...), "-cp", classpath, "kafka.Kafka", props)
	cmd := exec.Command("java", args...)
	cmd.Stdout, cmd.Stderr = stdout, stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the broker JVM: %w", err)
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	stop := func() {
		select {
		case <-done: // already gone; its group id may be reused
		default:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
	}
	t.Cleanup(stop)

	tails := func() string {
		return fmt.Sprintf("---- errors in %s ----\n%s---- tail of %s ----\n%s---- tail of %s ----\n%s",
			b.LogPath, errorLines(b.LogPath, 30), b.LogPath, tail(b.LogPath, 30), stdoutPath, tail(stdoutPath, 20))
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			if line := grepLine(b.LogPath, "Address already in use"); line != "" {
				return nil, fmt.Errorf("%w (%v): %s", errPortTaken, waitErr, line)
			}
			return nil, fmt.Errorf("broker exited during startup (%v)\n%s", waitErr, tails())
		case <-time.After(100 * time.Millisecond):
		}
		if ready(b) {
			b.StartedIn = time.Since(began)
			return b, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("broker not ready within %s\n%s", readyTimeout, tails())
		}
	}
}

// ready reports whether the log says the server started and the PLAINTEXT
// port accepts connections.
func ready(b *Broker) bool {
	log, err := os.ReadFile(b.LogPath)
	if err != nil || !bytes.Contains(log, []byte("Kafka Server started")) {
		return false
	}
	c, err := net.DialTimeout("tcp", b.Plain, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// freePorts returns n distinct ports that were free a moment ago: it holds
// all n listeners open before closing them, so no two are the same.
func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("picking a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// clusterID returns a random KRaft cluster id: a base64url 16-byte UUID,
// never starting with '-' (it would look like a flag).
func clusterID() string {
	for {
		var b [16]byte
		_, _ = rand.Read(b[:])
		if id := base64.RawURLEncoding.EncodeToString(b[:]); id[0] != '-' {
			return id
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// grepLine returns the first line of the file at path containing substr,
// or "".
func grepLine(path, substr string) string {
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, substr) {
			return line
		}
	}
	return ""
}

// errorLines returns up to max lines of the ERROR and FATAL entries of the
// log at path, each with its exception and "Caused by" lines but without
// stack frames: on a failed start the cause is there, while the tail is
// mostly shutdown noise.
func errorLines(path string, max int) string {
	data, _ := os.ReadFile(path)
	var out []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "[") {
			in = strings.Contains(line, "] ERROR ") || strings.Contains(line, "] FATAL ")
		} else if strings.HasPrefix(line, "\t") {
			continue // a stack frame or "... n more"
		}
		if in && line != "" {
			out = append(out, line)
		}
		if len(out) == max {
			break
		}
	}
	if len(out) == 0 {
		return "(none)\n"
	}
	return strings.Join(out, "\n") + "\n"
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)\n", err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

func writeTemplate(path, text string, data any) error {
	var buf bytes.Buffer
	if err := template.Must(template.New(filepath.Base(path)).Parse(text)).Execute(&buf, data); err != nil {
		return fmt.Errorf("rendering %s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Admin returns an admin client on the PLAINTEXT listener, for test setup;
// it is closed in t.Cleanup.
func (b *Broker) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Plain))
	if err != nil {
		t.Fatalf("securekafka: admin client for %s: %v", b.Plain, err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// CreateTopic creates topic with the given partitions (one replica) over
// the PLAINTEXT listener.
func (b *Broker) CreateTopic(t testing.TB, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := b.Admin(t).CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("securekafka: creating topic %s: %v", topic, err)
	}
}
