package securekafka

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// DefaultTokenTTL is the lifetime of the tokens a TokenServer issues unless
// WithTTL says otherwise.
const DefaultTokenTTL = time.Hour

// TokenPath is the path of a TokenServer's token endpoint.
const TokenPath = "/oauth2/token"

// TokenServer is an HTTPS OAuth 2 token endpoint for the client-credentials
// grant (RFC 6749 §4.4) as Kafka's Java client uses it: a POST of
// application/x-www-form-urlencoded grant_type=client_credentials (and an
// optional scope), the client id and secret in HTTP Basic auth. It issues
// unsecured JWTs (see UnsecuredJWT), which Broker's OAUTH listener accepts.
// Its certificate is signed by Certs.CA, so clients must trust ca.pem.
type TokenServer struct {
	srv          *httptest.Server
	clientID     string
	clientSecret string
	ttl          time.Duration

	issued, rejected atomic.Int64
	mu               sync.Mutex
	lastScope        string
}

// TokenOption configures a TokenServer.
type TokenOption func(*TokenServer)

// WithTTL sets the lifetime (exp - iat, and expires_in) of issued tokens. A
// negative ttl issues tokens that are already expired.
func WithTTL(ttl time.Duration) TokenOption {
	return func(s *TokenServer) { s.ttl = ttl }
}

// NewTokenServer starts a token endpoint that issues tokens to clientID
// with clientSecret only; it is closed in t.Cleanup.
func NewTokenServer(t testing.TB, certs *Certs, clientID, clientSecret string, opts ...TokenOption) *TokenServer {
	t.Helper()
	s := &TokenServer{clientID: clientID, clientSecret: clientSecret, ttl: DefaultTokenTTL}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(TokenPath, s.serveToken)
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.TLS = certs.ServerTLS()
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the token endpoint's URL (https://127.0.0.1:port/oauth2/token).
func (s *TokenServer) URL() string { return s.srv.URL + TokenPath }

// Issued returns how many tokens the server has issued.
func (s *TokenServer) Issued() int64 { return s.issued.Load() }

// Rejected returns how many token requests the server has refused.
func (s *TokenServer) Rejected() int64 { return s.rejected.Load() }

// LastScope returns the scope of the last issued token ("" if none asked).
func (s *TokenServer) LastScope() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastScope
}

// tokenResponse is the success body of RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

func (s *TokenServer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.fail(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST only")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		s.fail(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, "invalid_request", "unreadable form: "+err.Error())
		return
	}
	if !s.authenticated(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		s.fail(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		s.fail(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not client_credentials", g))
		return
	}
	scope := r.PostForm.Get("scope")
	tok, err := UnsecuredJWT(s.clientID, scope, s.ttl)
	if err != nil {
		s.fail(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	s.mu.Lock()
	s.lastScope = scope
	s.mu.Unlock()
	s.issued.Add(1)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(s.ttl / time.Second), Scope: scope,
	})
}

// authenticated checks HTTP Basic credentials, each of which the client
// form-URL-encodes before base64 (RFC 6749 §2.3.1).
func (s *TokenServer) authenticated(r *http.Request) bool {
	rawID, rawSecret, ok := r.BasicAuth()
	if !ok {
		return false
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil {
		return false
	}
	return equal(id, s.clientID) && equal(secret, s.clientSecret)
}

func (s *TokenServer) fail(w http.ResponseWriter, status int, code, desc string) {
	s.rejected.Add(1)
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// UnsecuredJWT returns an unsecured JWT (RFC 7519 §6): header
// {"alg":"none"}, claims sub, iat, exp = iat+ttl and, when not empty,
// scope, and an empty signature. Kafka's unsecured OAUTHBEARER validator
// accepts it until it expires.
func UnsecuredJWT(sub, scope string, ttl time.Duration) (string, error) {
	now := time.Now().Unix()
	claims := map[string]any{"sub": sub, "iat": now, "exp": now + int64(ttl/time.Second)}
	if scope != "" {
		claims["scope"] = scope
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding JWT claims: %w", err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(payload) + ".", nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
