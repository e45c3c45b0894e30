package securekafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

func TestGenerateCerts(t *testing.T) {
	c, err := GenerateCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(path string) *x509.Certificate {
		kp, err := tls.LoadX509KeyPair(path, path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		cert, err := x509.ParseCertificate(kp.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	verify := func(cert *x509.Certificate, usage x509.ExtKeyUsage, dns string) error {
		_, err := cert.Verify(x509.VerifyOptions{Roots: c.CAPool(), DNSName: dns, KeyUsages: []x509.ExtKeyUsage{usage}})
		return err
	}
	server := leaf(c.Server)
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if err := verify(server, x509.ExtKeyUsageServerAuth, host); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	client := leaf(c.Client)
	if err := verify(client, x509.ExtKeyUsageClientAuth, ""); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if client.Subject.CommonName != ClientCommonName {
		t.Errorf("client CN %q, want %q", client.Subject.CommonName, ClientCommonName)
	}
	if err := verify(leaf(c.RogueClient), x509.ExtKeyUsageClientAuth, ""); err == nil {
		t.Error("the rogue client certificate verifies against the test CA")
	}
	// Kafka's PEM keystore: certificates, then one unencrypted PKCS#8 key.
	data, err := os.ReadFile(c.Server)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for b, rest := pem.Decode(data); b != nil; b, rest = pem.Decode(rest) {
		types = append(types, b.Type)
	}
	if got := strings.Join(types, ","); got != "CERTIFICATE,CERTIFICATE,PRIVATE KEY" {
		t.Errorf("server.pem blocks %s, want CERTIFICATE,CERTIFICATE,PRIVATE KEY", got)
	}
}

func TestTokenServer(t *testing.T) {
	c, err := GenerateCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const id, secret = "my client", "p@ss:w+rd"
	ts := NewTokenServer(t, c, id, secret, WithTTL(90*time.Second))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.CAPool()}}}
	t.Cleanup(hc.CloseIdleConnections)
	post := func(user, pass string, form url.Values) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, ts.URL(), strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("decoding the %s body: %v", resp.Status, err)
		}
		return resp.StatusCode, body
	}
	grant := url.Values{"grant_type": {"client_credentials"}, "scope": {"kafka registry"}}

	if code, body := post(id, "wrong", grant); code != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %v, want 401 invalid_client", code, body)
	}
	if code, body := post(id, secret, url.Values{"grant_type": {"password"}}); code != http.StatusBadRequest || body["error"] != "unsupported_grant_type" {
		t.Errorf("password grant: %d %v, want 400 unsupported_grant_type", code, body)
	}
	code, body := post(id, secret, grant)
	if code != http.StatusOK || body["token_type"] != "Bearer" || body["expires_in"] != float64(90) {
		t.Fatalf("good request: %d %v, want 200, Bearer, expires_in 90", code, body)
	}
	if ts.Issued() != 1 || ts.Rejected() != 2 || ts.LastScope() != "kafka registry" {
		t.Errorf("issued %d rejected %d scope %q, want 1, 2, %q", ts.Issued(), ts.Rejected(), ts.LastScope(), "kafka registry")
	}

	parts := strings.Split(body["access_token"].(string), ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("token %q is not an unsecured JWS (header.payload.)", body["access_token"])
	}
	var header, claims map[string]any
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("token part %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("token part %d: %v", i, err)
		}
	}
	if header["alg"] != "none" {
		t.Errorf("header %v, want alg none", header)
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if claims["sub"] != id || claims["scope"] != "kafka registry" || exp-iat != 90 ||
		time.Since(time.Unix(int64(iat), 0)).Abs() > time.Minute {
		t.Errorf("claims %v, want sub %q, scope, iat now and exp iat+90", claims, id)
	}

	resp, err := hc.Get(ts.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %s, want 405", resp.Status)
	}
}

// TestRegistryProxyPath checks, against a stand-in upstream, that the
// proxy keeps the upstream's path prefix and does not forward credentials.
func TestRegistryProxyPath(t *testing.T) {
	c, err := GenerateCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan *http.Request, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r
		io.WriteString(w, "[]")
	}))
	t.Cleanup(up.Close)
	p := NewRegistryProxy(t, c, up.URL+"/apis/ccompat/v7", BearerCheck("tok"))
	code, _ := get(t, c, p.URL()+"/subjects?deleted=true", "Bearer tok")
	if code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	r := <-seen
	if r.URL.Path != "/apis/ccompat/v7/subjects" || r.URL.RawQuery != "deleted=true" {
		t.Errorf("upstream saw %s, want /apis/ccompat/v7/subjects?deleted=true", r.URL)
	}
	if a := r.Header.Get("Authorization"); a != "" {
		t.Errorf("upstream saw Authorization %q, want none", a)
	}
	if code, _ := get(t, c, p.URL()+"/subjects", "Bearer other"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", code)
	}
	if p.Accepted() != 1 || p.Rejected() != 1 {
		t.Errorf("accepted %d rejected %d, want 1 and 1", p.Accepted(), p.Rejected())
	}
}

// TestRegistryProxy puts the proxy in front of the real registry.
func TestRegistryProxy(t *testing.T) {
	upstream := testenv.Registry(t)
	c, err := GenerateCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("sr-user:sr-pass"))
	for _, tc := range []struct {
		name, good, bad string
		check           func(*http.Request) bool
	}{
		{"Basic", basic, "Basic " + base64.StdEncoding.EncodeToString([]byte("sr-user:nope")), BasicAuthCheck("sr-user", "sr-pass")},
		{"Bearer", "Bearer sr-token", "Bearer other-token", BearerCheck("sr-token")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewRegistryProxy(t, c, upstream, tc.check)
			code, body := get(t, c, p.URL()+"/subjects", tc.good)
			var subjects []string
			if code != http.StatusOK || json.Unmarshal(body, &subjects) != nil {
				t.Fatalf("with credentials: %d %s, want 200 and a JSON list of subjects", code, body)
			}
			for _, auth := range []string{"", tc.bad} {
				if code, body := get(t, c, p.URL()+"/subjects", auth); code != http.StatusUnauthorized {
					t.Errorf("Authorization %q: %d %s, want 401", auth, code, body)
				}
			}
			if p.Accepted() != 1 || p.Rejected() != 2 {
				t.Errorf("accepted %d rejected %d, want 1 and 2", p.Accepted(), p.Rejected())
			}
		})
	}
}

// get GETs url trusting only the test CA, with the Authorization header
// auth when not empty.
func get(t *testing.T, c *Certs, url, auth string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.CAPool()}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, body
}
