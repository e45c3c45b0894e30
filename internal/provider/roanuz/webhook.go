package roanuz

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/reuseport"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// pushReq is one received push on its way to Poll. Exactly one reply is
// sent on done (buffered, so the sender never blocks).
type pushReq struct {
	push     *Push
	raw      []byte // the body as received
	err      error  // why the body can never be valid (then push is nil)
	status   int    // the 4xx status for err
	encoding string // the request's Content-Encoding
	remote   string // the sender's address

	truncated *truncation // set when raw is only the start of an oversized body
	received  time.Time
	done      chan ackResult
}

// ackResult is the answer to a push.
type ackResult struct {
	status int
	msg    string
}

func (r *pushReq) reply(status int, msg string) {
	select {
	case r.done <- ackResult{status, msg}:
	default:
	}
}

// receiver is the webhook's HTTP side: it authenticates the sender, caps and
// decodes the body, and hands the push to Poll through a bounded queue; it
// answers once Poll's record committed (or not within the deadline).
type receiver struct {
	cfg      webhookConfig
	log      *zap.Logger
	queue    chan *pushReq
	inflight chan struct{}
	closed   chan struct{}
	once     sync.Once

	ln  net.Listener
	srv *http.Server
	wg  sync.WaitGroup

	accepted, refused, timeouts atomic.Int64
}

func newReceiver(cfg webhookConfig, log *zap.Logger) *receiver {
	return &receiver{cfg: cfg, log: log, queue: make(chan *pushReq, cfg.queue),
		inflight: make(chan struct{}, cfg.maxInflight), closed: make(chan struct{})}
}

// start listens and serves in the background.
func (rc *receiver) start() error {
	// Shared (SO_REUSEPORT) so the standbys of a distributed cluster's
	// other workers on this host may answer at the same address; the
	// worker refuses two connectors on one address.
	ln, err := reuseport.Listen(context.Background(), rc.cfg.listen)
	if err != nil {
		return fmt.Errorf("roanuz webhook: listening on %s: %w", rc.cfg.listen, err)
	}
	if rc.cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(rc.cfg.tlsCert, rc.cfg.tlsKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("roanuz webhook: loading TLS key pair: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	rc.ln = ln
	rc.srv = &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: rc.cfg.ackTimeout + 30*time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: zap.NewStdLog(rc.log.Named("http"))}
	rc.wg.Add(1)
	go func() {
		defer rc.wg.Done()
		if err := rc.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			rc.log.Warn("roanuz webhook server ended", zap.Error(err))
		}
	}()
	rc.log.Info("roanuz webhook listening", zap.String("addr", ln.Addr().String()), zap.String("path", rc.cfg.path),
		zap.Bool("tls", rc.cfg.tlsCert != ""))
	return nil
}

// addr returns the listen address.
func (rc *receiver) addr() string { return rc.ln.Addr().String() }

// stop answers every waiting push 503 and closes the server.
func (rc *receiver) stop() {
	rc.once.Do(func() {
		close(rc.closed)
		if rc.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = rc.srv.Shutdown(ctx)
			cancel()
			_ = rc.srv.Close()
		}
		rc.wg.Wait()
	})
}

// authorized checks the source address and the secret (constant time).
func (rc *receiver) authorized(r *http.Request) (int, string) {
	if len(rc.cfg.allow) > 0 {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip, perr := netip.ParseAddr(host)
		if err != nil || perr != nil {
			return http.StatusForbidden, "source address not allowed"
		}
		ip = ip.Unmap()
		ok := false
		for _, p := range rc.cfg.allow {
			if p.Contains(ip) {
				ok = true
				break
			}
		}
		if !ok {
			return http.StatusForbidden, "source address not allowed"
		}
	}
	var given string
	if rc.cfg.secretHeader != "" {
		if r.URL.Path != rc.cfg.path {
			return http.StatusNotFound, "no such path"
		}
		given = r.Header.Get(rc.cfg.secretHeader)
	} else {
		rest, ok := strings.CutPrefix(r.URL.Path, strings.TrimRight(rc.cfg.path, "/")+"/")
		if !ok {
			return http.StatusNotFound, "no such path"
		}
		given = rest
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(rc.cfg.secret)) != 1 {
		return http.StatusUnauthorized, "bad or missing secret"
	}
	return 0, ""
}

// ServeHTTP receives one push.
func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if status, why := rc.authorized(r); status != 0 {
		rc.refused.Add(1)
		// The secret is never logged: only the address and the reason.
		rc.log.Warn("roanuz push refused", zap.String("remote", r.RemoteAddr), zap.Int("status", status), zap.String("reason", why))
		http.Error(w, why, status)
		return
	}
	deadline := time.NewTimer(rc.cfg.ackTimeout)
	defer deadline.Stop()
	// Bound the memory: at most maxInflight bodies are held at once.
	select {
	case rc.inflight <- struct{}{}:
		defer func() { <-rc.inflight }()
	case <-deadline.C:
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case <-r.Context().Done():
		return
	}
	req := rc.read(w, r)
	if req == nil {
		return
	}
	req.encoding, req.remote = r.Header.Get("Content-Encoding"), r.RemoteAddr
	select {
	case rc.queue <- req:
	case <-deadline.C:
		rc.timeouts.Add(1)
		http.Error(w, "not accepted in time; retry", http.StatusServiceUnavailable)
		return
	case <-rc.closed:
		http.Error(w, "receiver stopping; retry", http.StatusServiceUnavailable)
		return
	case <-r.Context().Done():
		return
	}
	select {
	case res := <-req.done:
		if res.status/100 == 2 {
			rc.accepted.Add(1)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(res.status)
		_, _ = io.WriteString(w, res.msg+"\n")
	case <-deadline.C:
		rc.timeouts.Add(1)
		http.Error(w, "not durable in time; retry", http.StatusServiceUnavailable)
	case <-rc.closed:
		http.Error(w, "receiver stopping; retry", http.StatusServiceUnavailable)
	case <-r.Context().Done():
	}
}

// read reads, inflates and parses the body. A body that can never be valid
// becomes a request carrying err (answered 4xx once its dead letter is
// written). A body over roanuz.webhook.body.max.bytes cannot be kept whole:
// reading stops one byte past the limit, and its dead letter holds only its
// first roanuz.webhook.deadletter.max.bytes bytes, with headers saying it was
// truncated, the length the sender declared and the bytes seen.
func (rc *receiver) read(w http.ResponseWriter, r *http.Request) *pushReq {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.cfg.bodyMax))
	req := &pushReq{raw: raw, received: time.Now(), done: make(chan ackResult, 1)}
	if err != nil {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
			return nil
		}
		rc.log.Warn("roanuz push body too large; dead-lettering its start", zap.String("remote", r.RemoteAddr),
			zap.Int64("limit", rc.cfg.bodyMax), zap.Int64("declared", r.ContentLength))
		req.truncated = &truncation{declared: r.ContentLength, seen: int64(len(raw)) + 1, kept: min(int64(len(raw)), rc.cfg.deadLetterMax)}
		req.raw = bytes.Clone(raw[:req.truncated.kept]) // let the rest of the buffer go
		req.err = fmt.Errorf("%w: body over %d bytes (declared %s, read stopped after %d)", ErrTooLarge, rc.cfg.bodyMax,
			declaredText(r.ContentLength), req.truncated.seen)
		req.status = http.StatusRequestEntityTooLarge
		return req
	}
	body, err := DecodeBody(raw, r.Header.Get("Content-Encoding"), rc.cfg.inflatedMax)
	if err == nil {
		req.push, err = ParsePush(body)
	}
	if err != nil {
		req.err, req.status = err, http.StatusBadRequest
		if errors.Is(err, ErrTooLarge) {
			req.status = http.StatusRequestEntityTooLarge
		}
	}
	return req
}

// truncation describes an oversized body of which only the start is kept.
type truncation struct {
	declared int64 // Content-Length, -1 if not declared
	seen     int64 // bytes read before reading stopped (the limit plus one)
	kept     int64 // bytes kept in the dead letter
}

// Headers of a truncated dead letter.
const (
	HeaderTruncated   = "roanuz.body.truncated"      // "true"
	HeaderDeclaredLen = "roanuz.body.declared.bytes" // Content-Length, or "unknown"
	HeaderSeenBytes   = "roanuz.body.seen.bytes"     // bytes read before reading stopped
	HeaderKeptBytes   = "roanuz.body.kept.bytes"     // bytes in the dead letter's value
	HeaderRemoteAddr  = "roanuz.remote.addr"         // the sender's address
	HeaderEncoding    = "roanuz.content.encoding"    // the request's Content-Encoding
)

func declaredText(n int64) string {
	if n < 0 {
		return "unknown"
	}
	return strconv.FormatInt(n, 10)
}

// headers returns the truncation headers.
func (tr *truncation) headers() []kgo.RecordHeader {
	return []kgo.RecordHeader{
		{Key: HeaderTruncated, Value: []byte("true")},
		{Key: HeaderDeclaredLen, Value: []byte(declaredText(tr.declared))},
		{Key: HeaderSeenBytes, Value: []byte(strconv.FormatInt(tr.seen, 10))},
		{Key: HeaderKeptBytes, Value: []byte(strconv.FormatInt(tr.kept, 10))},
	}
}
