package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// cluster is one test's worker group: its names on the shared broker and
// the worker processes it started.
type cluster struct {
	t                                 *testing.T
	group, offsets, configs, statuses string
	prefix                            string
	extra                             []string // more worker properties

	mu      sync.Mutex
	workers []*proc
}

func newCluster(t *testing.T, extra ...string) *cluster {
	u := testenv.UniqueName(t, "sc-")
	c := &cluster{t: t, group: u + "-g", offsets: u + "-offsets", configs: u + "-configs", statuses: u + "-status", prefix: u, extra: extra}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.workers {
			p.kill()
		}
	})
	return c
}

// proc is one worker process.
type proc struct {
	cmd  *exec.Cmd
	url  string // its REST API
	id   string // host:port, its worker_id
	logs *bytes.Buffer
	mu   sync.Mutex
	done chan struct{}
	err  error
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start starts a worker process in distributed mode and waits until its
// REST API answers.
func (c *cluster) start() *proc {
	t := c.t
	t.Helper()
	port := freePort(t)
	props := testenv.WorkerProperties(t, c.group, c.offsets, append([]string{
		fmt.Sprintf("listeners=http://127.0.0.1:%d", port),
		"config.storage.topic=" + c.configs,
		"status.storage.topic=" + c.statuses,
	}, c.extra...)...)
	file := testenv.WriteFile(t, fmt.Sprintf("worker-%d.properties", port), props)
	p := &proc{url: fmt.Sprintf("http://127.0.0.1:%d", port), id: fmt.Sprintf("127.0.0.1:%d", port), logs: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(testenv.Binary(t), "run", "--mode", "distributed", "--log-format", "json", file)
	p.cmd.Stdout, p.cmd.Stderr = syncWriter{p}, syncWriter{p}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	c.mu.Lock()
	c.workers = append(c.workers, p)
	c.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/")
		if err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("worker %s exited at start: %v\n%s", p.id, p.err, p.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker %s: REST API not up within 30 s\n%s", p.id, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncWriter struct{ p *proc }

func (w syncWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.logs.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// kill SIGKILLs the process and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// term SIGTERMs the process and waits up to 30 s for a clean exit.
func (p *proc) term(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("worker %s: SIGTERM exit %v, want 0\n%s", p.id, p.err, p.output())
		}
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("worker %s did not exit within 30 s of SIGTERM\n%s", p.id, p.output())
	}
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// call sends a REST request to the worker and decodes a JSON answer into
// out (if not nil); it returns the status code.
func (p *proc) call(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusConflict { // 409: a rebalance, retried by mustCall
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// mustCall is call that retries 409 (a rebalance under way) for 60 s and
// fails on any other error status.
func (p *proc) mustCall(t *testing.T, method, path string, body any, out any) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code := p.call(t, method, path, body, out)
		if code < 300 {
			return
		}
		if code != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("%s %s: status %d\n%s", method, path, code, p.output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// status is GET /connectors/{name}/status.
type status struct {
	Connector struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
	} `json:"connector"`
	Tasks []struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	} `json:"tasks"`
}

// taskOwner returns the worker_id running task id of name, "" if none
// reports it RUNNING.
func (p *proc) taskOwner(t *testing.T, name string, id int) string {
	var st status
	if p.call(t, "GET", "/connectors/"+name+"/status", nil, &st) != 200 {
		return ""
	}
	for _, ts := range st.Tasks {
		if ts.ID == id && ts.State == "RUNNING" {
			return ts.WorkerID
		}
	}
	return ""
}

// brokers returns the client options of the shared broker.
func brokers(t *testing.T) []kgo.Opt { return []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)} }

// committedMin returns the smallest committed position over k synthetic
// partitions of connector (0 for a partition without an offset).
func (c *cluster) committedMin(ctx context.Context, conn string, k int) int64 {
	offs, err := worker.ReadOffsets(ctx, brokers(c.t), c.offsets, conn)
	if err != nil {
		c.t.Logf("reading offsets: %v", err)
		return 0
	}
	lo := int64(-1)
	for p := range k {
		o, ok := offs.Offsets[synthetic.PartitionOf(int32(p)).String()]
		pos := int64(0)
		if ok {
			pos, _ = o.OffsetInt("position")
		}
		if lo < 0 || pos < lo {
			lo = pos
		}
	}
	return lo
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syntheticConnector returns a POST /connectors body.
func syntheticConnector(name, prefix string, tasks, partitions int, events int64, rate int) map[string]any {
	return map[string]any{"name": name, "config": map[string]string{
		"connector.class": "synthetic", "tasks.max": fmt.Sprint(tasks), "topic.prefix": prefix,
		"topic.creation.default.partitions": "3", "transaction.boundary": "poll",
		"synthetic.partitions": fmt.Sprint(partitions), "synthetic.events.per.partition": fmt.Sprint(events),
		"synthetic.rate": fmt.Sprint(rate), "synthetic.batch.max": "50",
	}}
}

func logsOf(ps ...*proc) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "=== worker %s\n%s\n", p.id, p.output())
	}
	return b.String()
}
