package testenv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// builtBinary builds cmd/sportsconnect once per test binary.
var builtBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sportsconnect-bin-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "sportsconnect")
	cmd := exec.Command("go", "build", "-o", out, "github.com/seed-474f70f7/sportsconnect/cmd/sportsconnect")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/sportsconnect: %v\n%s", err, b)
	}
	return out, nil
})

// Binary returns the path of the sportsconnect binary, built once per test
// binary from this checkout.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := builtBinary()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// WorkerProperties returns a worker.properties for the real broker and
// registry with the given group and offsets topic, plus extra lines.
func WorkerProperties(t testing.TB, group, offsetsTopic string, extra ...string) string {
	t.Helper()
	lines := append([]string{
		"bootstrap.servers=" + Kafka(t),
		"schema.registry.url=" + Registry(t),
		"group.id=" + group,
		"offset.storage.topic=" + offsetsTopic,
		"offset.storage.partitions=5",
		"task.shutdown.graceful.timeout.ms=10000",
		"listeners=", // no REST API: crash tests run binaries side by side
	}, extra...)
	return strings.Join(lines, "\n") + "\n"
}

// WriteFile writes content to name in a test temp dir and returns its path.
func WriteFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// CrashLoop runs the real binary, SIGKILLs it at random instants, restarts
// it, and finally lets it finish and stops it with SIGTERM.
type CrashLoop struct {
	Args   []string // arguments of the binary, e.g. run worker.properties connector.json
	Env    []string // extra environment (secrets)
	Kills  int      // SIGKILLs before the final run
	MinRun time.Duration
	MaxRun time.Duration // each run lasts a random time in [MinRun, MaxRun) before its SIGKILL
	// Progress returns how far the committed state is (e.g. the lowest
	// committed position); it must never go back, and must not reach Done
	// before the last kill (or the kills proved nothing).
	Progress func() int64
	Done     int64
	// FinalTimeout bounds the final run (default 3 minutes).
	FinalTimeout time.Duration
	// Logs, if set, receives every run's output.
	Logs func(run int, out string)
}

// Run runs the loop; it fails t on any violation, and on a final run that
// does not exit 0 within 20 s of SIGTERM.
func (c CrashLoop) Run(t *testing.T) {
	t.Helper()
	bin := Binary(t)
	start := func() (*exec.Cmd, *bytes.Buffer) {
		var logs bytes.Buffer
		cmd := exec.Command(bin, c.Args...)
		cmd.Env = append(os.Environ(), c.Env...)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &logs
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	prev := int64(-1)
	for i := 0; i < c.Kills; i++ {
		cmd, logs := start()
		time.Sleep(c.MinRun + time.Duration(rng.Int64N(int64(c.MaxRun-c.MinRun)+1)))
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if c.Logs != nil {
			c.Logs(i+1, logs.String())
		}
		p := c.Progress()
		t.Logf("kill %d: progress %d of %d", i+1, p, c.Done)
		if p >= c.Done {
			t.Fatalf("kill %d came after the run finished; make the run longer so every kill lands mid-stream\n%s", i+1, logs)
		}
		if p < prev {
			t.Fatalf("committed progress went back from %d to %d", prev, p)
		}
		prev = p
	}
	if prev <= 0 {
		t.Fatal("no run committed anything before being killed")
	}
	cmd, logs := start()
	timeout := c.FinalTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	for c.Progress() < c.Done {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("final run did not reach %d within %s\n%s", c.Done, timeout, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if c.Logs != nil {
			c.Logs(c.Kills+1, logs.String())
		}
		if err != nil {
			t.Fatalf("SIGTERM: exit %v, want 0\n%s", err, logs)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("SIGTERM: did not exit within 20s\n%s", logs)
	}
}
