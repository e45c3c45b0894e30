package roanuzdemo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"go.uber.org/zap"
)

// balancer stands before the webhook receivers of one acceptance run, as a
// load balancer or an ingress stands before a deployment's workers: the
// provider posts to its one URL, it forwards each request, whole, to one of
// the receivers running now (round-robin) and returns the answer; with no
// receiver, or when forwarding fails, it answers 503 or 502, and the
// provider retries.
type balancer struct {
	srv *httptest.Server
	hc  *http.Client

	mu       sync.Mutex
	backends []string // host:port of the receivers running, oldest first
	next     int

	forwarded, noBackend, failed, added atomic.Int64
}

func newBalancer() *balancer {
	b := &balancer{hc: &http.Client{Timeout: time.Minute}}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	return b
}

// url returns the balancer's base URL.
func (b *balancer) url() string { return b.srv.URL }

// close stops the balancer.
func (b *balancer) close() {
	b.srv.Close()
	b.hc.CloseIdleConnections()
}

// add makes a receiver at addr a target.
func (b *balancer) add(addr string) {
	b.mu.Lock()
	b.backends = append(b.backends, addr)
	b.mu.Unlock()
	b.added.Add(1)
}

// remove takes the receiver at addr out of the targets.
func (b *balancer) remove(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, a := range b.backends {
		if a == addr {
			b.backends = append(b.backends[:i], b.backends[i+1:]...)
			return
		}
	}
}

// pick returns the next receiver, "" if none runs.
func (b *balancer) pick() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.backends) == 0 {
		return ""
	}
	b.next = (b.next + 1) % len(b.backends)
	return b.backends[b.next]
}

// stats describes the balancer's work.
func (b *balancer) stats() string {
	return fmt.Sprintf("%d receivers registered, %d requests forwarded, %d answered 503 with no receiver, %d failed to forward",
		b.added.Load(), b.forwarded.Load(), b.noBackend.Load(), b.failed.Load())
}

func (b *balancer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadGateway)
		return
	}
	to := b.pick()
	if to == "" {
		b.noBackend.Add(1)
		http.Error(w, "no receiver running", http.StatusServiceUnavailable)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+to+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.failed.Add(1)
		http.Error(w, "forwarding: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	b.forwarded.Add(1)
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// balancedPlugin returns p with its tasks registered, once started, with
// the balancer lookup returns for their roanuz.api.url, and taken out of
// it when stopped. p's tasks must tell their listen address (Addr, as
// roanuz.WebhookTask does).
func balancedPlugin(p connector.Plugin, lookup func(apiURL string) *balancer) connector.Plugin {
	inner := p.New
	p.New = func(log *zap.Logger) connector.Connector {
		return &balancedConnector{Connector: inner(log), lookup: lookup}
	}
	return p
}

// balancedConnector is a connector whose tasks are balancedTasks.
type balancedConnector struct {
	connector.Connector
	lookup func(apiURL string) *balancer
}

// NewTask implements connector.Connector.
func (c *balancedConnector) NewTask() connector.SourceTask {
	return &balancedTask{SourceTask: c.Connector.NewTask(), lookup: c.lookup}
}

// balancedTask registers its receiver with the run's balancer while it runs.
type balancedTask struct {
	connector.SourceTask
	lookup func(apiURL string) *balancer
	lb     *balancer
	addr   string
}

// Start implements connector.SourceTask.
func (t *balancedTask) Start(ctx context.Context, tc *connector.TaskContext) error {
	if err := t.SourceTask.Start(ctx, tc); err != nil {
		return err
	}
	fail := func(err error) error {
		_ = t.SourceTask.Stop()
		return connector.Permanent(err)
	}
	a, ok := t.SourceTask.(interface{ Addr() string })
	if !ok {
		return fail(fmt.Errorf("acceptance driver: task %T does not tell its listen address", t.SourceTask))
	}
	url := tc.Config.String(roanuz.KeyAPIURL)
	if t.lb = t.lookup(url); t.lb == nil {
		return fail(fmt.Errorf("acceptance driver: no run of a simulator at %s", url))
	}
	t.addr = a.Addr()
	t.lb.add(t.addr)
	return nil
}

// Stop implements connector.SourceTask: out of the balancer first, so no
// new push reaches a receiver that is stopping.
func (t *balancedTask) Stop() error {
	if t.lb != nil {
		t.lb.remove(t.addr)
	}
	return t.SourceTask.Stop()
}
