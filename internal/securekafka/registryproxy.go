package securekafka

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// RegistryProxy is an HTTPS reverse proxy in front of a schema registry
// that demands credentials: requests that fail its check get 401 and never
// reach the registry. Its certificate is signed by Certs.CA.
type RegistryProxy struct {
	srv                *httptest.Server
	accepted, rejected atomic.Int64
}

// NewRegistryProxy starts a proxy to upstream, a registry base URL such as
// http://127.0.0.1:18081/apis/ccompat/v7: the proxy's /subjects is
// upstream's /apis/ccompat/v7/subjects. check decides whether a request
// carries valid credentials (see BasicAuthCheck and BearerCheck); the
// Authorization header is not forwarded. The proxy closes in t.Cleanup.
func NewRegistryProxy(t testing.TB, certs *Certs, upstream string, check func(*http.Request) bool) *RegistryProxy {
	t.Helper()
	up, err := url.Parse(upstream)
	if err != nil || up.Scheme == "" || up.Host == "" {
		t.Fatalf("securekafka: registry proxy: parsing upstream URL %q: %v", upstream, err)
	}
	p := &RegistryProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(up) // joins up's path prefix and the request's path
		pr.Out.Header.Del("Authorization")
	}}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !check(r) {
			p.rejected.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="schema-registry"`)
			// The error body of a Confluent registry.
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error_code": 401, "message": "Unauthorized"})
			return
		}
		p.accepted.Add(1)
		rp.ServeHTTP(w, r)
	}))
	p.srv.TLS = certs.ServerTLS()
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	return p
}

// URL returns the proxy's base URL (https://127.0.0.1:port), the stand-in
// for upstream.
func (p *RegistryProxy) URL() string { return p.srv.URL }

// Accepted returns how many requests passed the check and were forwarded.
func (p *RegistryProxy) Accepted() int64 { return p.accepted.Load() }

// Rejected returns how many requests got 401.
func (p *RegistryProxy) Rejected() int64 { return p.rejected.Load() }

// BasicAuthCheck accepts requests with HTTP Basic credentials user:pass.
func BasicAuthCheck(user, pass string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && equal(u, user) && equal(p, pass)
	}
}

// BearerCheck accepts requests with "Authorization: Bearer token".
func BearerCheck(token string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		return ok && strings.EqualFold(scheme, "Bearer") && equal(strings.TrimSpace(cred), token)
	}
}
