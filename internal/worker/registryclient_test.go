package worker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// TestRegistryCredentials checks that each way of giving the registry
// credentials puts the right Authorization header on the registry's
// requests, over TLS checked against a CA file.
func TestRegistryCredentials(t *testing.T) {
	var tokens atomic.Int64
	idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, secret, _ := r.BasicAuth(); id != "sc" || secret != "idp-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"oauth-%d","expires_in":3600}`, tokens.Add(1))
	}))
	defer idp.Close()
	var gotAuth atomic.Value
	reg := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		fmt.Fprint(w, `["a-subject"]`)
	}))
	defer reg.Close()
	// Both test servers share httptest's certificate: one CA file for both.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: reg.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	base := connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": reg.URL, WKeyRegistryCAFile: ca}
	with := func(kv ...string) connector.Config { return withKeys(base, kv...) }
	tests := []struct {
		name     string
		cfg      connector.Config
		wantAuth string
		wantErr  string
	}{
		{name: "none", cfg: with(), wantAuth: ""},
		{name: "user info", cfg: with(WKeyRegistryBasicSource, "USER_INFO", WKeyRegistryUserInfo, "reg:p@ss:word"), wantAuth: "Basic cmVnOnBAc3M6d29yZA=="},
		{name: "inherited from SCRAM", cfg: with(WKeyRegistryBasicSource, "SASL_INHERIT", WKeySecurityProtocol, "SASL_PLAINTEXT", WKeySASLMechanism, "SCRAM-SHA-256",
			WKeySASLJAAS, `org.apache.kafka.common.security.scram.ScramLoginModule required username="k" password="kp";`), wantAuth: "Basic azprcA=="},
		{name: "static token", cfg: with(WKeyRegistryBearerSource, "STATIC_TOKEN", WKeyRegistryBearerToken, "tok-123"), wantAuth: "Bearer tok-123"},
		{name: "client credentials", cfg: with(WKeyRegistryBearerSource, "OAUTHBEARER", WKeyRegistryIssuerURL, idp.URL+"/token",
			WKeyRegistryClientID, "sc", WKeyRegistryClientSecret, "idp-secret"), wantAuth: "Bearer oauth-1"},
		{name: "client credentials refused", cfg: with(WKeyRegistryBearerSource, "OAUTHBEARER", WKeyRegistryIssuerURL, idp.URL+"/token",
			WKeyRegistryClientID, "sc", WKeyRegistryClientSecret, "wrong"), wantErr: "HTTP 401: invalid_client"},
		{name: "CA that did not sign the registry's certificate", cfg: with(WKeyRegistryCAFile, writeOtherCA(t)), wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotAuth.Store("unset")
			ws, err := ParseWorkerConfig(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			cl, err := ws.RegistryClient()
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.Subjects(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := gotAuth.Load(); got != tt.wantAuth {
				t.Fatalf("Authorization %q, want %q", got, tt.wantAuth)
			}
		})
	}
}

// writeOtherCA writes the PEM file of a CA that signed nothing the test
// servers present.
func writeOtherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRegistryConfigProblems(t *testing.T) {
	base := func(kv ...string) connector.Config {
		return withKeys(connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "https://r"}, kv...)
	}
	tests := []struct {
		name    string
		cfg     connector.Config
		wantErr []string
	}{
		{name: "credentials in the URL", cfg: base("schema.registry.url", "https://u:hunter2@r"),
			wantErr: []string{`"schema.registry.url" = "https://u:xxxxx@r": credentials in the URL`}},
		{name: "user info without a colon", cfg: base(WKeyRegistryBasicSource, "USER_INFO", WKeyRegistryUserInfo, "hunter2"),
			wantErr: []string{`"basic.auth.user.info" = "[hidden]": expected user:password`}},
		{name: "inherit without SASL", cfg: base(WKeyRegistryBasicSource, "SASL_INHERIT"),
			wantErr: []string{`"basic.auth.credentials.source" = "SASL_INHERIT": needs a Kafka SASL username`}},
		{name: "basic and bearer", cfg: base(WKeyRegistryBasicSource, "USER_INFO", WKeyRegistryUserInfo, "u:p", WKeyRegistryBearerSource, "STATIC_TOKEN"),
			wantErr: []string{`"bearer.auth.credentials.source" = "STATIC_TOKEN": cannot be used with basic.auth.credentials.source=USER_INFO`}},
		{name: "static token missing", cfg: base(WKeyRegistryBearerSource, "STATIC_TOKEN"),
			wantErr: []string{`"bearer.auth.token": is required with bearer.auth.credentials.source=STATIC_TOKEN`}},
		{name: "oauth without endpoint or id", cfg: base(WKeyRegistryBearerSource, "OAUTHBEARER"),
			wantErr: []string{`"bearer.auth.client.id": is required`, `"bearer.auth.issuer.endpoint.url": is required`}},
		{name: "unknown source and missing files", cfg: base(WKeyRegistryBasicSource, "URL", WKeyRegistryCAFile, "/nonexistent/ca.pem", WKeyRegistryCertFile, "/nonexistent/c.pem"),
			wantErr: []string{`"basic.auth.credentials.source" = "URL": expected one of "" (empty), "USER_INFO", "SASL_INHERIT"`,
				`"schema.registry.ssl.keystore.location" = "/nonexistent/c.pem"`, `"schema.registry.ssl.truststore.location" = "/nonexistent/ca.pem"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWorkerConfig(tt.cfg)
			checkProblems(t, err, tt.wantErr, "hunter2")
		})
	}
}
