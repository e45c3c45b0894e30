package rest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"go.uber.org/zap"
)

// maxBody bounds every request body.
const maxBody = 1 << 20

// requestTimeout bounds a request's work (Connect's is 90 s).
const requestTimeout = 90 * time.Second

// Options configure a Server.
type Options struct {
	// Worker is the herder the API drives: a standalone *worker.Worker or
	// a distributed mode herder.
	Worker Herder
	// WorkerID is the worker_id shown in statuses (host:port); empty = the
	// address the server listens on.
	WorkerID string
	// Version and Commit are shown by GET /.
	Version, Commit string
	// ClusterID is the Kafka cluster id shown by GET /; empty = asked from
	// the worker once, on the first GET /.
	ClusterID string
	// AuthToken, if set, is the bearer token every request but the probes
	// must carry.
	AuthToken string
	// Defaults are applied to connector configs created or updated through
	// the API when they lack the key (the worker's topic.prefix).
	Defaults connector.Config
	// Metrics, if set, is served at GET /metrics.
	Metrics http.Handler
	// Ready reports whether the worker is ready (nil error); nil = always.
	Ready  func() error
	Logger *zap.Logger
}

// Server is the REST API of one worker.
type Server struct {
	opts    Options
	handler http.Handler
	log     *zap.Logger

	client *http.Client // forwards requests to other workers

	mu        sync.Mutex
	workerID  string
	clusterID string
	srv       *http.Server
}

// New returns a server; Start listens, Handler serves without listening.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger, workerID: opts.WorkerID, clusterID: opts.ClusterID,
		client: &http.Client{Timeout: forwardTimeout}}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.handler = s.routes()
	return s
}

// Handler returns the API's handler (authentication included).
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on addr (host:port; port 0 picks one) and serves in the
// background. It returns the address it listens on.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("REST API: listening on %s: %w", addr, err)
	}
	return s.Serve(ln), nil
}

// Serve serves on ln in the background (for a caller that must know the
// bound address before it builds the server). It returns ln's address.
func (s *Server) Serve(ln net.Listener) string {
	bound := ln.Addr().String()
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		ErrorLog: zap.NewStdLog(s.log.Named("http"))}
	s.mu.Lock()
	if s.workerID == "" {
		s.workerID = bound
	}
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("REST API stopped", zap.Error(err))
		}
	}()
	s.log.Info("REST API listening", zap.String("address", "http://"+bound), zap.Bool("auth", s.opts.AuthToken != ""))
	return bound
}

// Shutdown stops the server, letting requests in flight finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

func (s *Server) worker() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.workerID
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
			body, err := bufferBody(w, r)
			if err == nil {
				err = fn(w, r)
			}
			if fe, ok := isForward(err); ok {
				err = s.forward(w, r, body, fe)
			}
			if err != nil {
				s.writeError(w, r, err)
			}
		})
	}
	h("GET /{$}", s.root)
	h("GET /health", s.health)
	h("GET /healthz", func(w http.ResponseWriter, _ *http.Request) error {
		return writeJSON(w, http.StatusOK, healthBody{Status: "ok", Message: "the worker process is alive"})
	})
	h("GET /readyz", s.health)
	if s.opts.Metrics != nil {
		mux.Handle("GET /metrics", s.opts.Metrics)
	}
	for _, p := range []string{"/connectors", "/connectors/{$}"} {
		h("GET "+p, s.listConnectors)
		h("POST "+p, s.createConnector)
	}
	h("GET /connectors/{c}", s.getConnector)
	h("DELETE /connectors/{c}", s.deleteConnector)
	h("GET /connectors/{c}/config", s.getConfig)
	h("PUT /connectors/{c}/config", s.putConfig)
	h("GET /connectors/{c}/status", s.getStatus)
	h("GET /connectors/{c}/tasks", s.getTasks)
	h("GET /connectors/{c}/tasks/{t}/status", s.getTaskStatus)
	h("POST /connectors/{c}/restart", s.restartConnector)
	h("POST /connectors/{c}/tasks/{t}/restart", s.restartTask)
	h("PUT /connectors/{c}/pause", s.pause)
	h("PUT /connectors/{c}/resume", s.resume)
	h("PUT /connectors/{c}/stop", s.stop)
	h("GET /connectors/{c}/offsets", s.getOffsets)
	h("PATCH /connectors/{c}/offsets", s.alterOffsets)
	h("DELETE /connectors/{c}/offsets", s.resetOffsets)
	h("GET /connector-plugins", s.listPlugins)
	h("GET /connector-plugins/{class}/config", s.pluginConfig)
	h("PUT /connector-plugins/{class}/config/validate", s.validate)
	return s.withAuth(s.withJSONErrors(mux))
}

// withJSONErrors answers unknown paths (404) and wrong methods (405) with
// Connect's JSON error body instead of the mux's plain text.
func (s *Server) withJSONErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		code := rec.code
		if code == 0 || code == http.StatusOK {
			code = http.StatusNotFound
		}
		_ = writeJSON(w, code, errorBody{ErrorCode: code, Message: fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))})
	})
}

// statusRecorder keeps the status a fallback handler chose.
type statusRecorder struct {
	header http.Header
	code   int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.code = code }

// withAuth requires the bearer token on everything but the probes.
func (s *Server) withAuth(next http.Handler) http.Handler {
	if s.opts.AuthToken == "" {
		return next
	}
	want := []byte("Bearer " + s.opts.AuthToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/health":
			next.ServeHTTP(w, r)
			return
		}
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sportsconnect"`)
			_ = writeJSON(w, http.StatusUnauthorized, errorBody{ErrorCode: http.StatusUnauthorized,
				Message: "missing or wrong bearer token (Authorization: Bearer <rest.auth.token>)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) root(w http.ResponseWriter, r *http.Request) error {
	s.mu.Lock()
	id := s.clusterID
	s.mu.Unlock()
	if id == "" && s.opts.Worker != nil {
		got, err := s.opts.Worker.ClusterID(r.Context())
		if err != nil {
			s.log.Warn("reading the Kafka cluster id", zap.Error(err))
		} else {
			id = got
			s.mu.Lock()
			s.clusterID = got
			s.mu.Unlock()
		}
	}
	return writeJSON(w, http.StatusOK, serverInfo{Version: s.opts.Version, Commit: s.opts.Commit, KafkaClusterID: id})
}

// health is Connect's GET /health and our /readyz: 200 once the worker is
// ready, 503 before (or while a task is failed).
func (s *Server) health(w http.ResponseWriter, _ *http.Request) error {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			return writeJSON(w, http.StatusServiceUnavailable, healthBody{Status: "unhealthy", Message: err.Error()})
		}
	}
	return writeJSON(w, http.StatusOK, healthBody{Status: "healthy", Message: "Worker has completed startup and is ready to handle requests."})
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if v == nil {
		return nil
	}
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing response: %w", err)
	}
	return nil
}

// httpError is an error with the status it answers.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// writeError maps err to Connect's status codes and error body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	msg := err.Error()
	var he *httpError
	var ces connector.ConfigErrors
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		code = he.code
	case errors.Is(err, worker.ErrUnknownConnector):
		code = http.StatusNotFound
		if c := r.PathValue("c"); c != "" {
			msg = fmt.Sprintf("Connector %s not found", c)
		}
	case errors.Is(err, worker.ErrUnknownTask):
		code = http.StatusNotFound
	case errors.Is(err, worker.ErrConnectorExists):
		code = http.StatusConflict
	case errors.As(err, &ces):
		code = http.StatusBadRequest
		msg = fmt.Sprintf("Connector configuration is invalid and contains the following %d error(s):\n%s", len(ces), ces.Error())
	case errors.Is(err, worker.ErrNotStopped), errors.Is(err, worker.ErrBadOffsets), errors.Is(err, connector.ErrUnknownClass):
		code = http.StatusBadRequest
	case errors.As(err, &mbe):
		code = http.StatusRequestEntityTooLarge
	}
	if code >= 500 {
		s.log.Error("REST request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
	}
	_ = writeJSON(w, code, errorBody{ErrorCode: code, Message: msg})
}

// readBody reads a bounded request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, badRequest("request body is empty: expected JSON")
	}
	return b, nil
}

// Launch starts the API as the worker's settings say: not at all when
// listeners is empty; otherwise a listener that cannot be bound (a port
// already in use) is an error, default listener included, so a worker
// never runs silently without its API, /metrics and probes.
func Launch(set worker.RESTSettings, opts Options) (*Server, error) {
	opts.AuthToken = set.AuthToken
	s := New(opts)
	if set.Addr == "" {
		s.log.Info("REST API disabled (listeners is empty)")
		return s, nil
	}
	if _, err := s.Start(set.Addr); err != nil {
		return nil, fmt.Errorf("%w (set listeners to another http://host:port, or listeners= to run without the REST API, /metrics and the probes)", err)
	}
	return s, nil
}
