// Package oauthclient fetches OAuth 2 access tokens with the
// client-credentials grant (RFC 6749 §4.4), as Kafka's Java client does for
// SASL/OAUTHBEARER (sasl.oauthbearer.token.endpoint.url) and Confluent's
// serializers do for a schema registry (bearer.auth.credentials.source=
// OAUTHBEARER). A token is cached and fetched again once 80% of its
// lifetime has passed (Kafka's sasl.login.refresh.window.factor).
package oauthclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxBody caps what is read of a token endpoint's answer.
const maxBody = 1 << 20

// refreshFactor is the share of a token's lifetime after which it is
// fetched again.
const refreshFactor = 0.8

// defaultLifetime is assumed when the answer gives neither expires_in nor a
// JWT exp claim.
const defaultLifetime = time.Minute

// ClientCredentials hands out access tokens from one token endpoint. It is
// safe for concurrent use; concurrent callers share one fetch.
type ClientCredentials struct {
	endpoint string
	id       string
	secret   string
	scope    string
	http     *http.Client
	now      func() time.Time

	mu      sync.Mutex // held across a fetch: one request at a time
	token   string
	refresh time.Time // when token is to be fetched again
}

// Option configures a ClientCredentials.
type Option func(*ClientCredentials)

// WithHTTPClient sets the HTTP client (its TLS settings and timeout); the
// default has a 10 s timeout and the system's CAs.
func WithHTTPClient(c *http.Client) Option { return func(cc *ClientCredentials) { cc.http = c } }

// WithClock sets the clock, for tests.
func WithClock(now func() time.Time) Option { return func(cc *ClientCredentials) { cc.now = now } }

// New returns a token source for endpoint (an http or https URL) and the
// client's id and secret; scope may be empty.
func New(endpoint, clientID, clientSecret, scope string, opts ...Option) (*ClientCredentials, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("token endpoint %q: expected an http:// or https:// URL", endpoint)
	}
	if clientID == "" {
		return nil, fmt.Errorf("token endpoint %s: no client id", endpoint)
	}
	cc := &ClientCredentials{endpoint: endpoint, id: clientID, secret: clientSecret, scope: scope,
		http: &http.Client{Timeout: 10 * time.Second}, now: time.Now}
	for _, o := range opts {
		o(cc)
	}
	return cc, nil
}

// Token returns a valid access token, fetching one when none is cached or
// the cached one is due for refresh.
func (cc *ClientCredentials) Token(ctx context.Context) (string, error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.token != "" && cc.now().Before(cc.refresh) {
		return cc.token, nil
	}
	tok, life, err := cc.fetch(ctx)
	if err != nil {
		return "", fmt.Errorf("fetching an access token from %s: %w", cc.endpoint, err)
	}
	cc.token = tok
	cc.refresh = cc.now().Add(time.Duration(float64(life) * refreshFactor))
	return tok, nil
}

// tokenAnswer is the JSON of a token endpoint's answer, success or error.
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int64  `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// fetch makes one token request: the client authenticates with HTTP Basic,
// id and secret each form-encoded first (RFC 6749 §2.3.1), as Kafka does.
func (cc *ClientCredentials) fetch(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if cc.scope != "" {
		form.Set("scope", cc.scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cc.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(cc.id), url.QueryEscape(cc.secret))
	resp, err := cc.http.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", 0, fmt.Errorf("reading the answer: %w", err)
	}
	var ans tokenAnswer
	jsonErr := json.Unmarshal(body, &ans)
	if resp.StatusCode != http.StatusOK {
		e := &EndpointError{Status: resp.StatusCode, Code: ans.Error, Description: ans.ErrorDescription}
		if jsonErr != nil {
			e.Description = snippet(body)
		}
		return "", 0, e
	}
	if jsonErr != nil {
		return "", 0, fmt.Errorf("answer is not JSON: %w", jsonErr)
	}
	if ans.AccessToken == "" {
		return "", 0, ErrNoToken
	}
	life := time.Duration(ans.ExpiresIn) * time.Second
	if life <= 0 {
		life = jwtLifetime(ans.AccessToken, cc.now())
	}
	return ans.AccessToken, life, nil
}

// jwtLifetime reads the exp claim of a JWT (without checking its
// signature: the token is the broker's to check) and returns how long the
// token has left, or defaultLifetime when it is not a JWT with exp.
func jwtLifetime(token string, now time.Time) time.Duration {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return defaultLifetime
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return defaultLifetime
	}
	var claims struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == 0 {
		return defaultLifetime
	}
	if left := time.Unix(int64(claims.Exp), 0).Sub(now); left > 0 {
		return left
	}
	return 0
}

// snippet returns the start of a body for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
