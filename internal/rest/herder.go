package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"go.uber.org/zap"
)

// Herder is what the API asks of the worker behind it: a standalone
// *worker.Worker, or a distributed mode herder. A herder that cannot do a
// request itself returns a *worker.ForwardError, and the API forwards the
// request to the worker it names.
type Herder interface {
	Connectors() []string
	Info(name string) (worker.ConnectorInfo, error)
	Status(name string) (worker.ConnectorStatus, error)
	CreateConnector(ctx context.Context, raw connector.Config) error
	PutConnectorConfig(ctx context.Context, raw connector.Config) (created bool, err error)
	DeleteConnector(name string) error
	RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) error
	RestartTask(name string, id int) error
	PauseConnector(name string) error
	ResumeConnector(ctx context.Context, name string) error
	StopConnector(name string) error
	Offsets(ctx context.Context, name string) (worker.ConnectorOffsets, error)
	AlterOffsets(ctx context.Context, name string, offs worker.ConnectorOffsets) error
	ResetOffsets(ctx context.Context, name string) error
	Plugins() *connector.Plugins
	ClusterID(ctx context.Context) (string, error)
}

// forwardedHeader marks a request one worker forwarded to another; a
// forwarded request is never forwarded again (the leader may have changed
// meanwhile: the caller gets 409 and retries).
const forwardedHeader = "X-Sportsconnect-Forwarded"

// forwardTimeout bounds a forwarded request.
const forwardTimeout = 60 * time.Second

// bufferBody reads the request body (bounded) and puts it back, so a
// request can be forwarded after its handler read it.
func bufferBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, nil
}

// forward sends r (with body) to the worker fe names and copies its answer.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, body []byte, fe *worker.ForwardError) error {
	if fe.URL == "" || r.Header.Get(forwardedHeader) != "" {
		return &httpError{code: http.StatusConflict, msg: (&worker.ForwardError{Reason: fe.Reason}).Error()}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), forwardTimeout)
	defer cancel()
	url := strings.TrimSuffix(fe.URL, "/") + r.URL.RequestURI()
	req, err := http.NewRequestWithContext(ctx, r.Method, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("forwarding to %s: %w", fe.URL, err)
	}
	for _, h := range []string{"Authorization", "Content-Type", "Accept"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set(forwardedHeader, s.worker())
	resp, err := s.client.Do(req)
	if err != nil {
		return &httpError{code: http.StatusConflict, msg: fmt.Sprintf("forwarding the request to %s (%s): %v; retry", fe.URL, fe.Reason, err)}
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return &httpError{code: http.StatusBadGateway, msg: fmt.Sprintf("reading the answer of %s: %v", fe.URL, err)}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
	s.log.Debug("request forwarded", zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.String("to", fe.URL), zap.Int("status", resp.StatusCode))
	return nil
}

// isForward reports whether err asks for the request to be forwarded.
func isForward(err error) (*worker.ForwardError, bool) {
	var fe *worker.ForwardError
	ok := errors.As(err, &fe)
	return fe, ok
}
