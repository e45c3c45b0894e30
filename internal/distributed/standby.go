package distributed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/cluster"
	"github.com/seed-474f70f7/sportsconnect/internal/reuseport"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"go.uber.org/zap"
)

// This file holds the standbys of push connectors (connector.Plugin's
// PushAddress, e.g. roanuz.webhook). The provider pushes to one address
// that reaches every worker (a Kubernetes Service, or SO_REUSEPORT on one
// host). The worker that runs the connector's task receives there; every
// other worker answers 503 with Retry-After, so the provider retries until
// the push reaches the owner: a push is never written by a worker that
// does not own the task, and never lost while the task moves.

// standbys are the open standby listeners, by connector.
type standbys struct {
	mu    sync.Mutex
	byCon map[string]*standby
}

// standby answers one connector's push address on a worker that does not
// run its task.
type standby struct {
	addr    string
	srv     *http.Server
	refused atomic.Int64
}

// ServeHTTP answers every push 503: the task runs on another worker.
func (s *standby) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.refused.Add(1)
	// Closed after the answer: the provider's retry opens a new
	// connection, which may reach the owner (a kept-alive one would come
	// back here).
	w.Header().Set("Connection", "close")
	w.Header().Set("Retry-After", "1")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "this worker does not run the receiving task; retry, the push will reach the worker that does"})
}

// pushAddress returns the push address of a connector's config, "" if it
// has none (or its config is invalid here).
func (h *Herder) pushAddress(cfg map[string]string) string {
	full, plugin, err := h.w.CheckConfig(cfg)
	if err != nil {
		return ""
	}
	return worker.PushAddress(plugin, full)
}

// syncStandbys opens a standby for every push connector that wants its
// task and does not run it here (nor is about to: starting), and closes
// the others.
func (h *Herder) syncStandbys(snap map[string]cluster.ConnectorState, starting map[string]bool) {
	want := map[string]string{}
	h.mu.Lock()
	local := map[string]bool{}
	for k := range h.running {
		local[k.connector] = true
	}
	h.mu.Unlock()
	for name, c := range snap {
		if c.Target == cluster.TargetStopped || local[name] || starting[name] {
			continue
		}
		if addr := h.pushAddress(c.Config); addr != "" {
			want[name] = addr
		}
	}
	h.sb.mu.Lock()
	defer h.sb.mu.Unlock()
	if h.sb.byCon == nil {
		h.sb.byCon = map[string]*standby{}
	}
	for name, s := range h.sb.byCon {
		if want[name] != s.addr {
			h.closeStandbyLocked(name)
		}
	}
	for name, addr := range want {
		if _, open := h.sb.byCon[name]; open {
			continue
		}
		s, err := h.openStandby(addr)
		if err != nil {
			h.log.Warn("push address standby not opened; pushes reaching this worker are refused by the system instead",
				zap.String("connector", name), zap.String("addr", addr), zap.Error(err))
			continue
		}
		h.sb.byCon[name] = s
		h.log.Info("answering the push address with 503 until this worker runs the connector's task",
			zap.String("connector", name), zap.String("addr", addr))
	}
}

func (h *Herder) openStandby(addr string) (*standby, error) {
	ln, err := reuseport.Listen(context.Background(), addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	s := &standby{addr: addr}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		MaxHeaderBytes: 64 << 10, ErrorLog: zap.NewStdLog(h.log.Named("standby"))}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Warn("push address standby ended", zap.String("addr", addr), zap.Error(err))
		}
	}()
	return s, nil
}

// closeStandby closes name's standby, before its task starts here.
func (h *Herder) closeStandby(name string) {
	h.sb.mu.Lock()
	defer h.sb.mu.Unlock()
	h.closeStandbyLocked(name)
}

func (h *Herder) closeStandbyLocked(name string) {
	s, ok := h.sb.byCon[name]
	if !ok {
		return
	}
	delete(h.sb.byCon, name)
	_ = s.srv.Close()
	h.log.Info("push address standby closed", zap.String("connector", name), zap.String("addr", s.addr),
		zap.Int64("pushes_refused", s.refused.Load()))
}

// closeStandbys closes every standby (the herder stops).
func (h *Herder) closeStandbys() {
	h.sb.mu.Lock()
	defer h.sb.mu.Unlock()
	for name := range h.sb.byCon {
		h.closeStandbyLocked(name)
	}
}
