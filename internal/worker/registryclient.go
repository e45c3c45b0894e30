package worker

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/oauthclient"
	"github.com/twmb/franz-go/pkg/sr"
)

// Schema registry credentials and TLS, with the names of Confluent's
// serializers.
const (
	WKeyRegistryBasicSource  = "basic.auth.credentials.source"
	WKeyRegistryUserInfo     = "basic.auth.user.info"
	WKeyRegistryBearerSource = "bearer.auth.credentials.source"
	WKeyRegistryBearerToken  = "bearer.auth.token"
	WKeyRegistryIssuerURL    = "bearer.auth.issuer.endpoint.url"
	WKeyRegistryClientID     = "bearer.auth.client.id"
	WKeyRegistryClientSecret = "bearer.auth.client.secret"
	WKeyRegistryScope        = "bearer.auth.scope"
	WKeyRegistryCAFile       = "schema.registry.ssl.truststore.location"
	WKeyRegistryCertFile     = "schema.registry.ssl.keystore.location"
)

// registrySpec is the part of WorkerSpec that says how to reach the schema
// registry beyond its URL.
func registrySpec() connector.ConfigSpec {
	return connector.ConfigSpec{
		{Name: WKeyRegistryBasicSource, Type: connector.TypeString, Default: "", Allowed: []string{"", "USER_INFO", "SASL_INHERIT"},
			Doc: "registry HTTP Basic credentials: USER_INFO takes " + WKeyRegistryUserInfo + ", SASL_INHERIT the Kafka SASL username and password; empty = none"},
		{Name: WKeyRegistryUserInfo, Type: connector.TypePassword, Default: "", Doc: "registry credentials as user:password"},
		{Name: WKeyRegistryBearerSource, Type: connector.TypeString, Default: "", Allowed: []string{"", "STATIC_TOKEN", "OAUTHBEARER"},
			Doc: "registry bearer token: STATIC_TOKEN sends " + WKeyRegistryBearerToken + ", OAUTHBEARER fetches tokens from " + WKeyRegistryIssuerURL + " with the client-credentials grant; empty = none"},
		{Name: WKeyRegistryBearerToken, Type: connector.TypePassword, Default: "", Doc: "STATIC_TOKEN: the bearer token"},
		{Name: WKeyRegistryIssuerURL, Type: connector.TypeString, Default: "", Check: connector.OrEmpty(connector.CheckURL("http", "https")), Doc: "OAUTHBEARER: the OAuth 2 token endpoint"},
		{Name: WKeyRegistryClientID, Type: connector.TypeString, Default: "", Doc: "OAUTHBEARER: the client id"},
		{Name: WKeyRegistryClientSecret, Type: connector.TypePassword, Default: "", Doc: "OAUTHBEARER: the client secret"},
		{Name: WKeyRegistryScope, Type: connector.TypeString, Default: "", Doc: "OAUTHBEARER: the scope to ask for (optional)"},
		{Name: WKeyRegistryCAFile, Type: connector.TypeString, Default: "", Doc: "PEM file of the CA certificates the registry's https certificate is checked against (default: the system's)"},
		{Name: WKeyRegistryCertFile, Type: connector.TypeString, Default: "", Doc: "PEM file with a client certificate and key, for a registry that asks for mutual TLS"},
	}
}

// RegistryClient returns a client of the worker's schema registry with
// its credentials and TLS settings.
func (ws *WorkerSettings) RegistryClient() (*sr.Client, error) {
	cl, err := sr.NewClient(append([]sr.ClientOpt{sr.URLs(ws.RegistryURL)}, ws.Registry...)...)
	if err != nil {
		return nil, fmt.Errorf("schema registry client for %s: %w", ws.RegistryURL, err)
	}
	return cl, nil
}

// registryOpts returns the registry client options of a worker config
// (defaults applied). Every problem is returned; keys that have one
// already (ok says) are not read further. inherited is the Kafka SASL
// username and password, nil when the mechanism has none.
func registryOpts(cfg connector.Config, ok func(keys ...string) bool, inherited *saslPassword) ([]sr.ClientOpt, connector.ConfigErrors) {
	var opts []sr.ClientOpt
	var errs connector.ConfigErrors
	problem := func(key, value, p string) {
		errs = append(errs, &connector.ConfigError{Key: key, Value: value, Problem: p})
	}
	if u, err := url.Parse(cfg.String(WKeyRegistryURL)); err == nil && u.User != nil && ok(WKeyRegistryURL) {
		problem(WKeyRegistryURL, u.Redacted(), "credentials in the URL would show wherever the config is printed: set "+
			WKeyRegistryBasicSource+"=USER_INFO and "+WKeyRegistryUserInfo+" instead")
	}
	caFile := "" // for an OAUTHBEARER token endpoint: only once read without problem
	if ok(WKeyRegistryCAFile, WKeyRegistryCertFile) && (cfg.String(WKeyRegistryCAFile) != "" || cfg.String(WKeyRegistryCertFile) != "") {
		tc, tlsErrs := tlsFiles(cfg, WKeyRegistryCAFile, WKeyRegistryCertFile)
		errs = append(errs, tlsErrs...)
		if tlsErrs == nil {
			opts = append(opts, sr.DialTLSConfig(tc))
			caFile = cfg.String(WKeyRegistryCAFile)
		}
	}
	basic, bearer := cfg.String(WKeyRegistryBasicSource), cfg.String(WKeyRegistryBearerSource)
	if basic != "" && bearer != "" && ok(WKeyRegistryBasicSource, WKeyRegistryBearerSource) {
		problem(WKeyRegistryBearerSource, bearer, "cannot be used with "+WKeyRegistryBasicSource+"="+basic+": choose one")
		return opts, errs
	}
	switch {
	case basic == "USER_INFO" && ok(WKeyRegistryBasicSource, WKeyRegistryUserInfo):
		user, pass, found := strings.Cut(cfg.String(WKeyRegistryUserInfo), ":")
		if !found || user == "" {
			problem(WKeyRegistryUserInfo, connector.Redacted, "expected user:password (needed by "+WKeyRegistryBasicSource+"=USER_INFO)")
			break
		}
		opts = append(opts, sr.BasicAuth(user, pass))
	case basic == "SASL_INHERIT" && ok(WKeyRegistryBasicSource, WKeySASLJAAS):
		if inherited == nil {
			problem(WKeyRegistryBasicSource, basic, "needs a Kafka SASL username and password: "+WKeySecurityProtocol+" SASL_* with "+WKeySASLMechanism+" PLAIN or SCRAM-*")
			break
		}
		opts = append(opts, sr.BasicAuth(inherited.user, inherited.pass))
	case bearer == "STATIC_TOKEN" && ok(WKeyRegistryBearerSource, WKeyRegistryBearerToken):
		if cfg.String(WKeyRegistryBearerToken) == "" {
			problem(WKeyRegistryBearerToken, "", "is required with "+WKeyRegistryBearerSource+"=STATIC_TOKEN")
			break
		}
		opts = append(opts, sr.BearerToken(cfg.String(WKeyRegistryBearerToken)))
	case bearer == "OAUTHBEARER" && ok(WKeyRegistryBearerSource, WKeyRegistryIssuerURL, WKeyRegistryClientID, WKeyRegistryClientSecret):
		endpoint, id := cfg.String(WKeyRegistryIssuerURL), cfg.String(WKeyRegistryClientID)
		if endpoint == "" {
			problem(WKeyRegistryIssuerURL, "", "is required with "+WKeyRegistryBearerSource+"=OAUTHBEARER")
		}
		if id == "" {
			problem(WKeyRegistryClientID, "", "is required with "+WKeyRegistryBearerSource+"=OAUTHBEARER")
		}
		if endpoint == "" || id == "" {
			break
		}
		cc, err := oauthclient.New(endpoint, id, cfg.String(WKeyRegistryClientSecret), cfg.String(WKeyRegistryScope),
			oauthclient.WithHTTPClient(trustingClient(caFile)))
		if err != nil {
			problem(WKeyRegistryIssuerURL, endpoint, err.Error())
			break
		}
		opts = append(opts, sr.PreReq(func(req *http.Request) error {
			tok, err := cc.Token(req.Context())
			if err != nil {
				return fmt.Errorf("schema registry credentials: %w", err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			return nil
		}))
	}
	return opts, errs
}
