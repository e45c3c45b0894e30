package worker

import (
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// TestOAuthBearerConfig covers what validate says of SASL/OAUTHBEARER
// settings; the mechanism itself is proven against a real broker in
// internal/securetest.
func TestOAuthBearerConfig(t *testing.T) {
	const jaas = `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="sc" clientSecret="hunter2" scope="kafka";`
	base := func(kv ...string) connector.Config {
		return withKeys(connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r",
			WKeySecurityProtocol: "SASL_SSL", WKeySASLMechanism: "OAUTHBEARER"}, kv...)
	}
	tests := []struct {
		name    string
		cfg     connector.Config
		wantErr []string
	}{
		{name: "complete", cfg: base(WKeySASLJAAS, jaas, WKeyOAuthTokenURL, "https://idp.example.com/oauth2/token")},
		{name: "neither endpoint nor client", cfg: base(),
			wantErr: []string{`"sasl.jaas.config" = "[hidden]": expected clientId=`, `"sasl.oauthbearer.token.endpoint.url": is required with sasl.mechanism=OAUTHBEARER`}},
		{name: "endpoint of another scheme", cfg: base(WKeySASLJAAS, jaas, WKeyOAuthTokenURL, "ftp://idp/token"),
			wantErr: []string{`"sasl.oauthbearer.token.endpoint.url" = "ftp://idp/token": expected a http:// or https:// URL, not ftp://`}},
		{name: "truststore missing", cfg: base(WKeySASLJAAS, jaas, WKeyOAuthTokenURL, "https://idp/token", WKeySSLCAFile, "/nonexistent/ca.pem"),
			wantErr: []string{`"ssl.truststore.location" = "/nonexistent/ca.pem"`}},
		{name: "the registry cannot inherit a token", cfg: base(WKeySASLJAAS, jaas, WKeyOAuthTokenURL, "https://idp/token", WKeyRegistryBasicSource, "SASL_INHERIT"),
			wantErr: []string{`"basic.auth.credentials.source" = "SASL_INHERIT": needs a Kafka SASL username and password`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := ParseWorkerConfig(tt.cfg)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(ws.Kafka) != 3 { // seeds, TLS, SASL
					t.Fatalf("%d client options, want 3", len(ws.Kafka))
				}
				return
			}
			checkProblems(t, err, tt.wantErr, "hunter2")
		})
	}
}
