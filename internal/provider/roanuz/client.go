package roanuz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Subscription methods of the subscribe APIs.
const (
	MethodWebSocket = "web_socket"
	MethodWebHook   = "web_hook"
)

// HeaderToken is the header carrying the access token.
const HeaderToken = "rs-token"

// maxResponse caps a REST response body.
const maxResponse = 16 << 20

// Client is the Roanuz v5 REST client: it authenticates with the api key,
// keeps the token (renewed before it expires, and once more after a 401),
// subscribes and unsubscribes matches and fetches the Match API. It is safe
// for concurrent use.
type Client struct {
	base, project, apiKey string
	hc                    *http.Client
	log                   *zap.Logger
	now                   func() time.Time

	mu      sync.Mutex
	token   string
	issued  time.Time
	expires time.Time
}

// NewClient returns a client of the REST API at base (e.g.
// https://api.sports.roanuz.com) for project with apiKey. hc may be nil.
func NewClient(base, project, apiKey string, hc *http.Client, log *zap.Logger) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Client{base: strings.TrimRight(base, "/"), project: project, apiKey: apiKey, hc: hc, log: log, now: time.Now}
}

// Token returns a valid access token, authenticating when there is none or
// when 80% of its lifetime has passed.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" {
		life := c.expires.Sub(c.issued)
		if c.now().Before(c.issued.Add(life * 8 / 10)) {
			return c.token, nil
		}
	}
	return c.authLocked(ctx)
}

// TokenExpires returns when the current token expires (zero if none).
func (c *Client) TokenExpires() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expires
}

// invalidate forgets token if it is still the current one.
func (c *Client) invalidate(token string) {
	c.mu.Lock()
	if c.token == token {
		c.token = ""
	}
	c.mu.Unlock()
}

// authLocked runs POST /v5/core/{project}/auth/ with the api key.
func (c *Client) authLocked(ctx context.Context) (string, error) {
	body, _ := json.Marshal(map[string]string{"api_key": c.apiKey})
	u := c.base + "/v5/core/" + url.PathEscape(c.project) + "/auth/"
	b, err := c.roundTrip(ctx, "auth", http.MethodPost, u, "", body)
	if err != nil {
		return "", err
	}
	var r struct {
		Data struct {
			Token   string      `json:"token"`
			Expires json.Number `json:"expires"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Data.Token == "" {
		return "", fmt.Errorf("roanuz auth: %w: no data.token in the answer", ErrMalformed)
	}
	now := c.now()
	exp := now.Add(24 * time.Hour)
	if r.Data.Expires != "" {
		if f, err := strconv.ParseFloat(string(r.Data.Expires), 64); err == nil && f > 0 {
			exp = time.Unix(0, int64(f*1e9))
		}
	}
	c.token, c.issued, c.expires = r.Data.Token, now, exp
	c.log.Info("roanuz token obtained", zap.Time("expires", exp))
	return c.token, nil
}

// Subscribe subscribes match for method (MethodWebSocket: .../subscribe/).
// Subscribing twice is harmless.
func (c *Client) Subscribe(ctx context.Context, match string) error {
	return c.post(ctx, "subscribe "+match, c.matchURL(match, "subscribe/"), MethodWebSocket)
}

// Unsubscribe ends the web_socket subscription of match and returns the
// provider's answer.
func (c *Client) Unsubscribe(ctx context.Context, match string) ([]byte, error) {
	body, _ := json.Marshal(map[string]string{"method": MethodWebSocket})
	return c.authed(ctx, "unsubscribe "+match, http.MethodPost, c.matchURL(match, "unsubscribe/"), body)
}

// SubscribeUpdates subscribes match to the ball-by-ball detail push
// (detail-updates-subscribe, method web_hook).
func (c *Client) SubscribeUpdates(ctx context.Context, match string) error {
	return c.post(ctx, "detail-updates-subscribe "+match, c.matchURL(match, "detail-updates-subscribe/"), MethodWebHook)
}

// UnsubscribeUpdates ends the ball-by-ball detail push of match.
func (c *Client) UnsubscribeUpdates(ctx context.Context, match string) error {
	return c.post(ctx, "detail-updates-unsubscribe "+match, c.matchURL(match, "detail-updates-unsubscribe/"), MethodWebHook)
}

// Match returns the Match API response of match, byte-exact.
func (c *Client) Match(ctx context.Context, match string) ([]byte, error) {
	return c.authed(ctx, "match "+match, http.MethodGet, c.matchURL(match, ""), nil)
}

// ListedMatch is one match of the featured-matches list.
type ListedMatch struct {
	Key    string
	Status string          // not_started, started, completed
	Raw    json.RawMessage // the list entry as sent
}

// FeaturedMatches returns the project's featured matches
// (GET /v5/cricket/{project}/featured-matches-2/:
// {"data":{"matches":[{key,status,...}]}}). Entries without a key are
// skipped; the order is the provider's.
func (c *Client) FeaturedMatches(ctx context.Context) ([]ListedMatch, error) {
	u := c.base + "/v5/cricket/" + url.PathEscape(c.project) + "/featured-matches-2/"
	b, err := c.authed(ctx, "featured-matches", http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	var r struct {
		Data *struct {
			Matches []json.RawMessage `json:"matches"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Data == nil {
		return nil, fmt.Errorf("roanuz featured-matches: %w: no data.matches in the answer", ErrMalformed)
	}
	out := make([]ListedMatch, 0, len(r.Data.Matches))
	for _, raw := range r.Data.Matches {
		var m struct {
			Key    string `json:"key"`
			Status string `json:"status"`
		}
		if json.Unmarshal(raw, &m) != nil || m.Key == "" {
			continue
		}
		out = append(out, ListedMatch{Key: m.Key, Status: m.Status, Raw: raw})
	}
	return out, nil
}

func (c *Client) matchURL(match, tail string) string {
	return c.base + "/v5/cricket/" + url.PathEscape(c.project) + "/match/" + url.PathEscape(match) + "/" + tail
}

func (c *Client) post(ctx context.Context, op, u, method string) error {
	body, _ := json.Marshal(map[string]string{"method": method})
	_, err := c.authed(ctx, op, http.MethodPost, u, body)
	return err
}

// authed sends a request with the token; after a 401 it authenticates once
// more and retries once.
func (c *Client) authed(ctx context.Context, op, method, u string, body []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.Token(ctx)
		if err != nil {
			return nil, err
		}
		b, err := c.roundTrip(ctx, op, method, u, tok, body)
		if err != nil && attempt == 0 && errors.Is(err, ErrUnauthorized) {
			c.log.Info("roanuz token refused; authenticating again", zap.String("op", op))
			c.invalidate(tok)
			continue
		}
		return b, err
	}
}

func (c *Client) roundTrip(ctx context.Context, op, method, u, token string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("roanuz %s: building request: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set(HeaderToken, token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("roanuz %s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("roanuz %s: reading answer: %w", op, err)
	}
	if len(b) > maxResponse {
		return nil, fmt.Errorf("roanuz %s: %w: answer over %d bytes", op, ErrTooLarge, maxResponse)
	}
	if resp.StatusCode/100 != 2 {
		return nil, apiError(op, resp.StatusCode, b)
	}
	return b, nil
}

// apiError decodes {"error":{"code","msg"},"http_status_code"}.
func apiError(op string, status int, b []byte) *APIError {
	e := &APIError{Status: status, Op: op}
	var r struct {
		Error *struct {
			Code json.RawMessage `json:"code"`
			Msg  string          `json:"msg"`
		} `json:"error"`
		Status int `json:"http_status_code"`
	}
	if json.Unmarshal(b, &r) == nil {
		if r.Status != 0 {
			e.Status = r.Status
		}
		if r.Error != nil {
			e.Code = strings.Trim(string(r.Error.Code), `"`)
			e.Msg = r.Error.Msg
		}
	}
	return e
}
