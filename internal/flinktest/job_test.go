package flinktest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// exampleDir is deploy/examples/flink, from this package's directory.
const exampleDir = "../../deploy/examples/flink"

// buildOnce builds the runner (flink.sh build: Maven, cached) once per
// test binary.
var buildOnce struct {
	sync.Once
	took time.Duration
	err  error
}

// buildJob runs flink.sh build (a no-op when nothing changed since the
// last build; the first one fetches Flink's jars from Maven Central) and
// fails the test with Maven's errors if it fails.
func buildJob(t *testing.T) {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		cmd := exec.Command("bash", filepath.Join(exampleDir, "flink.sh"), "build")
		out, err := cmd.CombinedOutput()
		buildOnce.took = time.Since(start)
		if err != nil {
			buildOnce.err = fmt.Errorf("flink.sh build: %v\n%s", err, out)
			return
		}
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Logf("flink.sh build:\n%s", s)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	t.Logf("flink.sh build: %v", buildOnce.took.Round(time.Millisecond))
}

// jobConfig is what the runner substitutes into the SQL, plus where it
// keeps its state.
type jobConfig struct {
	sql                 string // path of the SQL file
	bootstrap, registry string
	events, group       string
	scores, perMinute   string
	checkpointInterval  string   // e.g. "1s"
	extra               []string // more runner arguments
}

// jobEvent is one line of the runner's stdout.
type jobEvent struct {
	Event     string `json:"event"`
	JobID     string `json:"job_id"`
	StartupMS int64  `json:"startup_ms"`
	Reason    string `json:"reason"`
	Savepoint string `json:"savepoint"`
	Status    string `json:"status"`
	StopMS    int64  `json:"stop_ms"`
	TotalMS   int64  `json:"total_ms"`
	Error     string `json:"error"`
	// After a stop: the source's positions in the savepoint, the group's
	// offsets as Flink left them, and as the runner committed them.
	SavepointOffsets string `json:"savepoint_offsets"`
	FlinkCommitted   string `json:"flink_committed"`
	GroupOffsets     string `json:"group_offsets"`
}

// parseOffsets parses the runner's "{0=12, 1=40}".
func parseOffsets(s string) (map[int32]int64, error) {
	out := map[int32]int64{}
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}"))
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		var p int32
		var o int64
		if _, err := fmt.Sscanf(strings.TrimSpace(kv), "%d=%d", &p, &o); err != nil {
			return nil, fmt.Errorf("offsets %q: %v", s, err)
		}
		out[p] = o
	}
	return out, nil
}

// job is one run of the runner: a JVM with the Flink mini-cluster.
type job struct {
	t        *testing.T
	name     string
	cmd      *exec.Cmd
	stopFile string
	stderr   string // path of the runner's log
	stateDir string // its checkpoints and savepoints
	start    time.Time

	running chan struct{} // closed on the "running" event
	exited  chan struct{} // closed when the process has exited
	err     error         // the process's exit error, once exited

	mu     sync.Mutex
	events []jobEvent
}

// startJob starts the runner through flink.sh run (which execs java, so
// the process is the JVM). It is killed if the test ends first.
func startJob(ctx context.Context, t *testing.T, name string, c jobConfig) *job {
	t.Helper()
	dir := t.TempDir()
	j := &job{
		t: t, name: name, stopFile: filepath.Join(dir, "stop"), stderr: filepath.Join(dir, "runner.log"),
		running: make(chan struct{}), exited: make(chan struct{}), start: time.Now(),
		stateDir: filepath.Join(dir, "state"),
	}
	args := []string{filepath.Join(exampleDir, "flink.sh"), "run",
		"--sql", c.sql,
		"--bootstrap-servers", c.bootstrap,
		"--schema-registry-url", c.registry,
		"--events-topic", c.events,
		"--group-id", c.group,
		"--scores-topic", c.scores,
		"--per-minute-topic", c.perMinute,
		"--checkpoint-interval", c.checkpointInterval,
		"--restart-attempts", "0", // a failure fails the test
		"--state-dir", j.stateDir,
		"--stop-file", j.stopFile,
	}
	args = append(args, c.extra...)
	j.cmd = exec.CommandContext(ctx, "bash", args...)
	// C1 only and a serial GC: these runs last seconds, on 2 shared cores.
	j.cmd.Env = append(os.Environ(), "FLINK_JAVA_OPTS=-Xmx768m -XX:+UseSerialGC -XX:TieredStopAtLevel=1")
	logf, err := os.Create(j.stderr)
	if err != nil {
		t.Fatal(err)
	}
	j.cmd.Stderr = logf
	stdout, err := j.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	j.cmd.WaitDelay = 10 * time.Second
	dieWithTest(j.cmd)
	if err := j.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-j.exited:
		default:
			_ = j.cmd.Process.Kill()
			<-j.exited
		}
		if t.Failed() {
			j.logTail(80)
		}
	})
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev jobEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Event == "" {
				t.Logf("%s stdout: %s", name, sc.Text())
				continue
			}
			t.Logf("%s +%v: %s", name, time.Since(j.start).Round(time.Millisecond), sc.Text())
			j.mu.Lock()
			j.events = append(j.events, ev)
			j.mu.Unlock()
			if ev.Event == "running" {
				close(j.running)
			}
		}
	}()
	go func() {
		<-lines
		j.err = j.cmd.Wait()
		logf.Close()
		close(j.exited)
	}()
	return j
}

// waitRunning waits for the job to run, failing the test if the runner
// exits first or it takes longer than d.
func (j *job) waitRunning(d time.Duration) {
	j.t.Helper()
	select {
	case <-j.running:
	case <-j.exited:
		j.logTail(80)
		j.t.Fatalf("%s exited before running: %v", j.name, j.err)
	case <-time.After(d):
		j.logTail(80)
		j.t.Fatalf("%s not running after %v", j.name, d)
	}
}

// alive fails the test if the runner has exited.
func (j *job) alive() {
	j.t.Helper()
	select {
	case <-j.exited:
		j.logTail(80)
		j.t.Fatalf("%s exited while it should run: %v", j.name, j.err)
	default:
	}
}

// stop asks the runner to stop with a savepoint and drain (the stop file)
// and waits for it to exit 0 after reporting "stopped".
func (j *job) stop(d time.Duration) jobEvent {
	j.t.Helper()
	if err := os.WriteFile(j.stopFile, nil, 0o644); err != nil {
		j.t.Fatal(err)
	}
	select {
	case <-j.exited:
	case <-time.After(d):
		j.logTail(80)
		j.t.Fatalf("%s did not stop within %v", j.name, d)
	}
	if j.err != nil {
		j.logTail(80)
		j.t.Fatalf("%s exited with %v", j.name, j.err)
	}
	ev, ok := j.last("stopped")
	if !ok {
		j.logTail(80)
		j.t.Fatalf("%s exited without reporting stopped", j.name)
	}
	return ev
}

func (j *job) last(event string) (jobEvent, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := len(j.events) - 1; i >= 0; i-- {
		if j.events[i].Event == event {
			return j.events[i], true
		}
	}
	return jobEvent{}, false
}

// checkpoints counts the completed checkpoints in the runner's log.
func (j *job) checkpoints() int {
	b, _ := os.ReadFile(j.stderr)
	return strings.Count(string(b), "Completed checkpoint")
}

func (j *job) logTail(n int) {
	b, err := os.ReadFile(j.stderr)
	if err != nil {
		j.t.Logf("%s log: %v", j.name, err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	j.t.Logf("%s: last %d lines of %s:\n%s", j.name, len(lines), j.stderr, strings.Join(lines, "\n"))
}
