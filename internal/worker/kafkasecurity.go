package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/oauthclient"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Kafka security settings, with the Java client's names.
const (
	WKeySecurityProtocol = "security.protocol"
	WKeySASLMechanism    = "sasl.mechanism"
	WKeySASLJAAS         = "sasl.jaas.config"
	WKeyOAuthTokenURL    = "sasl.oauthbearer.token.endpoint.url"
	WKeySSLCAFile        = "ssl.truststore.location" // a PEM file of CA certificates
	WKeySSLCertFile      = "ssl.keystore.location"   // a PEM file holding the client certificate and key
	WKeySSLSkipVerify    = "ssl.endpoint.identification.algorithm"
)

// kafkaSecuritySpec is the part of WorkerSpec that says how to reach the
// brokers.
func kafkaSecuritySpec() connector.ConfigSpec {
	return connector.ConfigSpec{
		{Name: WKeySecurityProtocol, Type: connector.TypeString, Default: "PLAINTEXT", Allowed: []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}, Doc: "how to talk to the brokers"},
		{Name: WKeySASLMechanism, Type: connector.TypeString, Default: "PLAIN", Allowed: []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"},
			Doc: "SASL mechanism; OAUTHBEARER fetches tokens with the client-credentials grant from " + WKeyOAuthTokenURL},
		{Name: WKeySASLJAAS, Type: connector.TypePassword, Default: "",
			Doc: `SASL credentials as Connect writes them: ... username="u" password="p"; for OAUTHBEARER ... clientId="id" clientSecret="s" scope="optional";`},
		{Name: WKeyOAuthTokenURL, Type: connector.TypeString, Default: "", Check: connector.OrEmpty(connector.CheckURL("http", "https")),
			Doc: "OAUTHBEARER: the OAuth 2 token endpoint; an https endpoint is trusted by the system's CAs and " + WKeySSLCAFile + "'s"},
		{Name: WKeySSLCAFile, Type: connector.TypeString, Default: "", Doc: "PEM file of CA certificates to trust (default: the system's)"},
		{Name: WKeySSLCertFile, Type: connector.TypeString, Default: "", Doc: "PEM file with the client certificate and private key, for mutual TLS"},
		{Name: WKeySSLSkipVerify, Type: connector.TypeString, Default: "https", Allowed: []string{"https", ""}, Doc: "https checks the broker's host name; empty skips it"},
	}
}

// jaasField matches key="value" pairs in a JAAS config line.
var jaasField = regexp.MustCompile(`(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"`)

// jaasOptions returns the key="value" options of a JAAS config line.
func jaasOptions(line string) map[string]string {
	out := map[string]string{}
	for _, m := range jaasField.FindAllStringSubmatch(line, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// saslPassword is the username and password of PLAIN or SCRAM, kept for a
// registry whose basic.auth.credentials.source is SASL_INHERIT.
type saslPassword struct{ user, pass string }

// kafkaOpts returns the client options of a worker config (defaults
// applied), and the SASL username and password when the mechanism has
// them. The TLS and SASL parts are each built only if ok says their keys
// have no problem already; the problems of each are all returned.
func kafkaOpts(cfg connector.Config, ok func(keys ...string) bool) ([]kgo.Opt, *saslPassword, connector.ConfigErrors) {
	opts := []kgo.Opt{kgo.SeedBrokers(cfg.List(WKeyBootstrap)...)}
	if !ok(WKeySecurityProtocol) {
		return opts, nil, nil
	}
	var errs connector.ConfigErrors
	proto := cfg.String(WKeySecurityProtocol)
	useSASL := strings.HasPrefix(proto, "SASL")
	oauthBearer := useSASL && cfg.String(WKeySASLMechanism) == "OAUTHBEARER"
	// The truststore serves the brokers over SSL and an OAUTHBEARER
	// token endpoint over https.
	var tc *tls.Config
	if (strings.HasSuffix(proto, "SSL") || oauthBearer) && ok(WKeySSLCAFile, WKeySSLCertFile, WKeySSLSkipVerify) {
		var tlsErrs connector.ConfigErrors
		tc, tlsErrs = tlsConfig(cfg)
		errs = append(errs, tlsErrs...)
		if tlsErrs == nil && strings.HasSuffix(proto, "SSL") {
			opts = append(opts, kgo.DialTLSConfig(tc))
		}
	}
	if !useSASL || !ok(WKeySASLMechanism, WKeySASLJAAS, WKeyOAuthTokenURL) {
		return opts, nil, errs
	}
	jaas := jaasOptions(cfg.String(WKeySASLJAAS))
	mech := cfg.String(WKeySASLMechanism)
	if oauthBearer {
		m, err := oauthMechanism(cfg, jaas, tc)
		if err != nil {
			return opts, nil, append(errs, err...)
		}
		return append(opts, kgo.SASL(m)), nil, errs
	}
	user, pass := jaas["username"], jaas["password"]
	if user == "" {
		return opts, nil, append(errs, &connector.ConfigError{Key: WKeySASLJAAS, Value: connector.Redacted, Problem: `expected username="…" password="…"`})
	}
	switch mech {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
	}
	return opts, &saslPassword{user: user, pass: pass}, errs
}

// oauthMechanism is SASL/OAUTHBEARER with tokens from the client-credentials
// grant, as Kafka's OAuthBearerLoginModule with a token endpoint URL. The
// token endpoint trusts the system's CAs and the truststore's; tc is nil
// when the TLS settings have a problem (reported already).
func oauthMechanism(cfg connector.Config, jaas map[string]string, tc *tls.Config) (sasl.Mechanism, connector.ConfigErrors) {
	var errs connector.ConfigErrors
	endpoint := cfg.String(WKeyOAuthTokenURL)
	if endpoint == "" {
		errs = append(errs, &connector.ConfigError{Key: WKeyOAuthTokenURL, Problem: "is required with " + WKeySASLMechanism + "=OAUTHBEARER"})
	}
	if jaas["clientId"] == "" {
		errs = append(errs, &connector.ConfigError{Key: WKeySASLJAAS, Value: connector.Redacted, Problem: `expected clientId="…" clientSecret="…" (and optionally scope="…") for OAUTHBEARER`})
	}
	if len(errs) > 0 || tc == nil {
		return nil, errs
	}
	hc := trustingClient(cfg.String(WKeySSLCAFile))
	cc, err := oauthclient.New(endpoint, jaas["clientId"], jaas["clientSecret"], jaas["scope"], oauthclient.WithHTTPClient(hc))
	if err != nil {
		return nil, connector.ConfigErrors{{Key: WKeyOAuthTokenURL, Value: endpoint, Problem: err.Error()}}
	}
	return oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
		tok, err := cc.Token(ctx)
		return oauth.Auth{Token: tok}, err
	}), nil
}

// trustingClient is an HTTP client for a token endpoint: it trusts the
// system's CAs and those of caFile (a truststore already read without
// problem, or empty). Identity providers usually have public certificates,
// test ones do not.
func trustingClient(caFile string) *http.Client {
	hc := &http.Client{Timeout: 10 * time.Second}
	if caFile == "" {
		return hc
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	pem, _ := os.ReadFile(caFile) // read without problem by tlsFiles already
	roots.AppendCertsFromPEM(pem)
	hc.Transport = &http.Transport{Proxy: http.ProxyFromEnvironment,
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}}
	return hc
}

// tlsConfig is the brokers' TLS configuration: the truststore, the
// keystore and the host name check. Every problem is returned.
func tlsConfig(cfg connector.Config) (*tls.Config, connector.ConfigErrors) {
	tc, errs := tlsFiles(cfg, WKeySSLCAFile, WKeySSLCertFile)
	if errs != nil {
		return nil, errs
	}
	if cfg.String(WKeySSLSkipVerify) == "" {
		tc.InsecureSkipVerify = true //nolint:gosec // the operator asked for it, as in Connect
	}
	return tc, nil
}

// tlsFiles reads the PEM file of CA certificates named by caKey (which
// then replaces the system's CAs) and the PEM file of a client
// certificate and its key named by certKey; either may be empty. Every
// problem of the two is returned.
func tlsFiles(cfg connector.Config, caKey, certKey string) (*tls.Config, connector.ConfigErrors) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	var errs connector.ConfigErrors
	if ca := cfg.String(caKey); ca != "" {
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(ca)
		switch {
		case err != nil:
			errs = append(errs, &connector.ConfigError{Key: caKey, Value: ca, Problem: err.Error()})
		case !pool.AppendCertsFromPEM(pem):
			errs = append(errs, &connector.ConfigError{Key: caKey, Value: ca, Problem: "no PEM certificates in the file"})
		}
		tc.RootCAs = pool
	}
	if cert := cfg.String(certKey); cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, cert)
		if err != nil {
			errs = append(errs, &connector.ConfigError{Key: certKey, Value: cert, Problem: fmt.Sprintf("expected a PEM file with a certificate and its key: %v", err)})
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return tc, nil
}
