package socketio

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"
)

// Defaults of the options.
const (
	// DefaultPath is the Socket.IO endpoint path used when neither WithPath
	// nor the URL gives one.
	DefaultPath = "/socket.io/"
	// DefaultHandshakeTimeout bounds the WebSocket upgrade, the Engine.IO
	// open packet and the namespace connection, per protocol version tried.
	DefaultHandshakeTimeout = 20 * time.Second
	// DefaultWriteTimeout bounds one write (an event with its attachments).
	DefaultWriteTimeout = 10 * time.Second
	// DefaultEventBuffer is the capacity of the queue between the reader
	// and the event handlers.
	DefaultEventBuffer = 64
	// closeGrace is how long Close waits for the server to close the
	// WebSocket after the client's close frame.
	closeGrace = time.Second
)

// Option configures Dial.
type Option func(*options)

type options struct {
	path             string
	namespace        string
	version          Version
	header           http.Header
	auth             any
	logger           *zap.Logger
	dialer           *websocket.Dialer
	handshakeTimeout time.Duration
	writeTimeout     time.Duration
	maxPayload       int
	maxAttachments   int
	eventBuffer      int
	handlers         map[string]handlerEntry
	anyHandler       AnyHandler
}

// WithPath sets the Socket.IO endpoint path (socket.io's "path" option, e.g.
// "/v5/websocket"). A trailing slash is added, as socket.io servers expect.
// Without it the URL's path is used if it has one, else DefaultPath.
func WithPath(path string) Option { return func(o *options) { o.path = path } }

// WithNamespace sets the Socket.IO namespace to connect to (default "/").
func WithNamespace(ns string) Option { return func(o *options) { o.namespace = ns } }

// WithVersion selects the Engine.IO protocol version: V4, V3 or Auto (the
// default), which tries V4 and falls back to V3.
func WithVersion(v Version) Option { return func(o *options) { o.version = v } }

// WithHeader adds HTTP headers to the WebSocket upgrade request.
func WithHeader(h http.Header) Option {
	return func(o *options) {
		if o.header == nil {
			o.header = http.Header{}
		}
		for k, vs := range h {
			for _, v := range vs {
				o.header.Add(k, v)
			}
		}
	}
}

// WithAuth sets the payload of the namespace CONNECT packet (socket.io's
// "auth" option). It is JSON-encoded and must encode to an object. Only
// Socket.IO v5 (Engine.IO v4) carries it; with Engine.IO v3 pass credentials
// as URL query parameters instead.
func WithAuth(auth any) Option { return func(o *options) { o.auth = auth } }

// WithLogger sets the logger (default: no logging).
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.logger = l } }

// WithDialer sets the WebSocket dialer (default: a copy of
// websocket.DefaultDialer). Its HandshakeTimeout applies in addition to
// WithHandshakeTimeout.
func WithDialer(d *websocket.Dialer) Option { return func(o *options) { o.dialer = d } }

// WithHandshakeTimeout bounds each connection attempt: WebSocket upgrade,
// Engine.IO open packet and namespace connection (default
// DefaultHandshakeTimeout). The context given to Dial bounds the whole call.
func WithHandshakeTimeout(d time.Duration) Option {
	return func(o *options) { o.handshakeTimeout = d }
}

// WithWriteTimeout bounds each write to the connection (default
// DefaultWriteTimeout). A write that times out ends the connection, since a
// partly written frame cannot be recovered.
func WithWriteTimeout(d time.Duration) Option { return func(o *options) { o.writeTimeout = d } }

// WithMaxPayload sets the limit in bytes on one incoming WebSocket frame and
// on one incoming packet with all its attachments (default
// DefaultMaxPayload). A larger frame ends the connection with
// ErrPayloadTooLarge.
func WithMaxPayload(n int) Option { return func(o *options) { o.maxPayload = n } }

// WithMaxAttachments sets the limit on binary attachments per incoming
// packet (default DefaultMaxAttachments).
func WithMaxAttachments(n int) Option { return func(o *options) { o.maxAttachments = n } }

// WithEventBuffer sets how many received events may wait for their handlers
// (default DefaultEventBuffer). When the queue is full the reader stops
// reading until a handler returns: see Client.
func WithEventBuffer(n int) Option { return func(o *options) { o.eventBuffer = n } }

// WithHandler registers a handler before the connection is up, so that no
// event can arrive before it; see Client.On.
func WithHandler(event string, h Handler) Option {
	return func(o *options) {
		if o.handlers == nil {
			o.handlers = map[string]handlerEntry{}
		}
		o.handlers[event] = handlerEntry{handler: h}
	}
}

// WithAckHandler registers an acknowledging handler before the connection
// is up; see Client.OnAck.
func WithAckHandler(event string, h AckHandler) Option {
	return func(o *options) {
		if o.handlers == nil {
			o.handlers = map[string]handlerEntry{}
		}
		o.handlers[event] = handlerEntry{ack: h}
	}
}

// WithAnyHandler registers the handler for events that have no handler of
// their own before the connection is up; see Client.OnAny.
func WithAnyHandler(h AnyHandler) Option { return func(o *options) { o.anyHandler = h } }

func newOptions(opts []Option) (options, error) {
	o := options{
		namespace:        "/",
		handshakeTimeout: DefaultHandshakeTimeout,
		writeTimeout:     DefaultWriteTimeout,
		maxPayload:       DefaultMaxPayload,
		maxAttachments:   DefaultMaxAttachments,
		eventBuffer:      DefaultEventBuffer,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.logger == nil {
		o.logger = zap.NewNop()
	}
	if o.dialer == nil {
		d := *websocket.DefaultDialer
		o.dialer = &d
	}
	if !o.version.valid() {
		return o, fmt.Errorf("socketio: unknown Engine.IO version %d", int(o.version))
	}
	ns, err := normalizeNamespace(o.namespace)
	if err != nil {
		return o, err
	}
	o.namespace = ns
	switch {
	case o.handshakeTimeout <= 0:
		return o, fmt.Errorf("socketio: handshake timeout %v must be positive", o.handshakeTimeout)
	case o.writeTimeout <= 0:
		return o, fmt.Errorf("socketio: write timeout %v must be positive", o.writeTimeout)
	case o.maxPayload <= 0:
		return o, fmt.Errorf("socketio: max payload %d must be positive", o.maxPayload)
	case o.maxAttachments <= 0:
		return o, fmt.Errorf("socketio: max attachments %d must be positive", o.maxAttachments)
	case o.eventBuffer <= 0:
		return o, fmt.Errorf("socketio: event buffer %d must be positive", o.eventBuffer)
	}
	return o, nil
}

func normalizeNamespace(ns string) (string, error) {
	if ns == "" {
		return "/", nil
	}
	if !strings.HasPrefix(ns, "/") {
		ns = "/" + ns
	}
	if strings.ContainsAny(ns, ",?") {
		return "", fmt.Errorf("socketio: namespace %q must not contain ',' or '?'", ns)
	}
	return ns, nil
}

// endpointURL builds the WebSocket URL of the Engine.IO endpoint: scheme
// http(s) becomes ws(s), the path is path (or the URL's own path, or
// DefaultPath) with a trailing slash, and EIO and transport are added to the
// URL's query.
func endpointURL(raw, path string, v Version) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("socketio: parse URL: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "ws", "http":
		u.Scheme = "ws"
	case "wss", "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("socketio: URL %q: scheme must be ws, wss, http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("socketio: URL %q has no host", raw)
	}
	if path == "" {
		path = u.Path
		if path == "" || path == "/" {
			path = DefaultPath
		}
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	u.Path, u.RawPath, u.Fragment = path, "", ""
	q := u.Query()
	q.Set("EIO", strconv.Itoa(int(v)))
	q.Set("transport", "websocket")
	u.RawQuery = q.Encode()
	return u.String(), nil
}
