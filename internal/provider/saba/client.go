package saba

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/backoff"
	"github.com/seed-474f70f7/sportsconnect/internal/sse"
	"go.uber.org/zap"
)

// maxAuthBody caps /login and /refreshToken response bodies.
const maxAuthBody = 1 << 20

// loginRequest is the body of POST /login.
type loginRequest struct {
	VendorID       string `json:"vendor_id"`
	VendorMemberID string `json:"vendor_member_id"`
}

// tokenResponse is the body /login and /refreshToken answer with.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// Client speaks OddsDirect: it logs in, keeps the JWT fresh and opens
// streams. It is safe for concurrent use by the streams of one task.
type Client struct {
	http           *http.Client
	base, version  string
	vendorID       string
	memberID       string
	margin         time.Duration
	requestTimeout time.Duration
	acceptEncoding string
	language       string
	includeMarkets string
	log            *zap.Logger
	metrics        connector.TaskMetrics

	mu      sync.Mutex
	token   string
	issued  time.Time
	expiry  time.Time
	refresh bool // the server refused the token: refresh (or log in) before using it again
}

func newClient(s settings, log *zap.Logger, metrics connector.TaskMetrics) *Client {
	return &Client{
		http: &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 4, ResponseHeaderTimeout: s.requestTimeout}},
		base: s.baseURL, version: s.version, vendorID: s.vendorID, memberID: s.memberID,
		margin: s.refreshMargin, requestTimeout: s.requestTimeout, acceptEncoding: s.acceptEnc,
		language: s.language, includeMarkets: s.includeMarkets, log: log, metrics: metrics,
	}
}

// Token returns a token that is valid for a while: the current one, a
// refreshed one when it is close to expiry (or was refused), or a new login
// when refreshing fails.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	margin := min(c.margin, c.expiry.Sub(c.issued)/2)
	if c.token != "" && !c.refresh && c.expiry.Sub(now) > margin {
		return c.token, nil
	}
	if c.token != "" {
		err := c.authLocked(ctx, "/refreshToken", nil)
		if err == nil {
			return c.token, nil
		}
		c.log.Info("token refresh failed; logging in again", zap.Error(err))
	}
	body, _ := json.Marshal(loginRequest{VendorID: c.vendorID, VendorMemberID: c.memberID})
	if err := c.authLocked(ctx, "/login", body); err != nil {
		return "", err
	}
	return c.token, nil
}

// refreshDue returns how long until the token should be refreshed (0 if
// now), and whether there is a token at all.
func (c *Client) refreshDue() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == "" {
		return 0, false
	}
	margin := min(c.margin, c.expiry.Sub(c.issued)/2)
	return max(0, time.Until(c.expiry.Add(-margin))), true
}

// keepFresh refreshes the token before it expires, so a reconnect never
// waits for a login and the server never sees an expired token, until ctx
// ends. Failures are logged; the next connect tries again.
func (c *Client) keepFresh(ctx context.Context) {
	for {
		wait, ok := c.refreshDue()
		if !ok {
			wait = time.Second // not logged in yet
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 50*time.Millisecond)):
		}
		if !ok {
			continue
		}
		if _, err := c.Token(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("refreshing the token ahead of expiry", zap.Error(err))
		}
	}
}

// Refused marks tok as refused by the server (HTTP 401), so the next Token
// refreshes or logs in.
func (c *Client) Refused(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.refresh = true
	}
	c.mu.Unlock()
}

// authLocked calls /login (body set) or /refreshToken (with the current
// token as Bearer) and stores the token returned.
func (c *Client) authLocked(ctx context.Context, path string, body []byte) error {
	sentinel := ErrLogin
	if body == nil {
		sentinel = ErrRefresh
	}
	ctx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: building request: %w", sentinel, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if body == nil {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: POST %s: %w", sentinel, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAuthBody))
	if err != nil {
		return fmt.Errorf("%w: reading %s response: %w", sentinel, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("%w: POST %s: HTTP %d: %.200s", sentinel, path, resp.StatusCode, b)
		if body != nil && (resp.StatusCode == 400 || resp.StatusCode == 401 || resp.StatusCode == 403) {
			// The server refused the configured credentials: a restart
			// cannot fix that.
			return connector.Permanent(err)
		}
		return err
	}
	var tr tokenResponse
	if err := json.Unmarshal(b, &tr); err != nil || tr.AccessToken == "" {
		return fmt.Errorf("%w: POST %s: no access_token in the response", sentinel, path)
	}
	now := time.Now()
	c.token, c.issued, c.refresh = tr.AccessToken, now, false
	c.expiry = now.Add(time.Hour) // neither expires_in nor a JWT exp: assume an hour
	if tr.ExpiresIn > 0 {
		c.expiry = now.Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	if exp, ok := jwtExpiry(tr.AccessToken); ok && exp.Before(c.expiry) {
		c.expiry = exp
	}
	c.log.Debug("token obtained", zap.String("via", path), zap.Time("expires", c.expiry))
	return nil
}

// jwtExpiry reads the exp claim of a JWT without verifying it (the server
// does that); it only schedules the refresh.
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var c struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil {
		return time.Time{}, false
	}
	n, err := c.Exp.Int64()
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// StreamURL returns the URL of a stream (without the token).
func (c *Client) StreamURL(sp StreamSpec) string {
	q := url.Values{}
	if sp.Query != "" {
		q.Set("query", sp.Query)
	}
	if sp.Endpoint == "GetEvents" && c.includeMarkets != "" {
		q.Set("includeMarkets", c.includeMarkets)
	}
	if c.language != "" {
		q.Set("language", c.language)
	}
	u := c.base + "/sports/stream/" + url.PathEscape(c.version) + "/" + sp.Endpoint
	if len(q) > 0 {
		u += "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	return u
}

// Open connects to a stream, resuming after lastID when it is set. Errors:
// ErrUnauthorized (the token was refused), *StatusError (Saba status
// 97-100), or a wrapped transport error.
func (c *Client) Open(ctx context.Context, sp StreamSpec, lastID string, opts ...sse.Option) (*sse.Stream, error) {
	tok, err := c.Token(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.StreamURL(sp), nil)
	if err != nil {
		return nil, connector.Permanent(fmt.Errorf("building stream request: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept-Encoding", c.acceptEncoding)
	st, err := sse.Connect(ctx, c.http, req, lastID, opts...)
	if err == nil {
		return st, nil
	}
	var he *sse.HTTPError
	if errors.As(err, &he) {
		if he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden {
			c.Refused(tok)
			return nil, fmt.Errorf("%w: HTTP %d", ErrUnauthorized, he.StatusCode)
		}
		var body struct {
			Status  *int   `json:"status"`
			Message string `json:"message"`
		}
		if json.Unmarshal(he.Body, &body) == nil && body.Status != nil && *body.Status >= StatusInvalidEncoding {
			return nil, &StatusError{Status: *body.Status, Message: body.Message, HTTPStatus: he.StatusCode}
		}
		// No Saba status: map by HTTP status as the documents pair them.
		switch he.StatusCode {
		case 503:
			return nil, &StatusError{Status: StatusMaintenance, Message: he.Error(), HTTPStatus: he.StatusCode}
		case 500:
			return nil, &StatusError{Status: StatusInternalServerError, Message: he.Error(), HTTPStatus: he.StatusCode}
		}
	}
	return nil, fmt.Errorf("opening %s: %w", sp.Endpoint, err)
}

// deliverFunc handles one SSE event; it blocks while the task's queue is
// full. An error ends the connection (a *StatusError or a Permanent error is
// classified by the stream loop).
type deliverFunc func(ctx context.Context, ev sse.Event) error

// streamLoop keeps one stream open until ctx ends: connect with the last id
// delivered, read, and reconnect with backoff and jitter on any failure,
// one log line per reconnect, each connection opened after the first
// counted as a reconnect in the task's metrics. It returns only a permanent
// error (97/98, a message too large), or nil when ctx ends.
func (c *Client) streamLoop(ctx context.Context, sp StreamSpec, lastID string, s settings, deliver deliverFunc) error {
	log := c.log.With(zap.String("stream", sp.Name()))
	bo := backoff.New(s.backoffInitial, s.backoffMax)
	connected := false
	opened := func() {
		if connected {
			c.metrics.Reconnected()
		}
		connected = true
	}
	for attempt := 1; ; attempt++ {
		delivered, err := c.connectOnce(ctx, sp, &lastID, s, deliver, opened)
		if ctx.Err() != nil {
			return nil
		}
		var se *StatusError
		switch {
		case errors.As(err, &se) && se.Permanent():
			return connector.Permanent(fmt.Errorf("stream %s %q: the server rejected the configuration: %w", sp.Endpoint, sp.Query, se))
		case errors.Is(err, sse.ErrEventTooLarge):
			return connector.Permanent(fmt.Errorf("stream %s: a message exceeds %s=%d: %w", sp.Endpoint, KeyMaxEventBytes, s.maxEventBytes, err))
		case connector.IsPermanent(err):
			return err
		}
		if delivered {
			bo.Reset()
		}
		wait := bo.Next()
		log.Warn("stream reconnecting", zap.Error(err), zap.Duration("backoff", wait), zap.String("last_event_id", lastID), zap.Int("attempt", attempt))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// connectOnce runs one connection, calling opened once it is established.
// It reports whether any message was delivered, and why the connection
// ended.
func (c *Client) connectOnce(ctx context.Context, sp StreamSpec, lastID *string, s settings, deliver deliverFunc, opened func()) (delivered bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lastActivity atomic.Int64
	var busy atomic.Bool // delivering: blocked on the task's queue, not the network
	var stalled atomic.Bool
	lastActivity.Store(time.Now().UnixNano())
	go func() { // stall watchdog
		t := time.NewTicker(max(s.silence/4, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if !busy.Load() && time.Since(time.Unix(0, lastActivity.Load())) > s.silence {
					stalled.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	touch := func() { lastActivity.Store(time.Now().UnixNano()) }
	st, err := c.Open(ctx, sp, *lastID, sse.WithActivityFunc(touch), sse.WithMaxEventSize(s.maxEventBytes))
	if err != nil {
		if stalled.Load() {
			return false, fmt.Errorf("%w (connecting): %w", ErrStalled, err)
		}
		return false, err
	}
	defer st.Close()
	opened()
	for {
		ev, err := st.Next()
		if err != nil {
			if stalled.Load() {
				return delivered, fmt.Errorf("%w: no byte for %s", ErrStalled, s.silence)
			}
			if errors.Is(err, io.EOF) {
				return delivered, errors.New("server ended the stream")
			}
			return delivered, fmt.Errorf("reading stream: %w", err)
		}
		busy.Store(true)
		err = deliver(ctx, ev)
		touch()
		busy.Store(false)
		if err != nil {
			return delivered, err
		}
		delivered = true
		if ev.ID != "" {
			*lastID = ev.ID
		}
	}
}
